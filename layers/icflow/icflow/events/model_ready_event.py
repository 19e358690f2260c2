"""The "model ready" event as the deploy function receives it: EventBridge's envelope around
icflow.events.model_ready's detail, with the source and detail-type defined there."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field

from icflow.events.model_ready import ModelReadyDetail


class ModelReadyEvent(EventBridgeModel):  # type: ignore[override]
    source: Literal["icflow.training"]
    detail_type: Literal["icflow Model Ready"] = Field(alias="detail-type")
    detail: ModelReadyDetail
