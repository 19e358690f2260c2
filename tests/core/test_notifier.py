"""Notifications as SNS accepts them."""

from __future__ import annotations

from typing import Any

from icflow.core.notifier import MAX_MESSAGE_BYTES, Notifier


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


def test_a_subject_is_printable_ascii_on_one_line() -> None:
    # SNS refuses subjects with line breaks, control characters or non-ASCII (a dataset named "café", say).
    sns = RecordingSns()
    Notifier(sns, "arn:aws:sns:us-east-1:123456789012:t").notify("icflow: café\nrejected", "body", "café")
    assert sns.published[0]["Subject"] == "icflow: caf??rejected"


def test_a_message_over_snss_limit_is_cut_at_a_character_and_says_so() -> None:
    sns = RecordingSns()
    Notifier(sns, "arn:aws:sns:us-east-1:123456789012:t").notify("s", "é" * MAX_MESSAGE_BYTES, "d")
    message = sns.published[0]["Message"]
    assert len(message.encode("utf-8")) <= MAX_MESSAGE_BYTES
    assert message.startswith("éé") and message.endswith("the whole text is in the dataset's status/ in S3)")
