"""Whoever writes to the bucket names the files a job downloads: no key or name may put one outside the job's
folder. Such a job fails naming the key, as SageMaker reports a failed job."""

from __future__ import annotations

import json

import pytest


def failed(sagemaker, helpers, name):
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, name))
    assert job["TrainingJobStatus"] == "Failed"
    return job["FailureReason"]


@pytest.mark.parametrize("below", ["/{outside}/escaped.rec", "../../../../../escaped.rec", "a/./b.rec"])
def test_a_channel_key_that_is_no_relative_path_fails_the_job_naming_the_key(
    aws, service, sagemaker, helpers, tmp_path, below
):
    helpers.put_training_data(aws)
    key = "data/train/" + below.format(outside=tmp_path.as_posix().lstrip("/"))
    aws.put(key, b"hostile")
    sagemaker.create_training_job(**helpers.training_request(aws, "digits-escape"))

    reason = failed(sagemaker, helpers, "digits-escape")

    assert reason.startswith(f"ClientError: The S3 object {aws.uri(key)} names no file inside the job's folder")
    assert not (tmp_path / "escaped.rec").exists()
    assert not list(service.ctx.work_dir.parent.rglob("escaped.rec"))


def test_a_manifest_entry_that_climbs_out_fails_the_job(aws, service, sagemaker, helpers, tmp_path):
    helpers.put_training_data(aws)
    aws.put("data/../../../../../../escaped.rec", b"hostile")
    manifest = aws.put(
        "manifests/train.json", json.dumps([{"prefix": aws.uri("data/")}, "../../../../../../escaped.rec"]).encode()
    )
    request = helpers.training_request(aws, "digits-manifest-escape")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="ManifestFile", S3Uri=manifest)
    sagemaker.create_training_job(**request)

    reason = failed(sagemaker, helpers, "digits-manifest-escape")

    assert "names no file inside the job's folder" in reason
    assert not list(tmp_path.rglob("escaped.rec"))


def test_a_checkpoint_key_that_climbs_out_fails_the_job(aws, service, sagemaker, helpers, tmp_path):
    helpers.put_training_data(aws)
    aws.put("checkpoints/run/../../../../escaped.ckpt", b"hostile")
    request = helpers.training_request(
        aws, "digits-checkpoint-escape", CheckpointConfig={"S3Uri": aws.uri("checkpoints/run")}
    )
    sagemaker.create_training_job(**request)

    reason = failed(sagemaker, helpers, "digits-checkpoint-escape")

    assert "checkpoints/run/../../../../escaped.ckpt names no file inside the job's folder" in reason
    assert not list(tmp_path.rglob("escaped.ckpt"))


def test_a_channel_named_dot_dot_fails_the_job_and_leaves_the_other_channels_alone(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    request = helpers.training_request(aws, "digits-dot-channel")
    request["InputDataConfig"][1]["ChannelName"] = ".."
    sagemaker.create_training_job(**request)

    reason = failed(sagemaker, helpers, "digits-dot-channel")

    assert reason.startswith("ClientError: Channel .. names no file inside the job's folder")
    assert (service.ctx.work_dir / "training-jobs" / "digits-dot-channel" / "input" / "data" / "train").is_dir()


def test_a_model_data_url_ending_in_dot_dot_is_downloaded_inside_the_models_folder(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(**helpers.training_request(aws, "for-dot-model"))
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "for-dot-model"))
    artifact = aws.get(job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{aws.bucket}/"))
    url = aws.put("models/..", artifact)
    sagemaker.create_model(
        ModelName="dot-model",
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": url},
    )
    aws.put("batch/in/a.png", helpers.png(8))
    sagemaker.create_transform_job(
        TransformJobName="dot-model-batch",
        ModelName="dot-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": aws.uri("batch/in/")}}},
        TransformOutput={"S3OutputPath": aws.uri("batch/out")},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )

    ended = helpers.wait_for(
        lambda: (lambda j: j if j["TransformJobStatus"] in ("Completed", "Failed") else None)(
            sagemaker.describe_transform_job(TransformJobName="dot-model-batch")
        )
    )

    assert ended["TransformJobStatus"] == "Completed", ended.get("FailureReason")
    assert sorted(p.name for p in service.ctx.work_dir.iterdir() if p.is_file()) == []
