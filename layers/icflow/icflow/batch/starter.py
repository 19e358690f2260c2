"""Starting one collected batch's transform job with a model: shared by the batch collector (the dataset
has a model) and the model-ready reaction (the batch was pending).

The job name derives from the batch id, and the batch item only moves from pending to transforming once,
so a repeated start is "already started", never a second job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from icflow.batch.manifest import BatchPlan, s3_uri
from icflow.batch.sagemaker_transforms import SageMakerTransforms
from icflow.batch.transform_resources import transform_resources
from icflow.core import layout, naming
from icflow.core.errors import IcflowError
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.outcome import Outcome
from icflow.core.pipeline_config import read_pipeline_config
from icflow.core.refusals import (
    ATTEMPTS,
    Refusal,
    RetryLater,
    attempt_count,
    is_last,
    read_refusal,
    retrying_reason,
    what_to_do,
)
from icflow.core.s3_objects import S3Objects
from icflow.core.state import BATCH_IN_FLIGHT, BatchStatus, StateTable, batch_sk

if TYPE_CHECKING:
    from icflow.wiring import Adapters


BatchStartAction = Literal["started", "already_started", "failed"]

# How a failed or stopped batch is tried again: the same images make the same batch (icflow.batch.collect_batch).
RETRY_BATCH = "upload the same images again (or run `icflow retry <dataset>`) to try again"


def restarts(batch: dict[str, Any]) -> int:
    """How often a failed or stopped batch was started again."""
    return int(batch.get("restarts", 0))


def transform_job_suffix(batch_id: str, restarts: int) -> str:
    """The batch id, and which restart: SageMaker never reuses a transform job's name, not even a failed one's."""
    return f"{batch_id}-r{restarts}" if restarts else batch_id


@dataclass(frozen=True)
class BatchStartOutcome(Outcome):
    action: BatchStartAction
    dataset: str
    batch_id: str
    job_name: str | None = None
    model_name: str | None = None
    reason: str | None = None


class BatchStarter:
    def __init__(
        self, bucket: str, objects: S3Objects, state: StateTable, transforms: SageMakerTransforms, notifier: Notifier
    ) -> None:
        self._bucket = bucket
        self._objects = objects
        self._state = state
        self._transforms = transforms
        self._notifier = notifier

    def start(self, dataset: str, batch_id: str, model_name: str, attempts: int = ATTEMPTS) -> BatchStartOutcome:
        """Starts the pending batch's transform job: started, already_started, or failed. A transient refusal
        says "retrying" and raises RetryLater until `attempts` tries (the caller's platform retries) are made."""
        batch = self._state.get_item(dataset, batch_sk(batch_id)) or {}
        job_name = naming.transform_job_name(dataset, transform_job_suffix(batch_id, restarts(batch)))
        try:
            settings = read_pipeline_config(self._objects, dataset).deploy.batch
            resources = transform_resources(settings, int(batch.get("images", 0)))
            # Only the manifest's and the output's locations matter here: both derive from the batch id.
            request = BatchPlan(self._bucket, dataset, batch_id, ()).transform_job_request(
                job_name, model_name, resources
            )
        except IcflowError as error:
            return self.fail(dataset, batch_id, (BatchStatus.PENDING.value,), str(error))
        try:
            started = self._transforms.create_transform_job(
                request, {**naming.dataset_tags(dataset), naming.TAG_BATCH_ID: batch_id}
            )
        except Exception as error:  # noqa: BLE001 - whatever fails, the batch ends in a status with its reason
            return self._refused(dataset, batch_id, batch, read_refusal(error), settings.instance_type, attempts)
        item = self._state.transition_item(
            dataset,
            batch_sk(batch_id),
            BatchStatus.TRANSFORMING.value,
            (BatchStatus.PENDING.value,),
            fields={"transform_job_name": job_name, "model_name": model_name, "instance_type": settings.instance_type},
        )
        if started:
            metrics.add_metric(name="TransformJobsStarted", unit=MetricUnit.Count, value=1)
            logger.info("transform job started", extra={"dataset": dataset, "batch_id": batch_id, "job_name": job_name})
        action: BatchStartAction = "started" if started and item is not None else "already_started"
        return BatchStartOutcome(action, dataset, batch_id, job_name, model_name)

    def _refused(
        self,
        dataset: str,
        batch_id: str,
        batch: dict[str, Any],
        refusal: Refusal,
        instance_type: str,
        attempts: int,
    ) -> BatchStartOutcome:
        tried = attempt_count(batch)
        if refusal.transient and not is_last(tried, attempts):
            reason = retrying_reason(refusal, tried, attempts)
            pending = (BatchStatus.PENDING.value,)
            self._state.transition_item(
                dataset, batch_sk(batch_id), BatchStatus.PENDING.value, pending, {"attempts": tried + 1}, reason
            )
            logger.warning("transform job refused; retrying", extra={"dataset": dataset, "reason": reason})
            raise RetryLater(refusal.describe())
        advice = what_to_do(refusal, instance_type, layout.pipeline_key(dataset), RETRY_BATCH)
        return self.fail(dataset, batch_id, (BatchStatus.PENDING.value,), f"{refusal.sentence()} {advice}")

    def go_on_without(
        self, batch: dict[str, Any], model_name: str, remaining: tuple[str, ...], refused: list[dict[str, str]]
    ) -> BatchStartOutcome:
        """Starts a transforming batch's next job over `remaining` (image keys below batch/<dataset>/) after its
        job failed on the `refused` images; the outputs already written stay, under the same output path."""
        dataset, batch_id = batch["dataset"], batch["batch_id"]
        restart = restarts(batch) + 1
        job_name = naming.transform_job_name(dataset, transform_job_suffix(batch_id, restart))
        plan = BatchPlan(self._bucket, dataset, batch_id, remaining)
        manifest_key = layout.transform_input_prefix(dataset, batch_id) + f"manifest-r{restart}.json"
        try:
            settings = read_pipeline_config(self._objects, dataset).deploy.batch
            self._objects.write_json(manifest_key, plan.manifest())
            request = plan.transform_job_request(
                job_name,
                model_name,
                transform_resources(settings, len(remaining)),
                manifest_uri=s3_uri(self._bucket, manifest_key),
            )
            self._transforms.create_transform_job(
                request, {**naming.dataset_tags(dataset), naming.TAG_BATCH_ID: batch_id}
            )
        except Exception as error:  # noqa: BLE001 - whatever fails, the batch ends in a status with its reason
            reason = f"going on without {len(refused)} refused images failed: {read_refusal(error).describe()}"
            return self.fail(dataset, batch_id, BATCH_IN_FLIGHT, f"{reason}; {RETRY_BATCH}")
        self._state.transition_item(
            dataset,
            batch_sk(batch_id),
            BatchStatus.TRANSFORMING.value,
            BATCH_IN_FLIGHT,
            fields={
                "transform_job_name": job_name,
                "restarts": restart,
                "going_on": int(batch.get("going_on", 0)) + 1,
                "refused_images": refused,
            },
        )
        metrics.add_metric(name="TransformJobsStarted", unit=MetricUnit.Count, value=1)
        logger.info(
            "transform job started without refused images",
            extra={"dataset": dataset, "batch_id": batch_id, "job_name": job_name, "refused": len(refused)},
        )
        return BatchStartOutcome("started", dataset, batch_id, job_name, model_name)

    def fail(self, dataset: str, batch_id: str, allowed_from: tuple[str, ...], reason: str) -> BatchStartOutcome:
        item = self._state.transition_item(
            dataset, batch_sk(batch_id), BatchStatus.FAILED.value, allowed_from, reason=reason
        )
        if item is not None:
            metrics.add_metric(name="BatchesFailed", unit=MetricUnit.Count, value=1)
            self._notifier.notify(
                f"icflow: batch {batch_id} of {dataset} failed",
                f"Batch {batch_id} of dataset {dataset} produced no predictions: {reason}\n"
                f"Its images stay under {layout.BATCH}{dataset}/; {RETRY_BATCH}.",
                dataset,
            )
            logger.warning("batch failed", extra={"dataset": dataset, "batch_id": batch_id, "reason": reason})
        return BatchStartOutcome("failed", dataset, batch_id, reason=reason)


def build_batch_starter(adapters: Adapters) -> BatchStarter:
    return BatchStarter(
        adapters.settings.data_bucket, adapters.objects, adapters.state, adapters.transforms, adapters.notifier
    )
