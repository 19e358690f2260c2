"""Properties of the parsers of the events the functions receive: S3 uploads (EventBridge and classic, alone or in a
batch-queue message), SageMaker's job, transform and endpoint state changes, and icflow's own Model Ready, Run Ended
and Batch Labeled.

Each sample event in events/ is taken as a base and one field, anywhere in it, replaced with a hostile value (or the
whole event replaced); the parser then returns its result, or refuses the event with an IcflowError or pydantic's
ValidationError, which names the field: never another exception (a KeyError, TypeError, RecursionError, an
OverflowError from a timestamp), within the time and memory bounds of support.hostile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from icflow.batch.transform_events import TransformJobStateChange
from icflow.batch.upload_events import batch_objects
from icflow.core.batch_labeled import BatchLabeledEvent
from icflow.core.errors import IcflowError
from icflow.core.model_ready import ModelReadyEvent
from icflow.core.run_ended import RunEndedEvent
from icflow.endpoints.endpoint_events import EndpointStateChange
from icflow.reports.report_events import ReportEvent
from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow.training.upload_events import uploaded_objects
from support.hostile import bounded, documents_like
from support.stack import load_event

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([math.nan, math.inf, 1e20, -1, 2**63, "", "\ud800", "1e400", "9" * 30, "0001-01-01", "%ZZ+%2"]),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# What breaks a field's parsing when it is forgotten (a timestamp of infinity, a size of NaN, a lone surrogate in a
# key): weighted up, as a uniform draw from VALUES rarely gives them at the field that needs them.
EDGES = st.sampled_from([math.nan, math.inf, -math.inf, 1e20, -(2**63), 2**64, "", "\ud800", "inf", [], {}])
LEAVES = st.one_of(EDGES, SCALARS, VALUES)


def _events(name: str) -> st.SearchStrategy[Any]:
    return documents_like(load_event(name), LEAVES, max_replaced=4)


def _sagemaker(event: Any) -> Any:
    return job_state_change(parse(event=event, model=SageMakerStateChange))


def _message_body(event: Any) -> Any:
    # The batch queue's message body is text: whatever the event, and text that is not JSON at all.
    return batch_objects(event if isinstance(event, str) else json.dumps(event, allow_nan=True))


PARSERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "upload, EventBridge": ("s3_object_created_train.json", uploaded_objects),
    "upload, classic": ("s3_put_classic.json", uploaded_objects),
    "batch message, EventBridge": ("s3_object_created_batch.json", _message_body),
    "batch message, classic": ("s3_put_batch_classic.json", _message_body),
    "training job": ("training_job_completed.json", _sagemaker),
    "tuning job": ("tuning_job_completed.json", _sagemaker),
    "transform job": ("transform_job_completed.json", lambda e: parse(event=e, model=TransformJobStateChange)),
    "endpoint": ("endpoint_in_service.json", lambda e: parse(event=e, model=EndpointStateChange)),
    "model ready": ("model_ready.json", lambda e: parse(event=e, model=ModelReadyEvent)),
    "run ended": ("run_ended.json", lambda e: parse(event=e, model=RunEndedEvent)),
    "batch labeled": ("batch_labeled.json", lambda e: parse(event=e, model=BatchLabeledEvent)),
    "report": ("batch_labeled.json", lambda e: parse(event=e, model=ReportEvent)),
}


def _refused_or_parsed(parser: Callable[[Any], Any], event: Any) -> None:
    with bounded():
        try:
            parser(event)
        except (IcflowError, ValidationError) as refusal:
            assert str(refusal).strip(), "a refusal must say why"


@pytest.mark.parametrize("kind", list(PARSERS))
def test_every_parser_of_an_event_parses_or_refuses_with_a_reason(kind: str) -> None:
    name, parser = PARSERS[kind]

    # More examples than the profile's: each event has dozens of fields, and a bug hides in one of them.
    @settings(max_examples=1000)
    @given(_events(name))
    def check(event: Any) -> None:
        _refused_or_parsed(parser, event)

    check()


@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda data: data.decode("latin-1")))
def test_any_text_as_a_batch_queue_message(body: str) -> None:
    _refused_or_parsed(batch_objects, body)
