"""Incremental training through the service with the real trainer: a `model` channel whose S3Prefix is exactly an
earlier job's model.tar.gz key, as the SDK's notebook sends it. The job starts from that model and says so in
CloudWatch Logs; another network or another content type fails the job as a ClientError naming why."""

from __future__ import annotations

import io
import uuid
from typing import Any

import boto3
import numpy as np
from PIL import Image

from icflow.recordio import IndexedRecordWriter, pack_image_record
from icflow_tools.local_sagemaker.job_log_stream import TRAINING_LOG_GROUP

COLOURS = ((220, 40, 40), (40, 60, 220))
SIZE = 12
HYPERPARAMETERS = {
    "num_classes": "2",
    "num_training_samples": "32",
    "num_layers": "20",
    "image_shape": f"3,{SIZE},{SIZE}",
    "mini_batch_size": "8",
    "learning_rate": "0.1",
}


def recordio(count: int, seed: int) -> bytes:
    """`count` noisy images of two colours, labelled by colour, as one .rec file."""
    rng = np.random.default_rng(seed)
    rec = io.BytesIO()
    writer = IndexedRecordWriter(rec, io.StringIO())
    for key in range(count):
        noise = rng.integers(-30, 31, size=(SIZE, SIZE, 3))
        pixels = np.clip(np.array(COLOURS[key % 2])[None, None, :] + noise, 0, 255).astype(np.uint8)
        png = io.BytesIO()
        Image.fromarray(pixels).save(png, format="PNG")
        writer.write(key, pack_image_record(float(key % 2), png.getvalue(), key))
    return rec.getvalue()


def model_channel(uri: str, content_type: str = "application/x-sagemaker-model") -> dict[str, Any]:
    return {
        "ChannelName": "model",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": content_type,
        "CompressionType": "None",
    }


def test_a_job_trains_on_from_an_earlier_jobs_model_and_refuses_another_network(aws, moto_url, real_service, helpers):
    sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=real_service.url)
    logs = boto3.client("logs", region_name="us-east-1", endpoint_url=moto_url)
    aws.put("data/train/train.rec", recordio(32, seed=0))
    aws.put("data/validation/validation.rec", recordio(16, seed=1))
    suffix = uuid.uuid4().hex[:8]  # the package's tests share moto's log group

    def run(name: str, epochs: str, channels: list[dict[str, Any]] | None = None, **changes: str) -> dict[str, Any]:
        request = helpers.training_request(aws, name, {**HYPERPARAMETERS, "epochs": epochs, **changes})
        request["InputDataConfig"] += channels or []
        sagemaker.create_training_job(**request)
        return helpers.wait_for(lambda: helpers.ended(sagemaker, name), timeout=120, interval=0.2)

    first = run(f"first-{suffix}", "2")
    assert first["TrainingJobStatus"] == "Completed", first.get("FailureReason")
    artifact = first["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == aws.uri(f"artifacts/first-{suffix}/output/model.tar.gz")

    again = run(f"again-{suffix}", "1", [model_channel(artifact)])

    assert again["TrainingJobStatus"] == "Completed", again.get("FailureReason")
    accuracy = {metric["MetricName"]: metric["Value"] for metric in again["FinalMetricDataList"]}
    first_accuracy = {metric["MetricName"]: metric["Value"] for metric in first["FinalMetricDataList"]}
    assert accuracy["validation:accuracy"] >= first_accuracy["validation:accuracy"] - 0.05
    stream = f"again-{suffix}/algo-1-{int(again['TrainingStartTime'].timestamp())}"
    lines = [
        event["message"]
        for event in logs.get_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, startFromHead=True)[
            "events"
        ]
    ]
    assert f"[local-sagemaker] channel model: 1 objects from {artifact}" in lines
    assert any(line.startswith("Incremental training: starting from the parameters of") for line in lines)

    other_network = run(f"other-{suffix}", "1", [model_channel(artifact)], num_classes="3")
    assert other_network["TrainingJobStatus"] == "Failed"
    assert other_network["FailureReason"].startswith(
        "ClientError: the model channel's model was trained with a different network: "
        "num_classes is 2 for the model and 3 for this job."
    )

    not_a_model = run(f"recordio-{suffix}", "1", [model_channel(artifact, "application/x-recordio")])
    assert not_a_model["TrainingJobStatus"] == "Failed"
    assert not_a_model["FailureReason"].startswith(
        "ClientError: the model channel has content type 'application/x-recordio'; incremental training needs "
        "'application/x-sagemaker-model'"
    )
