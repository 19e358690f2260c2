"""An icflow endpoint changed state: record it, notify, tidy up, and apply an update that had to wait.

DescribeEndpoint is authoritative (events may repeat or arrive out of order). In service on the config
icflow asked for: the endpoint is live; in service on another one: the update rolled back. Once in
service, endpoint configs icflow created for the endpoint that it no longer uses are deleted, and so are
their models when nothing uses them (the endpoint, the dataset's current model, a pending or running batch),
and its variant is registered with Application Auto Scaling when pipeline.json asked for autoscaling (or
deregistered when it no longer does): only an endpoint in service can be (icflow.endpoints.endpoint_autoscaling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from icflow.core import naming
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.outcome import Outcome
from icflow.core.ownership import StackOwnership
from icflow.core.pipeline_config import AutoscalingSettings, RealtimeSettings
from icflow.core.state import (
    BATCH_SK_PREFIX,
    BATCHES_USING_A_MODEL,
    DATASET_SK,
    ENDPOINT_SK,
    EndpointStatus,
    StateTable,
)
from icflow.endpoints.deployer import EndpointDeployer, EndpointDeployOutcome, build_endpoint_deployer
from icflow.endpoints.endpoint_autoscaling import EndpointAutoscaling
from icflow.endpoints.endpoint_events import api_status
from icflow.endpoints.sagemaker_endpoints import VARIANT_NAME, Endpoint, SageMakerEndpoints

if TYPE_CHECKING:
    from icflow.wiring import Adapters


@dataclass(frozen=True)
class EndpointChange:
    endpoint_name: str
    status: str  # as the event spells it: IN_SERVICE, FAILED, UPDATING, ...
    tags: dict[str, str]


EndpointStateAction = Literal["ignored", "stale", "failed", "updating", "in_service", "rolled_back"]


@dataclass(frozen=True)
class EndpointStateOutcome(Outcome):
    action: EndpointStateAction
    dataset: str | None = None
    status: str | None = None  # stale: DescribeEndpoint's status, which the event is behind
    endpoint_config_name: str | None = None
    deleted: tuple[str, ...] | None = None  # the superseded configs and models
    update: EndpointDeployOutcome | None = None  # updating: the wanted config, applied now that it is in service
    autoscaling: Literal["registered", "deregistered"] | None = None  # in service: what became of its scaling
    reason: str | None = None


@dataclass(frozen=True)
class EndpointProgressOutcome(Outcome):
    """The endpoint's status on its way (creating, updating, rolling back, deleting) or out of service. reason
    is SageMaker's and always carried, None while it gives none."""

    always = ("reason",)

    action: Literal[
        "creating",
        "updating",
        "rolling_back",
        "out_of_service",
        "rollback_failed",
        "deleting",
        "deleted_idle",
        "deleted",
    ]
    dataset: str
    reason: str | None


# Sent once an endpoint is gone (docs/sagemaker-events.md); not a DescribeEndpoint status.
DELETED_EVENT_STATUS = "DELETED"
# DescribeEndpoint's statuses other than InService and Failed, as the endpoint item records them.
PROGRESS = {
    "Creating": EndpointStatus.CREATING,
    "Updating": EndpointStatus.UPDATING,
    "SystemUpdating": EndpointStatus.UPDATING,
    "RollingBack": EndpointStatus.ROLLING_BACK,
    "OutOfService": EndpointStatus.OUT_OF_SERVICE,
    "UpdateRollbackFailed": EndpointStatus.ROLLBACK_FAILED,
    "Deleting": EndpointStatus.DELETING,
}
# Statuses in which the endpoint answers no requests, notified with what happens next.
NOT_SERVING = {
    EndpointStatus.OUT_OF_SERVICE: "It answers no requests until SageMaker brings it back into service.",
    EndpointStatus.ROLLBACK_FAILED: (
        "SageMaker allows only its deletion: the next model of the dataset replaces it, or delete it yourself."
    ),
}


