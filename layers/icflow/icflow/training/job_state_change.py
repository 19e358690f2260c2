"""An icflow training or tuning job reached a final state: create and register the model, or record and tell why not.

SageMaker may repeat an event, and EventBridge retries: the run item only moves forward from a running
status (a conditional write), the model name is deterministic, CreateModel's "already exists" counts as done, and
the registry version's ClientToken is the run's. A model that passes the quality gate is registered in the dataset's
model package group (icflow.training.model_registry) and released at once (icflow.training.model_release), or, with
deploy.require_approval, waits for approval (icflow.training.model_approval).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from icflow.algorithm.image_uris import image_uri
from icflow.algorithm.tuning import OBJECTIVE_METRIC
from icflow.core import layout, naming
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.ownership import StackOwnership
from icflow.core.refusals import Refusal, RetryLater, attempt_count, is_last, read_refusal, retrying_reason
from icflow.core.sagemaker_events import COMPLETED, FAILED, STOPPED
from icflow.core.settings import Settings
from icflow.core.state import RUNNING, RunStatus, StateTable
from icflow.core.status_mirror import StatusMirror
from icflow.training.job_events import JobStateChange
from icflow.training.model_registry import META_DATA, META_INPUT_FORMAT, ModelRegistry
from icflow.training.model_release import ModelRelease, StateOutcome, metrics_text
from icflow.training.sagemaker_jobs import SageMakerJobs, TrainedModel

if TYPE_CHECKING:
    from icflow.wiring import Adapters

_ENDED_AS = {FAILED: RunStatus.FAILED, STOPPED: RunStatus.STOPPED}


class HandleJobStateChange:
    def __init__(
        self,
        settings: Settings,
        state: StateTable,
        mirror: StatusMirror,
        notifier: Notifier,
        jobs: SageMakerJobs,
        registry: ModelRegistry,
        release: ModelRelease,
        ownership: StackOwnership,
    ) -> None:
        self._settings = settings
        self._state = state
        self._mirror = mirror
        self._notifier = notifier
        self._jobs = jobs
        self._registry = registry
        self._release = release
        self._ownership = ownership

    def __call__(self, change: JobStateChange) -> StateOutcome:
        if not naming.is_icflow_name(change.job_name):
            return StateOutcome("ignored", reason=f"{change.job_name} is not an icflow job")
        if change.is_tuning_trial:
            return StateOutcome("ignored", reason=f"{change.job_name} is a trial; its tuning job decides")
        if not change.is_final:
            return StateOutcome("ignored", reason=f"{change.job_name} is {change.status}, not final")
        tags = change.tags if naming.TAG_STACK in change.tags else self._jobs.job_tags(change.kind, change.job_name)
        foreign = self._ownership.foreign(change.job_name, tags)
        if foreign is not None:
            return StateOutcome("ignored", reason=foreign)
        dataset, run_id = naming.dataset_of_tags(tags), tags.get(naming.TAG_RUN_ID)
        if not dataset or not run_id:
            return StateOutcome("ignored", reason=f"{change.job_name} carries no icflow dataset and run tags")
        logger.set_correlation_id(run_id)
        run = self._state.get_run(dataset, run_id)
        if run is None or run.get("job_name") != change.job_name:
            logger.warning("job of an unknown run", extra={"job_name": change.job_name, "dataset": dataset})
            return StateOutcome("ignored", dataset, run_id, reason="no such run in this stack")
        if run["status"] not in RUNNING:
            return StateOutcome("duplicate", dataset, run_id, reason=f"run is already {run['status']}")
        if change.status == COMPLETED:
            try:
                return self._completed(change, dataset, run_id, run)
            except Exception as error:  # noqa: BLE001 - whatever fails, the run ends in a status with its reason
                return self._refused(change, dataset, run, read_refusal(error))
        reason = change.failure_reason or f"the {change.kind} job was {change.status.lower()}"
        return self._release.end(dataset, run, _ENDED_AS[change.status], f"{change.job_name}: {reason}")

    def _completed(self, change: JobStateChange, dataset: str, run_id: str, run: dict[str, Any]) -> StateOutcome:
        training_job = self._training_job(change)
        if training_job is None:
            reason = f"{change.job_name}: completed without a successful trial"
            return self._release.end(dataset, run, RunStatus.FAILED, reason)
        trained = self._jobs.trained_model(training_job)
        below = _below_quality_gate(trained, run.get("min_validation_accuracy"))
        if below is not None:
            return self._release.end(dataset, run, RunStatus.REJECTED, below, trained)
        model_name = naming.model_name(dataset, run_id)
        image = image_uri(self._settings.region)
        self._jobs.create_model(
            model_name,
            image,
            trained.model_data_url,
            self._settings.sagemaker_role_arn,
            {**naming.dataset_tags(dataset), naming.TAG_RUN_ID: run_id},
        )
        approved = not run.get("require_approval")
        hyperparameters = run.get("hyperparameters") or {}
        data = {
            META_DATA: f"s3://{self._settings.data_bucket}/{layout.dataset_prefix(dataset)}",
            META_INPUT_FORMAT: str(run.get("input_format") or ""),
        }
        package_arn = self._registry.register(
            dataset, run_id, model_name, image, trained, data, hyperparameters, approved
        )
        if not approved:
            return self._await_approval(dataset, run_id, model_name, trained, package_arn)
        return self._release.release(
            dataset, run_id, model_name, trained, RUNNING, fields={"model_package_arn": package_arn}
        )

    def _refused(self, change: JobStateChange, dataset: str, run: dict[str, Any], refusal: Refusal) -> StateOutcome:
        """A call that failed on the way to the model: "retrying" and RetryLater (Lambda delivers the event
        again) while tries are left and the refusal may pass; otherwise the run ends failed with the reason."""
        run_id, attempts = run["run_id"], attempt_count(run)
        if refusal.transient and not is_last(attempts):
            reason = retrying_reason(refusal, attempts)
            fields = {"attempts": attempts + 1}
            item = self._state.transition(dataset, run_id, run["status"], (run["status"],), fields, reason)
            if item is not None:
                self._mirror.write(dataset, item)
            logger.warning("model creation refused; retrying", extra={"dataset": dataset, "reason": reason})
            raise RetryLater(refusal.describe())
        reason = (
            f"{change.job_name} completed, but no model came of it: {refusal.sentence()} Its artifacts stay "
            f"under {layout.artifacts_prefix(dataset)}; change pipeline.json (or the data) and upload it to "
            "train again."
        )
        return self._release.end(dataset, run, RunStatus.FAILED, reason)

    def _training_job(self, change: JobStateChange) -> str | None:
        """The training job whose artifacts become the model: the job itself, or a tuning job's best trial."""
        if change.kind == "tuning":
            return self._jobs.best_training_job(change.job_name)
        return change.job_name

    def _await_approval(
        self, dataset: str, run_id: str, model_name: str, trained: TrainedModel, package_arn: str
    ) -> StateOutcome:
        """The model is registered PendingManualApproval: the run waits, the dataset keeps its current model."""
        fields = {
            "model_name": model_name,
            "model_data_url": trained.model_data_url,
            "best_training_job": trained.job_name,
            "metrics": trained.metrics,
            "model_package_arn": package_arn,
        }
        reason = (
            f"model {model_name} waits for approval in the SageMaker Model Registry ({package_arn}); approve it with "
            f"`icflow approve --dataset {dataset!r} --run {run_id}` (or in SageMaker Studio) to deploy it, or reject it "
            "with `icflow reject`"
        )
        item = self._state.transition(
            dataset, run_id, RunStatus.AWAITING_APPROVAL.value, RUNNING, fields=fields, reason=reason
        )
        if item is None:
            return StateOutcome("duplicate", dataset, run_id, model_name, reason="another delivery recorded it")
        self._state.update_dataset(dataset, {"status": item["status"], "latest_run_id": run_id, "reason": reason})
        self._mirror.write(dataset, item)
        metrics.add_metric(name="ModelsAwaitingApproval", unit=MetricUnit.Count, value=1)
        self._notifier.notify(
            f"icflow: model awaiting approval for {dataset}",
            f"Run {run_id} of dataset {dataset} trained model {model_name} "
            f"(final metrics: {metrics_text(trained.metrics)}).\n{reason}.",
            dataset,
        )
        return StateOutcome("awaiting_approval", dataset, run_id, model_name, reason=reason)


