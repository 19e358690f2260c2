"""End to end through the local stack wired from the real template.yaml: once a dataset's endpoint is in service,
a small batch uploaded under batch/ is labeled by BatchCollectFunction through InvokeEndpoint on the local
SageMaker, under the function's own role (the folder's no_denials fixture fails the test on any refused call),
and no transform job starts."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout
from icflow.core.state import BATCH_SK_PREFIX, ENDPOINT_SK, BatchStatus, EndpointStatus, StateTable

from .conftest import CLASS_COLORS, tiny_image

# Not "colors-...": test_training_flow counts the jobs whose names contain "icflow-colors-".
DATASET = "realtime-colors"
IMAGES = 6
# Bounds of each stage on a busy 2-core machine: training takes a few seconds, the batching window 10 s.
READY_SECONDS = 240
LABELED_SECONDS = 120


@pytest.mark.slow
def test_a_small_batch_is_labeled_by_the_endpoint(
    local_stack: Any, tiny_dataset: dict[str, bytes], wait: Callable[..., Any]
) -> None:
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    table = StateTable(local_stack.client("dynamodb"), outputs["RunsTableName"])
    pipeline = json.loads(tiny_dataset["pipeline.json"]) | {"deploy": {"realtime": {"enabled": True}}}
    for relative, body in {**tiny_dataset, "pipeline.json": json.dumps(pipeline).encode()}.items():
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}{relative}", Body=body)
    wait(
        lambda: (table.get_item(DATASET, ENDPOINT_SK) or {}).get("status") == EndpointStatus.IN_SERVICE,
        READY_SECONDS,
        "the dataset's model trained and its endpoint in service",
    )
    rng = random.Random(3)
    labels = [index % len(CLASS_COLORS) for index in range(IMAGES)]
    for index, label in enumerate(labels):
        key = f"{layout.BATCH}{DATASET}/{index}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=tiny_image(label, rng))

    (batch,) = wait(
        lambda: [b for b in table.query(DATASET, BATCH_SK_PREFIX) if b["status"] == BatchStatus.LABELED] or None,
        LABELED_SECONDS,
        "BatchCollectFunction labeling the batch by the endpoint",
    )

    endpoint = (table.get_item(DATASET, ENDPOINT_SK) or {})["endpoint_name"]
    assert batch["labeled_by"] == {"endpoint": endpoint} and batch["labeled"] == IMAGES
    assert [change["status"] for change in batch["history"]] == ["pending", "labeling", "labeled"]
    jobs = sagemaker.list_transform_jobs(NameContains=DATASET)["TransformJobSummaries"]
    assert jobs == []
    key = batch["predictions_uri"].removeprefix(f"s3://{bucket}/")
    rows = [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]
    assert len(rows) == IMAGES and all(row["model_name"] == batch["model_name"] for row in rows)
