"""Injected job failures through boto3: managed spot without capacity, a training and a transform failing
part-way, an endpoint update ending Failed; each with its FailureReason and the state-change events AWS sends."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.parser import parse

from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow_tools.local_sagemaker.faults import Failure

TRAINING = "SageMaker Training Job State Change"
TRANSFORM = "SageMaker Transform Job State Change"
ENDPOINT = "SageMaker Endpoint State Change"
CAPACITY_ERROR = (
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type."
)


def events_until(aws, helpers, detail_type, name_field, name, status_field, last):
    """The resource's events, once the one with `status_field == last` has arrived."""
    return helpers.wait_for(
        lambda: (lambda e: e if e and e[-1]["detail"][status_field] == last else None)(
            aws.events_for(detail_type, name_field, name)
        )
    )


def spot_request(aws, helpers, name):
    return helpers.training_request(
        aws,
        name,
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    )


def test_a_managed_spot_training_without_capacity_fails_as_aws_reports_it(aws, service, sagemaker, algorithm, helpers):
    helpers.put_training_data(aws)
    service.faults.add(Failure("spot-capacity"))

    sagemaker.create_training_job(**helpers.training_request(aws, "on-demand"))
    assert helpers.wait_for(lambda: helpers.ended(sagemaker, "on-demand"))["TrainingJobStatus"] == "Completed"
    sagemaker.create_training_job(**spot_request(aws, helpers, "spot"))
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "spot"))

    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"] == CAPACITY_ERROR
    assert [(t["Status"], t["StatusMessage"]) for t in job["SecondaryStatusTransitions"]] == [
        ("Starting", "Preparing the instances for training"),
        ("Pending", "Insufficient capacity error from EC2 while launching instances, retrying!"),
        ("Failed", "Training job failed"),
    ]
    assert "TrainingStartTime" not in job and "BillableTimeInSeconds" not in job
    assert len(algorithm.calls) == 1  # only the on-demand job trained
    events = events_until(aws, helpers, TRAINING, "TrainingJobName", "spot", "TrainingJobStatus", "Failed")
    assert [(e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in events] == [
        ("InProgress", "Starting"),
        ("InProgress", "Pending"),
        ("Failed", "Failed"),
    ]
    assert events[-1]["detail"]["FailureReason"] == CAPACITY_ERROR


def test_a_training_fails_part_way_with_the_given_reason_and_icflow_reads_the_failed_event(
    aws, service, sagemaker, helpers
):
    helpers.put_training_data(aws)
    reason = "AlgorithmError: CUDA out of memory"
    service.faults.add(Failure("training", reason=reason, name="digits-*"))

    sagemaker.create_training_job(**helpers.training_request(aws, "other"))
    sagemaker.create_training_job(**helpers.training_request(aws, "digits-1"))
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "digits-1"))

    assert (job["TrainingJobStatus"], job["FailureReason"]) == ("Failed", reason)
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Training", "Failed"]
    assert "ModelArtifacts" not in job
    assert helpers.wait_for(lambda: helpers.ended(sagemaker, "other"))["TrainingJobStatus"] == "Completed"
    events = events_until(aws, helpers, TRAINING, "TrainingJobName", "digits-1", "TrainingJobStatus", "Failed")
    assert [(e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in events][-2:] == [
        ("InProgress", "Training"),
        ("Failed", "Failed"),
    ]
    change = job_state_change(parse(event=events[-1], model=SageMakerStateChange))
    assert (change.status, change.failure_reason, change.is_final) == ("Failed", reason, True)


@pytest.fixture
def model(aws, sagemaker, helpers):
    """A model of the fake algorithm (2 classes), from a completed training job."""
    helpers.put_training_data(aws)
    sagemaker.create_training_job(**helpers.training_request(aws, "for-model"))
    job = helpers.wait_for(lambda: helpers.ended(sagemaker, "for-model"))
    sagemaker.create_model(
        ModelName="digits-model",
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    return "digits-model"


def test_a_transform_fails_part_way_with_the_given_reason(aws, service, sagemaker, model, helpers):
    aws.put("batch/in/a.png", helpers.png())
    reason = "ClientError: See job logs for more information"
    service.faults.add(Failure("transform", reason=reason))

    sagemaker.create_transform_job(
        TransformJobName="batch-1",
        ModelName=model,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": aws.uri("batch/in/")}}},
        TransformOutput={"S3OutputPath": aws.uri("batch/out")},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    job = helpers.wait_for(
        lambda: (lambda j: j if j["TransformJobStatus"] != "InProgress" else None)(
            sagemaker.describe_transform_job(TransformJobName="batch-1")
        )
    )

    assert (job["TransformJobStatus"], job["FailureReason"]) == ("Failed", reason)
    assert aws.keys("batch/out/") == []
    events = events_until(aws, helpers, TRANSFORM, "TransformJobName", "batch-1", "TransformJobStatus", "Failed")
    assert [e["detail"]["TransformJobStatus"] for e in events] == ["InProgress", "Failed"]
    assert events[-1]["detail"]["FailureReason"] == reason


def test_an_endpoint_update_ends_failed_with_aws_reason_and_event(aws, service, sagemaker, runtime, model, helpers):
    for config in ("config-a", "config-b"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName="digits", EndpointConfigName="config-a")
    helpers.wait_for(lambda: sagemaker.describe_endpoint(EndpointName="digits")["EndpointStatus"] == "InService")
    service.faults.add(Failure("endpoint-update"))

    sagemaker.update_endpoint(EndpointName="digits", EndpointConfigName="config-b")
    endpoint = helpers.wait_for(
        lambda: (lambda e: e if e["EndpointStatus"] == "Failed" else None)(
            sagemaker.describe_endpoint(EndpointName="digits")
        )
    )

    assert endpoint["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health check. Please check "
        "CloudWatch logs for this endpoint."
    )
    assert endpoint["EndpointConfigName"] == "config-a"
    events = events_until(aws, helpers, ENDPOINT, "EndpointName", "digits", "EndpointStatus", "FAILED")
    assert [e["detail"]["EndpointStatus"] for e in events] == ["CREATING", "IN_SERVICE", "UPDATING", "FAILED"]
    assert events[-1]["detail"]["FailureReason"] == endpoint["FailureReason"]
    answer = runtime.invoke_endpoint(EndpointName="digits", Body=helpers.png(), ContentType="image/png")
    assert len(json.loads(answer["Body"].read())) == 2  # the previous variants still answer
    sagemaker.delete_endpoint(EndpointName="digits")