def _below_quality_gate(trained: TrainedModel, gate: float | None) -> str | None:
    """Why the model falls short of pipeline.json's quality gate, or None when it passes (or there is none).
    An objective that is not a number fails with or without a gate: the training diverged, the model is noise."""
    if OBJECTIVE_METRIC in trained.not_finite:
        return (
            f"{trained.job_name}: {OBJECTIVE_METRIC} is not a number (NaN or infinite): the training diverged and "
            "no model was created; lower hyperparameters.learning_rate in pipeline.json (or check the data's "
            "labels) and upload it again"
        )
    accuracy = trained.metrics.get(OBJECTIVE_METRIC)
    if gate is None or (accuracy is not None and accuracy >= gate):
        return None
    shown = "not reported" if accuracy is None else f"{accuracy:.4f}"
    return (
        f"{trained.job_name}: {OBJECTIVE_METRIC} {shown} is below the quality gate {gate} "
        f"(pipeline.json quality_gate.min_validation_accuracy); no model was created"
    )


def build_handle_job_state_change(adapters: Adapters) -> HandleJobStateChange:
    return HandleJobStateChange(
        settings=adapters.settings,
        state=adapters.state,
        mirror=adapters.mirror,
        notifier=adapters.notifier,
        jobs=adapters.training_jobs,
        registry=adapters.model_registry,
        release=adapters.model_release,
        ownership=adapters.ownership,
    )
