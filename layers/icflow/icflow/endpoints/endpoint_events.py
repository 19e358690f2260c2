"""SageMaker's "Endpoint State Change" event. Its EndpointStatus is spelled IN_SERVICE, CREATING, UPDATING,
FAILED, ... (DescribeEndpoint spells InService, Creating, ...): `api_status` maps one to the other."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from icflow.core.sagemaker_events import TagMap, Timestamp

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# The event statuses after which an endpoint waits for nobody: icflow records them and tidies up.
SETTLED_EVENT_STATUSES = ("IN_SERVICE", "FAILED")


def api_status(event_status: str) -> str:
    """IN_SERVICE -> InService, OUT_OF_SERVICE -> OutOfService, as DescribeEndpoint spells them."""
    return "".join(part.capitalize() for part in event_status.split("_"))


class EndpointDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    EndpointName: str
    EndpointStatus: str
    EndpointConfigName: str | None = None
    Tags: TagMap = Field(default_factory=dict)
    LastModifiedTime: Timestamp = None


class EndpointStateChange(EventBridgeModel):  # type: ignore[override]
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Endpoint State Change"] = Field(alias="detail-type")
    detail: EndpointDetail
