"""Runs one hyperparameter tuning job: trials are training jobs named `<tuning job>-<NNN>-<8 hex>`, at most
MaxParallelTrainingJobs at a time and MaxNumberOfTrainingJobs in all, each with its own events (TuningJobArn).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import optuna

from icflow_tools.local_sagemaker import strategies, training_api
from icflow_tools.local_sagemaker.context import JobControl, ServiceContext
from icflow_tools.local_sagemaker.events import TUNING_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.store import TRAINING_JOB, TUNING_JOB, Record
from icflow_tools.local_sagemaker.training import TrainingJob, stop_training_job

logger = logging.getLogger(__name__)

OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"  # SageMaker passes the objective to every trial under this name


def trials(ctx: ServiceContext, tuning: Record) -> list[Record]:
    return [r for r in ctx.store.all(TRAINING_JOB) if r.get("TuningJobArn") == tuning["HyperParameterTuningJobArn"]]


def objective_value(tuning: Record, trial: Record) -> float | None:
    name = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    for metric in trial.get("FinalMetricDataList", []):
        if metric["MetricName"] == name:
            return float(metric["Value"])
    return None


def objective_status(tuning: Record, trial: Record) -> str:
    if trial["TrainingJobStatus"] in ("InProgress", "Stopping"):
        return "Pending"
    return (
        "Succeeded"
        if objective_value(tuning, trial) is not None and trial["TrainingJobStatus"] != "Failed"
        else "Failed"
    )


def trial_summary(tuning: Record, trial: Record) -> Record:
    ranges = tuning["HyperParameterTuningJobConfig"].get("ParameterRanges", {})
    tuned = [
        spec["Name"]
        for kind in (strategies.INTEGER, strategies.CONTINUOUS, strategies.CATEGORICAL)
        for spec in ranges.get(kind, [])
    ]
    summary: Record = {
        "TrainingJobName": trial["TrainingJobName"],
        "TrainingJobArn": trial["TrainingJobArn"],
        "TuningJobName": tuning["HyperParameterTuningJobName"],
        "CreationTime": trial["CreationTime"],
        "TrainingJobStatus": trial["TrainingJobStatus"],
        "TunedHyperParameters": {
            name: trial["HyperParameters"][name] for name in tuned if name in trial["HyperParameters"]
        },
        "ObjectiveStatus": objective_status(tuning, trial),
    }
    for field in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if field in trial:
            summary[field] = trial[field]
    value = objective_value(tuning, trial)
    if value is not None and summary["ObjectiveStatus"] == "Succeeded":
        objective = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
    return summary


def counters(tuning: Record, records: list[Record]) -> dict[str, Any]:
    status = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for trial in records:
        key = {"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(
            trial["TrainingJobStatus"], trial["TrainingJobStatus"]
        )
        status[key] += 1
        objective[objective_status(tuning, trial)] += 1
    return {"TrainingJobStatusCounters": status, "ObjectiveStatusCounters": objective}


def best(tuning: Record, records: list[Record]) -> Record | None:
    summaries = [trial_summary(tuning, trial) for trial in records]
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if not scored:
        return None
    maximize = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"] == "Maximize"
    pick = max if maximize else min
    return pick(scored, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


class TuningJob:
    def __init__(self, ctx: ServiceContext, name: str, control: JobControl) -> None:
        self.ctx = ctx
        self.name = name
        self.control = control
        self._study_lock = threading.Lock()  # optuna's ask/tell/report from several trial threads

    def _refresh(self, publish: bool = False, **fields: Any) -> Record:
        with self.ctx.store.locked():  # trial threads refresh concurrently; the last one must not be stale
            tuning = self.ctx.store.get(TUNING_JOB, self.name)
            assert tuning is not None
            records = trials(self.ctx, tuning)
            update = {**counters(tuning, records), **fields}
            best_trial = best(tuning, records)
            if best_trial is not None:
                update["BestTrainingJob"] = best_trial
            tuning = self.ctx.store.update(TUNING_JOB, self.name, lambda r: r.update(update))
        if publish:
            self.ctx.publisher.publish(
                TUNING_JOB_STATE_CHANGE,
                "DescribeHyperParameterTuningJob",
                tuning["HyperParameterTuningJobArn"],
                tuning,
                self.ctx.store.tags(tuning["HyperParameterTuningJobArn"]),
            )
        return tuning

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # a bug: the tuning job fails, the service lives on
            logger.exception("tuning job %s", self.name)
            self._refresh(
                publish=True,
                HyperParameterTuningJobStatus="Failed",
                HyperParameterTuningEndTime=time.time(),
                FailureReason=f"InternalServerError: {type(error).__name__}: {error}"[:1024],
            )
        else:
            self._finish()

    def _run(self) -> None:
        tuning = self.ctx.store.get(TUNING_JOB, self.name)
        assert tuning is not None
        config = tuning["HyperParameterTuningJobConfig"]
        definition = tuning["TrainingJobDefinition"]
        static = definition.get("StaticHyperParameters", {})
        ranges = config.get("ParameterRanges", {})
        limits = config.get("ResourceLimits", {})
        max_jobs = limits.get("MaxNumberOfTrainingJobs") or strategies.grid_size(ranges)
        if config["Strategy"] == "Grid":
            max_jobs = min(max_jobs, strategies.grid_size(ranges))
        parallel = limits.get("MaxParallelTrainingJobs", 1)
        deadline = time.time() + limits.get("MaxRuntimeInSeconds", 10**9)
        objective = config["HyperParameterTuningJobObjective"]
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize" if objective["Type"] == "Maximize" else "minimize",
            sampler=strategies.make_sampler(config["Strategy"], ranges, config.get("RandomSeed")),
            pruner=strategies.make_pruner(config, static),
        )
        running: set[Future[None]] = set()
        launched = 0
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            while launched < max_jobs and not self._must_end(deadline):
                if len(running) >= parallel:
                    _, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    continue
                launched += 1
                with self._study_lock:
                    trial = study.ask()
                    tuned = strategies.suggest(trial, ranges)
                name = f"{self.name}-{launched:03d}-{secrets.token_hex(4)}"
                hyperparameters = {**static, **tuned, OBJECTIVE_HYPERPARAMETER: objective["MetricName"]}
                record = training_api.new_record(
                    self.ctx, name, definition, hyperparameters, tuning["HyperParameterTuningJobArn"]
                )
                # As documented for CreateHyperParameterTuningJob: the tuning job's tags go on every trial.
                tags = [
                    {"Key": k, "Value": v} for k, v in self.ctx.store.tags(tuning["HyperParameterTuningJobArn"]).items()
                ]
                training_api.insert(self.ctx, record, tags, count_limit=False)
                control = self.ctx.register(TRAINING_JOB, name)
                self._refresh()
                running.add(pool.submit(self._trial, study, trial, name, control, objective["MetricName"]))
            stopping = False
            while running:
                if not stopping and self._must_end(deadline):
                    stopping = True
                    for trial_record in trials(self.ctx, tuning):
                        stop_training_job(self.ctx, trial_record["TrainingJobName"])
                _, running = wait(running, timeout=0.5)

    def _must_end(self, deadline: float) -> bool:
        """StopHyperParameterTuningJob, or the tuning job's own MaxRuntimeInSeconds."""
        return self.control.stop.is_set() or time.time() >= deadline

    def _trial(self, study: optuna.Study, trial: optuna.Trial, name: str, control: JobControl, metric: str) -> None:
        def on_epoch(epoch: int, metrics: dict[str, float]) -> bool:
            if metric not in metrics:
                return False
            with self._study_lock:
                trial.report(metrics[metric], epoch)
                return trial.should_prune()

        try:
            TrainingJob(self.ctx, name, control, on_epoch).run()
        finally:
            self.ctx.unregister(TRAINING_JOB, name, control)
        tuning = self.ctx.store.get(TUNING_JOB, self.name)
        record = self.ctx.store.get(TRAINING_JOB, name)
        assert tuning is not None and record is not None
        value = objective_value(tuning, record)
        with self._study_lock:
            if record["TrainingJobStatus"] == "Completed" and value is not None:
                study.tell(trial, value)
            elif record["TrainingJobStatus"] == "Stopped" and value is not None:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._refresh()

    def _finish(self) -> None:
        tuning = self._refresh()
        end = time.time()
        if self.control.stop.is_set():
            self._refresh(publish=True, HyperParameterTuningJobStatus="Stopped", HyperParameterTuningEndTime=end)
        elif tuning["ObjectiveStatusCounters"]["Succeeded"] == 0:
            attempts = sum(tuning["TrainingJobStatusCounters"].values())
            self._refresh(
                publish=True,
                HyperParameterTuningJobStatus="Failed",
                HyperParameterTuningEndTime=end,
                FailureReason=f"No training job succeeded after {attempts} attempts. For additional details, "
                "please take a look at the training job failures by listing training jobs for "
                "the hyperparameter tuning job.",
            )
        else:
            self._refresh(publish=True, HyperParameterTuningJobStatus="Completed", HyperParameterTuningEndTime=end)
