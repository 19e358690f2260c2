"""Points a dataset's endpoint at an endpoint config: creates the endpoint, updates it in place or blue/green,
records the config as wanted while the endpoint is busy, or replaces an endpoint that can only be deleted.
Shared by the model-deploy function and the endpoint-state function's deferred updates; the one writer of the
dataset's endpoint item."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from icflow.core import naming
from icflow.core.notifier import Notifier
from icflow.core.observability import metrics
from icflow.core.outcome import Outcome
from icflow.core.ownership import StackOwnership
from icflow.core.pipeline_config import RealtimeSettings
from icflow.core.state import ANY_ENDPOINT_STATUS, ENDPOINT_SK, EndpointStatus, StateTable
from icflow.endpoints.endpoint_autoscaling import EndpointAutoscaling
from icflow.endpoints.endpoint_metrics import EndpointMetrics
from icflow.endpoints.sagemaker_endpoints import VARIANT_NAME, Endpoint, SageMakerEndpoints

if TYPE_CHECKING:
    from icflow.wiring import Adapters

# DescribeEndpoint's statuses in which UpdateEndpoint is refused until they end.
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
# Statuses that never end by themselves: SageMaker allows only DeleteEndpoint on such an endpoint.
UNUSABLE = ("Failed", "UpdateRollbackFailed")
# How long a deployment waits for an unusable endpoint's deletion before creating it again (within the
# function's timeout); a deletion still running then ends with a DELETED event, which creates it.
REPLACE_WAIT_SECONDS = 30.0
REPLACE_POLL_SECONDS = 2.0


# rejected: pipeline.json could not be read (DeployModel), or the endpoint's name is another stack's endpoint.
EndpointDeployAction = Literal[
    "endpoint_creating",
    "endpoint_unchanged",
    "endpoint_update_deferred",
    "endpoint_updating",
    "endpoint_replacing",
    "rejected",
]


@dataclass(frozen=True)
class EndpointDeployOutcome(Outcome):
    action: EndpointDeployAction
    endpoint_name: str | None = None
    endpoint_config_name: str | None = None
    reason: str | None = None


class EndpointDeployer:
    """Points the dataset's endpoint at a config; shared with the endpoint-state function's deferred updates."""

    def __init__(
        self,
        state: StateTable,
        deploy: SageMakerEndpoints,
        alarms: EndpointMetrics,
        ownership: StackOwnership,
        notifier: Notifier,
        autoscaling: EndpointAutoscaling,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._deploy = deploy
        self._alarms = alarms
        self._ownership = ownership
        self._notifier = notifier
        self._autoscaling = autoscaling
        self._sleep = sleep
        self._clock = clock

    def deploy(
        self, dataset: str, config_name: str, model_name: str, realtime: RealtimeSettings
    ) -> EndpointDeployOutcome:
        endpoint_name = naming.endpoint_name(dataset)
        endpoint = self._deploy.endpoint(endpoint_name)
        foreign = self._foreign(endpoint)
        if foreign is not None:
            return self._refused(dataset, endpoint_name, config_name, model_name, foreign)
        tags = naming.dataset_tags(dataset)
        self._deploy.create_endpoint_config(
            config_name, model_name, realtime.instance_type, realtime.instance_count, tags
        )
        record = self._state.get_item(dataset, ENDPOINT_SK) or {}
        configs = sorted({*record.get("configs", []), config_name})
        # What a deferred update (icflow.endpoints.endpoint_state) deploys with, and scales by once in service.
        settings = {
            "blue_green": realtime.blue_green,
            "auto_rollback": realtime.auto_rollback,
            "instance_type": realtime.instance_type,
            "instance_count": realtime.instance_count,
            "autoscaling": realtime.autoscaling.model_dump() if realtime.autoscaling else None,
        }
        fields = {
            "endpoint_name": endpoint_name,
            "configs": configs,
            "wanted_config": config_name,
            "wanted_model": model_name,
            **settings,
        }
        if endpoint is not None and endpoint.status in UNUSABLE:
            fields["autoscaling_registered"] = False  # _replace deregisters the variant with the endpoint
            if not self._replace(endpoint_name):
                reason = (
                    f"the endpoint was {endpoint.status} ({endpoint.failure_reason or 'no reason given'}), and SageMaker "
                    "allows only its deletion: it is being deleted, and created again once it is gone"
                )
                self.record(dataset, EndpointStatus.DELETING, {**fields, "target_config": None}, reason)
                return EndpointDeployOutcome("endpoint_replacing", endpoint_name, config_name, reason)
            endpoint = None
        if endpoint is None:
            if not self._deploy.create_endpoint(endpoint_name, config_name, tags):
                # Created meanwhile: by a repeated event of this stack, or by another stack.
                foreign = self._foreign(self._deploy.endpoint(endpoint_name))
                if foreign is not None:
                    return self._refused(dataset, endpoint_name, config_name, model_name, foreign)
            self.record(dataset, EndpointStatus.CREATING, {**fields, "target_config": config_name})
            metrics.add_metric(name="EndpointsCreated", unit=MetricUnit.Count, value=1)
            return EndpointDeployOutcome("endpoint_creating", endpoint_name, config_name)
        if config_name in (endpoint.config_name, record.get("target_config")):
            self.record(dataset, None, fields)
            return EndpointDeployOutcome("endpoint_unchanged", endpoint_name, config_name)
        if endpoint.status in BUSY:
            self.record(dataset, None, fields)
            reason = f"the endpoint is {endpoint.status}; the update follows when it is in service"
            return EndpointDeployOutcome("endpoint_update_deferred", endpoint_name, config_name, reason)
        alarm = (
            self._alarms.put_rollback_alarm(endpoint_name, VARIANT_NAME)
            if realtime.blue_green and realtime.auto_rollback
            else None
        )
        scaled = bool(record.get("autoscaling_registered"))
        keep_scaling = scaled and self._same_instance_types(endpoint.config_name, config_name)
        if scaled and not keep_scaling:
            # SageMaker refuses an update that changes a scaled variant's instance type: the variant is
            # deregistered now and registered again once in service (icflow.endpoints.endpoint_autoscaling).
            self._autoscaling.deregister(endpoint_name, VARIANT_NAME)
            fields["autoscaling_registered"] = False
        # A scaled variant keeps the instances it has scaled to, rather than dropping to the config's count.
        self._deploy.update_endpoint(endpoint_name, config_name, realtime.blue_green, alarm, keep_scaling)
        self.record(
            dataset,
            EndpointStatus.UPDATING,
            {**fields, "target_config": config_name, "previous_config": endpoint.config_name},
        )
        metrics.add_metric(name="EndpointsUpdated", unit=MetricUnit.Count, value=1)
        return EndpointDeployOutcome("endpoint_updating", endpoint_name, config_name)

    def _same_instance_types(self, current_config: str, new_config: str) -> bool:
        current = self._deploy.endpoint_config_instance_types(current_config)
        return bool(current) and current == self._deploy.endpoint_config_instance_types(new_config)

    def _foreign(self, endpoint: Endpoint | None) -> str | None:
        """Why the endpoint of the dataset's name is not this stack's to change; None when it is, or is gone."""
        return None if endpoint is None else self._ownership.foreign(endpoint.name, self._deploy.tags(endpoint.arn))

    def _refused(
        self, dataset: str, endpoint_name: str, config_name: str, model_name: str, foreign: str
    ) -> EndpointDeployOutcome:
        """Another stack's endpoint has the name: it is left alone, nothing is recorded for it, the user is told."""
        reason = (
            f"{foreign}. This stack changes only its own endpoints, so {model_name} is not deployed: delete that "
            f"endpoint from its own stack (icflow cleanup), or give the dataset another name in this stack"
        )
        self._notifier.notify(f"icflow: endpoint of {dataset} not updated", reason, dataset)
        return EndpointDeployOutcome("rejected", endpoint_name, config_name, reason)

    def _replace(self, endpoint_name: str) -> bool:
        """Deletes an unusable endpoint; True once it is gone, within REPLACE_WAIT_SECONDS."""
        self._autoscaling.deregister(endpoint_name, VARIANT_NAME)
        self._deploy.delete_endpoint(endpoint_name)
        deadline = self._clock() + REPLACE_WAIT_SECONDS
        while self._deploy.endpoint(endpoint_name) is not None:
            if self._clock() >= deadline:
                return False
            self._sleep(REPLACE_POLL_SECONDS)
        return True

    def record(
        self, dataset: str, status: EndpointStatus | None, fields: dict[str, Any], reason: str | None = None
    ) -> None:
        """Writes the dataset's endpoint item: `status` (None keeps the current one) and `fields`; creates it
        when the dataset has none yet."""
        record = self._state.get_item(dataset, ENDPOINT_SK)
        if record is None:
            self._state.create_item(
                dataset, ENDPOINT_SK, "endpoint", (status or EndpointStatus.CREATING).value, fields, reason
            )
            return
        self._state.transition_item(
            dataset,
            ENDPOINT_SK,
            status.value if status else record["status"],
            ANY_ENDPOINT_STATUS,
            fields=fields,
            reason=reason,
        )


def build_endpoint_deployer(adapters: Adapters) -> EndpointDeployer:
    return EndpointDeployer(
        adapters.state,
        adapters.endpoints,
        adapters.endpoint_metrics,
        adapters.ownership,
        adapters.notifier,
        adapters.autoscaling,
    )
