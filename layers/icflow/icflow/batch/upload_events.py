"""The objects one batch-queue message names: the message body is the S3 event EventBridge delivered to
the queue ("Object Created"), or a classic S3 notification (`Records`) sent to the queue directly."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model

from icflow.core.errors import IcflowError
from icflow.core.images import S3Object


def _size(value: float | int | None) -> int | None:
    # Powertools' EventBridge model types the size as a float, which JSON's Infinity and NaN (Python reads both)
    # also are: a size that counts no bytes is one the event did not carry.
    return None if value is None or not math.isfinite(value) else int(value)


def _notification(event: dict[str, Any]) -> S3Model:
    try:
        return parse(event=event, model=S3Model)
    except (InvalidModelTypeError, TypeError):
        # As in icflow.training.upload_events: Powertools' record validator reads eventName and s3.object first.
        raise IcflowError(
            "a record of the message's S3 notification is not an S3 event record (an object with eventName and "
            "s3.object): send S3 events from the data bucket to the batch queue"
        ) from None


def batch_objects(body: str) -> list[tuple[str, S3Object]]:
    """(bucket, object) for every upload the message body names; keys decoded as icflow.training.upload_events does."""
    try:
        event: Any = json.loads(body)
    except json.JSONDecodeError as error:
        raise IcflowError(f"the message body is not JSON ({error}); the batch queue takes S3 events") from None
    except RecursionError:
        raise IcflowError(
            "the message body nests JSON deeper than Python parses; the batch queue takes S3 events"
        ) from None
    if isinstance(event, dict) and "Records" in event:
        notification = _notification(event)
        return [
            (
                record.s3.bucket.name,
                S3Object(unquote_plus(record.s3.object.key), _size(record.s3.object.size), record.s3.object.eTag or ""),
            )
            for record in notification.Records
            if record.s3.object is not None
        ]
    if isinstance(event, dict) and "detail" in event:
        detail = parse(event=event, model=S3EventNotificationEventBridgeModel).detail
        return [
            (
                detail.bucket.name,
                S3Object(unquote_plus(detail.object.key), _size(detail.object.size), detail.object.etag),
            )
        ]
    raise IcflowError(
        "the message body is neither an S3 notification (Records) nor an EventBridge 'Object Created' event "
        "(detail): send S3 events from the data bucket to the batch queue"
    )
