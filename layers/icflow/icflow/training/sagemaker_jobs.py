"""The SageMaker calls of the training path.

Job and model names are deterministic, so "this name exists already" is how SageMaker tells a retry or a
concurrent duplicate that the work is done: the create calls return False instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from icflow.core.sagemaker_answers import already_exists, gone, tag_list, tagged


@dataclass(frozen=True)
class TrainedModel:
    job_name: str  # the training job that produced the artifacts
    model_data_url: str
    metrics: dict[str, float]  # FinalMetricDataList by metric name, finite values only
    # Metrics SageMaker reported as NaN or infinite (a diverged training): neither DynamoDB nor JSON holds them.
    not_finite: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobState:
    """A training or tuning job as DescribeTrainingJob or DescribeHyperParameterTuningJob tells it."""

    status: str
    failure_reason: str | None
    ended_at: datetime | None  # when it reached a final state; None while it runs


class SageMakerJobs:
    def __init__(self, sagemaker_client: Any, stack_tags: Mapping[str, str]) -> None:
        """`stack_tags` go on everything created here (icflow.core.ownership)."""
        self._sagemaker = sagemaker_client
        self._stack_tags = stack_tags

    def create_training_job(self, request: dict[str, Any]) -> bool:
        """True when this call started the job, False when a job of that name exists already."""
        try:
            self._sagemaker.create_training_job(**tagged(request, self._stack_tags))
        except ClientError as error:
            if already_exists(error):
                return False
            raise
        return True

    def create_tuning_job(self, request: dict[str, Any]) -> bool:
        try:
            self._sagemaker.create_hyper_parameter_tuning_job(**tagged(request, self._stack_tags))
        except ClientError as error:
            if already_exists(error):
                return False
            raise
        return True

    def job_tags(self, kind: str, job_name: str) -> dict[str, str]:
        """Tags of a job, for events that arrive without them."""
        if kind == "tuning":
            arn = self._sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job_name)[
                "HyperParameterTuningJobArn"
            ]
        else:
            arn = self._sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobArn"]
        tags = self._sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
        return {tag["Key"]: tag["Value"] for tag in tags}

    def job_state(self, kind: str, job_name: str) -> JobState | None:
        """How the job stands now; None when SageMaker has no such job."""
        try:
            if kind == "tuning":
                job = self._sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job_name)
                return JobState(
                    job["HyperParameterTuningJobStatus"],
                    job.get("FailureReason"),
                    job.get("HyperParameterTuningEndTime"),
                )
            job = self._sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as error:
            if gone(error):
                return None
            raise
        return JobState(job["TrainingJobStatus"], job.get("FailureReason"), job.get("TrainingEndTime"))

    def trained_model(self, training_job_name: str) -> TrainedModel:
        job = self._sagemaker.describe_training_job(TrainingJobName=training_job_name)
        reported = {item["MetricName"]: float(item["Value"]) for item in job.get("FinalMetricDataList", [])}
        metrics = {name: value for name, value in reported.items() if math.isfinite(value)}
        not_finite = tuple(sorted(set(reported) - set(metrics)))
        return TrainedModel(training_job_name, job["ModelArtifacts"]["S3ModelArtifacts"], metrics, not_finite)

    def best_training_job(self, tuning_job_name: str) -> str | None:
        job = self._sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job_name)
        best = job.get("BestTrainingJob") or {}
        return best.get("TrainingJobName")

    def create_model(
        self, model_name: str, image: str, model_data_url: str, role_arn: str, tags: dict[str, str]
    ) -> bool:
        try:
            self._sagemaker.create_model(
                ModelName=model_name,
                PrimaryContainer={"Image": image, "ModelDataUrl": model_data_url},
                ExecutionRoleArn=role_arn,
                Tags=tag_list(tags, self._stack_tags),
            )
        except ClientError as error:
            if already_exists(error):
                return False
            raise
        return True
