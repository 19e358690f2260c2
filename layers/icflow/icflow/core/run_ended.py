"""The event icflow puts on EventBridge when a run whose job ran ends without a model (the job failed or was
stopped, the model fell short of the quality gate, or could not be created): the training path publishes it, the
report function renders the run's page from it, so a run that went wrong has its charts too. Its source and
detail-type are decided here, and template.yaml's rule matches them."""

from __future__ import annotations

from typing import ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field

from icflow.core.model_ready import MODEL_READY_SOURCE

RUN_ENDED_SOURCE = MODEL_READY_SOURCE  # both come from the training path
RUN_ENDED_DETAIL_TYPE = "icflow Run Ended"


class RunEndedDetail(BaseModel):
    source: ClassVar[str] = RUN_ENDED_SOURCE
    detail_type: ClassVar[str] = RUN_ENDED_DETAIL_TYPE

    # The publishing stack: every stack's rule sees the account's default bus, and matches only its own.
    stack: str
    dataset: str
    run_id: str
    status: str  # the run's status: failed, stopped or rejected
    reason: str
    job_name: str  # the run's training or tuning job
    training_job: str | None  # the training job whose log and metrics the page shows; None: no trial succeeded


class RunEndedEvent(EventBridgeModel):  # type: ignore[override]
    """The event as the report function receives it: EventBridge's envelope around the detail."""

    source: Literal["icflow.training"]
    detail_type: Literal["icflow Run Ended"] = Field(alias="detail-type")
    detail: RunEndedDetail
