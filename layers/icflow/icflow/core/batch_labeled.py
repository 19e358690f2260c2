"""The event icflow puts on EventBridge when a batch's predictions are written: the batch path publishes it, the
report function reacts to it. Its source and detail-type are decided here, and template.yaml's rule matches them."""

from __future__ import annotations

from typing import ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field

BATCH_LABELED_SOURCE = "icflow.batch"
BATCH_LABELED_DETAIL_TYPE = "icflow Batch Labeled"


class BatchLabeledDetail(BaseModel):
    source: ClassVar[str] = BATCH_LABELED_SOURCE
    detail_type: ClassVar[str] = BATCH_LABELED_DETAIL_TYPE

    # The publishing stack: every stack's rule sees the account's default bus, and matches only its own.
    stack: str
    dataset: str
    batch_id: str
    model_name: str
    summary_uri: str
    predictions_uri: str  # predictions.jsonl
    labeled: int


class BatchLabeledEvent(EventBridgeModel):  # type: ignore[override]
    """The event as the report function receives it: EventBridge's envelope around the detail."""

    source: Literal["icflow.batch"]
    detail_type: Literal["icflow Batch Labeled"] = Field(alias="detail-type")
    detail: BatchLabeledDetail
