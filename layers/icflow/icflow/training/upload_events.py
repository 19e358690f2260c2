"""Object uploads, as S3 delivers them through EventBridge ("Object Created") or as classic notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model

from icflow.core.errors import IcflowError


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str  # decoded: as S3's API spells it
    etag: str
    # S3's sequencer of the write: a duplicate delivery repeats it, uploading the same file again does not.
    sequencer: str = ""


def _decode(key: str) -> str:
    # Both forms encode keys form-style ("a b+c" -> "a+b%2Bc"), as Powertools' S3 data classes decode them.
    return unquote_plus(key)


def _notification(event: dict[str, Any]) -> S3Model:
    try:
        return parse(event=event, model=S3Model)
    except (InvalidModelTypeError, TypeError):
        # Powertools' record validator reads `eventName` and `s3.object` before pydantic checks their types, so a
        # record that is not an object or lacks them fails there (a TypeError, or an AttributeError Powertools
        # reports as InvalidModelTypeError) rather than as a ValidationError.
        raise IcflowError(
            "a record of the S3 notification is not an S3 event record (an object with eventName and s3.object): "
            "send S3 events from the data bucket"
        ) from None


def uploaded_objects(event: dict[str, Any]) -> list[UploadedObject]:
    """The objects an upload event names, whichever of the two S3 delivery forms it uses; a pydantic
    ValidationError names what a record lacks, an IcflowError what no S3 event is."""
    if isinstance(event, dict) and "Records" in event:
        notification = _notification(event)
        return [
            UploadedObject(
                record.s3.bucket.name,
                _decode(record.s3.object.key),
                record.s3.object.eTag or "",
                record.s3.object.sequencer or "",
            )
            for record in notification.Records
            if record.s3.object is not None
        ]
    if isinstance(event, dict) and "detail" in event:
        created = parse(event=event, model=S3EventNotificationEventBridgeModel)
        detail = created.detail
        obj = detail.object
        return [UploadedObject(detail.bucket.name, _decode(obj.key), obj.etag, obj.sequencer or "")]
    raise IcflowError(
        "the event is neither an S3 notification (Records) nor an EventBridge 'Object Created' event (detail): "
        "send S3 events from the data bucket"
    )
