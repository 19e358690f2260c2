"""One image the model refuses costs that image only: SageMaker fails the whole transform job on it, and the batch
goes on without it (a next job over the images without output), through the real functions on moto under IAM;
summary.json lists the refused image with SageMaker's error."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.batch.manifest import output_key
from icflow.batch.refused_images import (
    TRANSFORM_LOG_GROUP,
    refused_in_data_log,
    refused_in_failure_reason,
)
from icflow.core import layout
from icflow.core.state import BatchStatus, StateTable, batch_sk
from support.batches import collect, give_model, transform_jobs_created_once
from support.stack import load_event

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "pets"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"
IMAGES = ("a.jpg", "holiday/b c.jpg", "d.jpg")


def test_the_data_log_and_the_failure_reason_name_the_refused_objects() -> None:
    lines = [
        "2026-12-05T10:00:01.000:[sagemaker logs]: MaxConcurrentTransforms=1, MaxPayloadInMB=6, BatchStrategy=SINGLE_RECORD",
        "2026-12-05T10:00:02.000:[sagemaker logs]: bucket/batch/pets/holiday/b c.jpg: ClientError: 400",
        "2026-12-05T10:00:02.000:[sagemaker logs]: bucket/batch/pets/holiday/b c.jpg: ",
        "2026-12-05T10:00:02.000:[sagemaker logs]: bucket/batch/pets/d.jpg: ClientError: 415",
    ]
    assert refused_in_data_log(lines) == {
        "s3://bucket/batch/pets/holiday/b c.jpg": "ClientError: 400",
        "s3://bucket/batch/pets/d.jpg": "ClientError: 415",
    }
    local = (
        "ClientError: Bad HTTP status received from algorithm for s3://bucket/batch/pets/a.jpg: 400 unable to evaluate"
    )
    assert refused_in_failure_reason(local) == {"s3://bucket/batch/pets/a.jpg": "ClientError: 400 unable to evaluate"}
    assert refused_in_failure_reason("ClientError: See job logs for more information") == {}


def _state(stack: Stack) -> StateTable:
    return StateTable(stack.client("dynamodb"), stack.settings.runs_table)


def _backend(stack: Stack) -> Any:
    return sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]


@pytest.fixture(autouse=True)
def _transform_jobs_are_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    transform_jobs_created_once(monkeypatch)


@pytest.fixture
def batch(stack: Stack, handler_of, lambda_context) -> dict[str, Any]:
    """Three images collected by the real BatchCollectFunction, with a model in place: a transform job runs."""
    give_model(stack, DATASET)
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=b"cat\ndog\n")
    return collect(stack, handler_of, lambda_context, DATASET, dict.fromkeys(IMAGES, JPEG))


def _output(stack: Stack, batch_id: str, relative: str, probabilities: list[float]) -> None:
    body = json.dumps({"prediction": probabilities}).encode()
    stack.client("s3").put_object(Bucket=stack.bucket, Key=output_key(DATASET, batch_id, relative), Body=body)


def _fail(stack: Stack, job_name: str, reason: str, refused: list[str]) -> None:
    """The job failed as SageMaker fails it: its status and reason, and a data log naming what it refused."""
    job = _backend(stack).transform_jobs[job_name]
    job.transform_job_status, job.failure_reason = "Failed", reason
    logs = stack.client("logs")
    if TRANSFORM_LOG_GROUP not in [group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]]:
        logs.create_log_group(logGroupName=TRANSFORM_LOG_GROUP)
    if not refused:
        return
    stream = f"{job_name}/i-0123456789abcdef0-1733392800/data-log"
    logs.create_log_stream(logGroupName=TRANSFORM_LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=TRANSFORM_LOG_GROUP,
        logStreamName=stream,
        logEvents=[
            {
                "timestamp": int(time.time() * 1000) + index,
                "message": f"2026-12-05T10:00:02.000:[sagemaker logs]: {stack.bucket}/{layout.BATCH}{DATASET}/{relative}: ClientError: 400",
            }
            for index, relative in enumerate(refused)
        ],
    )


def _event(job_name: str, status: str) -> dict[str, Any]:
    event = load_event("transform_job_failed.json" if status == "Failed" else "transform_job_completed.json")
    event["detail"]["TransformJobName"] = job_name
    event["detail"]["TransformJobStatus"] = status
    return event


def test_the_batch_goes_on_without_a_refused_image_and_lists_it(
    stack: Stack, handler_of, lambda_context, batch: dict[str, Any]
) -> None:
    batch_id, first_job = batch["batch_id"], batch["transform_job_name"]
    _output(stack, batch_id, "a.jpg", [0.9, 0.1])  # labeled before the job reached the bad image
    _fail(stack, first_job, "ClientError: See job logs for more information", ["holiday/b c.jpg"])
    notes = stack.subscribe_queue()

    going_on = handler_of("transform_state")(_event(first_job, "Failed"), lambda_context)

    assert going_on["action"] == "going_on"
    item = _state(stack).get_item(DATASET, batch_sk(batch_id))
    next_job = item["transform_job_name"]
    assert item["status"] == BatchStatus.TRANSFORMING and next_job != first_job
    job = stack.client("sagemaker").describe_transform_job(TransformJobName=next_job)
    manifest_uri = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    manifest = json.loads(
        stack.client("s3")
        .get_object(Bucket=stack.bucket, Key=manifest_uri.removeprefix(f"s3://{stack.bucket}/"))["Body"]
        .read()
    )
    assert manifest[1:] == ["d.jpg"]  # neither the labeled image nor the refused one
    assert (
        job["TransformOutput"]["S3OutputPath"]
        == f"s3://{stack.bucket}/{layout.transform_output_prefix(DATASET, batch_id)}"
    )

    _output(stack, batch_id, "d.jpg", [0.2, 0.8])
    labeled = handler_of("transform_state")(_event(next_job, "Completed"), lambda_context)

    assert labeled["action"] == "labeled" and labeled["labeled"] == 2
    summary = json.loads(
        stack.client("s3")
        .get_object(Bucket=stack.bucket, Key=layout.predictions_prefix(DATASET, batch_id) + "summary.json")["Body"]
        .read()
    )
    assert summary["images"] == {**summary["images"], "submitted": 3, "labeled": 2, "failed": 1, "missing_outputs": 0}
    (refused,) = summary["failed"]["examples"]
    assert refused["image_uri"] == f"s3://{stack.bucket}/{layout.BATCH}{DATASET}/holiday/b c.jpg"
    assert refused["reason"] == "refused-by-model" and "ClientError: 400" in refused["message"]
    assert summary["count_per_label"] == {"cat": 1, "dog": 1}
    assert any("2 images" in message and "1 failed" in message for message in stack.notifications(notes))


def test_when_only_refused_images_are_left_the_batch_is_labeled_at_once(
    stack: Stack, handler_of, lambda_context, batch: dict[str, Any]
) -> None:
    batch_id, job_name = batch["batch_id"], batch["transform_job_name"]
    _output(stack, batch_id, "a.jpg", [0.9, 0.1])
    _output(stack, batch_id, "d.jpg", [0.9, 0.1])
    _fail(stack, job_name, "ClientError: See job logs for more information", ["holiday/b c.jpg"])

    labeled = handler_of("transform_state")(_event(job_name, "Failed"), lambda_context)

    assert labeled["action"] == "labeled" and labeled["labeled"] == 2
    assert len(stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]) == 1
    key = layout.predictions_prefix(DATASET, batch_id) + "summary.json"
    summary = json.loads(stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
    assert [item["image_uri"] for item in summary["failed"]["examples"]] == [
        f"s3://{stack.bucket}/{layout.BATCH}{DATASET}/holiday/b c.jpg"
    ]
    # The event delivered again finds the batch labeled: nothing is listed or labeled twice.
    assert handler_of("transform_state")(_event(job_name, "Failed"), lambda_context)["action"] == "duplicate"


def test_a_failure_that_names_no_image_fails_the_batch_as_before(
    stack: Stack, handler_of, lambda_context, batch: dict[str, Any]
) -> None:
    job_name = batch["transform_job_name"]
    _fail(stack, job_name, "AlgorithmError: out of memory", [])

    failed = handler_of("transform_state")(_event(job_name, "Failed"), lambda_context)

    assert failed["action"] == "failed" and "out of memory" in failed["reason"]
    assert _state(stack).get_item(DATASET, batch_sk(batch["batch_id"]))["status"] == BatchStatus.FAILED


def test_images_refused_again_and_again_end_the_batch(
    stack: Stack, handler_of, lambda_context, batch: dict[str, Any]
) -> None:
    from icflow.batch.transform_state import MAX_GOING_ON

    job_name, key = batch["transform_job_name"], batch_sk(batch["batch_id"])
    _state(stack).transition_item(
        DATASET, key, BatchStatus.TRANSFORMING.value, (BatchStatus.TRANSFORMING.value,), {"going_on": MAX_GOING_ON}
    )
    _fail(stack, job_name, "ClientError: See job logs for more information", ["a.jpg"])

    failed = handler_of("transform_state")(_event(job_name, "Failed"), lambda_context)

    assert failed["action"] == "failed" and f"{MAX_GOING_ON} times already" in failed["reason"]
    assert _state(stack).get_item(DATASET, key)["status"] == BatchStatus.FAILED
