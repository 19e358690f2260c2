"""The batch path on moto: uploads under batch/ through the queue to a transform job, pending batches, and
a finished transform job to labeled predictions."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.batch.collect_batch import CollectOutcome, build_collect_batch
from icflow.batch.manifest import output_key
from icflow.batch.transform_state import TransformChange, build_handle_transform_state
from icflow.batch.upload_events import batch_objects
from icflow.core import layout
from icflow.core.state import BatchStatus, StateTable, batch_sk
from support.batches import give_model, transform_jobs_created_once

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
RUN_ID = "3f2a9c41d0b7"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"png-body" * 10 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
UPLOADS = {
    "holiday/day 1/cat.jpg": JPEG,
    "holiday/dog.png": PNG,
    "holiday/.DS_Store": b"\x00\x00\x00\x01Bud1",
    "notes.txt": b"not an image",
    "empty.jpg": b"",
}


@pytest.fixture(autouse=True)
def _transform_jobs_are_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    transform_jobs_created_once(monkeypatch)


def _upload(stack: Stack, files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Puts the files under batch/<dataset>/ and returns the SQS records the queue would deliver."""
    s3 = stack.client("s3")
    records = []
    for index, (relative, body) in enumerate(files.items()):
        key = f"{layout.BATCH}{DATASET}/{relative}"
        etag = s3.put_object(Bucket=stack.bucket, Key=key, Body=body)["ETag"].strip('"')
        event = stack.object_created(key)
        event["detail"]["object"].update(size=len(body), etag=etag)
        records.append({"messageId": f"m-{index}", "body": json.dumps(event)})
    return records


def _collect(stack: Stack, records: list[dict[str, Any]]) -> list[CollectOutcome]:
    uploads = [upload for record in records for upload in batch_objects(record["body"])]
    return build_collect_batch(stack.adapters())(uploads)


def _give_model(stack: Stack) -> str:
    return give_model(stack, DATASET)


def _batch(stack: Stack, batch_id: str) -> dict[str, Any]:
    item = StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_item(DATASET, batch_sk(batch_id))
    assert item is not None
    return item


def _read_json(stack: Stack, key: str) -> Any:
    return json.loads(stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())


def test_a_burst_of_uploads_becomes_one_transform_job_without_the_non_images(stack: Stack) -> None:
    model = _give_model(stack)

    (outcome,) = _collect(stack, _upload(stack, UPLOADS))

    assert outcome.action == "started" and outcome.images == 2 and outcome.skipped == 3
    job = stack.client("sagemaker").describe_transform_job(TransformJobName=outcome.job_name)
    assert job["ModelName"] == model
    assert job["BatchStrategy"] == "SingleRecord" and job["MaxPayloadInMB"] == 6
    assert job["TransformInput"]["ContentType"] == "application/x-image"
    output = job["TransformOutput"]["S3OutputPath"]
    assert output.startswith(f"s3://{stack.bucket}/{layout.TRANSFORM_OUTPUT}")
    assert not any(
        output.removeprefix(f"s3://{stack.bucket}/").startswith(watched) for watched in layout.WATCHED_PREFIXES
    )
    manifest_uri = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    manifest = _read_json(stack, manifest_uri.removeprefix(f"s3://{stack.bucket}/"))
    assert manifest[1:] == ["holiday/day 1/cat.jpg", "holiday/dog.png"]
    report = _read_json(stack, _batch(stack, outcome.batch_id)["inputs_report_key"])
    assert {item["uri"].rsplit("/", 1)[1]: item["reason"] for item in report["skipped"]} == {
        ".DS_Store": "hidden-or-system-file",
        "notes.txt": "not-jpeg-or-png",
        "empty.jpg": "empty",
    }
    assert _batch(stack, outcome.batch_id)["status"] == BatchStatus.TRANSFORMING


def test_a_redelivered_group_starts_nothing_new(stack: Stack) -> None:
    _give_model(stack)
    records = _upload(stack, UPLOADS)
    (first,) = _collect(stack, records)

    (again,) = _collect(stack, list(reversed(records)))

    assert again.action == "already_started" and again.batch_id == first.batch_id
    assert len(stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]) == 1


