"""A run whose job SageMaker refuses to create: never left `starting`. A permanent refusal ends it rejected with
SageMaker's message and what to do; a transient one says "retrying" and asks the platform for the event again,
until the last try ends it too; uploading again tries again."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sagemaker_models

from icflow.core import layout
from icflow.core.refusals import ATTEMPTS, RetryLater
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
QUOTA_MESSAGE = (
    "The account-level service limit 'ml.p3.2xlarge for training job usage' is 0 Instances, with current "
    "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an "
    "increase for this quota."
)


class Refusals:
    """Makes moto's CreateTrainingJob and CreateHyperParameterTuningJob answer `code` the next `times` calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.left = 0
        self.code = self.message = ""
        backend = sagemaker_models.SageMakerModelBackend
        for name in ("create_training_job", "create_hyper_parameter_tuning_job"):
            monkeypatch.setattr(backend, name, self._refusing(getattr(backend, name)))

    def refuse(self, code: str, message: str, times: int) -> None:
        self.code, self.message, self.left = code, message, times

    def _refusing(self, original: Any) -> Any:
        def create(backend: Any, *args: Any, **kwargs: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                raise JsonRESTError(self.code, self.message)
            return original(backend, *args, **kwargs)

        return create


@pytest.fixture
def refusals(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Refusals:
    # After the stack fixture, so the refusal wraps its once-only create.
    return Refusals(monkeypatch)


def _dataset(stack: Stack, pipeline: dict[str, Any] | None = None) -> UploadedObject:
    stack.put_recordio_dataset(DATASET, [index % 4 for index in range(40)], [index % 4 for index in range(8)])
    if pipeline is not None:
        stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline))
    key = f"{layout.channel_prefix(DATASET, layout.VALIDATION)}part-0.rec"
    return UploadedObject(stack.bucket, key, "", sequencer="0A1B2C3D4E5F6789")


def test_a_quota_of_zero_rejects_the_run_with_sagemakers_message_and_what_to_do(
    stack: Stack, refusals: Refusals
) -> None:
    upload = _dataset(stack, {"training": {"instance_type": "ml.p3.2xlarge"}})
    queue = stack.subscribe_queue()
    refusals.refuse("ResourceLimitExceeded", QUOTA_MESSAGE, times=1)

    outcome = stack.evaluate_dataset()(upload)

    assert outcome.action == "rejected"
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "rejected" and latest["run_id"] == outcome.run_id
    assert latest["reason"].startswith(f"CreateTrainingJob was refused (ResourceLimitExceeded): {QUOTA_MESSAGE}")
    assert "Service Quotas console" in latest["reason"] and "ml.p3.2xlarge" in latest["reason"]
    assert f"instance_type in {layout.pipeline_key(DATASET)}" in latest["reason"]
    assert [change["status"] for change in latest["history"]] == ["starting", "rejected"]
    (note,) = stack.notifications(queue)
    assert QUOTA_MESSAGE in note and "Service Quotas" in note
    assert stack.training_jobs() == []


def test_a_refused_tuning_job_is_rejected_too(stack: Stack, refusals: Refusals) -> None:
    tuning = {
        "tuning": {
            "max_jobs": 2,
            "max_parallel_jobs": 1,
            "parameter_ranges": {"mini_batch_size": {"min": 8, "max": 32}},
        }
    }
    upload = _dataset(stack, tuning)
    refusals.refuse("ValidationException", "MaxParallelTrainingJobs exceeds the limit", times=1)

    outcome = stack.evaluate_dataset()(upload)

    assert outcome.action == "rejected"
    reason = stack.latest_status(DATASET)["reason"]
    assert reason.startswith("CreateHyperParameterTuningJob was refused (ValidationException): MaxParallel")
    assert f"upload {layout.pipeline_key(DATASET)} again" in reason


