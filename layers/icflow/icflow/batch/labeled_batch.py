"""A batch whose predictions and summary.json are written: its item moves to labeled once, the user is told
where the predictions are, and the batch-labeled event asks for its report. Shared by both paths that label a
batch, a transform job's outputs (icflow.batch.transform_state) and the dataset's endpoint
(icflow.batch.realtime_labeling), so the item, the metric, the notification and the event are the same whichever
labeled it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from icflow.core import layout
from icflow.core.batch_labeled import BatchLabeledDetail
from icflow.core.icflow_events import IcflowEvents
from icflow.core.notifier import Notifier
from icflow.core.observability import metrics
from icflow.core.settings import CoreEnv
from icflow.core.state import BatchStatus, StateTable, batch_sk

if TYPE_CHECKING:
    from icflow.batch.predictions.batch_files import LabelingResult


class LabeledBatches:
    def __init__(self, settings: CoreEnv, state: StateTable, notifier: Notifier, events: IcflowEvents) -> None:
        self._settings = settings
        self._state = state
        self._notifier = notifier
        self._events = events

    def record(
        self,
        dataset: str,
        batch_id: str,
        result: LabelingResult,
        allowed_from: tuple[str, ...],
    ) -> bool:
        """Marks the batch labeled and notifies; False when it was not in `allowed_from` (another delivery
        labeled it), and then nothing is told twice."""
        images = result.summary["images"]
        # Published before the item moves, so a crash in between publishes it again on retry rather than never;
        # the report it asks for is rendered to the same key each time.
        self._events.publish(
            BatchLabeledDetail(
                stack=self._settings.stack_name,
                dataset=dataset,
                batch_id=batch_id,
                model_name=result.summary["model_name"],
                summary_uri=result.summary_uri,
                predictions_uri=result.predictions_jsonl_uri,
                labeled=images["labeled"],
            )
        )
        item = self._state.transition_item(
            dataset,
            batch_sk(batch_id),
            BatchStatus.LABELED.value,
            allowed_from,
            fields={
                "labeled": images["labeled"],
                "failed_images": images["failed"],
                "summary_uri": result.summary_uri,
                "predictions_uri": result.predictions_jsonl_uri,
                "count_per_label": result.summary["count_per_label"],
                "labeled_by": result.summary["labeled_by"],
            },
        )
        if item is None:
            return False
        metrics.add_metric(name="ImagesLabeled", unit=MetricUnit.Count, value=images["labeled"])
        endpoint_name = result.summary["labeled_by"].get("endpoint")
        by = f"model {result.summary['model_name']}" + (f" on endpoint {endpoint_name}" if endpoint_name else "")
        bucket, prefix = self._settings.data_bucket, layout.predictions_prefix(dataset, batch_id)
        self._notifier.notify(
            f"icflow: batch {batch_id} of {dataset} labeled",
            f"{images['labeled']} images of dataset {dataset} were labeled by {by} "
            f"({images['failed']} failed, {images['skipped']} skipped as not images).\n"
            f"Predictions: s3://{bucket}/{prefix} (predictions.csv, predictions.jsonl, summary.json).\n"
            f"Report: s3://{bucket}/{layout.batch_report_key(dataset, batch_id)} (or `icflow report --dataset "
            f"{dataset!r} --batch {batch_id} --open`).",
            dataset,
        )
        return True
