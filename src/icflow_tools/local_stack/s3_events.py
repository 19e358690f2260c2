"""S3 -> EventBridge notifications in AWS's shape, for buckets with EventBridge notifications enabled.

moto 5 sends its own version of these events, but with a detail unlike S3's (`eTag` for `etag`, `reason`
"ObjectCreated" for "PutObject", an epoch-seconds `time`, the key as it is) and to the rules of every bus.
This hook replaces moto's sender while the local stack runs (moto runs in the stack's process), and puts each
event on the default bus through moto's own PutEvents, so rule patterns and targets apply as in AWS.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.s3 import notifications

from icflow_tools.s3_object_events import object_detail

logger = logging.getLogger(__name__)

# S3's `reason` per notification event; other events have no EventBridge counterpart icflow uses.
REASONS = {
    notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT: ("Object Created", "PutObject"),
    notifications.S3NotificationEvent.OBJECT_CREATED_POST_EVENT: ("Object Created", "POST Object"),
    notifications.S3NotificationEvent.OBJECT_CREATED_COPY_EVENT: ("Object Created", "CopyObject"),
    notifications.S3NotificationEvent.OBJECT_CREATED_COMPLETE_MULTIPART_UPLOAD_EVENT: (
        "Object Created",
        "CompleteMultipartUpload",
    ),
    notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT: ("Object Deleted", "DeleteObject"),
    notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT: ("Object Deleted", "DeleteObject"),
}


def object_event_detail(event_name: str, bucket: Any, key: Any, account_id: str) -> tuple[str, dict[str, Any]] | None:
    """(detail-type, detail) of S3's EventBridge message for a moto bucket and key, or None for other events."""
    if event_name not in REASONS:
        return None
    detail_type, reason = REASONS[event_name]
    fields: dict[str, Any] = {}
    if detail_type == "Object Created":
        fields.update(size=key.size, etag=key.etag.strip('"'))
    if getattr(key, "version_id", None) and key.version_id != "null":
        fields["version-id"] = key.version_id
    detail = object_detail(bucket.name, key.name, reason, account_id, fields)
    if detail_type == "Object Deleted":
        detail["deletion-type"] = (
            "Delete Marker Created"
            if event_name == notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
            else "Permanently Deleted"
        )
    return detail_type, detail


def _send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    from moto.events.models import events_backends

    shaped = object_event_detail(event_name, bucket, key, account_id)
    if shaped is None:
        return
    detail_type, detail = shaped
    # As in AWS, delivery is asynchronous to the request: a failure here must not fail the upload.
    try:
        events_backends[account_id][bucket.region_name].put_events(
            [
                {
                    "Source": "aws.s3",
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "Resources": [bucket.arn],
                    "EventBusName": "default",
                }
            ]
        )
    except Exception:
        logger.exception("could not publish %s for s3://%s/%s", detail_type, bucket.name, key.name)


@contextmanager
def aws_shaped_s3_events() -> Iterator[None]:
    original = notifications._send_event_bridge_message
    notifications._send_event_bridge_message = _send
    try:
        yield
    finally:
        notifications._send_event_bridge_message = original
