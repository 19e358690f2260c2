"""Retraining starts from the last model, end to end on the local stack: a dataset trains once; more data with
`training.incremental` starts a job whose `model` channel is the first model's artifacts, and the local trainer
really starts from them (its log says so); a run asking for another network is rejected naming the difference."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout
from support.latest_status import latest_status

DATASET = "retrained"
PIPELINE = {"hyperparameters": {"num_layers": 20, "image_shape": "3,28,28", "epochs": 1, "mini_batch_size": 8}}
SECONDS = 180


def _put(s3: Any, bucket: str, relative: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}{relative}", Body=body)


@pytest.mark.slow
def test_new_data_retrains_from_the_current_model(
    local_stack: Any, wait: Callable[..., Any], make_recordio: Callable[..., bytes]
) -> None:
    bucket = local_stack.state()["outputs"]["DataBucketName"]
    s3, sagemaker, logs = local_stack.client("s3"), local_stack.client("sagemaker"), local_stack.client("logs")
    _put(s3, bucket, "pipeline.json", json.dumps(PIPELINE).encode())
    _put(s3, bucket, "train/part-0.rec", make_recordio(per_class=6, seed=1))
    _put(s3, bucket, "validation/val.rec", make_recordio(per_class=2, seed=2))
    first = wait(
        lambda: (status := latest_status(s3, bucket, DATASET)).get("status") == "model_ready" and status,
        SECONDS,
        "the first model",
    )

    incremental = {**PIPELINE, "training": {"incremental": True}}
    _put(s3, bucket, "pipeline.json", json.dumps(incremental).encode())
    _put(s3, bucket, "train/part-1.rec", make_recordio(per_class=6, seed=3))
    second = wait(
        lambda: (status := latest_status(s3, bucket, DATASET)).get("run_id") != first["run_id"]
        and status.get("status") == "model_ready"
        and status,
        SECONDS,
        "the retrained model",
    )

    assert second["base_model"] == {"run_id": first["run_id"], "model_name": first["model_name"]}
    job = sagemaker.describe_training_job(TrainingJobName=second["job_name"])
    channels = {channel["ChannelName"]: channel for channel in job["InputDataConfig"]}
    assert channels["model"]["ContentType"] == "application/x-sagemaker-model"
    assert channels["model"]["DataSource"]["S3DataSource"]["S3Uri"] == first["model_data_url"]
    log = logs.filter_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{second['job_name']}/"
    )["events"]
    assert any("Incremental training: starting from" in event["message"] for event in log)

    # Another network cannot start from this model: the run is rejected before any job, saying what differs.
    other = {**incremental, "hyperparameters": {**PIPELINE["hyperparameters"], "num_layers": 32}}
    _put(s3, bucket, "pipeline.json", json.dumps(other).encode())
    rejected = wait(
        lambda: (status := latest_status(s3, bucket, DATASET)).get("status") == "rejected" and status,
        SECONDS,
        "the rejection",
    )
    assert "num_layers: the current model" in rejected["reason"] and "has 20 but this run has 32" in rejected["reason"]
