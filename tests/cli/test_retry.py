"""`icflow retry`: the upload events it replays start a refused run or a failed batch again when the real
functions handle them (on moto, under IAM), leave S3 as it was, and anything else gets the reason why not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sagemaker_models

from icflow.core import layout, naming
from icflow.core.errors import IcflowError
from icflow.core.state import BatchStatus, RunStatus, StateTable, batch_sk
from icflow_tools.cli import main
from icflow_tools.cli.retry import BATCH_FUNCTION, UPLOAD_FUNCTION, replay_batch, replay_run
from support.batches import collect, give_model

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "my photos"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10 + b"\xff\xd9"


def _state(stack: Stack) -> StateTable:
    return StateTable(stack.client("dynamodb"), stack.settings.runs_table)


def _versions(stack: Stack) -> list[tuple[str, str]]:
    listed = stack.client("s3").list_object_versions(Bucket=stack.bucket)
    return sorted((item["Key"], item["VersionId"]) for item in listed.get("Versions", []))


def _inputs(stack: Stack) -> list[tuple[str, str]]:
    return [item for item in _versions(stack) if item[0].startswith((layout.DATASETS, layout.BATCH))]


@pytest.fixture
def refused_run(stack: Stack, handler_of, sample_event, lambda_context, monkeypatch: pytest.MonkeyPatch) -> str:
    """A run the real upload function started and SageMaker refused once: a quota of 0, since raised."""
    backend = sagemaker_models.SageMakerModelBackend
    original = backend.create_training_job
    refusals = [JsonRESTError("ResourceLimitExceeded", "The account-level service limit is 0 Instances.")]

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(backend, "create_training_job", create)
    stack.put_recordio_dataset(DATASET, [index % 4 for index in range(40)], [index % 4 for index in range(8)])
    key = f"{layout.channel_prefix(DATASET, layout.VALIDATION)}part-0.rec"
    (outcome,) = handler_of("dataset_upload")(stack.object_created(key), lambda_context)["outcomes"]
    assert outcome["action"] == "rejected"
    return outcome["run_id"]


def test_a_refused_run_starts_again_and_s3_stays_as_it_was(
    stack: Stack, handler_of, lambda_context, refused_run: str
) -> None:
    before = _versions(stack)

    replay = replay_run(_state(stack), stack.client("s3"), stack.bucket, DATASET, stack.settings.region)
    (started,) = handler_of("dataset_upload")(replay.event, lambda_context)["outcomes"]

    assert replay.function == UPLOAD_FUNCTION
    assert started["action"] == "started" and started["run_id"] == refused_run
    assert stack.training_jobs() == [naming.training_job_name(DATASET, refused_run)]
    assert stack.latest_status(DATASET)["status"] == RunStatus.TRAINING
    assert _inputs(stack) == [item for item in before if item[0].startswith((layout.DATASETS, layout.BATCH))]


def test_a_run_that_cannot_be_retried_says_why(stack: Stack, handler_of, lambda_context, refused_run: str) -> None:
    s3, region = stack.client("s3"), stack.settings.region
    replay = replay_run(_state(stack), s3, stack.bucket, DATASET, region)
    handler_of("dataset_upload")(replay.event, lambda_context)

    with pytest.raises(IcflowError, match=f"run {refused_run} of {DATASET} is training: there is nothing to retry"):
        replay_run(_state(stack), s3, stack.bucket, DATASET, region)

    _state(stack).transition(
        DATASET, refused_run, RunStatus.FAILED.value, (RunStatus.TRAINING.value,), None, "AlgorithmError: out of memory"
    )
    with pytest.raises(IcflowError, match="its job ran and the run ended failed: AlgorithmError: out of memory"):
        replay_run(_state(stack), s3, stack.bucket, DATASET, region)
    with pytest.raises(IcflowError, match="dataset elsewhere has no run to retry"):
        replay_run(_state(stack), s3, stack.bucket, "elsewhere", region)


@pytest.fixture
def failed_batch(stack: Stack, handler_of, lambda_context) -> tuple[str, str]:
    """A batch of an image and a text file, collected by the real function, whose transform job failed."""
    give_model(stack, DATASET)
    batch = collect(stack, handler_of, lambda_context, DATASET, {"day 1/cat.jpg": JPEG, "notes.txt": b"not an image"})
    backend = sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]
    backend.transform_jobs[batch["transform_job_name"]].transform_job_status = "Failed"
    handler_of("transform_state")(_transform_failed(stack, batch["transform_job_name"]), lambda_context)
    assert _state(stack).get_item(DATASET, batch_sk(batch["batch_id"]))["status"] == BatchStatus.FAILED
    return batch["batch_id"], batch["transform_job_name"]


def _transform_failed(stack: Stack, job_name: str) -> dict[str, Any]:
    from support.stack import load_event

    event = load_event("transform_job_failed.json")
    event["detail"]["TransformJobName"] = job_name
    return event


def test_a_failed_batch_starts_again_with_the_same_id_and_a_new_job(
    stack: Stack, handler_of, lambda_context, failed_batch: tuple[str, str]
) -> None:
    batch_id, first_job = failed_batch
    before = _inputs(stack)

    replay = replay_batch(_state(stack), stack.client("s3"), stack.bucket, DATASET, batch_id, stack.settings.region)
    handler_of("batch_collect")(replay.event, lambda_context)

    assert (replay.function, replay.objects) == (BATCH_FUNCTION, 2)  # the image and what was skipped
    batch = _state(stack).get_item(DATASET, batch_sk(batch_id))
    assert batch["status"] == BatchStatus.TRANSFORMING and batch["transform_job_name"] != first_job
    assert _inputs(stack) == before


def test_a_batch_that_cannot_be_retried_says_why(
    stack: Stack, handler_of, lambda_context, failed_batch: tuple[str, str]
) -> None:
    batch_id, _ = failed_batch
    s3, region = stack.client("s3"), stack.settings.region
    with pytest.raises(IcflowError, match="has no batch 0000"):
        replay_batch(_state(stack), s3, stack.bucket, DATASET, "0000", region)

    s3.delete_object(Bucket=stack.bucket, Key=f"{layout.BATCH}{DATASET}/notes.txt")
    with pytest.raises(IcflowError, match=f"batch/{DATASET}/notes.txt no longer exist"):
        replay_batch(_state(stack), s3, stack.bucket, DATASET, batch_id, region)

    replay = replay_batch  # a labeled batch is not retried
    _state(stack).transition_item(DATASET, batch_sk(batch_id), BatchStatus.LABELED.value, (BatchStatus.FAILED.value,))
    with pytest.raises(IcflowError, match="is labeled: only a failed or stopped batch is retried"):
        replay(_state(stack), s3, stack.bucket, DATASET, batch_id, region)


def test_the_command_says_why_it_retries_nothing(aws: Any, stack_flags: list[str], capsys) -> None:
    assert main(["retry", DATASET, "--batch", "0000", *stack_flags]) == 1
    assert f"icflow retry: error: dataset {DATASET} has no batch 0000" in capsys.readouterr().err
    assert main(["retry", DATASET]) == 1  # no stack named, and no local stack's state file here
    assert "no data bucket: give --stack NAME, or start the local stack" in capsys.readouterr().err
