"""What SageMaker and the upload function would have left for the training-state tests on moto, which reports every
job Completed at once and sends no events: the job, with its final metrics, and the run item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from icflow.algorithm.image_uris import image_uri
from icflow.core import layout
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID, TAG_STACK
from icflow.core.state import StateTable

if TYPE_CHECKING:
    from support.stack import Stack


def backend(stack: Stack) -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]


def seed_training_job(stack: Stack, name: str, dataset: str, run_id: str, accuracy: float | None) -> None:
    stack.client("sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image_uri(stack.settings.region), "TrainingInputMode": "File"},
        RoleArn=stack.settings.sagemaker_role_arn,
        OutputDataConfig={"S3OutputPath": f"s3://{stack.bucket}/{layout.artifacts_prefix(dataset)}"},
        ResourceConfig={"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[
            {"Key": TAG_STACK, "Value": stack.settings.stack_name},
            {"Key": TAG_DATASET, "Value": dataset},
            {"Key": TAG_RUN_ID, "Value": run_id},
        ],
    )
    if accuracy is not None:
        job = backend(stack).training_jobs[name]
        job.final_metric_data_list = [
            {"MetricName": "validation:accuracy", "Value": accuracy, "Timestamp": job.creation_time},
            {"MetricName": "train:accuracy", "Value": 0.97, "Timestamp": job.creation_time},
        ]


def seed_run(
    stack: Stack,
    dataset: str,
    run_id: str,
    kind: str,
    job_name: str,
    gate: float | None = None,
    fields: dict[str, Any] | None = None,
) -> None:
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).create_run(
        dataset, run_id, kind, {"kind": kind, "job_name": job_name, "min_validation_accuracy": gate, **(fields or {})}
    )
