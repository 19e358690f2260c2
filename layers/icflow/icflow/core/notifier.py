"""SNS notifications to the people who run the dataset."""

from __future__ import annotations

from typing import Any

# SNS refuses subjects over 100 characters or with anything but printable ASCII, and messages over 256 KB.
_MAX_SUBJECT = 100
MAX_MESSAGE_BYTES = 256 * 1024
_CUT_NOTE = "\n\n... (cut to SNS's 256 KB; the whole text is in the dataset's status/ in S3)"


def _subject(text: str) -> str:
    printable = "".join(char if " " <= char <= "~" else "?" for char in text)
    return printable[:_MAX_SUBJECT]


def _message(text: str) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return text
    room = MAX_MESSAGE_BYTES - len(_CUT_NOTE.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + _CUT_NOTE


class Notifier:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self._topic_arn = topic_arn

    def notify(self, subject: str, message: str, dataset: str) -> None:
        """`dataset` becomes a message attribute subscribers can filter on; "" (an endpoint without the
        dataset tag, say) sends none, since SNS refuses an attribute with an empty value."""
        attributes = {"dataset": {"DataType": "String", "StringValue": dataset}} if dataset else {}
        self._sns.publish(
            TopicArn=self._topic_arn, Subject=_subject(subject), Message=_message(message), MessageAttributes=attributes
        )
