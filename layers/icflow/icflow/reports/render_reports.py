"""Renders a run's report when its model is ready or it ends without one after its job ran, and a batch's when it is
labeled: one self-contained HTML page each, under reports/ (icflow.core.layout), which no trigger watches. Run
items and summary.json link to them.

A report is rendered again whole on a duplicate event, to the same key: nothing else depends on it, so redelivery
costs a render and changes nothing. What the page needs and cannot have (an expired log, an image deleted since)
is said on the page, not failed on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from icflow.batch.predictions.summary import SUMMARY_FILE
from icflow.batch.predictions.writers import PREDICTIONS_JSONL
from icflow.core import layout
from icflow.core.batch_labeled import BatchLabeledDetail
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.observability import logger
from icflow.core.outcome import Outcome
from icflow.core.run_ended import RunEndedDetail
from icflow.core.s3_objects import S3Objects
from icflow.core.state import StateTable
from icflow.reports.batch_page import batch_page
from icflow.reports.batch_report import batch_report_data
from icflow.reports.class_examples import ClassExamples
from icflow.reports.run_page import run_page
from icflow.reports.run_report import run_report_data
from icflow.reports.sagemaker_runs import SageMakerRuns
from icflow.reports.thumbnails import ThumbnailFetcher
from icflow.reports.training_logs import TrainingLogs

if TYPE_CHECKING:
    from icflow.wiring import Adapters

HTML = "text/html; charset=utf-8"
ReportAction = Literal["rendered", "ignored"]


@dataclass(frozen=True)
class ReportOutcome(Outcome):
    action: ReportAction
    dataset: str
    report_uri: str | None = None
    bytes: int | None = None
    reason: str | None = None


class RenderReports:
    def __init__(
        self,
        bucket: str,
        state: StateTable,
        s3: Any,
        objects: S3Objects,
        runs: SageMakerRuns,
        logs: TrainingLogs,
        thumbnails: ThumbnailFetcher,
        examples: ClassExamples,
    ) -> None:
        self._bucket = bucket
        self._state = state
        self._s3 = s3
        self._objects = objects
        self._runs = runs
        self._logs = logs
        self._thumbnails = thumbnails
        self._examples = examples

    def __call__(self, detail: ModelReadyDetail | RunEndedDetail | BatchLabeledDetail) -> ReportOutcome:
        if isinstance(detail, BatchLabeledDetail):
            return self.batch_report(detail)
        return self.run_report(detail)

    def run_report(self, detail: ModelReadyDetail | RunEndedDetail) -> ReportOutcome:
        dataset = detail.dataset
        logger.set_correlation_id(detail.run_id)
        run = self._state.get_run(dataset, detail.run_id)
        if run is None:
            return ReportOutcome("ignored", dataset, reason=f"run {detail.run_id} is not in this stack's table")
        # Both events come before the run item is marked: how the run ended, the event says.
        if isinstance(detail, ModelReadyDetail):
            run = {**run, "model_name": detail.model_name, "model_data_url": detail.model_data_url}
            status, reason, training_job = "model_ready", None, detail.job_name
        else:
            status, reason, training_job = detail.status, detail.reason, detail.training_job
        tuning = run.get("kind") == "tuning"
        data = run_report_data(
            dataset,
            {**run, "status": status, "reason": reason},
            self._runs.training_job(training_job) if training_job else {},
            self._logs.epochs(training_job) if training_job else [],
            self._examples.of(dataset, run["run_id"], run.get("input_format"), _classes(run)),
            self._runs.tuning_job(run["job_name"]) if tuning else None,
            self._runs.trials(run["job_name"]) if tuning else (),
        )
        return self._put(dataset, layout.run_report_key(dataset, detail.run_id), run_page(data))

    def batch_report(self, detail: BatchLabeledDetail) -> ReportOutcome:
        dataset, batch_id = detail.dataset, detail.batch_id
        logger.set_correlation_id(batch_id)
        # Read from where the batch path writes them, not from the event's URIs: an event names no other object.
        prefix = layout.predictions_prefix(dataset, batch_id)
        summary_body = self._objects.read_optional(prefix + SUMMARY_FILE)
        if summary_body is None:
            return ReportOutcome("ignored", dataset, reason=f"s3://{self._bucket}/{prefix}{SUMMARY_FILE} is missing")
        summary = json.loads(summary_body)
        data = batch_report_data(
            dataset, batch_id, summary, self._predictions(prefix + PREDICTIONS_JSONL), summary.get("class_names", ())
        )
        thumbnails = self._thumbnails.thumbnails(image.key for image in data.images)
        return self._put(dataset, layout.batch_report_key(dataset, batch_id), batch_page(data, thumbnails))

    def _predictions(self, key: str) -> Iterator[dict[str, Any]]:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        with body:
            for line in body.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def _put(self, dataset: str, key: str, page: str) -> ReportOutcome:
        body = page.encode("utf-8")
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=HTML)
        uri = f"s3://{self._bucket}/{key}"
        logger.info("report rendered", extra={"dataset": dataset, "report": uri, "bytes": len(body)})
        return ReportOutcome("rendered", dataset, uri, len(body))


def _classes(run: dict[str, Any]) -> int | None:
    """How many classes the run counted in its training data, when it kept the counts."""
    counts = (run.get("dataset_summary") or {}).get("class_counts") or {}
    return len({index for per_class in counts.values() for index in per_class}) or None


def build_render_reports(adapters: Adapters) -> RenderReports:
    return RenderReports(
        adapters.settings.data_bucket,
        adapters.state,
        adapters.s3,
        adapters.objects,
        adapters.sagemaker_runs,
        adapters.training_logs,
        adapters.thumbnails,
        adapters.class_examples,
    )
