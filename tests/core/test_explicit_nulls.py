"""SageMaker's state-change events spell absent members as null as often as they leave them out: the parsers
read both the same way (the sample events are AWS's documented shapes; see events/)."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.parser import parse

from icflow.batch.transform_events import TransformJobStateChange
from icflow.endpoints.endpoint_events import EndpointStateChange
from support.stack import load_event


@pytest.mark.parametrize("event_file", ["transform_job_completed.json", "transform_job_failed.json"])
def test_a_transform_event_with_null_members(event_file: str) -> None:
    event = load_event(event_file)
    event["detail"].update(FailureReason=None, ModelName=None, Tags=None, CreationTime=None)
    detail = parse(event=event, model=TransformJobStateChange).detail
    assert (detail.FailureReason, detail.ModelName, detail.Tags, detail.CreationTime) == (None, None, {}, None)
    assert detail.TransformJobName == load_event(event_file)["detail"]["TransformJobName"]


@pytest.mark.parametrize(
    "event_file", ["endpoint_in_service.json", "endpoint_failed.json", "endpoint_updating_rollback.json"]
)
def test_an_endpoint_event_with_null_members(event_file: str) -> None:
    event = load_event(event_file)
    event["detail"].update(EndpointConfigName=None, Tags=None, LastModifiedTime=None)
    detail = parse(event=event, model=EndpointStateChange).detail
    assert (detail.EndpointConfigName, detail.Tags, detail.LastModifiedTime) == (None, {}, None)
