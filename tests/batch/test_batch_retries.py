"""A batch that failed is tried again by uploading the same images, under a new job name; a refused
CreateTransformJob never leaves a batch pending: "retrying" while the queue delivers the group again, then
failed with SageMaker's message and what to do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.exceptions import ResourceInUseException

from icflow.batch.collect_batch import CollectOutcome, build_collect_batch
from icflow.batch.starter import transform_job_suffix
from icflow.batch.transform_state import TransformChange, build_handle_transform_state
from icflow.batch.upload_events import batch_objects
from icflow.core import layout, naming
from icflow.core.refusals import QUEUE_ATTEMPTS, RetryLater
from icflow.core.state import BatchStatus, StateTable, batch_sk

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
RUN_ID = "3f2a9c41d0b7"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"


class TransformJobs:
    """moto's CreateTransformJob refusing a taken name, as SageMaker does, or answering `code` `times` times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refusals: list[str] = []
        backend = sagemaker_models.SageMakerModelBackend
        original = backend.create_transform_job

        def create(backend: Any, transform_job_name: str, *args: Any, **kwargs: Any) -> Any:
            if self.refusals:
                code = self.refusals.pop(0)
                raise JsonRESTError(code, f"{code}: the account-level service limit is 0 Instances")
            if transform_job_name in backend.transform_jobs:
                raise ResourceInUseException(message=f"Job name {transform_job_name} is in use")
            return original(backend, transform_job_name, *args, **kwargs)

        monkeypatch.setattr(backend, "create_transform_job", create)


@pytest.fixture
def transform_jobs(monkeypatch: pytest.MonkeyPatch) -> TransformJobs:
    return TransformJobs(monkeypatch)


def _upload(stack: Stack, files: dict[str, bytes]) -> list[str]:
    """Puts the files under batch/<dataset>/ and returns the bodies the queue would deliver."""
    bodies = []
    for relative, body in files.items():
        key = f"{layout.BATCH}{DATASET}/{relative}"
        etag = stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)["ETag"].strip('"')
        event = stack.object_created(key)
        event["detail"]["object"].update(size=len(body), etag=etag)
        bodies.append(json.dumps(event))
    return bodies


def _collect(stack: Stack, bodies: list[str]) -> list[CollectOutcome]:
    return build_collect_batch(stack.adapters())([upload for body in bodies for upload in batch_objects(body)])


def _give_model(stack: Stack) -> None:
    model = naming.model_name(DATASET, RUN_ID)
    stack.client("sagemaker").create_model(
        ModelName=model, PrimaryContainer={"Image": "image-classification:1"}, ExecutionRoleArn="arn:aws:iam::1:role/r"
    )
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).update_dataset(
        DATASET, {"current_model_name": model}
    )


def _batch(stack: Stack, batch_id: str) -> dict[str, Any]:
    item = StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_item(DATASET, batch_sk(batch_id))
    assert item is not None
    return item


def _end(stack: Stack, job_name: str, status: str) -> None:
    backend = sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]
    backend.transform_jobs[job_name].transform_job_status = status
    build_handle_transform_state(stack.adapters())(TransformChange(job_name, status, "AlgorithmError: boom"))


@pytest.mark.parametrize("ended", ["Failed", "Stopped"])
def test_the_same_images_again_restart_a_failed_batch_under_a_new_job_name(
    stack: Stack, transform_jobs: TransformJobs, ended: str
) -> None:
    _give_model(stack)
    (first,) = _collect(stack, _upload(stack, {"a.jpg": JPEG, "b.jpg": JPEG}))
    _end(stack, first.job_name, ended)
    assert _batch(stack, first.batch_id)["status"] in (BatchStatus.FAILED, BatchStatus.STOPPED)

    (again,) = _collect(stack, _upload(stack, {"a.jpg": JPEG, "b.jpg": JPEG}))

    assert again.action == "started" and again.batch_id == first.batch_id
    assert again.job_name == naming.transform_job_name(DATASET, transform_job_suffix(first.batch_id, 1))
    item = _batch(stack, first.batch_id)
    assert item["status"] == BatchStatus.TRANSFORMING and item["restarts"] == 1
    assert item["transform_job_name"] == again.job_name
    # The first job's late events no longer touch the batch.
    late = build_handle_transform_state(stack.adapters())(TransformChange(first.job_name, ended, None))
    assert late.action == "ignored"


def test_a_batch_still_transforming_is_not_started_again(stack: Stack, transform_jobs: TransformJobs) -> None:
    _give_model(stack)
    (first,) = _collect(stack, _upload(stack, {"a.jpg": JPEG}))
    (again,) = _collect(stack, _upload(stack, {"a.jpg": JPEG}))
    assert (again.action, again.status) == ("already_started", BatchStatus.TRANSFORMING)


def test_a_quota_of_zero_fails_the_batch_with_sagemakers_message_and_how_to_retry(
    stack: Stack, transform_jobs: TransformJobs
) -> None:
    _give_model(stack)
    queue = stack.subscribe_queue()
    transform_jobs.refusals = ["ResourceLimitExceeded"]

    (outcome,) = _collect(stack, _upload(stack, {"a.jpg": JPEG}))

    assert outcome.action == "failed"
    item = _batch(stack, outcome.batch_id)
    assert item["status"] == BatchStatus.FAILED
    assert item["reason"].startswith("CreateTransformJob was refused (ResourceLimitExceeded)")
    assert "Service Quotas" in item["reason"] and "upload the same images again" in item["reason"]
    assert any("ResourceLimitExceeded" in note for note in stack.notifications(queue))


def test_a_transient_refusal_retries_as_long_as_the_queue_delivers_then_fails(
    stack: Stack, transform_jobs: TransformJobs
) -> None:
    _give_model(stack)
    bodies = _upload(stack, {"a.jpg": JPEG})
    transform_jobs.refusals = ["InternalFailure"] * QUEUE_ATTEMPTS

    for tries in range(1, QUEUE_ATTEMPTS):
        with pytest.raises(RetryLater):
            _collect(stack, bodies)
        (item,) = [i for i in StateTable(stack.client("dynamodb"), stack.settings.runs_table).query(DATASET, "BATCH#")]
        assert item["status"] == BatchStatus.PENDING and item["attempts"] == tries
        assert item["reason"].startswith(f"retrying (try {tries} of {QUEUE_ATTEMPTS} failed)")
    (last,) = _collect(stack, bodies)

    assert last.action == "failed" and "every try" in (last.reason or "")