def test_images_before_any_model_wait_as_a_pending_batch(stack: Stack) -> None:
    (outcome,) = _collect(stack, _upload(stack, {"a.jpg": JPEG}))

    assert outcome.action == "pending"
    item = _batch(stack, outcome.batch_id)
    assert item["status"] == BatchStatus.PENDING and item["images"] == 1
    assert _read_json(stack, item["manifest_uri"].removeprefix(f"s3://{stack.bucket}/"))[1:] == ["a.jpg"]
    assert stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"] == []


def test_a_group_with_no_image_is_reported_not_transformed(stack: Stack) -> None:
    (outcome,) = _collect(stack, _upload(stack, {"readme.txt": b"hello"}))

    assert outcome.action == "empty" and "inputs.json" in outcome.reason
    assert _batch(stack, outcome.batch_id)["status"] == BatchStatus.EMPTY


def _finish_transform(stack: Stack, outcome: CollectOutcome, predictions: dict[str, list[float]]) -> None:
    """What SageMaker writes for a Completed job: one .out per image."""
    for relative, probabilities in predictions.items():
        stack.client("s3").put_object(
            Bucket=stack.bucket,
            Key=output_key(DATASET, outcome.batch_id, relative),
            Body=json.dumps({"prediction": probabilities}).encode(),
        )


def test_a_completed_transform_job_becomes_labeled_predictions(stack: Stack) -> None:
    model = _give_model(stack)
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=b"cat\ndog\nemu\n")
    s3.put_object(
        Bucket=stack.bucket,
        Key=layout.pipeline_key(DATASET),
        Body=b'{"deploy": {"top_k": 2, "copy_labeled_images": true}}',
    )
    (outcome,) = _collect(stack, _upload(stack, UPLOADS))
    _finish_transform(stack, outcome, {"holiday/day 1/cat.jpg": [0.7, 0.2, 0.1], "holiday/dog.png": [0.1, 0.6, 0.3]})
    queue = stack.subscribe_queue()

    result = build_handle_transform_state(stack.adapters())(TransformChange(outcome.job_name, "Completed", None))

    assert result.action == "labeled" and result.labeled == 2
    prefix = layout.predictions_prefix(DATASET, outcome.batch_id)
    summary = _read_json(stack, prefix + "summary.json")
    assert summary["count_per_label"] == {"cat": 1, "dog": 1}
    assert summary["model_name"] == model and summary["transform_job_name"] == outcome.job_name
    assert summary["images"]["skipped"] == 3 and summary["images"]["missing_outputs"] == 0
    rows = list(
        csv.DictReader(
            io.StringIO(s3.get_object(Bucket=stack.bucket, Key=prefix + "predictions.csv")["Body"].read().decode())
        )
    )
    assert {(row["image_uri"].rsplit("/", 1)[1], row["label"], row["top2_label"]) for row in rows} == {
        ("cat.jpg", "cat", "dog"),
        ("dog.png", "dog", "emu"),
    }
    assert (
        s3.get_object(Bucket=stack.bucket, Key=f"{layout.labeled_prefix(DATASET, 'dog')}holiday/dog.png")["Body"].read()
        == PNG
    )
    # Inputs are never moved or deleted.
    assert s3.get_object(Bucket=stack.bucket, Key=f"{layout.BATCH}{DATASET}/holiday/dog.png")["Body"].read() == PNG
    assert _batch(stack, outcome.batch_id)["status"] == BatchStatus.LABELED
    assert any("2 images" in message for message in stack.notifications(queue))

    again = build_handle_transform_state(stack.adapters())(TransformChange(outcome.job_name, "Completed", None))
    assert again.action == "duplicate"


def test_a_failed_transform_job_is_recorded_with_its_reason_and_notified(stack: Stack) -> None:
    _give_model(stack)
    (outcome,) = _collect(stack, _upload(stack, {"a.jpg": JPEG}))
    backend = sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]
    backend.transform_jobs[outcome.job_name].transform_job_status = "Failed"
    queue = stack.subscribe_queue()

    result = build_handle_transform_state(stack.adapters())(
        TransformChange(outcome.job_name, "Failed", "ClientError: unable to decode a.jpg")
    )

    assert result.action == "failed"
    item = _batch(stack, outcome.batch_id)
    assert item["status"] == BatchStatus.FAILED and "unable to decode a.jpg" in item["reason"]
    assert any("unable to decode a.jpg" in message for message in stack.notifications(queue))


def test_transform_jobs_of_others_are_ignored(stack: Stack) -> None:
    result = build_handle_transform_state(stack.adapters())(TransformChange("DEMO-transform", "Completed", None))
    assert result.action == "ignored"
