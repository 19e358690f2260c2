"""Lost events: on schedule, settle the runs and batches whose job ended without icflow hearing of it.

EventBridge delivers a job's state change to a function that may still fail past its retries (its event then
waits in a dead-letter queue, and the alarm says so), and a function may be cut off between creating a job and
recording it. Either way a run would stay `training` or `starting`, or a batch `transforming`, for ever. This
check asks SageMaker how each such job stands, and hands a job that ended to the same use case its event would
have reached, so a settled run or batch is recorded, mirrored and notified exactly as if the event had come.
A batch left `labeling` by the batch collector cut off mid-labeling by the endpoint, with no redelivery of its
group to take it over, gets its transform job (icflow.batch.realtime_labeling). A run `awaiting_approval` whose model
was decided in the registry, but whose decision event was lost, is decided as that event would have
(icflow.training.model_approval): setting the same approval again sends no new event, so nothing else would.

An item is judged only once nothing can still arrive for it: its job ended (or its last change happened) more
than EVENT_MAX_AGE ago, the functions' MaximumEventAgeInSeconds, after which EventBridge and Lambda retry no more.
A job SageMaker does not know was never created: the run or batch ends failed, saying how to start it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from icflow.batch.realtime_labeling import reclaim_labeling
from icflow.batch.starter import RETRY_BATCH, BatchStarter, build_batch_starter
from icflow.batch.transform_state import HandleTransformState, TransformChange, build_handle_transform_state
from icflow.core import layout, naming
from icflow.core.observability import logger
from icflow.core.outcome import Outcome
from icflow.core.refusals import RetryLater
from icflow.core.sagemaker_events import FINAL_STATES
from icflow.core.state import AWAITING_APPROVAL, BATCH_IN_FLIGHT, RUNNING, BatchStatus, RunStatus, StateTable
from icflow.training.job_events import JobStateChange
from icflow.training.job_state_change import HandleJobStateChange, build_handle_job_state_change
from icflow.training.model_approval import HandleModelApproval, PackageDetail, build_handle_model_approval
from icflow.training.model_release import ModelRelease
from icflow.training.sagemaker_jobs import SageMakerJobs

if TYPE_CHECKING:
    from icflow.batch.sagemaker_transforms import SageMakerTransforms
    from icflow.wiring import Adapters

# template.yaml's MaximumEventAgeInSeconds for the state-change functions (tests/functions/test_template.py).
EVENT_MAX_AGE = timedelta(hours=1)
LABELING = (BatchStatus.LABELING.value,)


@dataclass(frozen=True)
class Settled(Outcome):
    """One run or batch the check moved, and what its job's end made of it."""

    dataset: str
    item: str  # "run <id>" or "batch <id>"
    action: str  # the use case's action (model_ready, failed, labeled, ...), or "retrying"
    reason: str | None = None


@dataclass(frozen=True)
class LostEventsOutcome(Outcome):
    action: Literal["checked"]
    settled: tuple[Settled, ...] = ()
    in_flight: int = 0  # runs and batches whose jobs still run, or ended too recently to judge


