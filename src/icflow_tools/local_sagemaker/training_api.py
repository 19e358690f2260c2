"""CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs."""

from __future__ import annotations

import time
from typing import Any

from icflow_tools.local_sagemaker import listing
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import ResourceInUse, ValidationException
from icflow_tools.local_sagemaker.events import TRAINING_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.store import TRAINING_JOB, Record
from icflow_tools.local_sagemaker.training import TrainingJob, stop_training_job

ALGORITHM_IMAGE = "image-classification"
DEFAULT_MAX_RUNTIME = 86400
# What a job definition carries over from the request into DescribeTrainingJob as it is.
COPIED_FIELDS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "CheckpointConfig",
    "Environment",
    "RetryStrategy",
    "ExperimentConfig",
)


def check_definition(definition: dict[str, Any]) -> None:
    """Constraints the service model cannot express, as SageMaker words them."""
    algorithm = definition.get("AlgorithmSpecification")
    if not algorithm or not (algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")):
        raise ValidationException("AlgorithmSpecification.TrainingImage must be specified.")
    image = algorithm.get("TrainingImage") or algorithm.get("AlgorithmName", "")
    if ALGORITHM_IMAGE not in image:
        raise ValidationException(
            f"The local SageMaker runs only the built-in image-classification algorithm, not {image}; use the "
            "image-classification image URI of your region."
        )
    if not definition.get("ResourceConfig"):
        raise ValidationException("ResourceConfig must be specified.")
    names = [channel["ChannelName"] for channel in definition.get("InputDataConfig", [])]
    if len(names) != len(set(names)):
        raise ValidationException(f"Channel names must be unique: {names}.")
    stopping = definition.get("StoppingCondition") or {}
    if definition.get("EnableManagedSpotTraining"):
        wait = stopping.get("MaxWaitTimeInSeconds")
        if wait is None or wait < stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME):
            raise ValidationException(
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds"
            )


def new_record(
    ctx: ServiceContext,
    name: str,
    definition: dict[str, Any],
    hyperparameters: dict[str, str],
    tuning_job_arn: str | None = None,
) -> Record:
    now = time.time()
    record: Record = {
        "TrainingJobName": name,
        "TrainingJobArn": ctx.store.account.arn(TRAINING_JOB, name),
        **({"TuningJobArn": tuning_job_arn} if tuning_job_arn else {}),
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "HyperParameters": dict(hyperparameters),
        **{field: definition[field] for field in COPIED_FIELDS if field in definition},
        "StoppingCondition": {
            "MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME,
            **(definition.get("StoppingCondition") or {}),
        },
        "CreationTime": now,
        "LastModifiedTime": now,
        "SecondaryStatusTransitions": [
            {"Status": "Starting", "StartTime": now, "StatusMessage": "Preparing the instances for training"}
        ],
        "EnableNetworkIsolation": bool(definition.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(definition.get("EnableInterContainerTrafficEncryption", False)),
        "EnableManagedSpotTraining": bool(definition.get("EnableManagedSpotTraining", False)),
    }
    return record


def insert(ctx: ServiceContext, record: Record, tags: list[dict[str, str]] | None, count_limit: bool) -> Record:
    name = record["TrainingJobName"]
    with ctx.store.locked():
        if count_limit:
            ctx.check_job_limit()
        stored = ctx.store.insert(
            TRAINING_JOB,
            name,
            record,
            tags,
            lambda: ResourceInUse(
                f"Training job names must be unique within an AWS account and region, and a "
                f"training job with this name already exists ({record['TrainingJobArn']})"
            ),
        )
    ctx.publisher.publish(
        TRAINING_JOB_STATE_CHANGE,
        "DescribeTrainingJob",
        stored["TrainingJobArn"],
        stored,
        ctx.store.tags(stored["TrainingJobArn"]),
    )
    return stored


def create_training_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    check_definition(params)
    record = new_record(ctx, params["TrainingJobName"], params, params.get("HyperParameters", {}))
    stored = insert(ctx, record, params.get("Tags"), count_limit=True)
    ctx.start(
        TRAINING_JOB,
        stored["TrainingJobName"],
        lambda control: TrainingJob(ctx, stored["TrainingJobName"], control).run(),
    )
    return {"TrainingJobArn": stored["TrainingJobArn"]}


def _get(ctx: ServiceContext, name: str) -> Record:
    record = ctx.store.get(TRAINING_JOB, name)
    if record is None:
        # What SageMaker answers, although the model also lists ResourceNotFound (aws/aws-sdk#165).
        raise ValidationException("Requested resource not found.")
    return record


def describe_training_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    return _get(ctx, params["TrainingJobName"])


def stop_training_job_operation(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    record = _get(ctx, params["TrainingJobName"])
    if record["TrainingJobStatus"] not in ("InProgress", "Stopping"):
        raise ValidationException(
            f"The request was rejected because the training job is in status {record['TrainingJobStatus']}."
        )
    stop_training_job(ctx, record["TrainingJobName"])
    return {}


SUMMARY_FIELDS = (
    "TrainingJobName",
    "TrainingJobArn",
    "CreationTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "TrainingJobStatus",
    "SecondaryStatus",
)


def list_training_jobs(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    items, token = listing.page(
        ctx.store.all(TRAINING_JOB),
        params,
        "TrainingJobName",
        "TrainingJobStatus",
        lambda r: listing.pick(r, SUMMARY_FIELDS),
        default_order="Ascending",
    )
    return listing.answer("TrainingJobSummaries", items, token)


OPERATIONS = {
    "CreateTrainingJob": create_training_job,
    "DescribeTrainingJob": describe_training_job,
    "StopTrainingJob": stop_training_job_operation,
    "ListTrainingJobs": list_training_jobs,
}
