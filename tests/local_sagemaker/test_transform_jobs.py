"""Batch transform jobs through boto3: S3Prefix and ManifestFile inputs, .out outputs, failures, concurrency."""

from __future__ import annotations

import json
import os
import re

import pytest
from botocore.exceptions import ClientError

DETAIL_TYPE = "SageMaker Transform Job State Change"


@pytest.fixture
def model(aws, sagemaker, helpers):
    """A model from a completed training job of the fake algorithm (3 classes, 0.1 s per prediction)."""
    helpers.put_training_data(aws)
    sagemaker.create_training_job(
        **helpers.training_request(aws, "for-transform", {"num_classes": "3", "predict_seconds": "0.1"})
    )
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "for-transform"))
    sagemaker.create_model(
        ModelName="digits-model",
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    return "digits-model"


def transform_request(aws, name, model, data_type="S3Prefix", uri=None, **extra):
    return {
        "TransformJobName": name,
        "ModelName": model,
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri or aws.uri("batch/in/")}},
            "ContentType": "application/x-image",
            "SplitType": "None",
        },
        "TransformOutput": {"S3OutputPath": aws.uri("batch/out"), "Accept": "application/json"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "Tags": [{"Key": "batch", "Value": "b1"}],
        **extra,
    }


def transform_ended(sagemaker, name):
    job = sagemaker.describe_transform_job(TransformJobName=name)
    return job if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped") else None


def expected(image: bytes, classes: int = 3) -> dict:
    probabilities = [0.0] * classes
    probabilities[len(image) % classes] = 1.0
    return {"prediction": probabilities}


def test_s3_prefix_transform_writes_one_out_file_per_image(aws, service, sagemaker, model, helpers):
    images = {
        "batch/in/a.png": helpers.png(8),
        "batch/in/deep/b.jpg": helpers.jpeg(9),
        "batch/in/c.png": helpers.png(12),
    }
    for key, body in images.items():
        aws.put(key, body)

    sagemaker.create_transform_job(**transform_request(aws, "batch-1", model))
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-1"))

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["CreationTime"] <= job["TransformStartTime"] <= job["TransformEndTime"]
    assert aws.keys("batch/out/") == ["batch/out/a.png.out", "batch/out/c.png.out", "batch/out/deep/b.jpg.out"]
    for key, body in images.items():
        out = key.replace("batch/in/", "batch/out/") + ".out"
        assert json.loads(aws.get(out)) == expected(body)
    events = aws.events_for(DETAIL_TYPE, "TransformJobName", "batch-1")
    assert [e["detail"]["TransformJobStatus"] for e in events] == ["InProgress", "Completed"]
    assert events[-1]["detail"]["ModelName"] == model
    assert events[-1]["detail"]["TransformOutput"]["S3OutputPath"] == aws.uri("batch/out")
    assert events[-1]["detail"]["Tags"] == {"batch": "b1"}
    assert events[-1]["resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:transform-job/batch-1"]