def test_a_transient_refusal_says_retrying_and_asks_for_the_event_again(stack: Stack, refusals: Refusals) -> None:
    upload = _dataset(stack)
    refusals.refuse("InternalFailure", "We encountered an internal error. Please try again.", times=1)

    with pytest.raises(RetryLater):
        stack.evaluate_dataset()(upload)
    retrying = stack.latest_status(DATASET)
    assert retrying["status"] == "starting" and retrying["attempts"] == 1
    assert retrying["reason"] == (
        f"retrying (try 1 of {ATTEMPTS} failed): CreateTrainingJob was refused (InternalFailure): "
        "We encountered an internal error. Please try again."
    )

    again = stack.evaluate_dataset()(upload)  # the platform's retry of the same event

    assert again.action == "started" and stack.training_jobs() == [again.job_name]
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "training" and "reason" not in latest


def test_the_last_try_ends_the_run(stack: Stack, refusals: Refusals) -> None:
    upload = _dataset(stack)
    queue = stack.subscribe_queue()
    refusals.refuse("InternalFailure", "internal error", times=ATTEMPTS)

    for _ in range(ATTEMPTS - 1):
        with pytest.raises(RetryLater):
            stack.evaluate_dataset()(upload)
    last = stack.evaluate_dataset()(upload)

    assert last.action == "rejected"
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "rejected" and latest["attempts"] == ATTEMPTS - 1
    assert "It failed on every try" in latest["reason"]
    assert [change["status"] for change in latest["history"]] == ["starting"] * ATTEMPTS + ["rejected"]
    assert len(stack.notifications(queue)) == 1  # the end, not every try


def test_a_failure_of_icflow_itself_ends_the_run_failed_with_the_error(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = _dataset(stack)
    evaluate = stack.evaluate_dataset()

    def broken(request: dict[str, Any]) -> bool:
        raise KeyError("ResourceConfig")

    monkeypatch.setattr(evaluate._jobs, "create_training_job", broken)
    for _ in range(ATTEMPTS - 1):
        with pytest.raises(RetryLater):
            evaluate(upload)
    outcome = evaluate(upload)

    assert outcome.action == "failed"
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "failed"
    assert "icflow failed: 'ResourceConfig'" in latest["reason"] and "KeyError" in latest["reason"]


def test_uploading_again_after_a_refusal_tries_again_once_per_upload(stack: Stack, refusals: Refusals) -> None:
    upload = _dataset(stack, {"training": {"instance_type": "ml.p3.2xlarge"}})
    refusals.refuse("ResourceLimitExceeded", QUOTA_MESSAGE, times=1)
    rejected = stack.evaluate_dataset()(upload)
    assert rejected.action == "rejected"
    assert stack.evaluate_dataset()(upload).action == "rejected"  # a duplicate delivery: the same write

    # The quota was raised; the message said to upload pipeline.json again, and the same file goes up again.
    upload_again = replace(upload, sequencer="0A1B2C3D4E5F6790")
    again = stack.evaluate_dataset()(upload_again)

    assert again.action == "started" and again.run_id == rejected.run_id
    assert stack.training_jobs() == [again.job_name]
    latest = stack.latest_status(DATASET)
    assert [change["status"] for change in latest["history"]] == ["starting", "rejected", "starting", "training"]
    # A duplicate delivery of that upload starts nothing more.
    assert stack.evaluate_dataset()(upload_again).job_name == again.job_name
    assert stack.training_jobs() == [again.job_name]


def test_every_upload_after_a_refusal_is_one_more_try(stack: Stack, refusals: Refusals) -> None:
    upload = _dataset(stack, {"training": {"instance_type": "ml.p3.2xlarge"}})
    queue = stack.subscribe_queue()
    refusals.refuse("ResourceLimitExceeded", QUOTA_MESSAGE, times=2)

    first = stack.evaluate_dataset()(upload)
    second = stack.evaluate_dataset()(replace(upload, sequencer="0A1B2C3D4E5F6790"))  # the quota is still 0

    assert first.action == second.action == "rejected"
    assert len(stack.notifications(queue)) == 2  # each try says how it ended
    assert stack.training_jobs() == []
