"""Small batches labeled through the dataset's serving endpoint, by BatchCollectFunction's handler under its own
role: which path a batch takes, what the endpoint path writes, and how it falls back to a transform job."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.batch.serving_endpoint import CONTENT_TYPE, MAX_IN_FLIGHT
from icflow.core import layout, naming
from icflow.core.state import BatchStatus, EndpointStatus, StateTable, batch_sk
from support.batches import collect, give_model, transform_jobs_created_once
from support.serving import CLASS_WORDS, UNDECODABLE, ServingModel, install_serving_model, jpeg, serve
from support.stack import Stack

DATASET = "pets"
CLASSES = b"cat\ndog\n"


@pytest.fixture(autouse=True)
def _transform_jobs_are_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    transform_jobs_created_once(monkeypatch)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ServingModel:
    return install_serving_model(monkeypatch)


def _images(count: int) -> dict[str, bytes]:
    """`count` images, alternately of class 0 and 1, named for their class."""
    return {f"album/{CLASS_WORDS[i % 2].decode()}-{i:02d}.jpg": jpeg(CLASS_WORDS[i % 2], i) for i in range(count)}


def _dataset_with_model(stack: Stack, pipeline: dict[str, Any] | None = None) -> str:
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=CLASSES)
    if pipeline is not None:
        s3.put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline))
    return give_model(stack, DATASET)


def _transform_jobs(stack: Stack) -> list[str]:
    summaries = stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    return [job["TransformJobName"] for job in summaries]


def _read(stack: Stack, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()


def _predictions_keys(stack: Stack, batch_id: str) -> list[str]:
    listed = stack.client("s3").list_objects_v2(
        Bucket=stack.bucket, Prefix=layout.predictions_prefix(DATASET, batch_id)
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def _state(stack: Stack) -> StateTable:
    return StateTable(stack.client("dynamodb"), stack.settings.runs_table)


def test_a_small_batch_is_labeled_by_the_endpoint_without_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    model_name = _dataset_with_model(stack)
    endpoint = serve(stack, DATASET, model_name)
    queue = stack.subscribe_queue()
    files = {**_images(6), "broken.jpg": jpeg(UNDECODABLE), "notes.txt": b"not an image"}

    batch = collect(stack, handler_of, lambda_context, DATASET, files)

    assert _transform_jobs(stack) == []
    assert batch["status"] == BatchStatus.LABELED and batch["labeled"] == 6 and batch["failed_images"] == 1
    assert batch["labeled_by"] == {"endpoint": endpoint}
    assert [entry["status"] for entry in batch["history"]] == ["pending", "labeling", "labeled"]
    assert len(model.invocations) == 7 and {call for call in model.invocations} == {(endpoint, CONTENT_TYPE)}
    prefix = layout.predictions_prefix(DATASET, batch["batch_id"])
    rows = [json.loads(line) for line in _read(stack, prefix + "predictions.jsonl").splitlines()]
    labels = {row["image_uri"].rsplit("/", 1)[-1]: (row["label"], row["probability"]) for row in rows}
    assert labels == {name.rsplit("/", 1)[-1]: (name.split("/")[1][:3], 0.9) for name in _images(6)}
    assert all(row["model_name"] == model_name for row in rows)
    table = list(csv.reader(io.StringIO(_read(stack, prefix + "predictions.csv").decode())))
    assert table[0][:3] == ["image_uri", "label", "probability"] and len(table) == 7
    summary = json.loads(_read(stack, prefix + "summary.json"))
    assert summary["labeled_by"] == {"endpoint": endpoint} and summary["transform_job_name"] is None
    assert summary["model_name"] == model_name and summary["count_per_label"] == {"cat": 3, "dog": 3}
    assert summary["images"]["submitted"] == 7
    assert summary["failed"]["count_per_reason"] == {"refused-by-model": 1}
    assert "unable to evaluate payload" in summary["failed"]["examples"][0]["message"]
    assert [item["reason"] for item in summary["skipped"]] == ["not-jpeg-or-png"]
    assert any(f"on endpoint {endpoint}" in message for message in stack.notifications(queue))


def test_a_redelivered_group_labels_nothing_twice_and_starts_no_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack))
    first = collect(stack, handler_of, lambda_context, DATASET, _images(3))

    again = collect(stack, handler_of, lambda_context, DATASET, _images(3))

    assert again["batch_id"] == first["batch_id"] and again["status"] == BatchStatus.LABELED
    assert len(model.invocations) == 3 and _transform_jobs(stack) == []
    assert again["history"] == first["history"]


def test_throttled_invocations_are_retried_and_the_batch_still_labeled_by_the_endpoint(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack))
    model.throttled = 2

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(2))

    assert batch["status"] == BatchStatus.LABELED and batch["labeled"] == 2
    assert len(model.invocations) == 4 and _transform_jobs(stack) == []


def test_a_batch_larger_than_batch_max_images_takes_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack, {"deploy": {"realtime": {"batch_max_images": 2}}}))

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(3))

    assert batch["status"] == BatchStatus.TRANSFORMING and model.invocations == []
    assert _transform_jobs(stack) == [naming.transform_job_name(DATASET, batch["batch_id"])]


def test_batch_max_images_zero_sends_every_batch_to_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack, {"deploy": {"realtime": {"batch_max_images": 0}}}))

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(1))

    assert batch["status"] == BatchStatus.TRANSFORMING and model.invocations == []


@pytest.mark.parametrize(
    ("item_status", "described"),
    [
        (EndpointStatus.CREATING, "InService"),
        (EndpointStatus.ROLLED_BACK, "InService"),
        # The item says in service, but the endpoint is updating: DescribeEndpoint wins over a stale item.
        (EndpointStatus.IN_SERVICE, "Updating"),
    ],
)
def test_an_endpoint_not_in_service_leaves_the_batch_to_a_transform_job(
    stack: Stack,
    handler_of: Callable[[str], Any],
    lambda_context: Any,
    model: ServingModel,
    item_status: EndpointStatus,
    described: str,
) -> None:
    name = serve(stack, DATASET, _dataset_with_model(stack), item_status)
    sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region].endpoints[
        name
    ].endpoint_status = described

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(2))

    assert batch["status"] == BatchStatus.TRANSFORMING and model.invocations == []


def test_a_dataset_without_an_endpoint_takes_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    _dataset_with_model(stack)

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(2))

    assert batch["status"] == BatchStatus.TRANSFORMING and model.invocations == []


def test_an_endpoint_serving_another_model_leaves_the_batch_to_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack))
    # A newer model is the dataset's current one; the endpoint still serves the older.
    _state(stack).update_dataset(DATASET, {"current_model_name": naming.model_name(DATASET, "5e6f7a8b9c0d")})

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(2))

    assert batch["status"] == BatchStatus.TRANSFORMING and model.invocations == []


def test_an_endpoint_failing_mid_batch_falls_back_to_a_transform_job_leaving_nothing_written(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack))
    model.fail_after = 3

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(40))

    assert batch["status"] == BatchStatus.TRANSFORMING
    assert _transform_jobs(stack) == [naming.transform_job_name(DATASET, batch["batch_id"])]
    assert [entry["status"] for entry in batch["history"]] == ["pending", "labeling", "pending", "transforming"]
    assert (
        "ModelError" in batch["endpoint_fallback"] and "a transform job labels the batch" in batch["endpoint_fallback"]
    )
    assert _predictions_keys(stack, batch["batch_id"]) == []
    # After the first failure no image is sent: only those already in flight were.
    assert len(model.invocations) <= model.fail_after + MAX_IN_FLIGHT


def test_an_endpoint_gone_mid_batch_falls_back_to_a_transform_job(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    serve(stack, DATASET, _dataset_with_model(stack))
    model.fail_after, model.gone = 1, True

    batch = collect(stack, handler_of, lambda_context, DATASET, _images(4))

    assert batch["status"] == BatchStatus.TRANSFORMING and "not found" in batch["endpoint_fallback"]
    assert _predictions_keys(stack, batch["batch_id"]) == []


def test_a_labeling_cut_off_goes_to_a_transform_job_once_no_invocation_can_still_run(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, model: ServingModel
) -> None:
    # The batch as an invocation that ended mid-labeling left it.
    pending = collect(stack, handler_of, lambda_context, DATASET, _images(2))
    serve(stack, DATASET, _dataset_with_model(stack))
    key = batch_sk(pending["batch_id"])
    _state(stack).transition_item(DATASET, key, BatchStatus.LABELING.value, (BatchStatus.PENDING.value,))

    while_it_may_run = collect(stack, handler_of, lambda_context, DATASET, _images(2))
    stack.client("dynamodb").update_item(
        TableName=stack.settings.runs_table,
        Key={"pk": {"S": f"DATASET#{DATASET}"}, "sk": {"S": key}},
        UpdateExpression="SET updated_at = :at",
        ExpressionAttributeValues={":at": {"S": (datetime.now(UTC) - timedelta(seconds=901)).isoformat()}},
    )
    after = collect(stack, handler_of, lambda_context, DATASET, _images(2))

    assert while_it_may_run["status"] == BatchStatus.LABELING
    assert after["status"] == BatchStatus.TRANSFORMING and "cut off" in after["endpoint_fallback"]
    assert _transform_jobs(stack) == [naming.transform_job_name(DATASET, pending["batch_id"])]
    assert model.invocations == []
