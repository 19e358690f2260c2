"""Cost guard: delete icflow endpoints that served no request for EndpointIdleHours (0 disables it).

Only the endpoint goes: its configs and models stay, so the next model (or `icflow cleanup`) finds them.
An endpoint changed within the window is not judged yet: its metrics do not cover the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit

from icflow.core import naming
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.outcome import Outcome
from icflow.core.ownership import StackOwnership
from icflow.core.state import ANY_ENDPOINT_STATUS, ENDPOINT_SK, EndpointStatus, StateTable
from icflow.endpoints.endpoint_autoscaling import EndpointAutoscaling
from icflow.endpoints.endpoint_metrics import EndpointMetrics
from icflow.endpoints.sagemaker_endpoints import SageMakerEndpoints

if TYPE_CHECKING:
    from icflow.wiring import Adapters


@dataclass(frozen=True)
class IdleCheckOutcome(Outcome):
    action: Literal["disabled", "checked"]
    deleted: tuple[str, ...] = ()  # the endpoints deleted as idle
    foreign: tuple[str, ...] = ()  # endpoints of the name prefix that are not this stack's, left alone


class DeleteIdleEndpoints:
    def __init__(
        self,
        idle_hours: int,
        state: StateTable,
        deploy: SageMakerEndpoints,
        cloudwatch: EndpointMetrics,
        notifier: Notifier,
        ownership: StackOwnership,
        autoscaling: EndpointAutoscaling,
    ) -> None:
        self._ownership = ownership
        self._autoscaling = autoscaling
        self._idle_hours = idle_hours
        self._state = state
        self._deploy = deploy
        self._cloudwatch = cloudwatch
        self._notifier = notifier

    def __call__(self, now: datetime) -> IdleCheckOutcome:
        if self._idle_hours == 0:
            return IdleCheckOutcome("disabled")
        window = timedelta(hours=self._idle_hours)
        deleted: list[str] = []
        foreign: list[str] = []
        for name in self._deploy.endpoint_names(naming.NAME_PREFIX):
            endpoint = self._deploy.endpoint(name)
            if endpoint is None:
                continue
            tags = self._deploy.tags(endpoint.arn)
            if self._ownership.foreign(name, tags) is not None:
                foreign.append(name)
                continue
            if endpoint.status != "InService":
                continue
            if endpoint.last_modified is not None and endpoint.last_modified > now - window:
                continue
            if self._cloudwatch.invocations(name, endpoint.variant_names, now - window, now) > 0:
                continue
            dataset = naming.dataset_of_tags(tags)
            # A scaled variant is deregistered first, so no scalable target outlives its endpoint.
            for variant in endpoint.variant_names:
                self._autoscaling.deregister(name, variant)
            self._deploy.delete_endpoint(name)
            deleted.append(name)
            metrics.add_metric(name="IdleEndpointsDeleted", unit=MetricUnit.Count, value=1)
            reason = f"no invocations for {self._idle_hours} hours (EndpointIdleHours); deleted to stop its cost"
            logger.info("idle endpoint deleted", extra={"endpoint_name": name, "dataset": dataset})
            if dataset:  # an endpoint without an item of its own has nothing to record
                self._state.transition_item(
                    dataset,
                    ENDPOINT_SK,
                    EndpointStatus.DELETED_IDLE.value,
                    ANY_ENDPOINT_STATUS,
                    fields={"target_config": None, "autoscaling_registered": False},
                    reason=reason,
                )
            self._notifier.notify(
                f"icflow: idle endpoint {name} deleted",
                f"{name}: {reason}. The next model of the dataset creates it again.",
                dataset or "",
            )
        return IdleCheckOutcome("checked", tuple(deleted), tuple(foreign))


def build_delete_idle_endpoints(adapters: Adapters) -> DeleteIdleEndpoints:
    return DeleteIdleEndpoints(
        adapters.settings.endpoint_idle_hours,
        adapters.state,
        adapters.endpoints,
        adapters.endpoint_metrics,
        adapters.notifier,
        adapters.ownership,
        adapters.autoscaling,
    )
