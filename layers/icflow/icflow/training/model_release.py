"""How a run with a trained model ends, shared by the two events that decide it: its job completing
(icflow.training.job_state_change) and, for a model that waited for approval, the registry's decision
(icflow.training.model_approval).

Either the model becomes the dataset's current one (released: "icflow Model Ready" published, then the run marked
model_ready), or the run ends without one ("icflow Run Ended" published, then the run marked). Events go out before
the marks, so a crash in between publishes them again on retry rather than never; their consumers are idempotent.
Every transition is conditional on the statuses the run may come from, so duplicate deliveries change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from icflow.core import layout
from icflow.core.icflow_events import IcflowEvents
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.outcome import Outcome
from icflow.core.run_ended import RunEndedDetail
from icflow.core.settings import Settings
from icflow.core.state import RUNNING, RunStatus, StateTable
from icflow.core.status_mirror import StatusMirror
from icflow.training.sagemaker_jobs import TrainedModel

StateAction = Literal["ignored", "duplicate", "model_ready", "awaiting_approval", "rejected", "failed", "stopped"]


@dataclass(frozen=True)
class StateOutcome(Outcome):
    action: StateAction
    dataset: str | None = None
    run_id: str | None = None
    model_name: str | None = None
    reason: str | None = None


def metrics_text(values: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in sorted(values.items())) or "none reported"


class ModelRelease:
    def __init__(
        self,
        settings: Settings,
        state: StateTable,
        mirror: StatusMirror,
        notifier: Notifier,
        publisher: IcflowEvents,
    ) -> None:
        self._settings = settings
        self._state = state
        self._mirror = mirror
        self._notifier = notifier
        self._publisher = publisher

    def report_uri(self, dataset: str, run_id: str) -> str:
        return f"s3://{self._settings.data_bucket}/{layout.run_report_key(dataset, run_id)}"

    def release(
        self,
        dataset: str,
        run_id: str,
        model_name: str,
        trained: TrainedModel,
        from_statuses: Sequence[str],
        fields: dict[str, Any] | None = None,
    ) -> StateOutcome:
        """Publishes icflow Model Ready, then marks the run model_ready (from one of `from_statuses`, with `fields`)
        and the model the dataset's current one; a duplicate delivery finds it done."""
        self._publisher.publish(
            ModelReadyDetail(
                stack=self._settings.stack_name,
                dataset=dataset,
                run_id=run_id,
                model_name=model_name,
                job_name=trained.job_name,
                model_data_url=trained.model_data_url,
                metrics=trained.metrics,
            )
        )
        item = self._state.transition(
            dataset,
            run_id,
            RunStatus.MODEL_READY.value,
            tuple(from_statuses),
            fields={
                "model_name": model_name,
                "model_data_url": trained.model_data_url,
                "best_training_job": trained.job_name,
                "metrics": trained.metrics,
                # Rendered from the model-ready event moments after this is written (icflow.reports).
                "report_uri": self.report_uri(dataset, run_id),
                **(fields or {}),
            },
        )
        if item is None:
            return StateOutcome("duplicate", dataset, run_id, model_name, reason="another delivery recorded it")
        self._state.update_dataset(
            dataset,
            {
                "status": item["status"],
                "latest_run_id": run_id,
                "current_model_name": model_name,
                "current_model_run_id": run_id,
                "reason": None,
            },
        )
        self._mirror.write(dataset, item)
        metrics.add_metric(name="ModelsCreated", unit=MetricUnit.Count, value=1)
        self._notifier.notify(
            f"icflow: model ready for {dataset}",
            f"Model {model_name} of dataset {dataset} is ready (run {run_id}, trained by {trained.job_name}).\n"
            f"Final metrics: {metrics_text(trained.metrics)}\n"
            f"Report: {item['report_uri']} (or `icflow report --dataset {dataset!r} --run {run_id} --open`).",
            dataset,
        )
        logger.info("model ready", extra={"dataset": dataset, "model_name": model_name, "metrics": trained.metrics})
        return StateOutcome("model_ready", dataset, run_id, model_name)

    def end(
        self,
        dataset: str,
        run: dict[str, Any],
        status: RunStatus,
        reason: str,
        trained: TrainedModel | None = None,
        job_ran: bool = True,
        from_statuses: Sequence[str] = RUNNING,
    ) -> StateOutcome:
        """Ends a run (its item as read, in one of `from_statuses`) without a model: recorded, mirrored to
        latest.json and notified, once. A run whose job ran gets its report page too (icflow Run Ended)."""
        run_id = run["run_id"]
        fields: dict[str, Any] = {"metrics": trained.metrics, "best_training_job": trained.job_name} if trained else {}
        if job_ran:
            fields["report_uri"] = self._announce_end(dataset, run, status, reason, trained)
        item = self._state.transition(
            dataset, run_id, status.value, tuple(from_statuses), fields=fields or None, reason=reason
        )
        if item is None:
            return StateOutcome("duplicate", dataset, run_id, reason="another delivery recorded it")
        self._state.update_dataset(dataset, {"status": status.value, "latest_run_id": run_id, "reason": reason})
        self._mirror.write(dataset, item)
        metrics.add_metric(name=f"Runs{status.value.capitalize()}", unit=MetricUnit.Count, value=1)
        self._notifier.notify(
            f"icflow: run {status.value} for {dataset}",
            f"Run {run_id} of dataset {dataset} ended without a model: {reason}\n"
            f"The run's history is in {layout.latest_status_key(dataset)}.",
            dataset,
        )
        logger.warning(
            "run ended without a model", extra={"dataset": dataset, "status": status.value, "reason": reason}
        )
        return StateOutcome(status.value, dataset, run_id, reason=reason)

    def _announce_end(
        self, dataset: str, run: dict[str, Any], status: RunStatus, reason: str, trained: TrainedModel | None
    ) -> str:
        """Publishes icflow Run Ended, before the run is marked; the URI of the report page it asks for."""
        run_id = run["run_id"]
        job_name = str(run.get("job_name") or "")
        training_job = trained.job_name if trained else (job_name if run.get("kind") != "tuning" else None)
        self._publisher.publish(
            RunEndedDetail(
                stack=self._settings.stack_name,
                dataset=dataset,
                run_id=run_id,
                status=status.value,
                reason=reason,
                job_name=job_name,
                training_job=training_job,
            )
        )
        return self.report_uri(dataset, run_id)
