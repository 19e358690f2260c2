"""The local stack's S3 -> EventBridge events and the functions' parsers agree on how keys are encoded: form
style, as S3 sends them (Powertools' S3EventBridgeNotificationObject.key decodes them with unquote_plus)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from moto.s3 import notifications

from icflow.batch.upload_events import batch_objects
from icflow.training.upload_events import uploaded_objects
from icflow_tools.local_stack.s3_events import object_event_detail
from support.stack import load_event

PUT = notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT


@dataclass
class Bucket:
    name: str = "icflow-databucket"


@dataclass
class Key:
    name: str
    size: int = 12
    etag: str = '"abc"'
    version_id: str = "null"


@pytest.mark.parametrize(
    "key",
    [
        "datasets/my photos/train/a+b 100%.rec",
        "datasets/c++/validation/50%25 off.rec",  # a literal "%25" stays "%25"
        "batch/pets/Ünïcödé & (1).jpg",
    ],
)
def test_keys_with_plus_percent_and_spaces_reach_the_functions_unchanged(key: str) -> None:
    detail_type, detail = object_event_detail(PUT, Bucket(), Key(key), "123456789012")
    assert " " not in detail["object"]["key"] and detail["object"]["key"].startswith(key.split("/")[0] + "/")
    event = {**load_event("s3_object_created_train.json"), "detail-type": detail_type, "detail": detail}
    (uploaded,) = uploaded_objects(event)
    assert uploaded.key == key
    ((bucket, obj),) = batch_objects(json.dumps(event))
    assert (bucket, obj.key) == ("icflow-databucket", key)
