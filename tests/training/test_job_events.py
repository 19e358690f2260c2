"""Parsing SageMaker's state-change events as they really arrive (events/ holds the samples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import ValidationError, parse

from icflow.training.job_events import (
    SageMakerStateChange,
    TrainingJobStateChange,
    TuningJobStateChange,
    job_state_change,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_completed_training_event() -> None:
    parsed = parse(event=_event("training_job_completed.json"), model=SageMakerStateChange)
    change = job_state_change(parsed)

    assert isinstance(parsed, TrainingJobStateChange)
    assert change.kind == "training" and change.status == "Completed" and change.is_final
    assert change.job_name.startswith("icflow-") and not change.is_tuning_trial
    assert change.tags["icflow:dataset"] == "caltech256"


def test_tuning_event_and_its_trials() -> None:
    tuning = job_state_change(parse(event=_event("tuning_job_completed.json"), model=SageMakerStateChange))
    trial = job_state_change(parse(event=_event("tuning_trial_completed.json"), model=SageMakerStateChange))

    assert tuning.kind == "tuning" and tuning.is_final and not tuning.is_tuning_trial
    assert trial.kind == "training" and trial.is_tuning_trial


def test_progress_is_not_final_and_failures_carry_their_reason() -> None:
    progress = job_state_change(parse(event=_event("training_job_in_progress.json"), model=SageMakerStateChange))
    failed = job_state_change(parse(event=_event("training_job_failed.json"), model=SageMakerStateChange))

    assert not progress.is_final
    assert failed.is_final and failed.failure_reason and "AlgorithmError" in failed.failure_reason


@pytest.mark.parametrize(
    "stamp",
    [
        1763724127000,
        1763724127000.0,
        "1763724127000",
        "1763724127000.0",
        "2025-11-21T11:22:07Z",
        "2025-11-21T11:22:07.000+00:00",
    ],
)
def test_every_timestamp_form_is_the_same_instant(stamp: object) -> None:
    event = _event("training_job_completed.json")
    event["detail"]["TrainingEndTime"] = stamp
    parsed = parse(event=event, model=TrainingJobStateChange)
    assert parsed.detail.TrainingEndTime == datetime(2025, 11, 21, 11, 22, 7, tzinfo=UTC)


def test_absent_fields_sent_as_null_are_absent() -> None:
    event = _event("training_job_completed.json")
    event["detail"].update(TuningJobArn=None, FailureReason=None, TrainingEndTime=None, Tags=None)

    parsed = parse(event=event, model=SageMakerStateChange)
    change = job_state_change(parsed)

    assert parsed.detail.TrainingEndTime is None
    assert (change.is_tuning_trial, change.failure_reason, change.tags) == (False, None, {})


def test_tags_in_the_api_form_are_a_map_too() -> None:
    event = _event("tuning_job_completed.json")
    event["detail"]["Tags"] = [{"Key": "icflow:run-id", "Value": "5b8e01c2d4f6"}]
    parsed = parse(event=event, model=TuningJobStateChange)
    assert parsed.detail.Tags == {"icflow:run-id": "5b8e01c2d4f6"}


def test_other_detail_types_are_refused() -> None:
    event = _event("training_job_completed.json")
    event["detail-type"] = "SageMaker Endpoint State Change"
    with pytest.raises(ValidationError):
        parse(event=event, model=SageMakerStateChange)
