"""A dataset's model is ready: start its pending batches, and deploy it to the dataset's endpoint when
pipeline.json asks for one.

One endpoint per dataset: the first model creates an endpoint config and the endpoint; a later model
creates its own config and updates the endpoint in place (blue/green with an auto-rollback alarm when
configured). While the endpoint is busy (creating or updating) the newest config is recorded as wanted,
and the endpoint-state function applies it when the endpoint is in service again. Config and endpoint
names are deterministic, so a repeated "model ready" finds them and changes nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from icflow import naming
from icflow.adapters.endpoint_metrics import EndpointMetrics
from icflow.adapters.notifier import Notifier
from icflow.adapters.run_store import RunStore
from icflow.adapters.s3_objects import S3Objects
from icflow.adapters.sagemaker_deploy import VARIANT_NAME, SageMakerDeploy
from icflow.errors import IcflowError
from icflow.events.model_ready import ModelReadyDetail
from icflow.observability import logger, metrics
from icflow.pipeline_config import RealtimeSettings
from icflow.settings import Settings, current_settings
from icflow.training_request import TAG_DATASET
from icflow.usecases.deploy_status import (
    ANY_ENDPOINT_STATUS,
    BATCH_SK_PREFIX,
    ENDPOINT_SK,
    BatchStatus,
    EndpointStatus,
)
from icflow.usecases.start_batch import BatchStarter, read_pipeline_config

# DescribeEndpoint's statuses in which UpdateEndpoint is refused.
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class EndpointDeployer:
    """Points the dataset's endpoint at a config; shared with the endpoint-state function's deferred updates."""

    def __init__(self, runs: RunStore, deploy: SageMakerDeploy, alarms: EndpointMetrics) -> None:
        self._runs = runs
        self._deploy = deploy
        self._alarms = alarms

    def deploy(self, dataset: str, config_name: str, model_name: str, realtime: RealtimeSettings) -> dict[str, Any]:
        endpoint_name = naming.endpoint_name(dataset)
        tags = {TAG_DATASET: dataset}
        self._deploy.create_endpoint_config(config_name, model_name, realtime.instance_type, realtime.instance_count, tags)
        record = self._runs.get_item(dataset, ENDPOINT_SK) or {}
        configs = sorted({*record.get("configs", []), config_name})
        settings = {"blue_green": realtime.blue_green, "auto_rollback": realtime.auto_rollback}
        fields = {"endpoint_name": endpoint_name, "configs": configs, "wanted_config": config_name, "wanted_model": model_name,
                  **settings}
        endpoint = self._deploy.endpoint(endpoint_name)
        if endpoint is None:
            self._deploy.create_endpoint(endpoint_name, config_name, tags)
            self.record(dataset, EndpointStatus.CREATING, {**fields, "target_config": config_name})
            metrics.add_metric(name="EndpointsCreated", unit=MetricUnit.Count, value=1)
            return {"action": "endpoint_creating", "endpoint_name": endpoint_name, "endpoint_config_name": config_name}
        if config_name in (endpoint.config_name, record.get("target_config")):
            self.record(dataset, None, fields)
            return {"action": "endpoint_unchanged", "endpoint_name": endpoint_name, "endpoint_config_name": config_name}
        if endpoint.status in BUSY:
            self.record(dataset, None, fields)
            return {"action": "endpoint_update_deferred", "endpoint_name": endpoint_name, "endpoint_config_name": config_name,
                    "reason": f"the endpoint is {endpoint.status}; the update follows when it is in service"}
        alarm = self._alarms.put_rollback_alarm(endpoint_name, VARIANT_NAME) if realtime.blue_green and realtime.auto_rollback else None
        self._deploy.update_endpoint(endpoint_name, config_name, realtime.blue_green, alarm)
        self.record(dataset, EndpointStatus.UPDATING, {**fields, "target_config": config_name,
                                                       "previous_config": endpoint.config_name})
        metrics.add_metric(name="EndpointsUpdated", unit=MetricUnit.Count, value=1)
        return {"action": "endpoint_updating", "endpoint_name": endpoint_name, "endpoint_config_name": config_name}

    def record(self, dataset: str, status: EndpointStatus | None, fields: dict[str, Any], reason: str | None = None) -> None:
        """Writes the dataset's endpoint item: `status` (None keeps the current one) and `fields`; creates it
        when the dataset has none yet."""
        record = self._runs.get_item(dataset, ENDPOINT_SK)
        if record is None:
            self._runs.create_item(dataset, ENDPOINT_SK, "endpoint", (status or EndpointStatus.CREATING).value, fields,
                                   reason)
            return
        self._runs.transition_item(dataset, ENDPOINT_SK, status.value if status else record["status"],
                                   ANY_ENDPOINT_STATUS, fields=fields, reason=reason)


class DeployModel:
    def __init__(
        self, settings: Settings, s3_client: Any, runs: RunStore, deploy: SageMakerDeploy, notifier: Notifier,
        alarms: EndpointMetrics,
    ) -> None:
        self._runs = runs
        self._notifier = notifier
        self._objects = S3Objects(s3_client, settings.data_bucket)
        self._starter = BatchStarter(settings.data_bucket, self._objects, runs, deploy, notifier)
        self.endpoints = EndpointDeployer(runs, deploy, alarms)

    def __call__(self, ready: ModelReadyDetail) -> dict[str, Any]:
        dataset = ready.dataset
        logger.set_correlation_id(ready.run_id)
        pending = [item for item in self._runs.query(dataset, BATCH_SK_PREFIX) if item["status"] == BatchStatus.PENDING]
        batches = [self._starter.start(dataset, item["batch_id"], ready.model_name) for item in pending]
        outcome: dict[str, Any] = {"dataset": dataset, "model_name": ready.model_name, "batches": batches}
        try:
            realtime = read_pipeline_config(self._objects, dataset).deploy.realtime
        except IcflowError as error:
            reason = f"the model was not deployed to an endpoint: {error}"
            self._notifier.notify(f"icflow: endpoint of {dataset} not updated", reason, dataset)
            return {**outcome, "endpoint": {"action": "rejected", "reason": reason}}
        if realtime.enabled:
            config_name = naming.endpoint_config_name(dataset, ready.run_id)
            outcome["endpoint"] = self.endpoints.deploy(dataset, config_name, ready.model_name, realtime)
        return outcome


def build_deploy_model(settings: Settings, session: boto3.Session | None = None) -> DeployModel:
    session = session or boto3.Session()
    return DeployModel(
        settings=settings,
        s3_client=session.client("s3"),
        runs=RunStore(session.client("dynamodb"), settings.runs_table),
        deploy=SageMakerDeploy(session.client("sagemaker")),
        notifier=Notifier(session.client("sns"), settings.notifications_topic_arn),
        alarms=EndpointMetrics(session.client("cloudwatch")),
    )


@cache
def deploy_model_from_environment() -> DeployModel:
    """The function's use case, built once per execution environment."""
    return build_deploy_model(current_settings())