def test_manifest_transform_reads_the_listed_keys_only(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/x/one.png", helpers.png(8))
    aws.put("batch/in/x/two.png", helpers.png(10))
    aws.put("batch/in/x/ignored.png", b"not listed, never read")
    manifest = [{"prefix": aws.uri("batch/in/")}, "x/one.png", "x/two.png"]
    uri = aws.put("manifests/m.json", json.dumps(manifest).encode())

    sagemaker.create_transform_job(**transform_request(aws, "batch-manifest", model, "ManifestFile", uri))
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-manifest"))

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert aws.keys("batch/out/") == ["batch/out/x/one.png.out", "batch/out/x/two.png.out"]


def test_one_unreadable_image_fails_the_job_naming_it(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/good.png", helpers.png())
    aws.put("batch/in/broken.png", b"these bytes are no image")

    sagemaker.create_transform_job(**transform_request(aws, "batch-broken", model))
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-broken"))

    assert job["TransformJobStatus"] == "Failed"
    assert aws.uri("batch/in/broken.png") in job["FailureReason"]
    assert job["FailureReason"].startswith("ClientError: ")
    failed = aws.events_for(DETAIL_TYPE, "TransformJobName", "batch-broken")[-1]["detail"]
    assert failed["FailureReason"] == job["FailureReason"]


def test_an_unreadable_image_on_one_instance_fails_the_job_naming_it(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/a-good.png", helpers.png())
    aws.put("batch/in/z-broken.png", b"these bytes are no image")  # the second instance's share
    request = transform_request(aws, "batch-broken-two", model)
    request["TransformResources"]["InstanceCount"] = 2

    sagemaker.create_transform_job(**request)
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-broken-two"))

    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ") and aws.uri("batch/in/z-broken.png") in job["FailureReason"]


def test_max_concurrent_transforms_is_honoured(aws, service, sagemaker, model, algorithm, helpers):
    for index in range(6):
        aws.put(f"batch/in/{index}.png", helpers.png(8 + index))

    sagemaker.create_transform_job(**transform_request(aws, "batch-parallel", model, MaxConcurrentTransforms=3))
    helpers.wait_for(lambda: transform_ended(sagemaker, "batch-parallel"))

    assert algorithm.classifiers[-1].most_active == 3


def test_a_manifests_images_are_shared_by_key_among_the_instances_each_a_process(
    aws, service, sagemaker, model, helpers
):
    images = {f"batch/in/{index}.png": helpers.png(8 + index) for index in range(5)}
    for key, body in images.items():
        aws.put(key, body)
    manifest = [{"prefix": aws.uri("batch/in/")}, *(key.removeprefix("batch/in/") for key in images)]
    uri = aws.put("manifests/m.json", json.dumps(manifest).encode())
    request = transform_request(aws, "batch-two", model, "ManifestFile", uri, MaxConcurrentTransforms=2)
    request["TransformResources"]["InstanceCount"] = 2

    sagemaker.create_transform_job(**request)
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-two"))

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    for key, body in images.items():
        assert json.loads(aws.get(key.replace("batch/in/", "batch/out/") + ".out")) == expected(body)
    log = (service.ctx.work_dir / "transform-jobs" / "batch-two" / "job.log").read_text()
    shares = sorted(re.findall(r"instance (\d): (\d) objects, process (\d+)", log))
    assert [(index, count) for index, count, _ in shares] == [("1", "3"), ("2", "2")]
    processes = {int(pid) for _, _, pid in shares}
    assert len(processes) == 2 and os.getpid() not in processes


def test_instances_beyond_the_objects_stay_idle(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/only.png", helpers.png(8))
    request = transform_request(aws, "batch-idle", model)
    request["TransformResources"]["InstanceCount"] = 2

    sagemaker.create_transform_job(**request)
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-idle"))

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert aws.keys("batch/out/") == ["batch/out/only.png.out"]
    log = (service.ctx.work_dir / "transform-jobs" / "batch-idle" / "job.log").read_text()
    # Each instance process logs its own share, in whatever order they start.
    assert sorted(re.findall(r"instance \d: \d objects", log)) == ["instance 1: 1 objects", "instance 2: 0 objects"]


def test_a_transform_needs_an_existing_model_and_a_fresh_name(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/a.png", helpers.png())
    with pytest.raises(ClientError) as error:
        sagemaker.create_transform_job(**transform_request(aws, "batch-x", "no-such-model"))
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find model" in error.value.response["Error"]["Message"]

    sagemaker.create_transform_job(**transform_request(aws, "batch-x", model))
    with pytest.raises(ClientError) as error:
        sagemaker.create_transform_job(**transform_request(aws, "batch-x", model))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    helpers.wait_for(lambda: transform_ended(sagemaker, "batch-x"))
    summaries = sagemaker.list_transform_jobs(StatusEquals="Completed")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in summaries] == ["batch-x"]


def test_stop_transform_job(aws, service, sagemaker, model, helpers):
    for index in range(40):
        aws.put(f"batch/in/{index}.png", helpers.png(8))
    sagemaker.create_transform_job(**transform_request(aws, "batch-stop", model))
    helpers.wait_for(lambda: aws.keys("batch/out/"))

    sagemaker.stop_transform_job(TransformJobName="batch-stop")
    job = helpers.wait_for(lambda: transform_ended(sagemaker, "batch-stop"))

    assert job["TransformJobStatus"] == "Stopped"
    assert len(aws.keys("batch/out/")) < 40
