"""The event icflow puts on EventBridge when a dataset's model exists: the training path publishes it, the
deploy path and the report function react to it. Its source and detail-type are decided here, and template.yaml's
rules match them."""

from __future__ import annotations

from typing import ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field

MODEL_READY_SOURCE = "icflow.training"
MODEL_READY_DETAIL_TYPE = "icflow Model Ready"


class ModelReadyDetail(BaseModel):
    source: ClassVar[str] = MODEL_READY_SOURCE
    detail_type: ClassVar[str] = MODEL_READY_DETAIL_TYPE

    # The publishing stack: every stack's rule sees the account's default bus, and matches only its own.
    stack: str
    dataset: str
    run_id: str
    model_name: str
    job_name: str  # the training job whose artifacts the model serves (the best trial for tuning)
    model_data_url: str
    metrics: dict[str, float]


class ModelReadyEvent(EventBridgeModel):  # type: ignore[override]
    """The event as the deploy function receives it: EventBridge's envelope around the detail."""

    source: Literal["icflow.training"]
    detail_type: Literal["icflow Model Ready"] = Field(alias="detail-type")
    detail: ModelReadyDetail
