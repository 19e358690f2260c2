"""Training jobs through boto3: lifecycle, artifacts, metrics, events, stops, limits, checkpoints, listing."""

from __future__ import annotations

import io
import json
import tarfile
import time
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.parser import parse
from botocore.exceptions import ClientError

from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow_tools.local_sagemaker.training import LOG_FILE, METRICS_FILE

DETAIL_TYPE = "SageMaker Training Job State Change"


def test_a_training_job_downloads_its_channels_trains_and_uploads_the_model(
    aws, service, sagemaker, algorithm, helpers
):
    helpers.put_training_data(aws)
    arn = sagemaker.create_training_job(**helpers.training_request(aws, "digits-1", {"learning_rate": "0.3"}))[
        "TrainingJobArn"
    ]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/digits-1"

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-1"))

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["BillableTimeInSeconds"] >= 1
    assert {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]} == pytest.approx(
        {"train:accuracy": 0.6, "validation:accuracy": 0.6}
    )
    assert algorithm.calls[0]["files"] == {"train": ["nested/part-2.rec", "part-1.rec"], "validation": ["val.rec"]}
    assert algorithm.calls[0]["content_types"] == {
        "train": "application/x-recordio",
        "validation": "application/x-recordio",
    }

    key = "artifacts/digits-1/output/model.tar.gz"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == aws.uri(key)
    with tarfile.open(fileobj=io.BytesIO(aws.get(key))) as archive:
        assert archive.getnames() == ["model.json"]

    folder = service.ctx.work_dir / "training-jobs" / "digits-1"
    epochs = [json.loads(line) for line in (folder / METRICS_FILE).read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert epochs[0]["metrics"]["validation:accuracy"] == pytest.approx(0.3)
    assert "Epoch[1] Validation-accuracy=0.600000" in (folder / LOG_FILE).read_text()


def test_training_events_follow_every_state_change_with_aws_fields(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(**helpers.training_request(aws, "digits-events"))
    helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-events"))

    events = helpers.wait_for(
        lambda: (lambda e: e if e and e[-1]["detail"]["TrainingJobStatus"] == "Completed" else None)(
            aws.events_for(DETAIL_TYPE, "TrainingJobName", "digits-events")
        )
    )

    assert [(e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in events] == [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("InProgress", "Uploading"),
        ("Completed", "Completed"),
    ]
    last = events[-1]
    assert (last["version"], last["source"], last["account"], last["region"]) == (
        "0",
        "aws.sagemaker",
        "123456789012",
        "us-east-1",
    )
    assert last["resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:training-job/digits-events"]
    detail = last["detail"]
    assert detail["Tags"] == {"dataset": "digits"}
    assert detail["HyperParameters"]["num_classes"] == "2"
    assert detail["OutputDataConfig"]["S3OutputPath"] == aws.uri("artifacts/")
    assert isinstance(detail["CreationTime"], int) and detail["CreationTime"] > 1_600_000_000_000  # epoch ms
    transition = detail["SecondaryStatusTransitions"][0]
    assert isinstance(transition["StartTime"], int) and transition["StartTime"] >= detail["CreationTime"]  # nested too
    assert "TuningJobArn" not in detail and "FailureReason" not in detail
    # What the training-state function makes of it: the layer's parser reads the local events as AWS's.
    change = job_state_change(parse(event=last, model=SageMakerStateChange))
    assert (change.job_name, change.status, change.tags, change.is_tuning_trial) == (
        "digits-events",
        "Completed",
        {"dataset": "digits"},
        False,
    )


@pytest.mark.parametrize(
    ("hyperparameter", "reason"),
    [
        ("fail", "AlgorithmError: num_layers 7 is not supported"),
        ("client_fail", "ClientError: num_layers 7 is not supported"),
    ],
    ids=["algorithm-fault", "customer-fault"],
)
def test_an_algorithm_error_fails_the_job_naming_whose_fault_it_is(
    aws, service, sagemaker, helpers, hyperparameter, reason
):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(
        **helpers.training_request(aws, "digits-bad", {hyperparameter: "num_layers 7 is not supported"})
    )

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-bad"))

    assert job["TrainingJobStatus"] == "Failed"
    assert job["SecondaryStatus"] == "Failed"
    assert job["FailureReason"] == reason
    assert "ModelArtifacts" not in job
    failed = helpers.wait_for(
        lambda: [
            e
            for e in aws.events_for(DETAIL_TYPE, "TrainingJobName", "digits-bad")
            if e["detail"]["TrainingJobStatus"] == "Failed"
        ]
    )
    assert failed[0]["detail"]["FailureReason"] == job["FailureReason"]


def test_an_empty_channel_prefix_fails_the_job_naming_the_prefix(aws, service, sagemaker, helpers):
    aws.put("data/train/part-1.rec", b"x")
    sagemaker.create_training_job(**helpers.training_request(aws, "digits-empty"))

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-empty"))

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        f'ClientError: No S3 objects found under S3 URL "{aws.uri("data/validation/")}"'
    )


def test_stop_training_job_goes_through_stopping_to_stopped_and_keeps_the_model(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(
        **helpers.training_request(aws, "digits-stop", {"epochs": "100", "epoch_seconds": "0.05"})
    )
    helpers.wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName="digits-stop")["SecondaryStatus"] == "Training"
    )

    sagemaker.stop_training_job(TrainingJobName="digits-stop")
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-stop"))

    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"
    assert "Stopping" in [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == aws.uri("artifacts/digits-stop/output/model.tar.gz")
    statuses = [
        e["detail"]["TrainingJobStatus"]
        for e in helpers.wait_for(
            lambda: (lambda e: e if e and e[-1]["detail"]["TrainingJobStatus"] == "Stopped" else None)(
                aws.events_for(DETAIL_TYPE, "TrainingJobName", "digits-stop")
            )
        )
    ]
    assert statuses.index("Stopping") < statuses.index("Stopped")
    with pytest.raises(ClientError) as error:
        sagemaker.stop_training_job(TrainingJobName="digits-stop")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_max_runtime_stops_the_job_as_max_runtime_exceeded(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(
        **helpers.training_request(
            aws, "digits-slow", {"epochs": "100", "epoch_seconds": "0.2"}, StoppingCondition={"MaxRuntimeInSeconds": 1}
        )
    )

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-slow"))

    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert job["TrainingTimeInSeconds"] <= 3


def test_checkpoints_are_synced_with_checkpoint_config_for_managed_spot(aws, service, sagemaker, algorithm, helpers):
    helpers.put_training_data(aws)
    spot = {
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": aws.uri("checkpoints/run-1")},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
    }
    sagemaker.create_training_job(**helpers.training_request(aws, "spot-1", {"epochs": "3"}, **spot))
    helpers.wait_for(lambda: helpers.ended(sagemaker, "spot-1"))
    assert aws.get("checkpoints/run-1/last_epoch") == b"2"

    sagemaker.create_training_job(**helpers.training_request(aws, "spot-2", {"epochs": "1"}, **spot))
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "spot-2"))

    assert job["TrainingJobStatus"] == "Completed"
    assert job["EnableManagedSpotTraining"] is True
    assert algorithm.calls[1]["resumed"] == "2"


def test_managed_spot_needs_a_max_wait_time(aws, service, sagemaker, helpers):
    request = helpers.training_request(aws, "spot-bad", EnableManagedSpotTraining=True)
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**request)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "MaxWaitTimeInSeconds" in error.value.response["Error"]["Message"]


