"""A training job's epochs from CloudWatch Logs (moto): its first instance's streams only, a resumed job's last
values, nothing when no job ever logged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from icflow.reports import training_logs
from icflow.reports.epoch_metrics import EpochMetrics
from icflow.reports.training_logs import TRAINING_LOG_GROUP, TrainingLogs


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=TRAINING_LOG_GROUP)
        yield client


def _put(logs: Any, stream: str, lines: list[str], start_ms: int) -> None:
    logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=TRAINING_LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": start_ms + index, "message": line} for index, line in enumerate(lines)],
    )


def _now_ms() -> int:
    """CloudWatch Logs refuses events older than 14 days."""
    return int(time.time() * 1000)


def test_the_epochs_are_the_first_instances(logs: Any) -> None:
    start = _now_ms()
    _put(
        logs,
        "digits-1/algo-1-1733400000",
        [
            "[12/05/2026 10:00:00 INFO 1] Epoch[0] Train-accuracy=0.500000",
            "[12/05/2026 10:00:00 INFO 1] Epoch[0] Time cost=1.500",
            "[12/05/2026 10:00:00 INFO 1] Epoch[0] Validation-accuracy=0.400000",
            "[12/05/2026 10:00:00 INFO 1] Storing the best model with validation accuracy: 0.400000",
            "[12/05/2026 10:00:01 INFO 1] Epoch[1] Train-accuracy=0.700000",
            "[12/05/2026 10:00:01 INFO 1] Epoch[1] Validation-accuracy=0.650000",
        ],
        start,
    )
    # The second instance prints its own epochs; a job whose name starts alike logs to the same group.
    _put(logs, "digits-1/algo-2-1733400000", ["Epoch[0] Validation-accuracy=0.100000"], start)
    _put(logs, "digits-10/algo-1-1733400000", ["Epoch[0] Validation-accuracy=0.200000"], start)

    assert TrainingLogs(logs).epochs("digits-1") == [
        EpochMetrics(0, {"train:accuracy": 0.5, "epoch_seconds": 1.5, "validation:accuracy": 0.4}),
        EpochMetrics(1, {"train:accuracy": 0.7, "validation:accuracy": 0.65}),
    ]
    assert TrainingLogs(logs).epochs("digits-10") == [EpochMetrics(0, {"validation:accuracy": 0.2})]


def test_a_resumed_job_keeps_the_last_values_of_a_repeated_epoch(logs: Any) -> None:
    start = _now_ms()
    # Interrupted in epoch 1, the spot job resumes on a new instance (a new stream) from epoch 0's checkpoint.
    _put(
        logs,
        "digits-2/algo-1-1733400900",
        ["Epoch[1] Validation-accuracy=0.900000", "Epoch[2] Validation-accuracy=0.950000"],
        start + 1000,
    )
    _put(
        logs,
        "digits-2/algo-1-1733400000",
        ["Epoch[0] Validation-accuracy=0.300000", "Epoch[1] Validation-accuracy=0.100000"],
        start,
    )

    epochs = TrainingLogs(logs).epochs("digits-2")

    assert [(entry.epoch, entry.metrics["validation:accuracy"]) for entry in epochs] == [(0, 0.3), (1, 0.9), (2, 0.95)]


def test_no_log_no_epochs(logs: Any) -> None:
    assert TrainingLogs(logs).epochs("never-ran") == []
    logs.delete_log_group(logGroupName=TRAINING_LOG_GROUP)
    assert TrainingLogs(logs).epochs("never-ran") == []  # no job of the account ever logged


def test_the_lines_read_are_bounded(logs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_logs, "MAX_LINES", 3)
    _put(logs, "digits-3/algo-1-1733400000", [f"Epoch[{n}] Validation-accuracy=0.5" for n in range(10)], _now_ms())

    assert [entry.epoch for entry in TrainingLogs(logs).epochs("digits-3")] == [0, 1, 2]


class _Refusing:
    def get_paginator(self, name: str) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "FilterLogEvents")


def test_a_refusal_is_not_taken_for_an_empty_log() -> None:
    with pytest.raises(ClientError, match="AccessDeniedException"):
        TrainingLogs(_Refusing()).epochs("digits-1")
