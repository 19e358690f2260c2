"""The run page's data, pure: how training went (accuracy per epoch against the quality gate), what was trained
(hyperparameters with icflow's inferred ones marked, the data per class), what it took (each secondary status,
billable seconds, spot savings, the estimated cost) and, for tuning, every trial.

Its inputs are what AWS keeps of a run: the run item icflow wrote, DescribeTrainingJob of the job whose model it
is, the epochs of that job's log (icflow.reports.training_logs), and for tuning DescribeHyperParameterTuningJob
with its trials (ListTrainingJobsForHyperParameterTuningJob).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from icflow.algorithm.tuning import OBJECTIVE_METRIC
from icflow.core.instance_types import PRICE_REGION, training_price_per_hour
from icflow.reports.epoch_metrics import EpochMetrics

# The metric the algorithm keeps its best model by, the quality gate reads and tuning maximizes.
VALIDATION_ACCURACY = OBJECTIVE_METRIC


@dataclass(frozen=True)
class StatusTiming:
    """One of DescribeTrainingJob's SecondaryStatusTransitions: Starting, Downloading, Training, Uploading..."""

    status: str
    seconds: float
    message: str


@dataclass(frozen=True)
class Cost:
    instance_type: str
    instance_count: int
    billable_seconds: int | None
    training_seconds: int | None
    managed_spot: bool
    price_per_hour: float | None  # on-demand, PRICE_REGION; None: a type the price table does not list
    estimated_usd: float | None
    spot_savings: float | None  # the share of training time not billed, as SageMaker computes it

    @property
    def price_region(self) -> str:
        return PRICE_REGION


@dataclass(frozen=True)
class ClassRow:
    index: int
    name: str
    counts: dict[str, int]  # channel -> images (or records) of this class
    thumbnails: tuple[str, ...]  # data: URIs of a few of its training images, when the data is images


@dataclass(frozen=True)
class Trial:
    name: str
    status: str
    objective: float | None
    hyperparameters: dict[str, str]  # the tuned ones
    reason: str | None  # why it failed or stopped
    best: bool
    seconds: float  # from its training start to its end


@dataclass(frozen=True)
class RunReportData:
    dataset: str
    run_id: str
    status: str  # model_ready, or how the run ended without a model (failed, stopped, rejected)
    reason: str | None  # why it ended without a model
    kind: str  # training or tuning
    job_name: str  # the training job whose model this is (a tuning job's best trial)
    tuning_job_name: str | None
    model_name: str
    model_data_url: str
    input_format: str
    created_at: str | None
    hyperparameters: dict[str, str]
    inferred: frozenset[str]
    epochs: tuple[EpochMetrics, ...]
    final_metrics: dict[str, float]
    quality_gate: float | None  # quality_gate.min_validation_accuracy
    best_epoch: int | None  # the epoch of the highest validation accuracy
    timings: tuple[StatusTiming, ...]
    cost: Cost
    classes: tuple[ClassRow, ...]
    classes_left_out: str | None  # why per-class counts are not shown
    objective_metric: str | None
    trials: tuple[Trial, ...]

    @property
    def trials_estimated_usd(self) -> float | None:
        """Every trial's training time at the model job's price: a tuning run's cost, trials billed alike."""
        price = self.cost.price_per_hour
        if not self.trials or price is None:
            return None
        return round(sum(trial.seconds for trial in self.trials) * self.cost.instance_count * price / 3600, 4)


def best_epoch(epochs: Sequence[EpochMetrics]) -> int | None:
    """The first epoch with the highest validation accuracy, as the algorithm keeps the best model by it."""
    scored = [
        (epoch.metrics[VALIDATION_ACCURACY], -epoch.epoch) for epoch in epochs if VALIDATION_ACCURACY in epoch.metrics
    ]
    return -max(scored)[1] if scored else None


def _seconds(start: Any, end: Any) -> float:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    if isinstance(start, int | float) and isinstance(end, int | float):
        return max(0.0, float(end) - float(start))
    return 0.0


def status_timings(job: Mapping[str, Any]) -> tuple[StatusTiming, ...]:
    """How long each secondary status lasted; the last one, still open at the job's end, ends with the job."""
    end = job.get("TrainingEndTime") or job.get("LastModifiedTime")
    timings = []
    for transition in job.get("SecondaryStatusTransitions") or ():
        until = transition.get("EndTime") or end
        timings.append(
            StatusTiming(
                str(transition.get("Status", "")),
                round(_seconds(transition.get("StartTime"), until), 3),
                str(transition.get("StatusMessage", "")),
            )
        )
    return tuple(timings)


