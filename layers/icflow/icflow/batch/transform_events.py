"""SageMaker's "Transform Job State Change" event (AWS guide: "Events that SageMaker AI sends to EventBridge").

icflow reads only the name, the status and the failure reason from it; the model, the output path and
the timings come from DescribeTransformJob, which is authoritative when SageMaker repeats or reorders events.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from icflow.core.sagemaker_events import TagMap, Timestamp

TRANSFORM_STATE_CHANGE = "SageMaker Transform Job State Change"


class TransformJobDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    TransformJobName: str
    TransformJobStatus: str
    FailureReason: str | None = None
    ModelName: str | None = None
    Tags: TagMap = Field(default_factory=dict)
    CreationTime: Timestamp = None


class TransformJobStateChange(EventBridgeModel):  # type: ignore[override]
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Transform Job State Change"] = Field(alias="detail-type")
    detail: TransformJobDetail
