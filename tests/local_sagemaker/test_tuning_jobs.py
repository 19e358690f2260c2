"""Hyperparameter tuning jobs through boto3: trials as training jobs, strategies, limits, best job, events."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.utilities.parser import parse
from botocore.exceptions import ClientError

from icflow.training.job_events import SageMakerStateChange, job_state_change

DETAIL_TYPE = "SageMaker HyperParameter Tuning Job State Change"
TRIAL_NAME = re.compile(r"^(?P<tuning>[\w-]+)-(?P<number>\d{3})-[0-9a-f]{8}$")


def tuning_request(aws, helpers, name, strategy="Random", max_jobs=4, parallel=2, static=None, ranges=None, **config):
    definition = helpers.training_request(aws, "unused", static)
    for field in ("TrainingJobName", "Tags"):
        definition.pop(field)
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": ranges
            or {
                "ContinuousParameterRanges": [
                    {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"}
                ]
            },
            "RandomSeed": 7,
            **config,
        },
        "TrainingJobDefinition": definition,
        "Tags": [{"Key": "dataset", "Value": "digits"}],
    }


def tuning_ended(sagemaker, name):
    job = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    return job if job["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped") else None


def all_trials(sagemaker, name):
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name
    )
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]


def test_random_tuning_runs_its_trials_as_training_jobs_and_reports_the_best(
    aws, service, sagemaker, algorithm, helpers
):
    helpers.put_training_data(aws)
    arn = sagemaker.create_hyper_parameter_tuning_job(**tuning_request(aws, helpers, "tune-random"))[
        "HyperParameterTuningJobArn"
    ]

    job = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-random"))

    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    trials = all_trials(sagemaker, "tune-random")
    assert sorted(TRIAL_NAME.match(t["TrainingJobName"])["number"] for t in trials) == ["001", "002", "003", "004"]
    assert {TRIAL_NAME.match(t["TrainingJobName"])["tuning"] for t in trials} == {"tune-random"}
    rates = {t["TrainingJobName"]: float(t["TunedHyperParameters"]["learning_rate"]) for t in trials}
    assert all(0.01 <= rate <= 0.3 for rate in rates.values())
    best_name = max(rates, key=rates.get)  # the fake algorithm's accuracy grows with the learning rate
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == best_name
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize",
        "MetricName": "validation:accuracy",
        "Value": pytest.approx(min(1.0, 2 * rates[best_name])),
    }
    assert best["ObjectiveStatus"] == "Succeeded"

    trial = sagemaker.describe_training_job(TrainingJobName=best_name)
    assert trial["TuningJobArn"] == arn
    assert trial["HyperParameters"]["_tuning_objective_metric"] == "validation:accuracy"
    assert trial["HyperParameters"]["num_classes"] == "2"
    assert trial["ModelArtifacts"]["S3ModelArtifacts"] == aws.uri(f"artifacts/{best_name}/output/model.tar.gz")
    assert max(len(call["hyperparameters"]) for call in algorithm.calls) == 4  # static + tuned + objective

    trial_events = aws.events_for("SageMaker Training Job State Change", "TrainingJobName", best_name)
    assert trial_events and all(e["detail"]["TuningJobArn"] == arn for e in trial_events)
    assert trial_events[-1]["detail"]["Tags"] == {"dataset": "digits"}  # the tuning job's tags go on its trials
    statuses = [
        e["detail"]["HyperParameterTuningJobStatus"]
        for e in helpers.wait_for(lambda: aws.events_for(DETAIL_TYPE, "HyperParameterTuningJobName", "tune-random"))
    ]
    assert statuses == ["InProgress", "Completed"]
    completed_event = aws.events_for(DETAIL_TYPE, "HyperParameterTuningJobName", "tune-random")[-1]
    completed = completed_event["detail"]
    assert completed["ObjectiveStatusCounters"]["Succeeded"] == 4
    assert completed["TrainingJobStatusCounters"]["Completed"] == 4
    assert isinstance(completed["HyperParameterTuningEndTime"], int)  # epoch ms
    assert completed["Tags"] == {"dataset": "digits"}
    assert completed_event["resources"] == [arn]
    # The layer's parser tells the tuning job's own final event from its trials' events.
    tuning_change = job_state_change(parse(event=completed_event, model=SageMakerStateChange))
    trial_change = job_state_change(parse(event=trial_events[-1], model=SageMakerStateChange))
    assert (tuning_change.kind, tuning_change.is_final, tuning_change.is_tuning_trial) == ("tuning", True, False)
    assert (trial_change.kind, trial_change.is_tuning_trial) == ("training", True)


def test_tuning_respects_max_parallel_training_jobs(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    request = tuning_request(aws, helpers, "tune-serial", max_jobs=3, parallel=1, static={"epoch_seconds": "0.05"})
    sagemaker.create_hyper_parameter_tuning_job(**request)

    helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-serial"))

    spans = sorted((t["TrainingStartTime"], t["TrainingEndTime"]) for t in all_trials(sagemaker, "tune-serial"))
    assert len(spans) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))


def test_bayesian_and_grid_strategies_run(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(aws, helpers, "tune-bayes", "Bayesian", max_jobs=5, parallel=1)
    )
    grid = {"CategoricalParameterRanges": [{"Name": "learning_rate", "Values": ["0.1", "0.2", "0.4"]}]}
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(aws, helpers, "tune-grid", "Grid", max_jobs=10, ranges=grid)
    )

    bayes = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-bayes"))
    grid_job = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-grid"))

    assert bayes["HyperParameterTuningJobStatus"] == "Completed"
    assert bayes["ObjectiveStatusCounters"]["Succeeded"] == 5
    assert sorted(t["TunedHyperParameters"]["learning_rate"] for t in all_trials(sagemaker, "tune-grid")) == [
        "0.1",
        "0.2",
        "0.4",
    ]
    assert grid_job["BestTrainingJob"]["TunedHyperParameters"] == {"learning_rate": "0.4"}


def test_hyperband_stops_weak_trials_early(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    request = tuning_request(
        aws,
        helpers,
        "tune-hyperband",
        "Hyperband",
        max_jobs=9,
        parallel=1,
        static={"epochs": "9"},
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
        ranges={"ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.1"}]},
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)

    job = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-hyperband"), timeout=60)

    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Stopped"] >= 1
    assert job["TrainingJobStatusCounters"]["Completed"] + job["TrainingJobStatusCounters"]["Stopped"] == 9
    stopped = [t for t in all_trials(sagemaker, "tune-hyperband") if t["TrainingJobStatus"] == "Stopped"]
    assert all(t["ObjectiveStatus"] == "Succeeded" for t in stopped)  # early-stopped trials keep their last metric


def test_list_trials_sorted_by_objective_and_filtered_by_status(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(aws, helpers, "tune-list", max_jobs=3))
    helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-list"))

    by_value = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-list", SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )["TrainingJobSummaries"]
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in by_value]
    assert values == sorted(values, reverse=True) and len(values) == 3
    assert (
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-list", StatusEquals="Failed"
        )["TrainingJobSummaries"]
        == []
    )
    summaries = sagemaker.list_hyper_parameter_tuning_jobs(NameContains="tune-list")["HyperParameterTuningJobSummaries"]
    assert [(s["HyperParameterTuningJobName"], s["Strategy"]) for s in summaries] == [("tune-list", "Random")]


def test_a_tuning_job_whose_trials_all_fail_fails(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(aws, helpers, "tune-fail", max_jobs=2, static={"fail": "bad data"})
    )

    job = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-fail"))

    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("No training job succeeded after 2 attempts")
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert job["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in job
    assert {t["FailureReason"] for t in all_trials(sagemaker, "tune-fail")} == {"AlgorithmError: bad data"}


@pytest.mark.parametrize("max_jobs", [6, 2], ids=["trials-left-to-launch", "all-trials-launched"])
def test_stop_tuning_job_stops_its_running_trials(aws, service, sagemaker, helpers, max_jobs):
    helpers.put_training_data(aws)
    request = tuning_request(
        aws, helpers, "tune-stop", max_jobs=max_jobs, parallel=2, static={"epochs": "200", "epoch_seconds": "0.05"}
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    helpers.wait_for(lambda: len(all_trials(sagemaker, "tune-stop")) == 2)

    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    job = helpers.wait_for(lambda: tuning_ended(sagemaker, "tune-stop"))

    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert {t["TrainingJobStatus"] for t in all_trials(sagemaker, "tune-stop")} == {"Stopped"}
    assert len(all_trials(sagemaker, "tune-stop")) == 2
    statuses = [
        e["detail"]["HyperParameterTuningJobStatus"]
        for e in aws.events_for(DETAIL_TYPE, "HyperParameterTuningJobName", "tune-stop")
    ]
    assert statuses == ["InProgress", "Stopping", "Stopped"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Strategy": "Hyperband", "TrainingJobEarlyStoppingType": "Auto"}, "TrainingJobEarlyStoppingType must be Off"),
        ({"Strategy": "Grid"}, "only supports CategoricalParameterRanges"),
        (
            {
                "ParameterRanges": {
                    "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.5", "MaxValue": "0.1"}]
                }
            },
            "greater than MaxValue",
        ),
        (
            {
                "ParameterRanges": {
                    "ContinuousParameterRanges": [{"Name": "num_classes", "MinValue": "1", "MaxValue": "2"}]
                }
            },
            "also static",
        ),
    ],
)
def test_invalid_tuning_configs_are_refused(aws, service, sagemaker, helpers, change, message):
    request = tuning_request(aws, helpers, "tune-invalid")
    request["HyperParameterTuningJobConfig"].update(change)
    with pytest.raises(ClientError) as error:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert message in error.value.response["Error"]["Message"]


def test_a_tuning_job_name_is_at_most_32_characters_and_unknown_ones_are_not_found(aws, service, sagemaker, helpers):
    with pytest.raises(ClientError) as error:
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request(aws, helpers, "t" * 33))
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 32" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="missing")
    assert error.value.response["Error"]["Code"] == "ResourceNotFound"
