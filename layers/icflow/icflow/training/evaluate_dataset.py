"""After an upload under datasets/<dataset>/: wait for data, reject what cannot train, or start the run once.

Exactly once comes in three layers, each enough on its own for the case it covers:
- Powertools idempotency around starting a run (and around a rejection): a duplicate event, or a retry
  after success, gets the first invocation's saved outcome without touching anything;
- a conditional write of the run item: of invocations arriving together, one creates it;
- deterministic job names: if two invocations still reach SageMaker, the second gets ResourceInUse.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import DataclassSerializer

from icflow.algorithm.problems import InvalidInput
from icflow.core import layout, naming
from icflow.core.class_names import ClassNames, load_class_names
from icflow.core.errors import IcflowError
from icflow.core.notifier import Notifier
from icflow.core.observability import logger, metrics
from icflow.core.outcome import Outcome
from icflow.core.pipeline_config import (
    PipelineConfig,
    parse_pipeline_config,
    resolve_training_resources,
)
from icflow.core.refusals import Refusal, RetryLater, attempt_count, is_last, read_refusal, retrying_reason, what_to_do
from icflow.core.s3_objects import S3Objects
from icflow.core.settings import Settings
from icflow.core.state import DATASET_WAITING, RunStatus, StateTable, stored_reason
from icflow.core.status_mirror import StatusMirror
from icflow.core.unusable_names import UnusableNames
from icflow.recordio.s3 import channel_stats, lst_entries
from icflow.training.base_model import architecture_problems, current_model
from icflow.training.dataset_facts import (
    DatasetFacts,
    InputFormat,
    ReadinessState,
    counted_channels,
    dataset_readiness,
    dataset_summary,
    resolve_data_hyperparameters,
)
from icflow.training.fingerprint import run_id as fingerprint_run_id
from icflow.training.image_lists import listed_images
from icflow.training.sagemaker_jobs import SageMakerJobs
from icflow.training.training_request import TrainingPlan, build_training_job_request, build_tuning_job_request
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    # Built by icflow.wiring when a function first needs it: an upload of another format never imports it.
    from icflow.training.class_folders import ClassFolders
    from icflow.wiring import Adapters

# A run that is not started within this time is tried again by the next event (the Lambda timeout is less).
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 3600


UploadAction = Literal[
    "ignored",
    "waiting",
    "started",
    "already_started",
    "in_progress",
    "rejected",
    "failed",
    # While uploads settle (icflow.training.dataset_uploads): noted and held, a check a later upload replaces, a
    # check held again after a momentary refusal.
    "settling",
    "superseded",
    "retrying",
]


@dataclass(frozen=True)
class UploadOutcome(Outcome):
    action: UploadAction
    dataset: str | None = None
    run_id: str | None = None
    job_name: str | None = None
    reason: str | None = None


def _rejection_id(objects: dict[str, str]) -> str:
    """The id of a run that cannot get a fingerprint (unusable data or pipeline.json): a hash of every object
    under the dataset, key and ETag, shaped like a run id."""
    return hashlib.sha256(json.dumps(sorted(objects.items())).encode()).hexdigest()[: naming.RUN_ID_LENGTH]


def _job_ran(run: dict[str, Any]) -> bool:
    """Whether a job was started for the run (a run the quality gate rejected, say, is not tried again)."""
    started = (RunStatus.TRAINING.value, RunStatus.TUNING.value)
    return any(change["status"] in started for change in run.get("history", []))


# How a run ends before its job starts: a refusal, a failure of icflow, a start cut off (icflow.lost_events).
_ENDED_UNSTARTED = (RunStatus.REJECTED.value, RunStatus.FAILED.value)


def _attempt(run: dict[str, Any] | None, upload: UploadedObject) -> str:
    """Which attempt at starting the run this upload belongs to, as part of the start's idempotency key.

    The run item lists the writes (S3 sequencers) that started its attempts, `tried_by`. The first attempt's
    key is "", so every file of one upload shares it; a duplicate delivery of any write gets the attempt that
    write started; any other upload while an attempt stands gets the current one. Only a new write after a
    start that ended before its job ran (a refusal, a failure of icflow, a start cut off) opens an attempt of
    its own, keyed by its sequencer: uploading a file again (a raised quota, a fixed classes.txt, `icflow
    retry`) is decided again rather than answered with the cached ending, and _start starts the run again."""
    if run is None:
        return ""
    tried: list[str] = run.get("tried_by") or []
    if upload.sequencer in tried:
        return upload.sequencer if tried.index(upload.sequencer) else ""
    if upload.sequencer and run.get("status") in _ENDED_UNSTARTED and not _job_ran(run):
        return upload.sequencer
    return tried[-1] if len(tried) > 1 else ""


@dataclass(frozen=True)
class _Planned:
    """A run, decided: its plan, the data it counted, the class names in force, and what else its item keeps
    (class folders: what was left out; incremental: the model it starts from)."""

    plan: TrainingPlan
    facts: DatasetFacts
    class_names: ClassNames
    fields: dict[str, object]


class EvaluateDataset:
    def __init__(
        self,
        settings: Settings,
        s3_client: Any,
        objects: S3Objects,
        state: StateTable,
        mirror: StatusMirror,
        notifier: Notifier,
        jobs: SageMakerJobs,
        persistence: DynamoDBPersistenceLayer,
        unusable_names: UnusableNames,
        class_folders: ClassFolders,
    ) -> None:
        self._settings = settings
        self._s3 = s3_client
        self._objects = objects
        self._state = state
        self._mirror = mirror
        self._notifier = notifier
        self._jobs = jobs
        self._unusable_names = unusable_names
        self._class_folders = class_folders
        self.idempotency = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS)
        once = idempotent_function(
            data_keyword_argument="key",
            persistence_store=persistence,
            config=self.idempotency,
            output_serializer=DataclassSerializer(model=UploadOutcome),
        )
        self._start_once = once(self._start)
        self._reject_once = once(self._reject)
        # Once per folder: every file of a folder dragged in under an unusable name would notify otherwise.
        self._reject_name_once = once(self._reject_name)

    def __call__(self, upload: UploadedObject) -> UploadOutcome:
        if upload.bucket != self._settings.data_bucket:
            logger.info("not this stack's bucket", extra={"bucket": upload.bucket, "key": upload.key})
            return UploadOutcome(
                "ignored",
                reason=f"{upload.key} is in bucket {upload.bucket}, not in this stack's "
                f"bucket {self._settings.data_bucket}; name that bucket in the event",
            )
        try:
            parsed = layout.parse_dataset_key(upload.key)
        except layout.UnusableKey as error:
            return self._run_once(
                self._reject_name_once, key={"dataset": error.dataset, "folder": error.folder}, error=error
            )
        if parsed is None:
            logger.info("not a dataset object", extra={"bucket": upload.bucket, "key": upload.key})
            return UploadOutcome(
                "ignored",
                reason=f"{upload.key} is not a dataset file icflow watches: a folder, or not under {layout.DATASETS}",
            )
        dataset = parsed.dataset
        objects = {item.key: item.etag for item in self._objects.list(layout.dataset_prefix(dataset))}
        readiness = dataset_readiness(objects)
        if readiness.state is ReadinessState.WAITING:
            return self._wait(dataset, readiness.reason, readiness.waiting_for)
        rejection = {"dataset": dataset, "run_id": _rejection_id(objects)}
        logger.set_correlation_id(rejection["run_id"])
        if readiness.state is ReadinessState.INVALID or readiness.input_format is None:
            return self._run_once(self._reject_once, key=rejection, reason=readiness.reason)
        run_objects = objects
        if readiness.input_format is InputFormat.IMAGE:
            bucket = self._settings.data_bucket
            try:
                images = listed_images(dataset, objects, lambda key: lst_entries(self._s3, bucket, key))
            except IcflowError as error:
                return self._run_once(self._reject_once, key=rejection, reason=str(error))
            if images.missing:
                return self._wait(dataset, images.waiting_reason(), images.missing_channels(dataset))
            run_objects = images.run_objects(objects)
        pipeline_key = layout.pipeline_key(dataset)
        try:
            config = parse_pipeline_config(
                self._objects.read_optional(pipeline_key) if pipeline_key in objects else None
            )
        except IcflowError as error:
            return self._run_once(self._reject_once, key=rejection, reason=str(error))
        run_id = fingerprint_run_id(self._settings.data_bucket, dataset, run_objects, config)
        logger.set_correlation_id(run_id)
        # classes.txt is not part of the run's identity, but a new one may turn a rejected run valid.
        classes_etag = objects.get(layout.classes_key(dataset), "")
        attempt = _attempt(self._state.get_run(dataset, run_id), upload)
        key = {"dataset": dataset, "run_id": run_id, "classes": classes_etag, "attempt": attempt}
        return self._run_once(
            self._start_once, key=key, config=config, input_format=readiness.input_format, upload=upload
        )

    def _run_once(self, step: Any, **kwargs: Any) -> UploadOutcome:
        try:
            return step(**kwargs)
        except IdempotencyAlreadyInProgressError:
            # Another invocation is handling the same event right now; its own retries cover its failure.
            key = kwargs["key"]
            return UploadOutcome("in_progress", dataset=key["dataset"], run_id=key.get("run_id"))

    def _wait(self, dataset: str, reason: str, waiting_for: tuple[str, ...]) -> UploadOutcome:
        item = self._state.update_dataset(
            dataset, {"status": DATASET_WAITING, "reason": reason, "waiting_for": list(waiting_for)}
        )
        self._mirror.write(dataset, item)
        logger.info("dataset waiting for data", extra={"dataset": dataset, "waiting_for": waiting_for})
        return UploadOutcome("waiting", dataset=dataset, reason=reason)

    def _reject(self, key: dict[str, str], reason: str) -> UploadOutcome:
        dataset, run_id = key["dataset"], key["run_id"]
        item = self._state.create_run(dataset, run_id, RunStatus.REJECTED.value, {"kind": None}, reason=reason)
        if item is not None:
            self._record_latest(dataset, item, reason)
            self._notify_rejection(dataset, reason)
            metrics.add_metric(name="RunsRejected", unit=MetricUnit.Count, value=1)
        # The outcome is saved in the idempotency record (DynamoDB, 400 KB), so it carries the reason as the table does.
        return UploadOutcome("rejected", dataset, run_id, reason=stored_reason(reason, dataset))

    def _reject_name(self, key: dict[str, str | None], error: layout.UnusableKey) -> UploadOutcome:
        self._unusable_names.report(error)
        metrics.add_metric(name="RunsRejected", unit=MetricUnit.Count, value=1)
        return UploadOutcome("rejected", dataset=key["dataset"], reason=str(error))

    def _start(
        self, key: dict[str, str], config: PipelineConfig, input_format: InputFormat, upload: UploadedObject
    ) -> UploadOutcome:
        dataset, run_id = key["dataset"], key["run_id"]
        tuning = config.tuning_enabled
        job_name = (naming.tuning_job_name if tuning else naming.training_job_name)(dataset, run_id)
        fields = {
            "kind": "tuning" if tuning else "training",
            "job_name": job_name,
            "input_format": input_format.value,
            "min_validation_accuracy": config.quality_gate.min_validation_accuracy,
            # Decided with the run, as its quality gate is: a model deploys at once or waits for approval.
            "require_approval": config.deploy.require_approval,
        }
        if (
            self._state.create_run(dataset, run_id, RunStatus.STARTING.value, fields | {"tried_by": [upload.sequencer]})
            is None
        ):
            existing = self._state.get_run(dataset, run_id) or {}
            status = existing.get("status")
            if status in _ENDED_UNSTARTED and not _job_ran(existing):
                # Uploading again tries again: a fix of classes.txt, a raised quota, a passed outage.
                tried_by = [*(existing.get("tried_by") or [""]), upload.sequencer]
                retried = self._state.transition(
                    dataset, run_id, RunStatus.STARTING.value, _ENDED_UNSTARTED, {"attempts": 0, "tried_by": tried_by}
                )
                if retried is None:
                    return UploadOutcome("already_started", dataset, run_id, job_name)
            elif status != RunStatus.STARTING.value:
                return UploadOutcome("already_started", dataset, run_id, job_name)
            # STARTING: a concurrent or crashed invocation; the job name decides who creates the job.
        try:
            planned = self._plan(dataset, run_id, config, input_format)
            plan = planned.plan
            if tuning:
                started = self._jobs.create_tuning_job(build_tuning_job_request(plan))
            else:
                started = self._jobs.create_training_job(build_training_job_request(plan))
        except IcflowError as error:
            return self._end_started(dataset, run_id, RunStatus.REJECTED, str(error))
        except Exception as error:  # noqa: BLE001 - whatever fails, the run ends in a status with its reason
            return self._refused(dataset, run_id, read_refusal(error), config)
        running = RunStatus.TUNING if tuning else RunStatus.TRAINING
        item = self._state.transition(
            dataset,
            run_id,
            running.value,
            (RunStatus.STARTING.value,),
            fields={
                "hyperparameters": plan.hyperparameters,
                "instance_type": plan.resources.instance_type,
                "instance_count": plan.resources.instance_count,
                "managed_spot": plan.resources.managed_spot,
                # For the run's report (icflow.reports): what icflow filled in, and the data it counted.
                "inferred_hyperparameters": sorted(set(plan.hyperparameters) - set(config.hyperparameters)),
                "dataset_summary": dataset_summary(planned.facts, planned.class_names.names),
            }
            | planned.fields,
        )
        if item is not None:
            self._record_latest(dataset, item)
        if started:
            started_metric = "TuningJobsStarted" if tuning else "TrainingJobsStarted"
            metrics.add_metric(name=started_metric, unit=MetricUnit.Count, value=1)
            logger.info("job started", extra={"dataset": dataset, "run_id": run_id, "job_name": job_name})
        return UploadOutcome("started" if started else "already_started", dataset, run_id, job_name)

    def _refused(self, dataset: str, run_id: str, refusal: Refusal, config: PipelineConfig) -> UploadOutcome:
        """A call that failed while starting the run: "retrying" and RetryLater (the platform delivers the
        event again) while tries are left and the refusal may pass; otherwise the run ends with the reason."""
        attempts = attempt_count(self._state.get_run(dataset, run_id))
        if refusal.transient and not is_last(attempts):
            reason = retrying_reason(refusal, attempts)
            item = self._state.transition(
                dataset,
                run_id,
                RunStatus.STARTING.value,
                (RunStatus.STARTING.value,),
                fields={"attempts": attempts + 1},
                reason=reason,
            )
            if item is not None:
                self._record_latest(dataset, item, reason)
            logger.warning("run start refused; retrying", extra={"dataset": dataset, "reason": reason})
            raise RetryLater(refusal.describe())
        instance_type = config.training.instance_type or self._settings.training_instance_type
        advice = what_to_do(refusal, instance_type, layout.pipeline_key(dataset))
        # A refusal after SageMaker had the request is SageMaker's verdict; anything else is icflow's failure.
        status = RunStatus.REJECTED if refusal.operation.startswith("Create") else RunStatus.FAILED
        return self._end_started(dataset, run_id, status, f"{refusal.sentence()} {advice}")

    def _end_started(self, dataset: str, run_id: str, status: RunStatus, reason: str) -> UploadOutcome:
        """Ends a starting run that started no job, and tells the user why."""
        item = self._state.transition(dataset, run_id, status.value, (RunStatus.STARTING.value,), reason=reason)
        if item is not None:
            self._record_latest(dataset, item, reason)
            self._notify_rejection(dataset, reason)
            metrics.add_metric(name="RunsRejected", unit=MetricUnit.Count, value=1)
        action = "rejected" if status is RunStatus.REJECTED else "failed"
        return UploadOutcome(action, dataset, run_id, reason=stored_reason(reason, dataset))

    def _plan(self, dataset: str, run_id: str, config: PipelineConfig, input_format: InputFormat) -> _Planned:
        settings = self._settings
        class_names = load_class_names(self._objects, dataset, config.class_names)
        fields: dict[str, object] = {}
        if input_format is InputFormat.FOLDERS:
            prepared = self._class_folders.prepare(dataset, run_id, class_names, config.split_settings)
            facts = DatasetFacts(input_format, train=prepared.train, validation=prepared.validation)
            class_names = prepared.class_names
            fields["skipped"] = prepared.skipped
        else:
            train_channel, validation_channel = counted_channels(input_format)
            facts = DatasetFacts(
                input_format,
                train=channel_stats(self._s3, settings.data_bucket, layout.channel_prefix(dataset, train_channel)),
                validation=channel_stats(
                    self._s3, settings.data_bucket, layout.channel_prefix(dataset, validation_channel)
                ),
            )
        hyperparameters = resolve_data_hyperparameters(config.hyperparameters, facts, list(class_names.names) or None)
        base = current_model(self._state, dataset) if config.training.incremental else None
        if base is not None:
            problems = architecture_problems(base, hyperparameters)
            if problems:
                raise InvalidInput("training.incremental", problems)
            fields["base_model"] = {"run_id": base.run_id, "model_name": base.model_name}
        elif config.training.incremental:
            fields["base_model"] = None  # nothing to start from yet: this run trains from scratch
        plan = TrainingPlan(
            dataset=dataset,
            run_id=run_id,
            bucket=settings.data_bucket,
            role_arn=settings.sagemaker_role_arn,
            region=settings.region,
            input_format=input_format,
            hyperparameters=hyperparameters,
            resources=resolve_training_resources(settings, config),
            tuning=config.tuning.plan(hyperparameters) if config.tuning is not None and config.tuning_enabled else None,
            base_model_url=base.model_data_url if base is not None else None,
        )
        return _Planned(plan, facts, class_names, fields)

    def _record_latest(self, dataset: str, run: dict[str, Any], reason: str | None = None) -> None:
        """The run as the dataset's latest; latest.json gets the whole `reason`, the table may keep a cut one."""
        self._state.update_dataset(
            dataset,
            {"status": run["status"], "latest_run_id": run["run_id"], "reason": run.get("reason"), "waiting_for": []},
        )
        self._mirror.write(dataset, {**run, "reason": reason} if reason else run)

    def _notify_rejection(self, dataset: str, reason: str) -> None:
        self._notifier.notify(
            f"icflow: dataset {dataset} rejected",
            f"Nothing was started for dataset {dataset}.\n\n{reason}\n\n"
            f"Fix the files under {layout.dataset_prefix(dataset)} and upload again; "
            f"the reason is also in {layout.latest_status_key(dataset)}.",
            dataset,
        )
        logger.warning("dataset rejected", extra={"dataset": dataset, "reason": reason})


def build_evaluate_dataset(adapters: Adapters) -> EvaluateDataset:
    return EvaluateDataset(
        settings=adapters.settings,
        s3_client=adapters.s3,
        objects=adapters.objects,
        state=adapters.state,
        mirror=adapters.mirror,
        notifier=adapters.notifier,
        jobs=adapters.training_jobs,
        persistence=adapters.idempotency_store,
        unusable_names=adapters.unusable_names,
        class_folders=adapters.class_folders,
    )
