"""What SageMaker keeps of a run, as the run report reads it: the training job, and for tuning the tuning job
with every trial."""

from __future__ import annotations

from typing import Any

# More trials than a tuning job may run (MaxNumberOfTrainingJobs is at most 750 by default); the page lists them all.
MAX_TRIALS = 1000


class SageMakerRuns:
    def __init__(self, sagemaker_client: Any) -> None:
        self._sagemaker = sagemaker_client

    def training_job(self, name: str) -> dict[str, Any]:
        return self._sagemaker.describe_training_job(TrainingJobName=name)

    def tuning_job(self, name: str) -> dict[str, Any]:
        return self._sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)

    def trials(self, tuning_job_name: str) -> list[dict[str, Any]]:
        pages = self._sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
            HyperParameterTuningJobName=tuning_job_name, PaginationConfig={"MaxItems": MAX_TRIALS}
        )
        return [summary for page in pages for summary in page.get("TrainingJobSummaries", ())]
