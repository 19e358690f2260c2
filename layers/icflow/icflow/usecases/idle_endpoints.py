"""Cost guard: delete icflow endpoints that served no request for EndpointIdleHours (0 disables it).

Only the endpoint goes: its configs and models stay, so the next model (or `icflow cleanup`) finds them.
An endpoint changed within the window is not judged yet: its metrics do not cover the whole window.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from icflow import naming
from icflow.adapters.endpoint_metrics import EndpointMetrics
from icflow.adapters.notifier import Notifier
from icflow.adapters.run_store import RunStore
from icflow.adapters.sagemaker_deploy import SageMakerDeploy
from icflow.observability import logger, metrics
from icflow.settings import Settings, current_settings
from icflow.training_request import TAG_DATASET
from icflow.usecases.deploy_status import ANY_ENDPOINT_STATUS, ENDPOINT_SK, EndpointStatus


class DeleteIdleEndpoints:
    def __init__(
        self, idle_hours: int, runs: RunStore, deploy: SageMakerDeploy, cloudwatch: EndpointMetrics, notifier: Notifier
    ) -> None:
        self._idle_hours = idle_hours
        self._runs = runs
        self._deploy = deploy
        self._cloudwatch = cloudwatch
        self._notifier = notifier

    def __call__(self, now: datetime) -> dict[str, Any]:
        if self._idle_hours == 0:
            return {"action": "disabled", "deleted": []}
        window = timedelta(hours=self._idle_hours)
        deleted: list[str] = []
        for name in self._deploy.endpoint_names(naming.NAME_PREFIX):
            endpoint = self._deploy.endpoint(name)
            if endpoint is None or endpoint.status != "InService":
                continue
            if endpoint.last_modified is not None and endpoint.last_modified > now - window:
                continue
            if self._cloudwatch.invocations(name, endpoint.variant_names, now - window, now) > 0:
                continue
            dataset = self._deploy.endpoint_tags(name).get(TAG_DATASET)
            self._deploy.delete_endpoint(name)
            deleted.append(name)
            metrics.add_metric(name="IdleEndpointsDeleted", unit=MetricUnit.Count, value=1)
            reason = f"no invocations for {self._idle_hours} hours (EndpointIdleHours); deleted to stop its cost"
            logger.info("idle endpoint deleted", extra={"endpoint_name": name, "dataset": dataset})
            if dataset:  # an endpoint without an item of its own has nothing to record
                self._runs.transition_item(dataset, ENDPOINT_SK, EndpointStatus.DELETED_IDLE.value, ANY_ENDPOINT_STATUS,
                                           fields={"target_config": None}, reason=reason)
            self._notifier.notify(f"icflow: idle endpoint {name} deleted",
                                  f"{name}: {reason}. The next model of the dataset creates it again.", dataset or "")
        return {"action": "checked", "deleted": deleted}


def build_delete_idle_endpoints(settings: Settings, session: boto3.Session | None = None) -> DeleteIdleEndpoints:
    session = session or boto3.Session()
    return DeleteIdleEndpoints(
        idle_hours=settings.endpoint_idle_hours,
        runs=RunStore(session.client("dynamodb"), settings.runs_table),
        deploy=SageMakerDeploy(session.client("sagemaker")),
        cloudwatch=EndpointMetrics(session.client("cloudwatch")),
        notifier=Notifier(session.client("sns"), settings.notifications_topic_arn),
    )


@cache
def delete_idle_endpoints_from_environment() -> DeleteIdleEndpoints:
    """The function's use case, built once per execution environment."""
    return build_delete_idle_endpoints(current_settings())
