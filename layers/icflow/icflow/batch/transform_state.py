"""An icflow transform job reached a final state: label its outputs, or record and tell why not.

The job's model, output path and timings come from DescribeTransformJob; the output path names the
dataset and batch. The batch item moves from transforming once, so a repeated event does nothing; a
retry after a crash mid-labeling writes the same keys again with the same content.

One image the model refuses fails SageMaker's whole job. When the job's data log names the refused images
(icflow.batch.refused_images), the batch goes on without them: a next job over the images that have no output
yet, or, when none is left, labeling; summary.json lists each refused image with SageMaker's error. A job that
fails without naming an image, or a batch that has gone on MAX_GOING_ON times, fails as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from icflow.batch.manifest import input_prefix, input_relative, parse_output_uri, s3_uri
from icflow.batch.predictions.batch_files import LabelingResult
from icflow.batch.predictions.labeler import LabelingRequest, label_batch
from icflow.batch.refused_images import MAX_REFUSED, TransformLogs
from icflow.batch.sagemaker_transforms import SageMakerTransforms, TransformJob
from icflow.batch.starter import BatchStarter, build_batch_starter
from icflow.core import layout, naming
from icflow.core.class_names import load_class_names
from icflow.core.errors import IcflowError
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.outcome import Outcome
from icflow.core.pipeline_config import read_pipeline_config
from icflow.core.s3_objects import S3Objects
from icflow.core.sagemaker_events import COMPLETED, FINAL_STATES
from icflow.core.state import BATCH_IN_FLIGHT, BatchStatus, StateTable, batch_sk

if TYPE_CHECKING:
    from icflow.batch.labeled_batch import LabeledBatches
    from icflow.wiring import Adapters

_ENDED_AS = {"Failed": BatchStatus.FAILED, "Stopped": BatchStatus.STOPPED}
# Each next job costs SageMaker's start-up again; a batch whose images keep being refused three times over is
# better told to the user than chased.
MAX_GOING_ON = 3


@dataclass(frozen=True)
class TransformChange:
    job_name: str
    status: str
    failure_reason: str | None


TransformAction = Literal["ignored", "duplicate", "failed", "stopped", "labeled", "going_on"]


@dataclass(frozen=True)
class TransformOutcome(Outcome):
    action: TransformAction
    dataset: str | None = None
    batch_id: str | None = None
    labeled: int | None = None
    summary_uri: str | None = None
    reason: str | None = None


class HandleTransformState:
    def __init__(
        self,
        bucket: str,
        s3_client: Any,
        objects: S3Objects,
        state: StateTable,
        transforms: SageMakerTransforms,
        starter: BatchStarter,
        notifier: Notifier,
        logs: TransformLogs,
        labeled: LabeledBatches,
    ) -> None:
        self._bucket = bucket
        self._s3 = s3_client
        self._objects = objects
        self._state = state
        self._transforms = transforms
        self._starter = starter
        self._notifier = notifier
        self._logs = logs
        self._labeled = labeled

    def __call__(self, change: TransformChange) -> TransformOutcome:
        if not naming.is_icflow_name(change.job_name):
            return TransformOutcome("ignored", reason=f"{change.job_name} is not an icflow transform job")
        if change.status not in FINAL_STATES:
            return TransformOutcome("ignored", reason=f"{change.job_name} is {change.status}, not final")
        job = self._transforms.transform_job(change.job_name)
        batch = self._find_batch(change, job)
        if isinstance(batch, TransformOutcome):
            return batch
        if job.status != COMPLETED:
            return self._settle_unfinished(change, job, batch)
        return self._label(job, batch["dataset"], batch["batch_id"], batch.get("refused_images", []))

    def _label(self, job: TransformJob, dataset: str, batch_id: str, refused: list[dict[str, str]]) -> TransformOutcome:
        try:
            request = self._labeling_request(job, dataset, batch_id, refused)
        except IcflowError as error:
            return self._fail(dataset, batch_id, f"labeling {job.name}'s outputs: {error}")
        return self._record_labeled(job, dataset, batch_id, label_batch(self._s3, request))

    def _find_batch(self, change: TransformChange, job: TransformJob) -> dict[str, Any] | TransformOutcome:
        """The transforming batch the job belongs to, or why there is nothing to do."""
        try:
            bucket, dataset, batch_id = parse_output_uri(job.output_uri)
        except IcflowError as error:
            return TransformOutcome("ignored", reason=str(error))
        logger.set_correlation_id(batch_id)
        batch = self._state.get_item(dataset, batch_sk(batch_id))
        if bucket != self._bucket or batch is None or batch.get("transform_job_name") != change.job_name:
            return TransformOutcome("ignored", dataset, batch_id, reason="no such batch in this stack")
        if batch["status"] not in BATCH_IN_FLIGHT:
            return TransformOutcome("duplicate", dataset, batch_id, reason=f"batch is already {batch['status']}")
        return batch

    def _settle_unfinished(self, change: TransformChange, job: TransformJob, batch: dict[str, Any]) -> TransformOutcome:
        """A job that failed or was stopped: the batch goes on without the images the model refused, or is
        marked so, and the user is told why."""
        dataset, batch_id = batch["dataset"], batch["batch_id"]
        reason = f"{change.job_name}: {job.failure_reason or change.failure_reason or 'the transform job was ' + job.status.lower()}"
        status = _ENDED_AS.get(job.status, BatchStatus.FAILED)
        if status is BatchStatus.FAILED:
            refused = self._refused(job, dataset)
            going_on = int(batch.get("going_on", 0))
            if refused and going_on < MAX_GOING_ON:
                return self._go_on_without(job, batch, refused)
            if refused:
                reason += f" (the batch went on without refused images {going_on} times already; check its images)"
            return self._fail(dataset, batch_id, reason)
        item = self._state.transition_item(dataset, batch_sk(batch_id), status.value, BATCH_IN_FLIGHT, reason=reason)
        if item is not None:
            self._notifier.notify(f"icflow: batch {batch_id} of {dataset} {status.value}", reason, dataset)
        return TransformOutcome(status.value, dataset, batch_id, reason=reason)

    def _refused(self, job: TransformJob, dataset: str) -> dict[str, str]:
        """Image key below batch/<dataset>/ -> SageMaker's error, for the images the job's model refused."""
        prefix = s3_uri(self._bucket, input_prefix(dataset))
        refused = self._logs.refused(job.name, job.failure_reason)
        named = {uri.removeprefix(prefix): error for uri, error in refused.items() if uri.startswith(prefix)}
        # Another bucket's or prefix's object is not this batch's image; too many is not a few bad images.
        return named if len(named) == len(refused) and len(named) <= MAX_REFUSED else {}

    def _go_on_without(self, job: TransformJob, batch: dict[str, Any], refused: dict[str, str]) -> TransformOutcome:
        dataset, batch_id = batch["dataset"], batch["batch_id"]
        manifest = json.loads(
            self._objects.read_optional(job.manifest_uri.removeprefix(f"s3://{self._bucket}/")) or b"[]"
        )
        done = set(self._outputs(dataset, batch_id))
        remaining = tuple(key for key in manifest[1:] if key not in done and key not in refused)
        prefix = input_prefix(dataset)
        listed = [
            *batch.get("refused_images", []),
            *({"image_uri": s3_uri(self._bucket, prefix + key), "reason": error} for key, error in refused.items()),
        ]
        logger.warning(
            "transform job refused images", extra={"dataset": dataset, "batch_id": batch_id, "refused": refused}
        )
        if remaining:
            started = self._starter.go_on_without(batch, job.model_name, remaining, listed)
            if started.action == "failed":
                return TransformOutcome("failed", dataset, batch_id, reason=started.reason)
            reason = f"{job.name} failed on {len(refused)} images the model refused; {len(remaining)} images go on in {started.job_name}"
            return TransformOutcome("going_on", dataset, batch_id, reason=reason)
        # Nothing is left to transform: labeling records the batch, and summary.json the refused images.
        return self._label(job, dataset, batch_id, listed)

    def _outputs(self, dataset: str, batch_id: str) -> Iterator[str]:
        """The image keys (below batch/<dataset>/) that have an output under the batch's output path."""
        for stored in self._objects.list(layout.transform_output_prefix(dataset, batch_id)):
            relative = input_relative(dataset, batch_id, stored.key)
            if relative is not None:
                yield relative

    def _fail(self, dataset: str, batch_id: str, reason: str) -> TransformOutcome:
        failed = self._starter.fail(dataset, batch_id, BATCH_IN_FLIGHT, reason)
        return TransformOutcome(failed.action, failed.dataset, failed.batch_id, reason=failed.reason)

    def _labeling_request(
        self, job: TransformJob, dataset: str, batch_id: str, refused: list[dict[str, str]]
    ) -> LabelingRequest:
        """What labeling the job's outputs needs from the dataset's pipeline.json and class names."""
        config = read_pipeline_config(self._objects, dataset)
        names = load_class_names(self._objects, dataset, config.class_names, job.model_name)
        return LabelingRequest(
            bucket=self._bucket,
            dataset=dataset,
            batch_id=batch_id,
            model_name=job.model_name,
            transform_job_name=job.name,
            class_names=names,
            top_k=config.deploy.top_k,
            copy_to_labeled=config.deploy.copy_labeled_images,
            job_timings=job.timings,
            refused=tuple((item["image_uri"], item["reason"]) for item in refused),
        )

    def _record_labeled(
        self, job: TransformJob, dataset: str, batch_id: str, result: LabelingResult
    ) -> TransformOutcome:
        """Marks the batch labeled and tells the user where its predictions are; a duplicate delivery finds it done."""
        if not self._labeled.record(dataset, batch_id, result, BATCH_IN_FLIGHT):
            return TransformOutcome("duplicate", dataset, batch_id, reason="another delivery labeled it")
        labeled = result.summary["images"]["labeled"]
        return TransformOutcome("labeled", dataset, batch_id, labeled=labeled, summary_uri=result.summary_uri)


def build_handle_transform_state(adapters: Adapters) -> HandleTransformState:
    return HandleTransformState(
        bucket=adapters.settings.data_bucket,
        s3_client=adapters.s3,
        objects=adapters.objects,
        state=adapters.state,
        transforms=adapters.transforms,
        starter=build_batch_starter(adapters),
        notifier=adapters.notifier,
        logs=adapters.transform_logs,
        labeled=adapters.labeled_batches,
    )
