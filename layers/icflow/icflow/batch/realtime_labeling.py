"""A small batch labeled by the dataset's realtime endpoint, in seconds instead of a transform job's minutes of
start-up; the batch collector asks here first, and starts a transform job when the answer is "transform".

The endpoint is used when the batch holds at most deploy.realtime.batch_max_images images and the endpoint
serves the dataset's current model: its item says in service on a config of that model alone, and
DescribeEndpoint agrees (the item is written from events and may be stale). The batch moves from pending to
labeling once, so a redelivered group finds it taken; it ends labeled, with the same outputs, metric and
notification as the transform path (icflow.batch.labeled_batch), and summary.json names the endpoint.

An endpoint failing mid-batch (errors after the client's retries, a ModelError that is not one image's refusal,
the endpoint gone, slower than the budget) leaves nothing written: the batch goes back to pending with the
reason (the item's `endpoint_fallback` and history), and the collector starts its transform job. A batch whose
labeling was cut off (the function ended before it finished) is found in labeling by the group's redelivery,
once no invocation can still be running, and goes to a transform job the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from icflow.batch.labeled_batch import LabeledBatches
from icflow.batch.manifest import BatchPlan
from icflow.batch.predictions.endpoint_labeler import EndpointLabelingRequest, label_by_endpoint
from icflow.batch.serving_endpoint import EndpointFailed, ServingEndpoint
from icflow.core.class_names import load_class_names
from icflow.core.errors import IcflowError
from icflow.core.observability import logger
from icflow.core.pipeline_config import read_pipeline_config
from icflow.core.s3_objects import S3Objects
from icflow.core.state import ENDPOINT_SK, BatchStatus, EndpointStatus, StateTable, batch_sk
from icflow.endpoints.sagemaker_endpoints import SageMakerEndpoints

if TYPE_CHECKING:
    from icflow.wiring import Adapters

IN_SERVICE = "InService"  # DescribeEndpoint's spelling
# The endpoint labels up to MAX_REALTIME_BATCH_IMAGES images in well under this; past it, a transform job is
# the faster way. It leaves most of BatchCollectFunction's Timeout (template.yaml) for the image checks and
# the transform job's start.
LABELING_BUDGET_SECONDS = 120
# Lambda's longest timeout: a batch labeling for longer was left so by an invocation that has ended.
ABANDONED_AFTER = timedelta(seconds=900)

_LABELING = (BatchStatus.LABELING.value,)

RealtimeAction = Literal["labeled", "busy", "transform"]


@dataclass(frozen=True)
class RealtimeOutcome:
    action: RealtimeAction  # busy: another delivery holds or has labeled the batch
    endpoint_name: str | None = None
    reason: str | None = None  # transform: why not the endpoint
    labeled: int | None = None
    summary_uri: str | None = None


class RealtimeLabeling:
    def __init__(
        self,
        bucket: str,
        s3_client: Any,
        objects: S3Objects,
        state: StateTable,
        endpoints: SageMakerEndpoints,
        serving: ServingEndpoint,
        labeled: LabeledBatches,
        budget_seconds: float = LABELING_BUDGET_SECONDS,
    ) -> None:
        self._bucket = bucket
        self._s3 = s3_client
        self._objects = objects
        self._state = state
        self._endpoints = endpoints
        self._serving = serving
        self._labeled = labeled
        self._budget = budget_seconds

    def __call__(self, plan: BatchPlan, model_name: str) -> RealtimeOutcome:
        """Labels the pending batch by the endpoint, or says why a transform job should."""
        dataset, batch_id = plan.dataset, plan.batch_id
        try:
            config = read_pipeline_config(self._objects, dataset)
            class_names = load_class_names(self._objects, dataset, config.class_names, model_name)
        except IcflowError as error:
            return RealtimeOutcome("transform", reason=str(error))  # the transform path fails the batch with it
        most = config.deploy.realtime.batch_max_images
        if len(plan.relative_keys) > most:
            reason = f"{len(plan.relative_keys)} images, more than deploy.realtime.batch_max_images ({most})"
            return RealtimeOutcome("transform", reason=reason)
        endpoint_name, why_not = self._serving_endpoint(dataset, model_name)
        if endpoint_name is None:
            return RealtimeOutcome("transform", reason=why_not)
        taken = self._state.transition_item(
            dataset,
            batch_sk(batch_id),
            BatchStatus.LABELING.value,
            (BatchStatus.PENDING.value,),
            fields={"endpoint_name": endpoint_name, "model_name": model_name},
        )
        if taken is None:
            return RealtimeOutcome("busy", endpoint_name)
        request = EndpointLabelingRequest(
            bucket=self._bucket,
            dataset=dataset,
            batch_id=batch_id,
            model_name=model_name,
            endpoint_name=endpoint_name,
            class_names=class_names,
            relative_keys=plan.relative_keys,
            budget_seconds=self._budget,
            skipped=plan.inputs_report()["skipped"],
            top_k=config.deploy.top_k,
            copy_to_labeled=config.deploy.copy_labeled_images,
        )
        try:
            result = label_by_endpoint(self._s3, self._serving, request)
        except (EndpointFailed, ClientError, BotoCoreError) as error:
            return fall_back(
                self._state, dataset, batch_id, endpoint_name, f"labeling by endpoint {endpoint_name} failed: {error}"
            )
        if not self._labeled.record(dataset, batch_id, result, _LABELING):
            return RealtimeOutcome("busy", endpoint_name, reason="another delivery labeled it")
        labeled = result.summary["images"]["labeled"]
        return RealtimeOutcome("labeled", endpoint_name, labeled=labeled, summary_uri=result.summary_uri)

    def _serving_endpoint(self, dataset: str, model_name: str) -> tuple[str | None, str]:
        """The dataset's endpoint if it serves `model_name` now, else None and why not."""
        record = self._state.get_item(dataset, ENDPOINT_SK)
        if record is None:
            return None, "the dataset has no realtime endpoint"
        name = record["endpoint_name"]
        if record["status"] != EndpointStatus.IN_SERVICE.value or record.get("current_models") != [model_name]:
            return None, f"endpoint {name} is {record['status']}, not in service on model {model_name} alone"
        try:
            endpoint = self._endpoints.endpoint(name)
        except ClientError as error:
            return None, f"endpoint {name} could not be described: {error}"
        if endpoint is None or endpoint.status != IN_SERVICE or endpoint.config_name != record.get("current_config"):
            found = "gone" if endpoint is None else f"{endpoint.status} on {endpoint.config_name}"
            return None, f"endpoint {name} is {found}, not in service on {record.get('current_config')}"
        return name, ""


