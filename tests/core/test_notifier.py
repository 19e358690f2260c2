"""Notifications as SNS accepts them."""

from __future__ import annotations

from typing import Any

from icflow.core.notifier import Notifier


class RecordingSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.published.append(request)
        return {"MessageId": "1"}


def test_the_dataset_is_an_attribute_subscribers_can_filter_on() -> None:
    sns = RecordingSns()
    Notifier(sns, "arn:aws:sns:us-east-1:123456789012:t").notify("x" * 150, "body", "digits")
    (request,) = sns.published
    assert request["MessageAttributes"] == {"dataset": {"DataType": "String", "StringValue": "digits"}}
    assert len(request["Subject"]) == 100  # SNS's limit for e-mail subjects


def test_no_attribute_with_an_empty_value_is_sent() -> None:
    # SNS refuses one (InvalidParameterValue); the idle guard notifies for endpoints without the dataset tag.
    sns = RecordingSns()
    Notifier(sns, "arn:aws:sns:us-east-1:123456789012:t").notify("icflow: idle endpoint deleted", "body", "")
    assert sns.published[0]["MessageAttributes"] == {}