def estimated_cost(job: Mapping[str, Any]) -> Cost:
    """Billable seconds times the on-demand price of the instances; with managed spot, SageMaker bills less than
    the training time, and the difference is the savings it reports."""
    resources = job.get("ResourceConfig") or {}
    instance_type = str(resources.get("InstanceType", ""))
    count = int(resources.get("InstanceCount") or 1)
    billable, training = job.get("BillableTimeInSeconds"), job.get("TrainingTimeInSeconds")
    price = training_price_per_hour(instance_type)
    spot = bool(job.get("EnableManagedSpotTraining"))
    savings = None
    if spot and billable is not None and training:
        savings = round(max(0.0, 1 - billable / training), 4)
    estimate = round(billable * count * price / 3600, 4) if price is not None and billable is not None else None
    return Cost(instance_type, count, billable, training, spot, price, estimate, savings)


def _class_rows(
    summary: Mapping[str, Any], thumbnails: Mapping[int, Sequence[str]]
) -> tuple[tuple[ClassRow, ...], str | None]:
    counts: Mapping[str, Mapping[str, int]] = summary.get("class_counts") or {}
    if not counts:
        return (), summary.get("left_out") or "this run kept no counts per class"
    names: Sequence[str] = summary.get("class_names") or ()
    indexes = sorted({int(index) for channel in counts.values() for index in channel} | set(range(len(names))))
    rows = tuple(
        ClassRow(
            index,
            names[index] if index < len(names) else str(index),
            {channel: int(per_class.get(str(index), 0)) for channel, per_class in counts.items()},
            tuple(thumbnails.get(index, ())),
        )
        for index in indexes
    )
    return rows, None


def _trials(summaries: Sequence[Mapping[str, Any]], best: str | None) -> tuple[Trial, ...]:
    trials = []
    for summary in summaries:
        objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        value = objective.get("Value")
        trials.append(
            Trial(
                str(summary.get("TrainingJobName", "")),
                str(summary.get("TrainingJobStatus", "")),
                float(value) if value is not None else None,
                {str(name): str(value) for name, value in (summary.get("TunedHyperParameters") or {}).items()},
                summary.get("FailureReason"),
                summary.get("TrainingJobName") == best,
                _seconds(summary.get("TrainingStartTime"), summary.get("TrainingEndTime")),
            )
        )
    # The best first, then by objective (highest first), trials without one last.
    trials.sort(key=lambda trial: (not trial.best, trial.objective is None, -(trial.objective or 0.0), trial.name))
    return tuple(trials)


def run_report_data(
    dataset: str,
    run: Mapping[str, Any],
    job: Mapping[str, Any],
    epochs: Sequence[EpochMetrics],
    class_thumbnails: Mapping[int, Sequence[str]],
    tuning_job: Mapping[str, Any] | None = None,
    trials: Sequence[Mapping[str, Any]] = (),
) -> RunReportData:
    """The page's data from the run item (its status and reason as the run ended), DescribeTrainingJob of the job
    whose model it is or would have been ({} when none), its log's epochs, a few training images per class index,
    and for tuning the tuning job with its trials."""
    summary: Mapping[str, Any] = run.get("dataset_summary") or {}
    classes, left_out = _class_rows(summary, class_thumbnails)
    final = {
        str(metric["MetricName"]): float(metric["Value"])
        for metric in job.get("FinalMetricDataList") or ()
        if "MetricName" in metric and "Value" in metric
    }
    gate = run.get("min_validation_accuracy")
    best_trial = (tuning_job or {}).get("BestTrainingJob", {}).get("TrainingJobName")
    objective = (
        (tuning_job or {}).get("HyperParameterTuningJobConfig", {}).get("HyperParameterTuningJobObjective", {})
    ).get("MetricName")
    return RunReportData(
        dataset=dataset,
        run_id=str(run["run_id"]),
        status=str(run.get("status") or ""),
        reason=run.get("reason"),
        kind=str(run.get("kind") or "training"),
        job_name=str(job.get("TrainingJobName", "")),
        tuning_job_name=(tuning_job or {}).get("HyperParameterTuningJobName"),
        model_name=str(run.get("model_name") or ""),
        model_data_url=str(run.get("model_data_url") or (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")),
        input_format=str(run.get("input_format") or ""),
        created_at=run.get("created_at"),
        # The job's own hyperparameters: for tuning, the best trial's, tuned values included.
        hyperparameters={
            str(k): str(v) for k, v in (job.get("HyperParameters") or run.get("hyperparameters") or {}).items()
        },
        inferred=frozenset(run.get("inferred_hyperparameters") or ()),
        epochs=tuple(epochs),
        final_metrics=final or {str(k): float(v) for k, v in (run.get("metrics") or {}).items()},
        quality_gate=float(gate) if gate is not None else None,
        best_epoch=best_epoch(epochs),
        timings=status_timings(job),
        cost=estimated_cost(job),
        classes=classes,
        classes_left_out=left_out,
        objective_metric=objective,
        trials=_trials(trials, best_trial),
    )