class HandleEndpointState:
    def __init__(
        self,
        state: StateTable,
        deploy: SageMakerEndpoints,
        deployer: EndpointDeployer,
        notifier: Notifier,
        ownership: StackOwnership,
        autoscaling: EndpointAutoscaling,
    ) -> None:
        self._ownership = ownership
        self._autoscaling = autoscaling
        self._state = state
        self._deploy = deploy
        self._deployer = deployer
        self._notifier = notifier

    def __call__(self, change: EndpointChange) -> EndpointStateOutcome | EndpointProgressOutcome:
        if not naming.is_icflow_name(change.endpoint_name):
            return EndpointStateOutcome("ignored", reason=f"{change.endpoint_name} is not an icflow endpoint")
        if change.status == DELETED_EVENT_STATUS:
            return self._deleted(change)
        endpoint = self._deploy.endpoint(change.endpoint_name)
        if endpoint is None:
            return EndpointStateOutcome("ignored", reason=f"{change.endpoint_name} no longer exists")
        # Events may come without tags; the endpoint's own are authoritative then.
        tags = change.tags if naming.TAG_STACK in change.tags else self._deploy.tags(endpoint.arn)
        foreign = self._ownership.foreign(change.endpoint_name, tags)
        if foreign is not None:
            return EndpointStateOutcome("ignored", reason=foreign)
        dataset = naming.dataset_of_tags(tags)
        record = self._state.get_item(dataset, ENDPOINT_SK) if dataset else None
        if dataset is None or record is None or naming.endpoint_name(dataset) != change.endpoint_name:
            return EndpointStateOutcome("ignored", reason=f"{change.endpoint_name} is not an endpoint of this stack")
        if api_status(change.status) != endpoint.status:
            # A late event: the endpoint has moved on, and its own event will come.
            return EndpointStateOutcome("stale", dataset, status=endpoint.status)
        if endpoint.status == "InService":
            return self._in_service(dataset, endpoint, record)
        if endpoint.status == "Failed":
            reason = endpoint.failure_reason or "the endpoint failed"
            self._deployer.record(dataset, EndpointStatus.FAILED, {"current_config": endpoint.config_name}, reason)
            self._notifier.notify(f"icflow: endpoint {endpoint.name} failed", f"{endpoint.name}: {reason}", dataset)
            return EndpointStateOutcome("failed", dataset, reason=reason)
        progress = PROGRESS.get(endpoint.status)
        if progress is None:
            return EndpointStateOutcome("ignored", dataset, reason=f"unknown endpoint status {endpoint.status}")
        if progress is EndpointStatus.DELETING and record["status"] in (
            EndpointStatus.DELETED_IDLE.value,
            EndpointStatus.DELETED.value,
            EndpointStatus.DELETING.value,
        ):
            # Whoever deleted it recorded why; the deletion's own event changes nothing.
            return EndpointProgressOutcome(record["status"], dataset, record.get("reason"))
        self._deployer.record(dataset, progress, {"current_config": endpoint.config_name}, endpoint.failure_reason)
        if progress in NOT_SERVING:
            reason = endpoint.failure_reason or f"SageMaker reports the endpoint {endpoint.status}"
            self._notifier.notify(
                f"icflow: endpoint {endpoint.name} {progress.value.replace('_', ' ')}",
                f"{endpoint.name}: {reason}. {NOT_SERVING[progress]}",
                dataset,
            )
        return EndpointProgressOutcome(progress.value, dataset, endpoint.failure_reason)

    def _deleted(self, change: EndpointChange) -> EndpointStateOutcome:
        """The endpoint is gone: a replacement waiting for the deletion of an unusable endpoint creates it now."""
        # The deletion's event may carry no tags: then the endpoint item shows whether this stack deleted it.
        if naming.TAG_STACK in change.tags and (foreign := self._ownership.foreign(change.endpoint_name, change.tags)):
            return EndpointStateOutcome("ignored", reason=foreign)
        dataset = naming.dataset_of_tags(change.tags) or self._deleting_dataset(change.endpoint_name)
        record = self._state.get_item(dataset, ENDPOINT_SK) if dataset else None
        if dataset is None or record is None or naming.endpoint_name(dataset) != change.endpoint_name:
            return EndpointStateOutcome("ignored", reason=f"{change.endpoint_name} is not an endpoint of this stack")
        wanted = record.get("wanted_config")
        if record["status"] != EndpointStatus.DELETING.value or not wanted:
            return EndpointStateOutcome("ignored", dataset, reason=f"{change.endpoint_name} is {record['status']}")
        return EndpointStateOutcome("updating", dataset, update=self._deploy_wanted(dataset, record))

    def _deleting_dataset(self, endpoint_name: str) -> str | None:
        """The dataset whose endpoint item awaits this deletion, for an event without tags. The name is the
        dataset's own when the dataset is its own slug (naming.endpoint_name); other names are found in the table."""
        plain = endpoint_name.removeprefix(naming.NAME_PREFIX)
        if naming.endpoint_name(plain) == endpoint_name:
            return plain
        deleting = self._state.items_in("endpoint", (EndpointStatus.DELETING.value,))
        return next((item["dataset"] for item in deleting if item.get("endpoint_name") == endpoint_name), None)

    def _deploy_wanted(self, dataset: str, record: dict[str, Any]) -> EndpointDeployOutcome:
        """The newest model's config, recorded while the endpoint could not take it, with the settings recorded."""
        realtime = RealtimeSettings(
            enabled=True,
            blue_green=record.get("blue_green", False),
            auto_rollback=record.get("auto_rollback", True),
            instance_type=record.get("instance_type", RealtimeSettings.model_fields["instance_type"].default),
            instance_count=int(record.get("instance_count", 1)),
            autoscaling=_recorded_autoscaling(record),
        )
        return self._deployer.deploy(dataset, record["wanted_config"], record["wanted_model"], realtime)

    def _in_service(self, dataset: str, endpoint: Endpoint, record: dict[str, Any]) -> EndpointStateOutcome:
        target = record.get("target_config")
        rolled_back = target is not None and target != endpoint.config_name
        if rolled_back:
            reason = (
                endpoint.failure_reason
                or f"the update to {target} did not complete; {endpoint.config_name} still serves"
            )
            self._deployer.record(
                dataset,
                EndpointStatus.ROLLED_BACK,
                {"current_config": endpoint.config_name, "target_config": None},
                reason,
            )
            self._notifier.notify(
                f"icflow: endpoint {endpoint.name} rolled back", f"{endpoint.name}: {reason}", dataset
            )
        else:
            models = self._deploy.endpoint_config_models(endpoint.config_name)
            self._deployer.record(
                dataset, EndpointStatus.IN_SERVICE, {"current_config": endpoint.config_name, "current_models": models}
            )
            self._notifier.notify(
                f"icflow: endpoint {endpoint.name} in service",
                f"{endpoint.name} serves {', '.join(models)}. Try it: icflow predict --endpoint {endpoint.name} IMAGE",
                dataset,
            )
        wanted = record.get("wanted_config")
        if wanted and wanted not in (endpoint.config_name, target):
            return EndpointStateOutcome("updating", dataset, update=self._deploy_wanted(dataset, record))
        deleted = self._delete_superseded(dataset, endpoint, {wanted} if wanted else set())
        action = EndpointStatus.ROLLED_BACK.value if rolled_back else EndpointStatus.IN_SERVICE.value
        return EndpointStateOutcome(
            action,
            dataset,
            endpoint_config_name=endpoint.config_name,
            deleted=tuple(deleted),
            autoscaling=self._scale(dataset, endpoint, record),
        )

    def _scale(
        self, dataset: str, endpoint: Endpoint, record: dict[str, Any]
    ) -> Literal["registered", "deregistered"] | None:
        """Registers the variant with the recorded autoscaling settings (again after every update, which may have
        deregistered it), or deregisters it when the deployed configuration has none."""
        settings = _recorded_autoscaling(record)
        if settings is not None:
            self._autoscaling.register(endpoint.name, VARIANT_NAME, settings)
            self._deployer.record(dataset, None, {"autoscaling_registered": True})
            logger.info("endpoint variant scales", extra={"dataset": dataset, **settings.model_dump()})
            return "registered"
        if record.get("autoscaling_registered"):
            deregistered = self._autoscaling.deregister(endpoint.name, VARIANT_NAME)
            self._deployer.record(dataset, None, {"autoscaling_registered": False})
            return "deregistered" if deregistered else None
        return None

    def _delete_superseded(self, dataset: str, endpoint: Endpoint, keep: set[str]) -> list[str]:
        record = self._state.get_item(dataset, ENDPOINT_SK) or {}
        superseded = [name for name in record.get("configs", []) if name != endpoint.config_name and name not in keep]
        if not superseded:
            return []
        in_use = {
            *self._deploy.endpoint_config_models(endpoint.config_name),
            (self._state.get_item(dataset, DATASET_SK) or {}).get("current_model_name"),
            *(
                item.get("model_name")
                for item in self._state.query(dataset, BATCH_SK_PREFIX)
                if item["status"] in BATCHES_USING_A_MODEL
            ),
        }
        deleted: list[str] = []
        for config in superseded:
            models = self._deploy.endpoint_config_models(config)
            self._deploy.delete_endpoint_config(config)
            deleted.append(config)
            for model in models:
                if model not in in_use and self._deploy.delete_model(model):
                    deleted.append(model)
        remaining = sorted(set(record.get("configs", [])) - set(superseded))
        self._deployer.record(dataset, None, {"configs": remaining})
        logger.info("superseded endpoint resources deleted", extra={"dataset": dataset, "deleted": deleted})
        return deleted


def _recorded_autoscaling(record: dict[str, Any]) -> AutoscalingSettings | None:
    """The autoscaling settings the endpoint item holds (DynamoDB gives its numbers back as Decimals)."""
    recorded = record.get("autoscaling")
    return AutoscalingSettings(**{name: int(value) for name, value in recorded.items()}) if recorded else None


def build_handle_endpoint_state(adapters: Adapters) -> HandleEndpointState:
    return HandleEndpointState(
        adapters.state,
        adapters.endpoints,
        build_endpoint_deployer(adapters),
        adapters.notifier,
        adapters.ownership,
        adapters.autoscaling,
    )
