"""The Lambda handlers in functions/, invoked with the sample events the way Lambda invokes them."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.parser import ValidationError

from icflow.observability import metrics
from icflow.settings import current_settings
from icflow.usecases import evaluate_dataset, job_state_change

if TYPE_CHECKING:
    from conftest import Stack

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _handler(function: str) -> Handler:
    spec = importlib.util.spec_from_file_location(f"icflow_function_{function}", FUNCTIONS / function / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture
def fresh_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new execution environment: settings and use cases are built again from this test's stack."""
    # The Metrics object read its namespace when first imported, possibly before the stack's environment.
    monkeypatch.setattr(metrics.provider, "namespace", stack.environment["POWERTOOLS_METRICS_NAMESPACE"])
    caches = (current_settings, evaluate_dataset._cached_use_case, job_state_change.handle_job_state_change_from_environment)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.mark.usefixtures("fresh_environment")
def test_classic_and_eventbridge_uploads_start_one_job(stack: Stack, sample_event, lambda_context) -> None:
    stack.put_recordio_dataset("caltech256", [index % 4 for index in range(40)], [0, 1, 2, 3])
    handler = _handler("dataset_upload")

    classic = handler(sample_event("s3_put_classic.json"), lambda_context)
    bridged = handler(sample_event("s3_object_created_validation.json"), lambda_context)

    (first,) = classic["outcomes"]
    (second,) = bridged["outcomes"]
    assert first["action"] == "started" and second["run_id"] == first["run_id"]
    assert stack.training_jobs() == [first["job_name"]]


@pytest.mark.usefixtures("fresh_environment")
def test_a_key_with_spaces_is_found_decoded(stack: Stack, sample_event, lambda_context) -> None:
    handler = _handler("dataset_upload")
    stack.client("s3").put_object(Bucket=stack.bucket, Key="datasets/caltech256/train/caltech 256 part 1.rec", Body=b"")

    (outcome,) = handler(sample_event("s3_put_key_with_spaces.json"), lambda_context)["outcomes"]

    assert outcome["action"] == "waiting" and outcome["dataset"] == "caltech256"


@pytest.mark.usefixtures("fresh_environment")
def test_state_handler_ignores_a_tuning_trial(stack: Stack, sample_event, lambda_context) -> None:
    outcome = _handler("training_state")(sample_event("tuning_trial_completed.json"), lambda_context)
    assert outcome["action"] == "ignored"


@pytest.mark.usefixtures("fresh_environment")
def test_state_handler_refuses_events_it_is_not_for(stack: Stack, sample_event, lambda_context) -> None:
    with pytest.raises(ValidationError):
        _handler("training_state")(sample_event("s3_object_created_train.json"), lambda_context)
