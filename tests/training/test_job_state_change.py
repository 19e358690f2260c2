"""The training-state use case on moto, driven by the sample SageMaker events in events/.

moto reports every job Completed at once and sends no events, so each test seeds what SageMaker would have:
the job (and, for tuning, its best trial and final metrics) and the run item the upload function wrote.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from moto.core.exceptions import JsonRESTError

from icflow.algorithm.image_uris import image_uri
from icflow.core import layout, naming
from icflow.core.model_ready import MODEL_READY_DETAIL_TYPE, MODEL_READY_SOURCE
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID
from icflow.core.refusals import RetryLater
from icflow.core.run_ended import RUN_ENDED_DETAIL_TYPE
from icflow.core.state import StateTable
from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow.training.upload_events import UploadedObject
from support.training_runs import backend, seed_run, seed_training_job

if TYPE_CHECKING:
    from support.stack import Stack


def _change(event: dict[str, Any]):
    return job_state_change(parse(event=event, model=SageMakerStateChange))


def _tags(event: dict[str, Any]) -> tuple[str, str]:
    tags = event["detail"]["Tags"]
    return tags[TAG_DATASET], tags[TAG_RUN_ID]


@pytest.fixture
def completed(stack: Stack, sample_event) -> dict[str, Any]:
    event = sample_event("training_job_completed.json")
    dataset, run_id = _tags(event)
    name = event["detail"]["TrainingJobName"]
    seed_training_job(stack, name, dataset, run_id, accuracy=0.81)
    seed_run(stack, dataset, run_id, "training", name)
    return event


def test_completed_training_creates_the_model_and_announces_it(stack: Stack, completed: dict[str, Any]) -> None:
    dataset, run_id = _tags(completed)
    queue = stack.events_queue(MODEL_READY_SOURCE, MODEL_READY_DETAIL_TYPE)
    notes = stack.subscribe_queue()
    outcome = stack.handle_job_state_change()(_change(completed))

    assert outcome.action == "model_ready"
    assert outcome.model_name == naming.model_name(dataset, run_id)
    model = stack.client("sagemaker").describe_model(ModelName=outcome.model_name)
    job_name = completed["detail"]["TrainingJobName"]
    assert model["PrimaryContainer"]["Image"] == image_uri(stack.settings.region)
    assert (
        model["PrimaryContainer"]["ModelDataUrl"]
        == f"s3://{stack.bucket}/artifacts/{dataset}/{job_name}/output/model.tar.gz"
    )
    assert model["ExecutionRoleArn"] == stack.settings.sagemaker_role_arn
    (announced,) = stack.received_events(queue)
    assert announced["detail"]["model_name"] == outcome.model_name
    assert announced["detail"]["metrics"]["validation:accuracy"] == pytest.approx(0.81)
    status = stack.latest_status(dataset)
    assert status["status"] == "model_ready" and status["model_name"] == outcome.model_name
    assert status["metrics"]["validation:accuracy"] == pytest.approx(0.81)
    assert [change["status"] for change in status["history"]] == ["training", "model_ready"]
    dataset_item = stack.client("dynamodb").get_item(
        TableName=stack.settings.runs_table, Key={"pk": {"S": f"DATASET#{dataset}"}, "sk": {"S": "DATASET"}}
    )["Item"]
    assert dataset_item["current_model_name"]["S"] == outcome.model_name
    assert len(stack.notifications(notes)) == 1


def test_a_repeated_completed_event_creates_nothing_more(stack: Stack, completed: dict[str, Any]) -> None:
    queue = stack.events_queue(MODEL_READY_SOURCE, MODEL_READY_DETAIL_TYPE)
    handle = stack.handle_job_state_change()
    first = handle(_change(completed))
    again = handle(_change(completed))

    assert first.action == "model_ready" and again.action == "duplicate"
    assert len(stack.client("sagemaker").list_models()["Models"]) == 1
    assert len(stack.received_events(queue)) == 1


def test_failed_training_records_the_reason_and_notifies(stack: Stack, sample_event) -> None:
    event = sample_event("training_job_failed.json")
    dataset, run_id = _tags(event)
    seed_run(stack, dataset, run_id, "training", event["detail"]["TrainingJobName"])
    notes = stack.subscribe_queue()
    ended_queue = stack.events_queue(MODEL_READY_SOURCE, RUN_ENDED_DETAIL_TYPE)
    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "failed"
    status = stack.latest_status(dataset)
    assert status["status"] == "failed" and event["detail"]["FailureReason"] in status["reason"]
    (note,) = stack.notifications(notes)
    assert event["detail"]["FailureReason"] in note
    assert stack.client("sagemaker").list_models()["Models"] == []
    # The run's page is asked for all the same: what the job did before it failed.
    (ended,) = stack.received_events(ended_queue)
    assert (
        ended["detail"]["status"] == "failed" and ended["detail"]["training_job"] == event["detail"]["TrainingJobName"]
    )
    assert event["detail"]["FailureReason"] in ended["detail"]["reason"]
    assert status["report_uri"] == f"s3://{stack.bucket}/{layout.run_report_key(dataset, run_id)}"


def test_the_quality_gate_rejects_a_weak_model(stack: Stack, sample_event) -> None:
    event = sample_event("training_job_completed.json")
    dataset, run_id = _tags(event)
    name = event["detail"]["TrainingJobName"]
    seed_training_job(stack, name, dataset, run_id, accuracy=0.42)
    seed_run(stack, dataset, run_id, "training", name, gate=0.6)
    notes = stack.subscribe_queue()
    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "rejected"
    assert "0.4200" in (outcome.reason or "") and "0.6" in (outcome.reason or "")
    assert stack.client("sagemaker").list_models()["Models"] == []
    assert stack.latest_status(dataset)["status"] == "rejected"
    assert len(stack.notifications(notes)) == 1


def test_completed_tuning_creates_the_model_of_its_best_trial(stack: Stack, sample_event) -> None:
    event = sample_event("tuning_job_completed.json")
    dataset, run_id = _tags(event)
    tuning_name = event["detail"]["HyperParameterTuningJobName"]
    best = f"{tuning_name}-004-5e6f7a8b"
    seed_training_job(stack, best, dataset, run_id, accuracy=0.88)
    stack.client("sagemaker").create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_name,
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
        },
    )
    backend(stack).hyper_parameter_tuning_jobs[tuning_name].best_training_job["TrainingJobName"] = best
    seed_run(stack, dataset, run_id, "tuning", tuning_name)
    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "model_ready"
    model = stack.client("sagemaker").describe_model(ModelName=outcome.model_name)
    assert f"/{best}/output/model.tar.gz" in model["PrimaryContainer"]["ModelDataUrl"]
    assert stack.latest_status(dataset)["best_training_job"] == best


@pytest.mark.parametrize("event_file", ["tuning_trial_completed.json", "training_job_in_progress.json"])
def test_trials_and_progress_are_ignored(stack: Stack, sample_event, event_file: str) -> None:
    event = sample_event(event_file)
    dataset, run_id = _tags(event)
    seed_run(stack, dataset, run_id, "training", event["detail"]["TrainingJobName"])
    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "ignored"
    assert (
        StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_run(dataset, run_id)["status"] == "training"
    )


def test_jobs_that_are_not_icflows_are_ignored(stack: Stack, completed: dict[str, Any]) -> None:
    completed["detail"]["TrainingJobName"] = "DEMO-imageclassification-2026-11-21-10-00-00"
    assert stack.handle_job_state_change()(_change(completed)).action == "ignored"


def test_tags_missing_from_the_event_are_read_from_sagemaker(stack: Stack, completed: dict[str, Any]) -> None:
    del completed["detail"]["Tags"]
    assert stack.handle_job_state_change()(_change(completed)).action == "model_ready"


def test_upload_to_model_end_to_end(stack: Stack, sample_event) -> None:
    dataset = "flowers"
    stack.put_recordio_dataset(dataset, [index % 3 for index in range(36)], [0, 1, 2])
    pipeline = {"quality_gate": {"min_validation_accuracy": 0.5}}
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(dataset), Body=json.dumps(pipeline))
    started = stack.evaluate_dataset()(UploadedObject(stack.bucket, layout.pipeline_key(dataset), ""))
    assert started.action == "started"
    job = backend(stack).training_jobs[started.job_name]
    job.final_metric_data_list = [{"MetricName": "validation:accuracy", "Value": 0.7, "Timestamp": job.creation_time}]
    event = sample_event("training_job_completed.json")
    event["detail"]["TrainingJobName"] = started.job_name
    event["detail"]["Tags"] = {TAG_DATASET: dataset, TAG_RUN_ID: started.run_id}

    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "model_ready"
    history = [change["status"] for change in stack.latest_status(dataset)["history"]]
    assert history == ["starting", "training", "model_ready"]


def test_a_stopped_job_is_recorded_as_stopped(stack: Stack, sample_event) -> None:
    event = sample_event("training_job_failed.json")
    event["detail"]["TrainingJobStatus"] = "Stopped"
    del event["detail"]["FailureReason"]
    dataset, run_id = _tags(event)
    seed_run(stack, dataset, run_id, "training", event["detail"]["TrainingJobName"])

    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "stopped" and "stopped" in (outcome.reason or "")
    assert stack.latest_status(dataset)["status"] == "stopped"


def test_a_run_below_the_gate_is_not_trained_again_by_a_new_classes_txt(stack: Stack, sample_event) -> None:
    dataset = "flowers"
    stack.put_recordio_dataset(dataset, [index % 3 for index in range(36)], [0, 1, 2])
    pipeline = {"quality_gate": {"min_validation_accuracy": 0.9}}
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(dataset), Body=json.dumps(pipeline))
    started = stack.evaluate_dataset()(UploadedObject(stack.bucket, layout.pipeline_key(dataset), ""))
    event = sample_event("training_job_completed.json")
    event["detail"]["TrainingJobName"] = started.job_name
    event["detail"]["Tags"] = {TAG_DATASET: dataset, TAG_RUN_ID: started.run_id}
    assert stack.handle_job_state_change()(_change(event)).action == "rejected"

    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.classes_key(dataset), Body="iris\nrose\ntulip\n")
    again = stack.evaluate_dataset()(UploadedObject(stack.bucket, layout.classes_key(dataset), ""))

    assert again.action == "already_started" and again.run_id == started.run_id
    assert stack.latest_status(dataset)["status"] == "rejected"


@pytest.mark.parametrize("gate", [0.6, None])
def test_a_nan_objective_rejects_the_run_with_or_without_a_gate(stack: Stack, sample_event, gate) -> None:
    event = sample_event("training_job_completed.json")
    dataset, run_id = _tags(event)
    name = event["detail"]["TrainingJobName"]
    seed_training_job(stack, name, dataset, run_id, accuracy=float("nan"))
    seed_run(stack, dataset, run_id, "training", name, gate=gate)
    outcome = stack.handle_job_state_change()(_change(event))

    assert outcome.action == "rejected"
    latest = stack.latest_status(dataset)
    assert latest["status"] == "rejected" and "validation:accuracy is not a number" in latest["reason"]
    assert "learning_rate" in latest["reason"]
    assert latest["metrics"] == {"train:accuracy": pytest.approx(0.97)}  # what DynamoDB and JSON can hold
    assert stack.client("sagemaker").list_models()["Models"] == []


def _refuse_create_model(stack: Stack, monkeypatch: pytest.MonkeyPatch, code: str, times: int) -> None:
    backend_class = type(backend(stack))
    original = backend_class.create_model
    left = [times]

    def create_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            raise JsonRESTError(code, f"{code} from CreateModel")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(backend_class, "create_model", create_model)


def test_a_refused_create_model_says_retrying_and_the_next_delivery_creates_it(
    stack: Stack, completed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset, _ = _tags(completed)
    _refuse_create_model(stack, monkeypatch, "InternalFailure", times=1)

    with pytest.raises(RetryLater):
        stack.handle_job_state_change()(_change(completed))
    retrying = stack.latest_status(dataset)
    assert retrying["status"] == "training" and retrying["reason"].startswith("retrying (try 1 of 3 failed)")
    assert "CreateModel was refused (InternalFailure)" in retrying["reason"]

    assert stack.handle_job_state_change()(_change(completed)).action == "model_ready"


def test_a_permanently_refused_create_model_ends_the_run_failed_with_the_reason(
    stack: Stack, completed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset, _ = _tags(completed)
    _refuse_create_model(stack, monkeypatch, "AccessDeniedException", times=1)
    notes = stack.subscribe_queue()

    outcome = stack.handle_job_state_change()(_change(completed))

    assert outcome.action == "failed"
    latest = stack.latest_status(dataset)
    assert latest["status"] == "failed"
    assert "completed, but no model came of it: CreateModel was refused (AccessDeniedException)" in latest["reason"]
    assert len(stack.notifications(notes)) == 1
