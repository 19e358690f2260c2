"""What every SageMaker state-change event shares: its source, the final job states, and the tolerant parsing of
timestamps and tags (docs/sagemaker-events.md): epoch milliseconds (number or string) or ISO 8601, tags as a
map or in the API's [{"Key", "Value"}] form, null for absent fields. A timestamp that none of those forms reads is
absent too; a tag list of anything but Key/Value pairs is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidatorFunctionWrapHandler, WrapValidator

SAGEMAKER_SOURCE = "aws.sagemaker"
COMPLETED, FAILED, STOPPED = "Completed", "Failed", "Stopped"
# The states after which a job never changes again; everything else is progress icflow does not act on.
FINAL_STATES = (COMPLETED, FAILED, STOPPED)


def _to_datetime(value: Any, parse: ValidatorFunctionWrapHandler) -> datetime | None:
    # A timestamp no datetime holds (NaN, infinity, past year 9999, not a date at all) is absent rather than a
    # refused event: icflow decides on no event timestamp, and a job's end must not be lost over one.
    try:
        if (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().lstrip("-").isdigit()
        ):
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        return parse(value)
    except (ValueError, OverflowError, OSError):  # pydantic's ValidationError is a ValueError
        return None


def _to_tag_map(value: Any) -> Any:
    if isinstance(value, list):
        if not all(isinstance(tag, dict) and isinstance(tag.get("Key"), str) for tag in value):
            # A ValueError, which pydantic reports as a ValidationError naming the member.
            raise ValueError(
                'tags as a list must be [{"Key": "<name>", "Value": "<value>"}, ...], as the API spells them'
            )
        return {tag["Key"]: tag.get("Value") for tag in value}
    return value or {}


Timestamp = Annotated[datetime | None, WrapValidator(_to_datetime)]
TagMap = Annotated[dict[str, str], BeforeValidator(_to_tag_map)]
