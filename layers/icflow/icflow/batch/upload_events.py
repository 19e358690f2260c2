"""The objects one batch-queue message names: the message body is the S3 event EventBridge delivered to
the queue ("Object Created"), or a classic S3 notification (`Records`) sent to the queue directly."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model

from icflow.core.errors import IcflowError
from icflow.core.images import S3Object


def _size(value: float | int | None) -> int | None:
    # Powertools' EventBridge model types the size as a float.
    return None if value is None else int(value)


def batch_objects(body: str) -> list[tuple[str, S3Object]]:
    """(bucket, object) for every upload the message body names; keys decoded as icflow.training.upload_events does."""
    try:
        event: Any = json.loads(body)
    except json.JSONDecodeError as error:
        raise IcflowError(f"the message body is not JSON ({error}); the batch queue takes S3 events") from None
    if isinstance(event, dict) and "Records" in event:
        notification = parse(event=event, model=S3Model)
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
