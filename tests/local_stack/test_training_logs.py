"""End to end: a real training job on the local stack (the real template's role, under IAM) sends its log lines
to CloudWatch Logs as SageMaker does, and the report's reader finds there each epoch's accuracies, the very ones
the job recorded in its metrics.jsonl."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from icflow.algorithm.image_uris import image_uri
from icflow.reports.training_logs import TrainingLogs
from icflow_tools.local_sagemaker.training import METRICS_FILE

TRAIN_SECONDS = 180
# Outside datasets/ and batch/, whose uploads start the stack's own flows; the execution role reads it.
DATA_PREFIX = "artifacts/training-logs-test"


def _ended(sagemaker: Any, name: str) -> dict[str, Any] | None:
    job = sagemaker.describe_training_job(TrainingJobName=name)
    return job if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") else None


@pytest.mark.slow
def test_the_reader_finds_each_epoch_of_a_real_training_in_cloudwatch_logs(
    local_stack: Any, tiny_dataset: dict[str, bytes], wait: Callable[..., Any]
) -> None:
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    for relative in ("train/colors_train.rec", "validation/colors_val.rec"):
        s3.put_object(Bucket=bucket, Key=f"{DATA_PREFIX}/{relative}", Body=tiny_dataset[relative])
    # Not icflow-*: the stack's training-state function leaves the job alone.
    name = f"logs-{uuid.uuid4().hex[:8]}"
    hyperparameters = json.loads(tiny_dataset["pipeline.json"])["hyperparameters"]
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image_uri(local_stack.options.region), "TrainingInputMode": "File"},
        RoleArn=outputs["SageMakerExecutionRoleArn"],
        HyperParameters={
            **{key: str(value) for key, value in hyperparameters.items()},
            "num_classes": "3",
            "num_training_samples": "24",
        },
        InputDataConfig=[
            {
                "ChannelName": channel,
                "ContentType": "application/x-recordio",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{DATA_PREFIX}/{channel}/"}
                },
            }
            for channel in ("train", "validation")
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/{DATA_PREFIX}/output/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )

    job = wait(lambda: _ended(sagemaker, name), TRAIN_SECONDS, f"training job {name} ending")

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    folder = local_stack.options.work_dir / "sagemaker" / "training-jobs" / name
    recorded = [json.loads(line) for line in (folder / METRICS_FILE).read_text().splitlines()]
    epochs = TrainingLogs(local_stack.client("logs")).epochs(name)
    assert [entry.epoch for entry in epochs] == [entry["epoch"] for entry in recorded] == [0, 1]
    for logged, entry in zip(epochs, recorded, strict=True):
        for metric in ("train:accuracy", "validation:accuracy"):
            assert logged.metrics[metric] == pytest.approx(entry["metrics"][metric], abs=5e-7)
        assert logged.metrics["epoch_seconds"] > 0
