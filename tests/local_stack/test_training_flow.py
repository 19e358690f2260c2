"""End to end through the local stack wired from the real template.yaml: uploads start a real local training
job, its state change creates the model, and a duplicate upload starts nothing new."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout
from support.latest_status import latest_status

DATASET = "colors"
# Bounds of each stage on a busy 2-core machine; training itself takes a few seconds.
START_SECONDS = 60
TRAIN_SECONDS = 180


def _jobs(sagemaker: Any) -> list[dict[str, Any]]:
    """This dataset's training jobs; other tests of the folder share the stack."""
    return sagemaker.list_training_jobs(NameContains=f"icflow-{DATASET}-")["TrainingJobSummaries"]


def _runs(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"DATASET#{DATASET}"}},
    )["Items"]
    return [item for item in items if item["sk"]["S"] != "DATASET"]


@pytest.mark.slow
def test_uploads_train_a_model_once(local_stack: Any, tiny_dataset: dict[str, bytes], wait: Callable[..., Any]) -> None:
    outputs = local_stack.state()["outputs"]
    bucket, table = outputs["DataBucketName"], outputs["RunsTableName"]
    s3, sagemaker, dynamodb = local_stack.client("s3"), local_stack.client("sagemaker"), local_stack.client("dynamodb")
    for relative, body in tiny_dataset.items():  # in any order: the uploads settle into one run
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}{relative}", Body=body)

    jobs = wait(
        lambda: _jobs(sagemaker), START_SECONDS, "DatasetUploadFunction starting a training job after the uploads"
    )
    assert len(jobs) == 1 and jobs[0]["TrainingJobName"].startswith(f"icflow-{DATASET}-")
    job_name = jobs[0]["TrainingJobName"]

    latest = wait(
        lambda: (status := latest_status(s3, bucket, DATASET)) and status.get("status") == "model_ready" and status,
        TRAIN_SECONDS,
        f"TrainingStateFunction recording the model of {job_name} in latest.json",
    )
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["HyperParameters"]["num_classes"] == "3" and job["HyperParameters"]["num_training_samples"] == "24"
    model_name = latest["model_name"]
    model = sagemaker.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]

    runs = _runs(dynamodb, table)
    assert len(runs) == 1
    history = [change["M"]["status"]["S"] for change in runs[0]["history"]["L"]]
    assert history[-1] == "model_ready" and "training" in history

    # The same object again: a new event, the same run; nothing starts.
    upload = local_stack.functions["DatasetUploadFunction"]
    before = upload.invocations
    key = f"{layout.dataset_prefix(DATASET)}validation/colors_val.rec"
    s3.put_object(Bucket=bucket, Key=key, Body=tiny_dataset["validation/colors_val.rec"])
    wait(lambda: upload.invocations > before, START_SECONDS, "DatasetUploadFunction receiving the duplicate upload")
    # Noted while the dataset settles, then decided: the same run, so the status comes back to the model's.
    wait(
        lambda: latest_status(s3, bucket, DATASET)["status"] == "model_ready",
        START_SECONDS,
        "the dataset settling back to its model after the duplicate upload",
    )
    assert len(_jobs(sagemaker)) == 1
    assert len(_runs(dynamodb, table)) == 1


def test_function_logs_and_state_file(local_stack: Any) -> None:
    state = json.loads(local_stack.options.state_file.read_text())
    assert state["endpoint_url"] == local_stack.endpoint_url
    for logical_id in ("DatasetUploadFunction", "TrainingStateFunction"):
        function = state["functions"][logical_id]
        assert function["environment"]["DATA_BUCKET"] == state["outputs"]["DataBucketName"]
        assert function["environment"]["AWS_ENDPOINT_URL_SAGEMAKER"] == state["sagemaker_endpoint_url"]
