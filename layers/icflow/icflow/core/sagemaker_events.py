"""What every SageMaker state-change event shares: its source, the final job states, and the tolerant parsing of
timestamps and tags (docs/sagemaker-events.md): epoch milliseconds (number or string) or ISO 8601, tags as a
map or in the API's [{"Key", "Value"}] form, null for absent fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

SAGEMAKER_SOURCE = "aws.sagemaker"
COMPLETED, FAILED, STOPPED = "Completed", "Failed", "Stopped"
# The states after which a job never changes again; everything else is progress icflow does not act on.
FINAL_STATES = (COMPLETED, FAILED, STOPPED)


def _to_datetime(value: Any) -> Any:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return value


def _to_tag_map(value: Any) -> Any:
    if isinstance(value, list):
        return {tag["Key"]: tag["Value"] for tag in value}
    return value or {}


Timestamp = Annotated[datetime | None, BeforeValidator(_to_datetime)]
TagMap = Annotated[dict[str, str], BeforeValidator(_to_tag_map)]
