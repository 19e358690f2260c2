"""A dataset named as users name folders, end to end through the local stack: the upload event (key URL-encoded
by S3), a real local training job under SageMaker's name for it, the state-change event carrying the encoded tag,
the model recorded in status/<name>/latest.json under the user's name, then images under batch/<name>/
labeled by a local transform job, predictions under predictions/<name>/."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout, naming
from icflow.core.state import BATCH_SK_PREFIX, BatchStatus, StateTable
from support.latest_status import latest_status

from .conftest import tiny_image

DATASET = "Katzen_äöü 猫 (2024)"  # a space, accents, another script, and "(" ")" that tags escape
START_SECONDS = 60
TRAIN_SECONDS = 180
LABEL_SECONDS = 180


@pytest.mark.slow
def test_a_named_dataset_trains_a_model_and_labels_a_batch_under_the_users_name(
    local_stack: Any, tiny_dataset: dict[str, bytes], wait: Callable[..., Any]
) -> None:
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    for relative, body in tiny_dataset.items():
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}{relative}", Body=body)

    latest = wait(
        lambda: (status := latest_status(s3, bucket, DATASET)) and status.get("status") == "model_ready" and status,
        START_SECONDS + TRAIN_SECONDS,
        f"a model for {DATASET!r} in {layout.latest_status_key(DATASET)}",
    )

    assert naming.SAGEMAKER_NAME.match(latest["job_name"])
    assert latest["job_name"].startswith("icflow-Katzen-aou-")
    arn = sagemaker.describe_model(ModelName=latest["model_name"])["ModelArn"]
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert naming.dataset_of_tags(tags) == DATASET

    rng = random.Random(3)
    for index in range(3):
        key = f"{layout.BATCH}{DATASET}/day 1/cat {index}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=tiny_image(index, rng))
    # Whole as far as the collector's checks see (its first and last bytes), but no decoder reads it: the local
    # SageMaker fails the job on it, as SageMaker does, and the batch goes on without it.
    broken = f"{layout.BATCH}{DATASET}/day 1/broken.jpg"
    s3.put_object(Bucket=bucket, Key=broken, Body=b"\xff\xd8\xff\xe0" + b"not image data" * 50 + b"\xff\xd9")
    runs = StateTable(local_stack.client("dynamodb"), outputs["RunsTableName"])
    (batch,) = wait(
        lambda: [b for b in runs.query(DATASET, BATCH_SK_PREFIX) if b["status"] == BatchStatus.LABELED.value],
        LABEL_SECONDS,
        f"the batch under {layout.BATCH}{DATASET}/ labeled",
    )
    assert naming.SAGEMAKER_NAME.match(batch["transform_job_name"])
    summary_key = f"{layout.predictions_prefix(DATASET, batch['batch_id'])}summary.json"
    summary = json.loads(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())
    assert summary["dataset"] == DATASET and summary["images"]["labeled"] == 3
    assert summary["images"]["failed"] == 1 and summary["images"]["missing_outputs"] == 0
    (refused,) = summary["failed"]["examples"]
    assert refused["image_uri"] == f"s3://{bucket}/{broken}" and refused["reason"] == "refused-by-model"
