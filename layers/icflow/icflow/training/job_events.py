"""SageMaker's "Training Job State Change" and "HyperParameter Tuning Job State Change" events, parsed as
tolerantly as icflow.core.sagemaker_events describes; fields icflow does not read are ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from icflow.core.sagemaker_events import FINAL_STATES, TagMap, Timestamp

TRAINING_STATE_CHANGE = "SageMaker Training Job State Change"
TUNING_STATE_CHANGE = "SageMaker HyperParameter Tuning Job State Change"


class _JobDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    FailureReason: str | None = None
    Tags: TagMap = Field(default_factory=dict)
    CreationTime: Timestamp = None
    LastModifiedTime: Timestamp = None


class TrainingJobDetail(_JobDetail):
    TrainingJobName: str
    TrainingJobArn: str | None = None
    TrainingJobStatus: str
    SecondaryStatus: str | None = None
    TrainingEndTime: Timestamp = None
    # Present on the trials a tuning job runs: those never become models on their own.
    TuningJobArn: str | None = None


class TuningJobDetail(_JobDetail):
    HyperParameterTuningJobName: str
    HyperParameterTuningJobArn: str | None = None
    HyperParameterTuningJobStatus: str
    HyperParameterTuningEndTime: Timestamp = None


class TrainingJobStateChange(EventBridgeModel):  # type: ignore[override]
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Training Job State Change"] = Field(alias="detail-type")
    detail: TrainingJobDetail


class TuningJobStateChange(EventBridgeModel):  # type: ignore[override]
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker HyperParameter Tuning Job State Change"] = Field(alias="detail-type")
    detail: TuningJobDetail


class JobStateChange(BaseModel):
    """Either event, reduced to what the training-state use case decides on."""

    kind: Literal["training", "tuning"]
    job_name: str
    status: str
    failure_reason: str | None
    tags: dict[str, str]
    is_tuning_trial: bool

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES


def job_state_change(event: TrainingJobStateChange | TuningJobStateChange) -> JobStateChange:
    if isinstance(event, TrainingJobStateChange):
        detail = event.detail
        return JobStateChange(
            kind="training",
            job_name=detail.TrainingJobName,
            status=detail.TrainingJobStatus,
            failure_reason=detail.FailureReason,
            tags=detail.Tags,
            is_tuning_trial=detail.TuningJobArn is not None,
        )
    tuning = event.detail
    return JobStateChange(
        kind="tuning",
        job_name=tuning.HyperParameterTuningJobName,
        status=tuning.HyperParameterTuningJobStatus,
        failure_reason=tuning.FailureReason,
        tags=tuning.Tags,
        is_tuning_trial=False,
    )


# What the training-state function receives: the detail-type decides which model parses the event.
SageMakerStateChange = Annotated[TrainingJobStateChange | TuningJobStateChange, Field(discriminator="detail_type")]
