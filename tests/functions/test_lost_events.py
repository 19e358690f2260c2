"""LostEventsFunction through its handler, on moto under IAM: a run or batch whose job ended while its event was
lost is settled as the event would have settled it (recorded, mirrored to latest.json, notified); one whose job
still runs, or ended too recently for its event to be given up on, is left alone; a job that was never created
ends its run or batch failed with how to start it again. moto reports every job finished at once and sends no
events, which is exactly the lost event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from icflow.batch.manifest import output_key
from icflow.core import layout, naming
from icflow.core.state import BatchStatus, RunStatus, StateTable, batch_sk
from icflow.lost_events import EVENT_MAX_AGE
from icflow.training.upload_events import UploadedObject
from support.batches import collect, give_model, transform_jobs_created_once

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"


def _check(handler_of: Any, sample_event: Any, lambda_context: Any, after: timedelta) -> dict[str, Any]:
    event = sample_event("scheduled_lost_events_check.json")
    event["time"] = (datetime.now(UTC) + after).isoformat().replace("+00:00", "Z")
    return handler_of("lost_events")(event, lambda_context)


def _later() -> timedelta:
    return EVENT_MAX_AGE + timedelta(minutes=5)


def _backend(stack: Stack) -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]


def _state(stack: Stack) -> StateTable:
    return StateTable(stack.client("dynamodb"), stack.settings.runs_table)


def _start_training(stack: Stack, accuracy: float) -> str:
    """A real upload starts a real training job on moto, which reports it Completed at once, with its metrics."""
    stack.put_recordio_dataset(DATASET, [index % 4 for index in range(40)], [index % 4 for index in range(8)])
    upload = UploadedObject(stack.bucket, f"{layout.channel_prefix(DATASET, layout.VALIDATION)}part-0.rec", "")
    outcome = stack.evaluate_dataset()(upload)
    assert outcome.action == "started"
    job = _backend(stack).training_jobs[outcome.job_name]
    job.final_metric_data_list = [
        {"MetricName": "validation:accuracy", "Value": accuracy, "Timestamp": job.creation_time}
    ]
    return outcome.run_id


def test_a_completed_job_whose_event_was_lost_becomes_the_model_once(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    run_id = _start_training(stack, accuracy=0.9)
    notes = stack.subscribe_queue()

    checked = _check(handler_of, sample_event, lambda_context, _later())

    assert checked == {
        "action": "checked",
        "settled": [{"dataset": DATASET, "item": f"run {run_id}", "action": "model_ready"}],
        "in_flight": 0,
    }
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "model_ready" and latest["model_name"] == naming.model_name(DATASET, run_id)
    stack.client("sagemaker").describe_model(ModelName=naming.model_name(DATASET, run_id))
    assert len(stack.notifications(notes)) == 1
    # Settled is settled: the next check finds nothing in flight.
    assert _check(handler_of, sample_event, lambda_context, _later())["settled"] == []


def test_a_failed_job_whose_event_was_lost_ends_the_run_with_sagemakers_reason(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    run_id = _start_training(stack, accuracy=0.9)
    job = _backend(stack).training_jobs[naming.training_job_name(DATASET, run_id)]
    job.training_job_status = "Failed"
    job.failure_reason = "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration."

    (settled,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]

    assert settled["action"] == "failed" and "Unable to initialize the algorithm" in settled["reason"]
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "failed" and "Unable to initialize the algorithm" in latest["reason"]


def test_a_job_still_running_or_just_ended_is_left_to_its_event(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    run_id = _start_training(stack, accuracy=0.9)

    # Ended a moment ago: its event may still be on its way, or in Lambda's retries.
    just_ended = _check(handler_of, sample_event, lambda_context, timedelta(minutes=30))
    assert (just_ended["settled"], just_ended["in_flight"]) == ([], 1)

    _backend(stack).training_jobs[naming.training_job_name(DATASET, run_id)].training_job_status = "InProgress"
    running = _check(handler_of, sample_event, lambda_context, _later())
    assert (running["settled"], running["in_flight"]) == ([], 1)
    assert _state(stack).get_run(DATASET, run_id)["status"] == RunStatus.TRAINING


def test_a_run_whose_job_was_never_created_fails_saying_how_to_start_it(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    run_id = "0123456789ab"
    job_name = naming.training_job_name(DATASET, run_id)
    _state(stack).create_run(DATASET, run_id, RunStatus.STARTING.value, {"kind": "training", "job_name": job_name})
    notes = stack.subscribe_queue()

    (settled,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]

    assert settled["action"] == "failed"
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "failed"
    assert f"the training job {job_name} was never created" in latest["reason"]
    assert f"`icflow retry {DATASET}`" in latest["reason"]
    assert any("was never created" in message for message in stack.notifications(notes))


@pytest.fixture
def transforming_batch(handler_of, stack: Stack, lambda_context) -> tuple[str, str]:
    """A batch collected by the real BatchCollectFunction with a model in place: its transform job is running."""
    give_model(stack, DATASET)
    batch = collect(stack, handler_of, lambda_context, DATASET, {"holiday/cat.jpg": JPEG})
    assert batch["status"] == BatchStatus.TRANSFORMING
    return batch["batch_id"], batch["transform_job_name"]


def test_a_completed_transform_whose_event_was_lost_is_labeled(
    handler_of, stack: Stack, sample_event, lambda_context, transforming_batch
) -> None:
    batch_id, job_name = transforming_batch
    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key=output_key(DATASET, batch_id, "holiday/cat.jpg"),
        Body=json.dumps({"prediction": [0.2, 0.8]}).encode(),
    )

    (settled,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]

    assert settled == {"dataset": DATASET, "item": f"batch {batch_id}", "action": "labeled"}
    assert _state(stack).get_item(DATASET, batch_sk(batch_id))["status"] == BatchStatus.LABELED
    summary = stack.client("s3").get_object(
        Bucket=stack.bucket, Key=layout.predictions_prefix(DATASET, batch_id) + "summary.json"
    )
    assert json.loads(summary["Body"].read())["transform_job_name"] == job_name


def test_a_batch_whose_transform_job_is_gone_fails_saying_how_to_retry(
    handler_of, stack: Stack, sample_event, lambda_context, transforming_batch
) -> None:
    batch_id, job_name = transforming_batch
    del _backend(stack).transform_jobs[job_name]

    (settled,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]

    assert settled["action"] == "failed" and "was never created" in settled["reason"]
    assert "upload the same images again" in settled["reason"]
    assert _state(stack).get_item(DATASET, batch_sk(batch_id))["status"] == BatchStatus.FAILED


def test_one_item_that_cannot_be_settled_keeps_no_other_from_it_and_fails_the_check(
    handler_of, stack: Stack, sample_event, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icflow.training.sagemaker_jobs import SageMakerJobs

    run_id = _start_training(stack, accuracy=0.9)
    _state(stack).create_run(
        DATASET,
        "0123456789ab",
        RunStatus.STARTING.value,
        {"kind": "training", "job_name": "icflow-broken-0123456789ab"},
    )
    original = SageMakerJobs.job_state

    def flaky(self: SageMakerJobs, kind: str, job_name: str) -> Any:
        if job_name == "icflow-broken-0123456789ab":
            raise ConnectionError("the network is down")
        return original(self, kind, job_name)

    monkeypatch.setattr(SageMakerJobs, "job_state", flaky)

    with pytest.raises(RuntimeError, match="1 lost events could not be settled"):
        _check(handler_of, sample_event, lambda_context, _later())

    assert stack.latest_status(DATASET)["status"] == "model_ready"  # the other run was settled all the same
    assert _state(stack).get_run(DATASET, run_id)["status"] == RunStatus.MODEL_READY


def test_a_batch_left_labeling_by_the_endpoint_gets_its_transform_job(
    handler_of, stack: Stack, sample_event, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    transform_jobs_created_once(monkeypatch)
    # The batch as a collector cut off mid-labeling by the endpoint left it, its group never delivered again.
    batch = collect(stack, handler_of, lambda_context, DATASET, {"a.jpg": JPEG})
    model = give_model(stack, DATASET)
    _state(stack).transition_item(
        DATASET,
        batch_sk(batch["batch_id"]),
        BatchStatus.LABELING.value,
        (BatchStatus.PENDING.value,),
        {"endpoint_name": naming.endpoint_name(DATASET), "model_name": model},
    )

    soon = _check(handler_of, sample_event, lambda_context, timedelta(minutes=5))
    checked = _check(handler_of, sample_event, lambda_context, _later())

    assert soon["settled"] == [] and soon["in_flight"] == 1
    job_name = naming.transform_job_name(DATASET, batch["batch_id"])
    assert checked["settled"] == [{"dataset": DATASET, "item": f"batch {batch['batch_id']}", "action": "started"}]
    item = _state(stack).get_item(DATASET, batch_sk(batch["batch_id"]))
    assert item is not None and item["status"] == BatchStatus.TRANSFORMING and item["transform_job_name"] == job_name
    assert "cut off" in item["endpoint_fallback"]


def test_a_run_whose_approval_event_was_lost_is_decided_from_the_registry(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    pipeline = json.dumps({"deploy": {"require_approval": True}}).encode()
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=pipeline)
    run_id = _start_training(stack, accuracy=0.9)
    (waiting,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]
    assert waiting["action"] == "awaiting_approval"
    # Still undecided: nothing to settle, the run waits.
    assert _check(handler_of, sample_event, lambda_context, _later())["settled"] == []

    arn = stack.latest_status(DATASET)["model_package_arn"]
    sagemaker = stack.client("sagemaker")
    metadata = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    # moto drops the metadata an update does not repeat; SageMaker keeps it. moto sends no event: it is lost.
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=metadata
    )
    (approved,) = _check(handler_of, sample_event, lambda_context, _later())["settled"]

    assert approved == {"dataset": DATASET, "item": f"run {run_id}", "action": "model_ready"}
    assert stack.latest_status(DATASET)["status"] == "model_ready"
