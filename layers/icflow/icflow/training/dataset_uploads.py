"""What an upload under datasets/ leads to: the dataset's run is decided once its uploads have been quiet for
DatasetSettleSeconds.

A folder uploaded file by file (the console, `aws s3 cp --recursive`) arrives as thousands of events in any order,
a pipeline.json or classes.txt among them. Each upload is noted on the dataset's item (status `settling`, how many
so far, when the last came) and leaves a check on the settle queue, held back DatasetSettleSeconds. A check that
comes out and finds a later upload noted does nothing: that upload's own check is still to come. The one that
finds none evaluates the dataset as it then stands (icflow.training.evaluate_dataset): one evaluation and one run
for the whole upload, whatever came late within it. Evaluation stays idempotent, so duplicate and concurrent
checks start nothing twice.

An upload that belongs to no usable dataset (another bucket, a folder name icflow cannot use, a key that is no
dataset file) is decided at once, as every upload is when DatasetSettleSeconds is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from icflow.core import layout
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.refusals import RetryLater
from icflow.core.settings import Settings
from icflow.core.state import DATASET_SETTLING, DATASET_SK, DATASET_UNDECIDED, DATASET_WAITING, StateTable, now_iso
from icflow.core.status_mirror import StatusMirror
from icflow.training.evaluate_dataset import EvaluateDataset, UploadOutcome, build_evaluate_dataset
from icflow.training.settle_queue import MAX_RECEIVES, SettleCheck, SettleQueue
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from icflow.wiring import Adapters

# A check whose evaluation was refused for a moment (throttled, a quota) comes back this much later, as Lambda
# retries an asynchronous invocation; the run item counts the attempts and gives up in time (icflow.core.refusals).
RETRY_SECONDS = 60


def settling_reason(item: dict[str, Any], seconds: int) -> str:
    uploads = int(item.get("settle_uploads") or 0)
    return (
        f"settling: {uploads} upload{'' if uploads == 1 else 's'} so far; the run is decided once no upload has "
        f"come for {seconds} s (DatasetSettleSeconds)"
    )


class DatasetUploads:
    def __init__(
        self,
        settings: Settings,
        state: StateTable,
        mirror: StatusMirror,
        notifier: Notifier,
        queue: SettleQueue | None,
        evaluate: EvaluateDataset,
    ) -> None:
        self._settings = settings
        self._state = state
        self._mirror = mirror
        self._notifier = notifier
        self._queue = queue
        self._evaluate = evaluate

    @property
    def idempotency(self) -> IdempotencyConfig:
        return self._evaluate.idempotency

    def uploaded(self, upload: UploadedObject) -> UploadOutcome:
        """An upload arrived: noted and held while its dataset settles, or decided at once."""
        seconds = self._settings.dataset_settle_seconds
        dataset = self._dataset(upload)
        if dataset is None or not seconds or self._queue is None:
            return self._evaluate(upload)
        noted_at = now_iso()
        item = self._state.note_upload(dataset, noted_at)
        reason = settling_reason(item, seconds)
        self._mirror.write(dataset, {**item, "reason": reason})
        self._queue.hold(SettleCheck.of(upload, noted_at), seconds)
        return UploadOutcome("settling", dataset, reason=reason)

    def settled(self, check: SettleCheck, receives: int = 1) -> UploadOutcome:
        """A held check came out (for the `receives`th time): the dataset is evaluated when no upload was noted after
        this one. An evaluation that fails at the last delivery the queue makes says so on the dataset before the
        check is parked, so that the dataset does not stay settling."""
        upload = check.upload
        dataset = self._dataset(upload)
        if dataset is None:  # not held by this stack's uploads: decided as any upload is
            return self._evaluate(upload)
        item = self._state.get_item(dataset, DATASET_SK) or {}
        if item.get("last_upload_at") != check.noted_at:
            return UploadOutcome("superseded", dataset, reason="a later upload is settling; its check decides")
        try:
            outcome = self._evaluate(upload)
        except RetryLater as later:
            if self._queue is None:
                raise
            self._queue.hold(check, RETRY_SECONDS)
            logger.warning("evaluation refused for now; held again", extra={"dataset": dataset, "reason": str(later)})
            return UploadOutcome("retrying", dataset, reason=str(later))
        except Exception as error:
            if receives >= MAX_RECEIVES:
                self._give_up(dataset, check.noted_at, error)
            raise
        self._end_settling(dataset, check.noted_at)
        return outcome

    def _give_up(self, dataset: str, noted_at: str, error: Exception) -> None:
        reason = (
            f"icflow could not decide the uploads of {dataset} after {MAX_RECEIVES} tries: "
            f"{type(error).__name__}: {error}. Upload any file of the dataset again to try again; the check waits in "
            "DatasetUploadDeadLetterQueue, and the function's log says more"
        )
        item = self._state.end_settling(dataset, noted_at, {"status": DATASET_UNDECIDED, "reason": reason})
        if item is not None:
            self._mirror.write(dataset, item)
            self._notifier.notify(f"icflow: dataset {dataset} not decided", reason, dataset)

    def _dataset(self, upload: UploadedObject) -> str | None:
        """The dataset an upload of this stack's bucket belongs to; None for any other upload."""
        if upload.bucket != self._settings.data_bucket:
            return None
        try:
            parsed = layout.parse_dataset_key(upload.key)
        except layout.UnusableKey:
            return None
        return parsed.dataset if parsed is not None else None

    def _end_settling(self, dataset: str, noted_at: str) -> None:
        """The uploads are decided: the count starts again. A status the evaluation left at settling (the uploads
        changed nothing, the same files again) goes back to the latest run's, or waiting."""
        item = self._state.get_item(dataset, DATASET_SK) or {}
        fields: dict[str, Any] = {}
        latest = None
        if item.get("status") == DATASET_SETTLING:
            latest = self._state.get_run(dataset, item["latest_run_id"]) if item.get("latest_run_id") else None
            fields = {"status": latest["status"] if latest else DATASET_WAITING}
            if latest and latest.get("reason"):
                fields["reason"] = latest["reason"]
        ended = self._state.end_settling(dataset, noted_at, fields)
        if ended is not None and fields:
            self._mirror.write(dataset, latest or ended)


def build_dataset_uploads(adapters: Adapters) -> DatasetUploads:
    return DatasetUploads(
        adapters.settings,
        adapters.state,
        adapters.mirror,
        adapters.notifier,
        adapters.settle_queue,
        build_evaluate_dataset(adapters),
    )
