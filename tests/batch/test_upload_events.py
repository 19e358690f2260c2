"""Batch-queue messages no S3 event makes: an IcflowError with the reason, never another exception."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from icflow.batch.upload_events import batch_objects
from icflow.core.errors import IcflowError
from support.stack import load_event


def _body(index: int = 0) -> dict:
    return json.loads(load_event("sqs_batch_uploads.json")["Records"][index]["body"])


@pytest.mark.parametrize(
    "body",
    [
        '{"Records": ["x"]}',
        '{"Records": [{"eventName": 5, "s3": {}}]}',
        '{"Records": [{"eventName": "ObjectCreated:Put"}]}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_a_malformed_message_is_an_icflow_error_with_its_reason(body):
    with pytest.raises(IcflowError):
        batch_objects(body)


def _with_size(size: str) -> str:
    return json.dumps(_body()).replace('"size": 2048', f'"size": {size}')


def test_an_infinite_size_is_unknown():
    [(_, uploaded)] = batch_objects(_with_size("Infinity"))

    assert uploaded.size is None


def test_a_size_of_nan_is_a_validation_error_naming_the_size():
    with pytest.raises(ValidationError, match="size"):
        batch_objects(_with_size("NaN"))
