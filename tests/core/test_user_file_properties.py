"""Properties of the parsers of the files users write: pipeline.json and classes.txt, given any bytes, any JSON
and hostile values in every field of the schema, give a configuration or an IcflowError with a reason, within
time and memory bounds (support.hostile); and a configuration they accept holds only what SageMaker, DynamoDB
and S3 accept: finite numbers, UTF-8 text."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from icflow.core.class_names import parse_classes_txt
from icflow.core.errors import IcflowError
from icflow.core.pipeline_config import PipelineConfig, parse_pipeline_config
from support.hostile import documents_like, parses_or_explains

HOSTILE_NUMBERS = st.one_of(
    st.integers(),
    st.floats(),  # NaN and both infinities included
    st.sampled_from([0, -1, 2**31, 2**63, 10**20, 10**300, 1e20, 1e-320, 1e308, 0.5]),
)
HOSTILE_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["\ud800", "a\udfff", "\x00", "", " ", "ml.p3.2xlarge"]))
SCALARS = st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(HOSTILE_TEXT, children, max_size=4),
    max_leaves=12,
)
# A valid document with every section.
VALID = {
    "hyperparameters": {"epochs": 10, "momentum": 0.9, "top_k": 2, "image_shape": "3,32,32"},
    "training": {"instance_type": "ml.p3.2xlarge", "instance_count": 1, "volume_size_gb": 30, "managed_spot": True},
    "tuning": {
        "strategy": "Random",
        "max_jobs": 4,
        "max_parallel_jobs": 2,
        "parameter_ranges": {"learning_rate": {"min": 0.001, "max": 0.1}, "mini_batch_size": {"min": 8, "max": 32}},
    },
    "quality_gate": {"min_validation_accuracy": 0.5},
    "class_names": ["cat", "dog"],
    "deploy": {"top_k": 2, "realtime": {"enabled": True, "instance_count": 1}, "batch": {"instance_count": 1}},
}


# What breaks a validator that forgets one: weighted up, as a uniform draw from VALUES rarely gives them.
EDGES = st.sampled_from([math.nan, math.inf, -math.inf, 10**20, 2**31, -(2**31), 0, -1, 1e-320, "\ud800", ""])
LEAVES = st.one_of(EDGES, HOSTILE_NUMBERS, HOSTILE_TEXT, VALUES)
# The valid document with one or two of its values replaced: it gets past the other fields to the validator
# of the one replaced.
DOCUMENTS = documents_like(VALID, LEAVES, max_replaced=2)


def _as_bytes(document: object) -> bytes:
    # Python's json writes NaN/Infinity and lone surrogates as a hostile user would; surrogatepass keeps them.
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _assert_storable(config: PipelineConfig) -> None:
    dumped = config.model_dump(mode="python")
    text = json.dumps(dumped, allow_nan=False, ensure_ascii=False, default=str)  # no NaN or Infinity anywhere
    text.encode("utf-8")  # no lone surrogate anywhere
    for value in config.hyperparameters.values():
        assert len(value) <= 2500, "SageMaker's HyperParameterValue is at most 2,500 characters"
    if config.tuning_enabled:
        assert config.tuning is not None
        for overrides in config.tuning.range_overrides().values():
            for bound in (overrides.min, overrides.max) if overrides else ():
                assert bound is None or math.isfinite(bound)


@given(st.binary(max_size=300))
def test_any_bytes_as_pipeline_json(data):
    result = parses_or_explains(parse_pipeline_config, data)
    if not isinstance(result, IcflowError):
        _assert_storable(result)


@given(DOCUMENTS)
def test_any_value_in_any_field_of_a_valid_pipeline_json(document):
    result = parses_or_explains(parse_pipeline_config, _as_bytes(document))
    if isinstance(result, IcflowError):
        str(result).encode("utf-8")  # the reason is stored in DynamoDB and S3, and sent by SNS
    else:
        _assert_storable(result)


@given(VALUES)
def test_any_json_value_as_pipeline_json(value):
    parses_or_explains(parse_pipeline_config, json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@given(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_as_classes_txt(data):
    result = parses_or_explains(parse_classes_txt, data)
    if not isinstance(result, IcflowError):
        assert result and all(name and "/" not in name for name in result)
        "\n".join(result).encode("utf-8")


def test_the_valid_document_is_valid():
    # Otherwise every generated document would be rejected for the untouched fields, and prove nothing.
    assert parse_pipeline_config(_as_bytes(VALID)).tuning_enabled