def reclaim_labeling(state: StateTable, batch: dict[str, Any], now: datetime) -> bool:
    """Back to pending, for a transform job, a batch left labeling by an invocation that has ended (the group's
    redelivery, or the lost-events check, finds it); False while the invocation labeling it may still run, or
    when the batch has moved on."""
    if batch.get("status") != BatchStatus.LABELING.value:
        return False
    if now - datetime.fromisoformat(batch["updated_at"]) < ABANDONED_AFTER:
        return False
    problem = f"labeling by endpoint {batch.get('endpoint_name')} was cut off before it finished"
    return (
        fall_back(state, batch["dataset"], batch["batch_id"], batch.get("endpoint_name"), problem).action == "transform"
    )


def fall_back(
    state: StateTable, dataset: str, batch_id: str, endpoint_name: str | None, problem: str
) -> RealtimeOutcome:
    """Back to pending with the reason; nothing was written, so the transform job labels the batch afresh."""
    reason = f"{problem}; a transform job labels the batch instead"
    logger.warning("endpoint labeling failed", extra={"dataset": dataset, "batch_id": batch_id, "reason": reason})
    item = state.transition_item(
        dataset,
        batch_sk(batch_id),
        BatchStatus.PENDING.value,
        _LABELING,
        fields={"endpoint_fallback": reason},
        reason=reason,
    )
    if item is None:
        return RealtimeOutcome("busy", endpoint_name, reason="another delivery moved the batch on")
    return RealtimeOutcome("transform", endpoint_name, reason=reason)


def build_realtime_labeling(adapters: Adapters) -> RealtimeLabeling:
    return RealtimeLabeling(
        adapters.settings.data_bucket,
        adapters.s3,
        adapters.objects,
        adapters.state,
        adapters.endpoints,
        adapters.serving_endpoint,
        adapters.labeled_batches,
    )
