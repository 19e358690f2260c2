"""A collected group of uploads under batch/<dataset>/...: one manifest and one transform job per dataset, or,
for a small batch of a dataset whose endpoint is in service, labeling by the endpoint (icflow.batch.realtime_labeling).

Objects that are not images are left out of the manifest and listed in the batch's inputs report (read
again into summary.json). Without a current model the batch is recorded as pending, manifest written,
and the model-ready reaction starts it. The batch id is a digest of the group, so a redelivered group
finds its item and its job name taken; the same images uploaded again after the batch failed or was stopped
start it again, under a new job name. Uploads under a folder that cannot be a dataset (icflow.core.layout)
are rejected once per folder and group, with the rule (icflow.core.unusable_names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from icflow.batch.manifest import BatchPlan, plan_batches, write_batch_inputs
from icflow.batch.realtime_labeling import RealtimeLabeling, build_realtime_labeling, reclaim_labeling
from icflow.batch.starter import BatchStarter, build_batch_starter, restarts
from icflow.core import layout
from icflow.core.images import S3Object
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.outcome import Outcome
from icflow.core.refusals import QUEUE_ATTEMPTS
from icflow.core.state import BATCH_ENDED_UNLABELED, DATASET_SK, BatchStatus, StateTable, batch_sk
from icflow.core.unusable_names import UnusableNames

if TYPE_CHECKING:
    from icflow.wiring import Adapters


# started, already_started and failed come from BatchStarter.start; labeled is the endpoint's (realtime_labeling).
CollectAction = Literal["empty", "pending", "labeled", "started", "already_started", "failed", "rejected"]


@dataclass(frozen=True)
class CollectOutcome(Outcome):
    dataset: str
    batch_id: str
    images: int
    skipped: int
    action: CollectAction
    status: str | None = None  # already_started: where the earlier delivery left the batch
    job_name: str | None = None
    model_name: str | None = None
    endpoint_name: str | None = None  # labeled, or labeling, by the dataset's endpoint
    reason: str | None = None


class CollectBatch:
    def __init__(
        self,
        bucket: str,
        s3_client: Any,
        state: StateTable,
        starter: BatchStarter,
        realtime: RealtimeLabeling,
        notifier: Notifier,
        unusable_names: UnusableNames,
    ) -> None:
        self._bucket = bucket
        self._s3 = s3_client
        self._state = state
        self._starter = starter
        self._realtime = realtime
        self._notifier = notifier
        self._unusable_names = unusable_names

    def __call__(self, uploads: Iterable[tuple[str, S3Object]]) -> list[CollectOutcome]:
        bucket = self._bucket
        objects = [obj for owner, obj in uploads if owner == bucket]
        rejected = self._reject_unusable(objects)
        return rejected + [self._collect(plan) for plan in plan_batches(self._s3, bucket, objects)]

    def _reject_unusable(self, objects: list[S3Object]) -> list[CollectOutcome]:
        """One rejection per folder whose name cannot be a dataset (plan_batches leaves its objects out)."""
        unusable: dict[str, tuple[layout.UnusableKey, int]] = {}
        for obj in objects:
            try:
                layout.parse_batch_key(obj.key)
            except layout.UnusableKey as error:
                first, count = unusable.get(error.folder, (error, 0))
                unusable[error.folder] = (first, count + 1)
        for error, _ in unusable.values():
            self._unusable_names.report(error)
        return [
            CollectOutcome(error.dataset or "", "", 0, count, "rejected", reason=str(error))
            for error, count in unusable.values()
        ]

    def _collect(self, plan: BatchPlan) -> CollectOutcome:
        dataset, batch_id = plan.dataset, plan.batch_id
        logger.set_correlation_id(batch_id)
        write_batch_inputs(self._s3, plan)
        fields = {
            "batch_id": batch_id,
            "images": len(plan.relative_keys),
            "skipped": len(plan.skipped),
            "manifest_uri": plan.manifest_uri if plan.relative_keys else None,
            "inputs_report_key": plan.inputs_report_key,
        }
        if not plan.relative_keys:
            reason = f"none of the {len(plan.skipped)} objects is a JPEG or PNG image; see {plan.inputs_report_key}"
            if self._state.create_item(dataset, batch_sk(batch_id), "batch", BatchStatus.EMPTY.value, fields, reason):
                self._notifier.notify(f"icflow: nothing to classify in {dataset}", reason, dataset)
            return _outcome(plan, "empty", reason=reason)
        created = self._state.create_item(dataset, batch_sk(batch_id), "batch", BatchStatus.PENDING.value, fields)
        if created is None:
            existing = self._state.get_item(dataset, batch_sk(batch_id)) or {}
            if existing.get("status") in BATCH_ENDED_UNLABELED:
                # The same images again: the user's retry of a failed or stopped batch, with a new job name.
                existing = (
                    self._state.transition_item(
                        dataset,
                        batch_sk(batch_id),
                        BatchStatus.PENDING.value,
                        BATCH_ENDED_UNLABELED,
                        # What an earlier try went on without is tried again: the user may have fixed it.
                        fields={"restarts": restarts(existing) + 1, "attempts": 0, "going_on": 0, "refused_images": []},
                    )
                    or self._state.get_item(dataset, batch_sk(batch_id))
                    or {}
                )
            # A labeling cut off by the function's end goes to a transform job, not to the endpoint again.
            reclaimed = reclaim_labeling(self._state, existing, datetime.now(UTC))
            if not reclaimed and existing.get("status") != BatchStatus.PENDING.value:
                return _outcome(plan, "already_started", status=existing.get("status"))
        else:
            reclaimed = False
            metrics.add_metric(name="BatchesCollected", unit=MetricUnit.Count, value=1)
        model_name = (self._state.get_item(dataset, DATASET_SK) or {}).get("current_model_name")
        if not model_name:
            logger.info("batch pending until the dataset has a model", extra={"dataset": dataset, "batch_id": batch_id})
            return _outcome(plan, "pending")
        return self._label(plan, model_name, try_endpoint=not reclaimed)

    def _label(self, plan: BatchPlan, model_name: str, try_endpoint: bool) -> CollectOutcome:
        """By the dataset's endpoint when it can take the batch, else by a transform job."""
        realtime = self._realtime(plan, model_name) if try_endpoint else None
        if realtime is not None and realtime.action == "labeled":
            return _outcome(plan, "labeled", model_name=model_name, endpoint_name=realtime.endpoint_name)
        if realtime is not None and realtime.action == "busy":
            status = BatchStatus.LABELING.value
            return _outcome(plan, "already_started", status=status, endpoint_name=realtime.endpoint_name)
        start = self._starter.start(plan.dataset, plan.batch_id, model_name, QUEUE_ATTEMPTS)
        # Beside a started job: why the endpoint did not label the batch.
        reason = start.reason or (realtime.reason if realtime is not None else None)
        return _outcome(plan, start.action, job_name=start.job_name, model_name=start.model_name, reason=reason)


def _outcome(plan: BatchPlan, action: CollectAction, **details: str | None) -> CollectOutcome:
    return CollectOutcome(plan.dataset, plan.batch_id, len(plan.relative_keys), len(plan.skipped), action, **details)


def build_collect_batch(adapters: Adapters) -> CollectBatch:
    return CollectBatch(
        adapters.settings.data_bucket,
        adapters.s3,
        adapters.state,
        build_batch_starter(adapters),
        build_realtime_labeling(adapters),
        adapters.notifier,
        adapters.unusable_names,
    )
