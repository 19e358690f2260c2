"""The run page's data from what SageMaker and the run item say: timings, cost and spot savings, the best epoch,
the classes, and a tuning job's trials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from icflow.reports.epoch_metrics import EpochMetrics
from icflow.reports.run_report import best_epoch, estimated_cost, run_report_data, status_timings

START = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def _job(**fields: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": "icflow-pets-abc",
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 2},
        "HyperParameters": {"epochs": "3", "num_classes": "2"},
        "SecondaryStatusTransitions": [
            {"Status": "Starting", "StartTime": _at(0), "EndTime": _at(60), "StatusMessage": "Preparing"},
            {"Status": "Downloading", "StartTime": _at(60), "EndTime": _at(90), "StatusMessage": "Downloading"},
            {"Status": "Training", "StartTime": _at(90), "EndTime": _at(390), "StatusMessage": "Training"},
            {"Status": "Uploading", "StartTime": _at(390), "StatusMessage": "Uploading"},
        ],
        "TrainingEndTime": _at(400),
        **fields,
    }


def test_each_secondary_status_lasts_until_the_next_and_the_last_until_the_job_ends() -> None:
    timings = status_timings(_job())
    assert [(t.status, t.seconds) for t in timings] == [
        ("Starting", 60.0),
        ("Downloading", 30.0),
        ("Training", 300.0),
        ("Uploading", 10.0),
    ]


def test_cost_is_billable_time_of_every_instance_at_the_on_demand_price_and_spot_saves_the_rest() -> None:
    cost = estimated_cost(_job(BillableTimeInSeconds=1800, TrainingTimeInSeconds=3600, EnableManagedSpotTraining=True))
    assert cost.price_per_hour == 3.825 and cost.instance_count == 2
    assert cost.estimated_usd == round(1800 * 2 * 3.825 / 3600, 4)
    assert cost.spot_savings == 0.5


def test_an_instance_type_without_a_known_price_gets_no_estimate() -> None:
    cost = estimated_cost(
        _job(ResourceConfig={"InstanceType": "ml.x9.huge", "InstanceCount": 1}, BillableTimeInSeconds=60)
    )
    assert cost.price_per_hour is None and cost.estimated_usd is None and cost.spot_savings is None


def test_the_best_epoch_is_the_first_with_the_highest_validation_accuracy() -> None:
    epochs = [
        EpochMetrics(0, {"validation:accuracy": 0.5}),
        EpochMetrics(1, {"validation:accuracy": 0.9}),
        EpochMetrics(2, {"validation:accuracy": 0.9}),
        EpochMetrics(3, {"train:accuracy": 1.0}),
    ]
    assert best_epoch(epochs) == 1
    assert best_epoch([EpochMetrics(0, {"train:accuracy": 0.3})]) is None


def test_classes_tuned_trials_and_inferred_hyperparameters() -> None:
    run = {
        "run_id": "r1",
        "kind": "tuning",
        "job_name": "icflow-pets-r1",
        "min_validation_accuracy": 0.6,
        "inferred_hyperparameters": ["num_classes"],
        "dataset_summary": {
            "class_counts": {"train": {"0": 5, "2": 7}, "validation": {"0": 1}},
            "class_names": ["cat", "dog", "emu"],
        },
    }
    trials = [
        {
            "TrainingJobName": "t-1",
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"learning_rate": "0.1"},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:accuracy", "Value": 0.7},
            "TrainingStartTime": _at(0),
            "TrainingEndTime": _at(600),
        },
        {
            "TrainingJobName": "t-2",
            "TrainingJobStatus": "Failed",
            "TunedHyperParameters": {"learning_rate": "9"},
            "FailureReason": "AlgorithmError: diverged",
            "TrainingStartTime": _at(0),
            "TrainingEndTime": _at(60),
        },
        {
            "TrainingJobName": "t-3",
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"learning_rate": "0.01"},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "validation:accuracy", "Value": 0.8},
            "TrainingStartTime": _at(0),
            "TrainingEndTime": _at(540),
        },
    ]
    tuning = {
        "HyperParameterTuningJobName": "icflow-pets-r1",
        "BestTrainingJob": {"TrainingJobName": "t-3"},
        "HyperParameterTuningJobConfig": {"HyperParameterTuningJobObjective": {"MetricName": "validation:accuracy"}},
    }
    data = run_report_data(
        "pets", run, _job(TrainingJobName="t-3", BillableTimeInSeconds=500), [], {0: ["data:x"]}, tuning, trials
    )

    assert [(row.index, row.name, row.counts, row.thumbnails) for row in data.classes] == [
        (0, "cat", {"train": 5, "validation": 1}, ("data:x",)),
        (1, "dog", {"train": 0, "validation": 0}, ()),
        (2, "emu", {"train": 7, "validation": 0}, ()),
    ]
    assert [(trial.name, trial.best) for trial in data.trials] == [("t-3", True), ("t-1", False), ("t-2", False)]
    assert data.trials[2].reason == "AlgorithmError: diverged"
    assert data.inferred == {"num_classes"} and data.quality_gate == 0.6 and data.tuning_job_name == "icflow-pets-r1"
    # Every trial's time at the best trial's instances: (600 + 60 + 540) s x 2 instances at $3.825 an hour.
    assert data.trials_estimated_usd == round(1200 * 2 * 3.825 / 3600, 4)


def test_a_run_that_kept_no_counts_says_why() -> None:
    run = {"run_id": "r1", "dataset_summary": {"records": {"train": 5}, "left_out": "1500 classes: not kept"}}
    data = run_report_data("pets", run, _job(), [], {})
    assert data.classes == () and data.classes_left_out == "1500 classes: not kept"
