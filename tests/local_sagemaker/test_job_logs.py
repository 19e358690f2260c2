"""Training jobs' log lines in CloudWatch Logs (moto), where SageMaker puts them: every line of job.log, in order,
in `/aws/sagemaker/TrainingJobs` stream `<job>/algo-1-<start>`, tuning trials under their own names; CloudWatch
Logs failing costs the copy only, never the job."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import boto3
import pytest

from icflow_tools.local_sagemaker import LocalSageMaker
from icflow_tools.local_sagemaker.job_log_stream import (
    EVENT_OVERHEAD_BYTES,
    LOGS_CLIENT_CONFIG,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_BATCH_SPAN_MS,
    MAX_FAILED_FLUSHES,
    MAX_MESSAGE_BYTES,
    TRAINING_LOG_GROUP,
    batches,
    event_messages,
)
from icflow_tools.local_sagemaker.training import LOG_FILE

REGION = "us-east-1"


@pytest.fixture
def logged_service(start_service: Any, moto_url: str) -> LocalSageMaker:
    return start_service(logs_endpoint_url=moto_url)


@pytest.fixture
def logs(moto_url: str) -> Any:
    return boto3.client("logs", region_name=REGION, endpoint_url=moto_url)


def _unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"  # the package's tests share moto's log group


def _stream_lines(logs: Any, sagemaker: Any, job_name: str) -> list[str]:
    start = sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingStartTime"]
    events = logs.get_log_events(
        logGroupName=TRAINING_LOG_GROUP,
        logStreamName=f"{job_name}/algo-1-{int(start.timestamp())}",
        startFromHead=True,
    )["events"]
    return [event["message"] for event in events]


def _job_log(service: LocalSageMaker, job_name: str) -> list[str]:
    return (service.ctx.work_dir / "training-jobs" / job_name / LOG_FILE).read_text().splitlines()


def test_a_jobs_lines_arrive_in_its_stream_in_order(aws, logged_service, logs, helpers) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=logged_service.url)
    helpers.put_training_data(aws)
    name = _unique("digits")
    sagemaker.create_training_job(**helpers.training_request(aws, name, {"epochs": "3", "learning_rate": "0.3"}))

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, name))

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = _stream_lines(logs, sagemaker, name)
    assert lines == _job_log(logged_service, name)
    assert [line for line in lines if line.startswith("Epoch[")] == [
        "Epoch[0] Validation-accuracy=0.300000",
        "Epoch[1] Validation-accuracy=0.600000",
        "Epoch[2] Validation-accuracy=0.900000",
    ]
    assert lines[-1].endswith("Completed - Training job completed")


def test_tuning_trials_log_under_their_own_names(aws, logged_service, logs, helpers) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=logged_service.url)
    helpers.put_training_data(aws)
    definition = helpers.training_request(aws, "unused")
    for field in ("TrainingJobName", "Tags"):
        definition.pop(field)
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    name = _unique("tune")
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.3"}]
            },
        },
        TrainingJobDefinition=definition,
    )

    helpers.wait_for(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
            "HyperParameterTuningJobStatus"
        ]
        == "Completed"
    )

    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    names = [trial["TrainingJobName"] for trial in trials["TrainingJobSummaries"]]
    assert len(names) == 2
    for trial in names:
        lines = _stream_lines(logs, sagemaker, trial)
        assert lines == _job_log(logged_service, trial) and any(line.startswith("Epoch[1] ") for line in lines)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cloudwatch_logs_failing_does_not_fail_the_job(aws, logged_service, helpers) -> None:
    # Nothing listens there: every call fails to connect.
    logged_service.ctx.logs = boto3.client(
        "logs", region_name=REGION, endpoint_url=f"http://127.0.0.1:{_closed_port()}", config=LOGS_CLIENT_CONFIG
    )
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=logged_service.url)
    helpers.put_training_data(aws)
    name = _unique("digits")
    sagemaker.create_training_job(**helpers.training_request(aws, name))

    job = helpers.wait_for(lambda: helpers.ended(sagemaker, name))

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    log = _job_log(logged_service, name)
    assert "Epoch[1] Validation-accuracy=0.200000" in log
    failures = [line for line in log if line.startswith("[local-sagemaker] CloudWatch Logs: ")]
    # Three flushes in a row failed; the job stopped trying rather than waiting on them at every epoch end.
    assert len(failures) == MAX_FAILED_FLUSHES and all("not put to" in line for line in failures)
    assert failures[-1].endswith("giving up: the job's next lines stay in job.log only")


def _events(sizes: list[int], step_ms: int = 0) -> list[dict[str, Any]]:
    return [{"timestamp": index * step_ms, "message": "x" * size} for index, size in enumerate(sizes)]


def test_batches_keep_putlogevents_limits_and_order() -> None:
    many = _events([1] * (MAX_BATCH_EVENTS + 1))
    assert [len(batch) for batch in batches(many)] == [MAX_BATCH_EVENTS, 1]

    biggest = MAX_MESSAGE_BYTES  # four of these, with their overhead, make exactly 1 MB: one byte more is a call
    assert 4 * (biggest + EVENT_OVERHEAD_BYTES) == MAX_BATCH_BYTES
    assert [len(batch) for batch in batches(_events([biggest] * 4 + [0]))] == [4, 1]
    assert [len(batch) for batch in batches(_events([biggest] * 3 + [biggest - 1, 0]))] == [4, 1]
    assert [len(batch) for batch in batches(_events([1, biggest, biggest, biggest, biggest]))] == [4, 1]

    long_day = _events([1, 1, 1], step_ms=MAX_BATCH_SPAN_MS // 2 + 1)
    assert [len(batch) for batch in batches(long_day)] == [2, 1]

    mixed = _events([3, 1, 4, 1, 5, 9, 2, 6], step_ms=7)
    assert [event for batch in batches(mixed) for event in batch] == mixed


def test_each_line_is_an_event_of_a_size_cloudwatch_takes() -> None:
    assert event_messages("Traceback:\n  File x\n\n   \nError: y\n") == ["Traceback:", "  File x", "Error: y"]
    assert event_messages("") == []
    (cut,) = event_messages("é" * MAX_MESSAGE_BYTES)
    assert len(cut.encode("utf-8")) <= MAX_MESSAGE_BYTES and set(cut) == {"é"}
