"""Uploads settle before a run is decided: every upload is noted and held on the settle queue; only the check of the
last one evaluates the dataset, so a burst of uploads, whatever came late within it, is one evaluation and one run."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from icflow.core import layout
from icflow.core.refusals import RetryLater
from icflow.training.dataset_uploads import DatasetUploads
from icflow.training.settle_queue import MAX_RECEIVES, SettleCheck, SettleQueue, is_settle_batch
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "pets"
SETTLE_SECONDS = 1
FIRST_RECEIVE = {"ApproximateReceiveCount": "1"}


@pytest.fixture
def queue_url(stack: Stack) -> str:
    return stack.client("sqs").create_queue(QueueName="settle")["QueueUrl"]


def _uploads(stack: Stack, queue_url: str, seconds: int = SETTLE_SECONDS) -> DatasetUploads:
    settings = stack.settings.model_copy(update={"dataset_settle_seconds": seconds})
    queue = SettleQueue(stack.client("sqs"), queue_url)
    adapters = stack.adapters()
    return DatasetUploads(settings, adapters.state, adapters.mirror, adapters.notifier, queue, stack.evaluate_dataset())


def _put(stack: Stack, key: str, body: bytes, sequencer: str) -> UploadedObject:
    etag = stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)["ETag"].strip('"')
    return UploadedObject(stack.bucket, key, etag, sequencer)


def _checks(stack: Stack, queue_url: str) -> list[SettleCheck]:
    """The checks held on the queue, once their delay has passed."""
    time.sleep(SETTLE_SECONDS + 0.2)
    messages = stack.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return [SettleCheck.model_validate_json(message["Body"]) for message in messages]


def _recordio_upload(stack: Stack) -> list[UploadedObject]:
    """train/ and validation/, then pipeline.json last, as a slow upload of a folder delivers them."""
    stack.put_recordio_dataset(DATASET, [index % 2 for index in range(40)], [0, 1, 0, 1])
    keys = [f"{layout.channel_prefix(DATASET, channel)}part-0.rec" for channel in (layout.TRAIN, layout.VALIDATION)]
    uploads = [UploadedObject(stack.bucket, key, "", f"seq-{index}") for index, key in enumerate(keys)]
    pipeline = json.dumps({"hyperparameters": {"epochs": "7"}}).encode()
    return [*uploads, _put(stack, layout.pipeline_key(DATASET), pipeline, "seq-9")]


def test_a_burst_of_uploads_becomes_one_run_with_the_configuration_that_came_last(stack: Stack, queue_url: str) -> None:
    uploads = _uploads(stack, queue_url)
    outcomes = [uploads.uploaded(upload) for upload in _recordio_upload(stack)]

    assert [outcome.action for outcome in outcomes] == ["settling"] * 3
    status = stack.latest_status(DATASET)
    assert status["status"] == "settling" and status["reason"].startswith("settling: 3 uploads so far")
    assert stack.training_jobs() == []

    # Checks come out in any order: only the last upload's decides.
    checks = _checks(stack, queue_url)
    decided = [uploads.settled(check) for check in sorted(checks, key=lambda check: check.key)]
    assert sorted(outcome.action for outcome in decided) == ["started", "superseded", "superseded"]
    (job,) = stack.training_jobs()
    hyperparameters = stack.client("sagemaker").describe_training_job(TrainingJobName=job)["HyperParameters"]
    assert hyperparameters["epochs"] == "7"  # pipeline.json, uploaded last, is the run's configuration
    status = stack.latest_status(DATASET)
    assert status["status"] == "training" and "settle_uploads" not in status


def test_the_same_files_again_start_nothing_and_the_status_comes_back(stack: Stack, queue_url: str) -> None:
    uploads = _uploads(stack, queue_url)
    for upload in _recordio_upload(stack):
        uploads.uploaded(upload)
    for check in _checks(stack, queue_url):
        uploads.settled(check)

    again = uploads.uploaded(_recordio_upload(stack)[0])
    assert again.action == "settling" and stack.latest_status(DATASET)["status"] == "settling"
    (check,) = _checks(stack, queue_url)
    # The run of the same files was started: idempotency answers with that start, and starts nothing.
    assert uploads.settled(check).action == "started"

    assert len(stack.training_jobs()) == 1
    status = stack.latest_status(DATASET)
    assert status["status"] == "training" and "run_id" in status  # the latest run's, mirrored again


def test_a_momentary_refusal_holds_the_check_again(
    stack: Stack, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = _uploads(stack, queue_url)
    (upload,) = _recordio_upload(stack)[:1]
    uploads.uploaded(upload)
    (check,) = _checks(stack, queue_url)

    def refused(_: UploadedObject) -> Any:
        raise RetryLater("CreateTrainingJob throttled")

    monkeypatch.setattr(uploads, "_evaluate", refused)
    assert uploads.settled(check).action == "retrying"

    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # held again, for RETRY_SECONDS


def test_an_evaluation_failing_at_the_last_delivery_says_so_on_the_dataset(
    stack: Stack, queue_url: str, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]
) -> None:
    uploads = _uploads(stack, queue_url)
    uploads.uploaded(_recordio_upload(stack)[0])
    (check,) = _checks(stack, queue_url)
    notes = stack.subscribe_queue()

    def failing(_: UploadedObject) -> Any:
        raise RuntimeError("DynamoDB is unreachable")

    monkeypatch.setattr(uploads, "_evaluate", failing)
    with pytest.raises(RuntimeError):
        uploads.settled(check, receives=1)
    assert stack.latest_status(DATASET)["status"] == "settling"  # the queue delivers it again

    with pytest.raises(RuntimeError):
        uploads.settled(check, receives=MAX_RECEIVES)
    status = stack.latest_status(DATASET)
    assert status["status"] == "undecided"
    assert f"after {MAX_RECEIVES} tries: RuntimeError: DynamoDB is unreachable" in status["reason"]
    assert "Upload any file of the dataset again" in status["reason"]
    (note,) = stack.notifications(notes)
    assert "DynamoDB is unreachable" in note
    queue = template["Resources"]["DatasetSettleQueue"]["Properties"]["RedrivePolicy"]
    assert queue["maxReceiveCount"] == MAX_RECEIVES


def test_with_no_settling_every_upload_is_decided_at_once(stack: Stack, queue_url: str) -> None:
    uploads = _uploads(stack, queue_url, seconds=0)
    *data, _pipeline = _recordio_upload(stack)

    assert [uploads.uploaded(upload).action for upload in data] == ["started", "started"]
    assert len(stack.training_jobs()) == 1  # the second answered with the first's start


@pytest.mark.parametrize("key", ["datasets//train/a.rec", "datasets/pets", "elsewhere/a.rec"])
def test_an_upload_of_no_usable_dataset_is_decided_at_once(stack: Stack, queue_url: str, key: str) -> None:
    outcome = _uploads(stack, queue_url).uploaded(UploadedObject(stack.bucket, key, "", "s"))

    assert outcome.action in ("rejected", "ignored")
    assert "Messages" not in stack.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_settle_batches_are_told_from_s3_notifications(sample_event) -> None:
    assert not is_settle_batch(sample_event("s3_put_classic.json"))
    assert not is_settle_batch(sample_event("s3_object_created_train.json"))
    assert is_settle_batch({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})


def test_the_handler_reports_a_check_that_does_not_parse_alone(stack: Stack, handler_of, lambda_context) -> None:
    check = SettleCheck(bucket=stack.bucket, key="datasets/pets/train/a.rec", noted_at="2026-12-05T10:00:00.000+00:00")
    records = [
        {"messageId": "good", "eventSource": "aws:sqs", "body": check.model_dump_json(), "attributes": FIRST_RECEIVE},
        {"messageId": "bad", "eventSource": "aws:sqs", "body": '{"bucket": ""}', "attributes": FIRST_RECEIVE},
    ]

    response = handler_of("dataset_upload")({"Records": records}, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert stack.training_jobs() == []
