"""Dataset folder names as users type them, through the real handlers on moto with each function's IAM role: a
name with a space or in any script trains, gets a model and classifies batches, every output under the user's
name; a folder icflow cannot use, or a channel it does not read, is rejected with the rule, never in silence."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest

from icflow.core import layout, naming
from icflow.core.state import ENDPOINT_SK, EndpointStatus, StateTable
from support.batches import give_model

if TYPE_CHECKING:
    from support.stack import Stack

NAMES = ["my photos", "Katzen_äöü 猫"]
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"


def _created(stack: Stack, key: str) -> dict[str, Any]:
    """The EventBridge event S3 sends for `key`: keys URL-encoded form-style, as S3 spells them in events."""
    return stack.object_created(quote_plus(key, safe="/"))


def _tags(stack: Stack, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in stack.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]}


def _read_json(stack: Stack, key: str) -> Any:
    return json.loads(stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())


@pytest.mark.parametrize("dataset", NAMES)
def test_a_named_dataset_trains_and_gets_a_model_under_the_users_name(
    handler_of, stack: Stack, sample_event, lambda_context, dataset: str
) -> None:
    stack.put_recordio_dataset(dataset, [index % 4 for index in range(40)], [0, 1, 2, 3])
    key = f"{layout.channel_prefix(dataset, layout.VALIDATION)}part-0.rec"

    (started,) = handler_of("dataset_upload")(_created(stack, key), lambda_context)["outcomes"]

    assert started["action"] == "started" and started["dataset"] == dataset
    assert naming.SAGEMAKER_NAME.match(started["job_name"]) and naming.is_icflow_name(started["job_name"])
    job = stack.client("sagemaker").describe_training_job(TrainingJobName=started["job_name"])
    uris = [channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in job["InputDataConfig"]]
    assert uris == [
        f"s3://{stack.bucket}/{layout.channel_prefix(dataset, c)}" for c in (layout.TRAIN, layout.VALIDATION)
    ]
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{stack.bucket}/{layout.artifacts_prefix(dataset)}"
    assert naming.dataset_of_tags(_tags(stack, job["TrainingJobArn"])) == dataset
    assert stack.latest_status(dataset)["status"] == "training"

    # The completed event without tags: the function reads the job's own, as for events that arrive without.
    completed = sample_event("training_job_completed.json")
    completed["detail"]["TrainingJobName"] = started["job_name"]
    completed["detail"].pop("Tags")
    state = handler_of("training_state")(completed, lambda_context)

    assert state["action"] == "model_ready" and state["dataset"] == dataset
    model = stack.client("sagemaker").describe_model(ModelName=state["model_name"])
    assert naming.dataset_of_tags(_tags(stack, model["ModelArn"])) == dataset
    assert stack.latest_status(dataset)["status"] == "model_ready"


@pytest.mark.parametrize("dataset", NAMES)
def test_a_batch_under_a_named_dataset_becomes_a_transform_job_under_the_users_name(
    handler_of, stack: Stack, sample_event, lambda_context, dataset: str
) -> None:
    give_model(stack, dataset)
    key = f"{layout.BATCH}{dataset}/day 1/cat.jpg"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=JPEG)
    event = sample_event("sqs_batch_uploads.json")
    event["Records"] = [{**event["Records"][0], "body": json.dumps(_created(stack, key))}]

    assert handler_of("batch_collect")(event, lambda_context) == {"batchItemFailures": []}

    (summary,) = stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    assert naming.SAGEMAKER_NAME.match(summary["TransformJobName"])
    job = stack.client("sagemaker").describe_transform_job(TransformJobName=summary["TransformJobName"])
    assert naming.dataset_of_tags(_tags(stack, job["TransformJobArn"])) == dataset
    assert job["TransformOutput"]["S3OutputPath"].startswith(f"s3://{stack.bucket}/{layout.TRANSFORM_OUTPUT}{dataset}/")
    manifest_uri = job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    manifest = _read_json(stack, manifest_uri.removeprefix(f"s3://{stack.bucket}/"))
    assert manifest == [{"prefix": f"s3://{stack.bucket}/{layout.BATCH}{dataset}/"}, "day 1/cat.jpg"]


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("datasets/../train/a.rec", "cannot be named '..'"),
        ("datasets/a.rec", "not in a dataset folder"),
        (f"datasets/{'x' * (layout.MAX_DATASET_NAME_BYTES + 1)}/train/a.rec", f"over {layout.MAX_DATASET_NAME_BYTES}"),
    ],
)
def test_an_upload_under_a_folder_icflow_cannot_use_is_rejected_once_with_the_rule(
    handler_of, stack: Stack, lambda_context, key: str, rule: str
) -> None:
    notifications = stack.subscribe_queue()
    handler = handler_of("dataset_upload")

    (outcome,) = handler(_created(stack, key), lambda_context)["outcomes"]
    (again,) = handler(_created(stack, key), lambda_context)["outcomes"]

    assert outcome["action"] == again["action"] == "rejected" and rule in outcome["reason"]
    status = _read_json(stack, layout.UNUSABLE_NAME_STATUS)
    assert status["status"] == "rejected" and status["key"] == key and rule in status["reason"]
    (message,) = stack.notifications(notifications)
    assert rule in message and layout.UNUSABLE_NAME_STATUS in message
    assert stack.training_jobs() == []


def test_a_batch_under_a_folder_icflow_cannot_use_is_rejected_with_the_rule(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    notifications = stack.subscribe_queue()
    event = sample_event("sqs_batch_uploads.json")
    keys = ["batch/../a.jpg", "batch/../b.jpg", "batch/c.jpg"]
    event["Records"] = [
        {**event["Records"][0], "messageId": f"m-{index}", "body": json.dumps(_created(stack, key))}
        for index, key in enumerate(keys)
    ]

    assert handler_of("batch_collect")(event, lambda_context) == {"batchItemFailures": []}

    status = _read_json(stack, layout.UNUSABLE_NAME_STATUS)
    assert status["status"] == "rejected" and status["folder"] in ("batch/../", layout.BATCH)
    messages = stack.notifications(notifications)
    assert sorted("cannot be named '..'" in message for message in messages) == [False, True]  # once per folder
    assert stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"] == []


@pytest.mark.parametrize("stray", ["Train/a.rec", "test/a.rec"])
def test_a_channel_icflow_does_not_read_rejects_the_dataset_naming_the_channels(
    handler_of, stack: Stack, lambda_context, stray: str
) -> None:
    notifications = stack.subscribe_queue()
    stack.put_recordio_dataset("my photos", [index % 4 for index in range(40)], [0, 1, 2, 3])
    key = f"{layout.dataset_prefix('my photos')}{stray}"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"")

    (outcome,) = handler_of("dataset_upload")(_created(stack, key), lambda_context)["outcomes"]

    assert outcome["action"] == "rejected"
    status = stack.latest_status("my photos")
    assert status["status"] == "rejected" and key in status["reason"]
    assert "train/, validation/, train_lst/, validation_lst/" in status["reason"]
    (message,) = stack.notifications(notifications)
    assert key in message
    assert stack.training_jobs() == []


def test_a_deletion_event_without_tags_finds_a_named_datasets_endpoint(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    # "my photos" cannot be read back from its endpoint's name (icflow-my-photos-<digest>): the table says whose.
    endpoint = naming.endpoint_name("my photos")
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).create_item(
        "my photos", ENDPOINT_SK, "endpoint", EndpointStatus.DELETED_IDLE.value, {"endpoint_name": endpoint}
    )
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).transition_item(
        "my photos", ENDPOINT_SK, EndpointStatus.DELETING.value, (EndpointStatus.DELETED_IDLE.value,)
    )
    event = sample_event("endpoint_failed.json")
    event["detail"].update(EndpointName=endpoint, EndpointStatus="DELETED", Tags={})

    outcome = handler_of("endpoint_state")(event, lambda_context)

    assert outcome["action"] == "ignored" and outcome["dataset"] == "my photos"
    assert outcome["reason"] == f"{endpoint} is {EndpointStatus.DELETING.value}"
