"""The real PyTorch trainer behind the service: train from image + .lst channels, then batch transform and an
endpoint on the trained model, on a tiny dataset of two well-separated colours."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

COLOURS = ((220, 40, 40), (40, 60, 220))
SIZE = 16


def image(label: int, rng: np.random.Generator) -> bytes:
    noise = rng.integers(-30, 31, size=(SIZE, SIZE, 3))
    pixels = np.clip(np.array(COLOURS[label])[None, None, :] + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def put_image_channel(aws, channel: str, count: int, rng: np.random.Generator) -> None:
    lines = []
    for index in range(count):
        label = index % 2
        relative = f"class{label}/{index:04d}.png"
        aws.put(f"data/{channel}/{relative}", image(label, rng))
        lines.append(f"{index}\t{label}\t{relative}")
    aws.put(f"data/{channel}_lst/{channel}.lst", ("\n".join(lines) + "\n").encode())


@pytest.mark.slow
def test_the_real_trainer_trains_transforms_and_serves(aws, real_service, helpers):
    import boto3

    sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=real_service.url)
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=real_service.url)
    rng = np.random.default_rng(0)
    put_image_channel(aws, "train", 32, rng)
    put_image_channel(aws, "validation", 16, rng)
    request = helpers.training_request(
        aws,
        "real-1",
        {
            "num_classes": "2",
            "num_training_samples": "32",
            "num_layers": "20",
            "image_shape": f"3,{SIZE},{SIZE}",
            "epochs": "3",
            "mini_batch_size": "8",
            "learning_rate": "0.1",
            "optimizer": "sgd",
        },
    )
    request["InputDataConfig"] = [
        {
            "ChannelName": channel,
            "ContentType": "application/x-image",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": aws.uri(f"data/{channel}/")}},
        }
        for channel in ("train", "validation", "train_lst", "validation_lst")
    ]
    sagemaker.create_training_job(**request)

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "real-1"), timeout=120, interval=0.5)

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:accuracy"] >= 0.9
    folder = real_service.ctx.work_dir / "training-jobs" / "real-1"
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 3

    sagemaker.create_model(
        ModelName="real-model",
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    batch = {f"batch/in/{label}-{index}.png": label for label in (0, 1) for index in range(3)}
    images = {key: image(label, rng) for key, label in batch.items()}
    for key, body in images.items():
        aws.put(key, body)
    sagemaker.create_transform_job(
        TransformJobName="real-batch",
        ModelName="real-model",
        MaxConcurrentTransforms=2,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": aws.uri("batch/in/")}},
            "ContentType": "application/x-image",
            "SplitType": "None",
        },
        TransformOutput={"S3OutputPath": aws.uri("batch/out/")},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    transform = helpers.wait_for(
        lambda: (lambda j: j if j["TransformJobStatus"] in ("Completed", "Failed") else None)(
            sagemaker.describe_transform_job(TransformJobName="real-batch")
        ),
        timeout=60,
        interval=0.2,
    )
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    predictions = {
        key: json.loads(aws.get(key.replace("batch/in/", "batch/out/") + ".out"))["prediction"] for key in batch
    }
    for prediction in predictions.values():
        assert len(prediction) == 2 and sum(prediction) == pytest.approx(1.0, abs=1e-4)
    assert sum(int(np.argmax(predictions[key])) == label for key, label in batch.items()) >= 5

    sagemaker.create_endpoint_config(
        EndpointConfigName="real-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "real-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="real-endpoint", EndpointConfigName="real-config")
    helpers.wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName="real-endpoint")["EndpointStatus"] == "InService", timeout=60
    )
    # The endpoint serves the very model the transform used: same image, same probabilities.
    for key in ("batch/in/0-0.png", "batch/in/1-0.png"):
        answer = runtime.invoke_endpoint(
            EndpointName="real-endpoint", Body=images[key], ContentType="application/x-image"
        )
        assert json.loads(answer["Body"].read()) == pytest.approx(predictions[key], abs=1e-6)
    with pytest.raises(runtime.exceptions.ModelError):
        runtime.invoke_endpoint(EndpointName="real-endpoint", Body=b"\x89PNG broken", ContentType="image/png")


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        (
            {"num_training_samples": "32", "num_layers": "19"},
            "ClientError: The value '19' is not valid for the 'num_layers' hyperparameter",
        ),
        (
            {"num_training_samples": "32", "num_epochs": "3"},
            "ClientError: Additional hyperparameters are not allowed ('num_epochs' was unexpected)",
        ),
        ({}, "ClientError: No value(s) were specified for 'num_training_samples'"),
        ({"num_training_samples": "32"}, "ClientError: the train channel cannot be read"),
    ],
    ids=["bad-value", "unknown-name", "missing-required", "unreadable-data"],
)
def test_the_customers_mistakes_fail_the_job_as_client_errors(aws, real_service, helpers, hyperparameters, reason):
    import boto3

    sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=real_service.url)
    helpers.put_training_data(aws)  # RecordIO prefixes holding bytes that are not RecordIO
    sagemaker.create_training_job(**helpers.training_request(aws, "real-bad", hyperparameters))

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "real-bad"), timeout=60, interval=0.2)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(reason)
