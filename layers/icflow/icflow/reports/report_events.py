"""The events a report is rendered for, told apart by their detail-type: a run's model is ready, a run ended without
one, a batch is labeled. template.yaml's rules on the report function match exactly these."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from icflow.core.batch_labeled import BatchLabeledEvent
from icflow.core.model_ready import ModelReadyEvent
from icflow.core.run_ended import RunEndedEvent

ReportEvent = Annotated[ModelReadyEvent | RunEndedEvent | BatchLabeledEvent, Field(discriminator="detail_type")]
