"""What SageMaker's state-change events share, given values SageMaker never sends: an unreadable timestamp is
absent (icflow decides on none), a malformed tag list is a ValidationError naming the member."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from icflow.core.sagemaker_events import TagMap, Timestamp


class Detail(BaseModel):
    When: Timestamp = None
    Tags: TagMap = Field(default_factory=dict)


@pytest.mark.parametrize(
    "stamp",
    [
        1e20,
        -1e20,
        float("nan"),
        float("inf"),
        "9" * 30,
        "-99999999999999999",
        "9" * 5000,
        "yesterday",
        "",
        True,
        [1],
        {"ms": 1},
    ],
)
def test_a_timestamp_no_datetime_holds_is_absent(stamp: object) -> None:
    assert Detail(When=stamp).When is None


@pytest.mark.parametrize(
    "tags",
    [["icflow:stack"], [1], [{"Key": "icflow:stack"}], [{"Value": "x"}], [{"Key": 1, "Value": "x"}], [None]],
)
def test_a_tag_list_not_of_key_value_pairs_is_a_validation_error_naming_tags(tags: object) -> None:
    with pytest.raises(ValidationError, match="Tags"):
        Detail(Tags=tags)
