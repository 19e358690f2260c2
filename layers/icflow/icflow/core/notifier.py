"""SNS notifications to the people who run the dataset."""

from __future__ import annotations

from typing import Any

# SNS rejects e-mail subjects over 100 characters.
_MAX_SUBJECT = 100


class Notifier:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self._topic_arn = topic_arn

    def notify(self, subject: str, message: str, dataset: str) -> None:
        """`dataset` becomes a message attribute subscribers can filter on; "" (an endpoint without the
        dataset tag, say) sends none, since SNS refuses an attribute with an empty value."""
        attributes = {"dataset": {"DataType": "String", "StringValue": dataset}} if dataset else {}
        self._sns.publish(
            TopicArn=self._topic_arn, Subject=subject[:_MAX_SUBJECT], Message=message, MessageAttributes=attributes
        )
