"""Upload events no S3 sends: records that are not objects, or lack what Powertools' S3 model reads first, are
an IcflowError with the reason, not Powertools' TypeError or InvalidModelTypeError."""

from __future__ import annotations

import pytest

from icflow.core.errors import IcflowError
from icflow.training.upload_events import uploaded_objects
from support.stack import load_event


def _record(change):
    event = load_event("s3_put_classic.json")
    change(event["Records"][0])
    return event


@pytest.mark.parametrize(
    "event",
    [
        _record(lambda r: r.update(eventName=None)),
        _record(lambda r: r.update(eventName=5)),
        _record(lambda r: r.pop("s3")),
        _record(lambda r: r.update(s3=None)),
        _record(lambda r: r["s3"].update(object="key")),
        {"Records": ["not a record"]},
        {"Records": [None]},
        ["Records"],
        "Records",
        7,
    ],
)
def test_a_malformed_notification_is_an_icflow_error_with_its_reason(event):
    with pytest.raises(IcflowError, match="S3"):
        uploaded_objects(event)