class SettleLostEvents:
    def __init__(
        self,
        state: StateTable,
        jobs: SageMakerJobs,
        transforms: SageMakerTransforms,
        job_state_change: HandleJobStateChange,
        transform_state: HandleTransformState,
        starter: BatchStarter,
        model_approval: HandleModelApproval,
        release: ModelRelease,
    ) -> None:
        self._state = state
        self._jobs = jobs
        self._transforms = transforms
        self._job_state_change = job_state_change
        self._transform_state = transform_state
        self._starter = starter
        self._model_approval = model_approval
        self._release = release

    def __call__(self, now: datetime) -> LostEventsOutcome:
        judged_before = now - EVENT_MAX_AGE
        settled: list[Settled] = []
        in_flight = errors = 0
        checks = [(run, self._settle_run) for run in self._state.items_in("run", RUNNING)]
        checks += [(batch, self._settle_batch) for batch in self._state.items_in("batch", BATCH_IN_FLIGHT)]
        checks += [(batch, self._settle_labeling) for batch in self._state.items_in("batch", LABELING)]
        checks += [(run, self._settle_decision) for run in self._state.items_in("run", AWAITING_APPROVAL)]
        for item, settle in checks:
            if datetime.fromisoformat(item["updated_at"]) > judged_before:
                in_flight += 1
                continue
            try:
                outcome = settle(item, judged_before)
            except RetryLater as retry:
                # The use case recorded "retrying" (a new change: the check after EVENT_MAX_AGE is the next try).
                outcome = Settled(item["dataset"], _name(item), "retrying", str(retry))
            except Exception:  # noqa: BLE001 - one item must not keep the others from being settled
                logger.exception(
                    "settling a lost event failed", extra={"dataset": item["dataset"], "item": _name(item)}
                )
                errors += 1
                continue
            if outcome is None:
                in_flight += 1
            else:
                settled.append(outcome)
                logger.warning("settled a lost event", extra=outcome.as_dict())
        if errors:
            # After settling every other item: the function's error metric raises FunctionErrorsAlarm.
            raise RuntimeError(f"{errors} lost events could not be settled; see the log lines above")
        return LostEventsOutcome("checked", tuple(settled), in_flight)

    def _settle_run(self, run: dict[str, Any], judged_before: datetime) -> Settled | None:
        dataset, kind, job_name = run["dataset"], run["kind"], run["job_name"]
        job = self._jobs.job_state(kind, job_name)
        if job is None:
            reason = (
                f"the {kind} job {job_name} was never created: starting the run was cut off, and no retry "
                f"followed. Upload {layout.pipeline_key(dataset)} (or any file of the dataset) again, or run "
                f"`icflow retry {dataset}`, to start it"
            )
            outcome = self._release.end(dataset, run, RunStatus.FAILED, reason, job_ran=False)
        elif job.status not in FINAL_STATES or (job.ended_at is not None and job.ended_at > judged_before):
            return None
        else:
            change = JobStateChange(
                kind=kind,
                job_name=job_name,
                status=job.status,
                failure_reason=job.failure_reason,
                tags={},  # the use case reads them from SageMaker, as for an event without tags
                is_tuning_trial=False,
            )
            outcome = self._job_state_change(change)
        return Settled(dataset, _name(run), outcome.action, outcome.reason)

    def _settle_batch(self, batch: dict[str, Any], judged_before: datetime) -> Settled | None:
        dataset, batch_id, job_name = batch["dataset"], batch["batch_id"], batch["transform_job_name"]
        job = self._transforms.find_transform_job(job_name)
        if job is None:
            reason = f"the transform job {job_name} was never created; {RETRY_BATCH}"
            failed = self._starter.fail(dataset, batch_id, BATCH_IN_FLIGHT, reason)
            return Settled(dataset, _name(batch), failed.action, failed.reason)
        ended_at = job.timings.get("TransformEndTime")
        if job.status not in FINAL_STATES or (ended_at is not None and ended_at > judged_before):
            return None
        outcome = self._transform_state(TransformChange(job_name, job.status, job.failure_reason))
        return Settled(dataset, _name(batch), outcome.action, outcome.reason)

    def _settle_labeling(self, batch: dict[str, Any], judged_before: datetime) -> Settled | None:
        if not reclaim_labeling(self._state, batch, judged_before + EVENT_MAX_AGE):
            return None
        started = self._starter.start(batch["dataset"], batch["batch_id"], batch["model_name"])
        return Settled(batch["dataset"], _name(batch), started.action, started.reason)

    def _settle_decision(self, run: dict[str, Any], judged_before: datetime) -> Settled | None:
        """A run waiting for approval: decided when the registry has decided; None while its version waits."""
        group = naming.model_package_group_name(run["dataset"])
        outcome = self._model_approval(
            PackageDetail(ModelPackageArn=run["model_package_arn"], ModelPackageGroupName=group)
        )
        return (
            None if outcome.action == "ignored" else Settled(run["dataset"], _name(run), outcome.action, outcome.reason)
        )


def _name(item: dict[str, Any]) -> str:
    return f"run {item['run_id']}" if item["entity"] == "run" else f"batch {item['batch_id']}"


def build_settle_lost_events(adapters: Adapters) -> SettleLostEvents:
    return SettleLostEvents(
        state=adapters.state,
        jobs=adapters.training_jobs,
        transforms=adapters.transforms,
        job_state_change=build_handle_job_state_change(adapters),
        transform_state=build_handle_transform_state(adapters),
        starter=build_batch_starter(adapters),
        model_approval=build_handle_model_approval(adapters),
        release=adapters.model_release,
    )