def test_a_training_job_name_cannot_be_reused(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    sagemaker.create_training_job(**helpers.training_request(aws, "digits-once"))
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**helpers.training_request(aws, "Digits-Once"))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_more_running_jobs_than_the_limit_are_refused(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    slow = {"epochs": "100", "epoch_seconds": "0.05"}
    sagemaker.create_training_job(**helpers.training_request(aws, "busy-1", slow))
    sagemaker.create_training_job(**helpers.training_request(aws, "busy-2", slow))

    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**helpers.training_request(aws, "busy-3", slow))

    assert error.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    sagemaker.stop_training_job(TrainingJobName="busy-1")
    helpers.wait_for(lambda: helpers.ended(sagemaker, "busy-1"))
    sagemaker.create_training_job(**helpers.training_request(aws, "busy-3", slow))  # room again
    for name in ("busy-2", "busy-3"):
        sagemaker.stop_training_job(TrainingJobName=name)


def test_list_training_jobs_filters_sorts_and_pages(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    for name in ("list-a", "list-b", "other-c"):
        sagemaker.create_training_job(**helpers.training_request(aws, name, {"epochs": "1"}))
        helpers.wait_for(lambda: helpers.ended(sagemaker, name))
        time.sleep(0.01)

    oldest_first = sagemaker.list_training_jobs()["TrainingJobSummaries"]  # documented default: Ascending
    assert [s["TrainingJobName"] for s in oldest_first] == ["list-a", "list-b", "other-c"]
    newest_first = sagemaker.list_training_jobs(SortOrder="Descending")["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in newest_first] == ["other-c", "list-b", "list-a"]
    first = sagemaker.list_training_jobs(NameContains="list", SortBy="Name", SortOrder="Ascending", MaxResults=1)
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == ["list-a"]
    second = sagemaker.list_training_jobs(
        NameContains="list", SortBy="Name", SortOrder="Ascending", MaxResults=1, NextToken=first["NextToken"]
    )
    assert [s["TrainingJobName"] for s in second["TrainingJobSummaries"]] == ["list-b"]
    assert "NextToken" not in second
    assert sagemaker.list_training_jobs(StatusEquals="Failed")["TrainingJobSummaries"] == []
    created = sagemaker.describe_training_job(TrainingJobName="list-b")["CreationTime"]
    recent = sagemaker.list_training_jobs(CreationTimeAfter=created - timedelta(milliseconds=1))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in recent] == ["list-b", "other-c"]
    paginated = [
        s["TrainingJobName"]
        for page in sagemaker.get_paginator("list_training_jobs").paginate(PaginationConfig={"PageSize": 2})
        for s in page["TrainingJobSummaries"]
    ]
    assert sorted(paginated) == ["list-a", "list-b", "other-c"]


def test_tags_are_listed_and_added_by_arn(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    arn = sagemaker.create_training_job(**helpers.training_request(aws, "tagged"))["TrainingJobArn"]

    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "run", "Value": "r1"}])

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "dataset", "Value": "digits"},
        {"Key": "run", "Value": "r1"},
    ]
    with pytest.raises(ClientError) as error:
        sagemaker.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:training-job/missing")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_an_output_path_that_cannot_be_written_fails_the_job(aws, service, sagemaker, helpers):
    helpers.put_training_data(aws)
    request = helpers.training_request(
        aws, "digits-nowhere", OutputDataConfig={"S3OutputPath": "s3://no-such-bucket-icflow/out"}
    )
    sagemaker.create_training_job(**request)

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-nowhere"))

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        "ClientError: Cannot upload to s3://no-such-bucket-icflow/out/digits-nowhere/output/model.tar.gz"
    )


def test_a_manifest_file_channel_downloads_the_listed_objects(aws, service, sagemaker, algorithm, helpers):
    helpers.put_training_data(aws)
    aws.put("data/extra/unlisted.rec", b"not in the manifest")
    manifest = aws.put("manifests/train.json", json.dumps([{"prefix": aws.uri("data/")}, "train/part-1.rec"]).encode())
    request = helpers.training_request(aws, "digits-manifest")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="ManifestFile", S3Uri=manifest)
    sagemaker.create_training_job(**request)

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-manifest"))

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert algorithm.calls[0]["files"]["train"] == ["train/part-1.rec"]
