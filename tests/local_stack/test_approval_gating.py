"""End to end through the local stack wired from the real template.yaml: with `"deploy": {"require_approval": true}`
a trained model waits in the SageMaker Model Registry, PendingManualApproval, and nothing uses it (the dataset has no
current model, a batch uploaded meanwhile stays pending); `icflow approve` through the CLI's entry point releases it
(the run becomes model_ready, the batch is labeled, the version is Approved), and `icflow reject --note` ends another
dataset's run rejected with the reviewer's note, deploying nothing; `icflow cleanup` then takes that dataset's version
and group out of the registry with its model. Both datasets train side by side."""

from __future__ import annotations

import json
import random
import shlex
import time
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout
from icflow.core.state import BATCH_SK_PREFIX, DATASET_SK, ENDPOINT_SK, RUN_SK_PREFIX, BatchStatus, StateTable
from icflow_tools.cli import main
from support.latest_status import latest_status

from .conftest import CLASS_COLORS, tiny_image

APPROVED_DATASET = "gated-approve"
REJECTED_DATASET = "gated-reject"
PIPELINE = {
    "hyperparameters": {"num_layers": 20, "image_shape": "3,28,28", "epochs": 1, "mini_batch_size": 8},
    "deploy": {"require_approval": True},
}
BATCH_IMAGES = 3
NOTE = "the validation images are all blurry"
HELD_SECONDS = 4  # the pending batch is watched this long: the batching window is 10 s, the functions react in 1
# Bounds of each stage on a busy 2-core machine: two trainings of seconds each, the batching window 10 s.
TRAIN_SECONDS = 300
DECIDED_SECONDS = 60
LABEL_SECONDS = 180
ENDED = ("awaiting_approval", "model_ready", "rejected", "failed")


def _upload(s3: Any, bucket: str, dataset: str, make_recordio: Callable[..., bytes]) -> None:
    files = {
        "pipeline.json": json.dumps(PIPELINE).encode(),
        "train/colors_train.rec": make_recordio(per_class=8, seed=1),
        "validation/colors_val.rec": make_recordio(per_class=3, seed=2),
    }
    for relative, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(dataset)}{relative}", Body=body)


def _cli(local_stack: Any, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`icflow ARGS` against the local stack's state file; its output, printed again for the test's log."""
    code = main([*args, "--state-file", str(local_stack.options.state_file)])
    captured = capsys.readouterr()
    with capsys.disabled():
        print(f"\n$ icflow {shlex.join(args)}\n{captured.out}{captured.err}", end="")
    assert code == 0, captured.err
    return captured.out


@pytest.mark.slow
def test_a_model_waits_for_approval_and_the_cli_approves_or_rejects_it(
    local_stack: Any,
    make_recordio: Callable[..., bytes],
    wait: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    table = StateTable(local_stack.client("dynamodb"), outputs["RunsTableName"])
    timings: dict[str, float] = {}
    started = time.monotonic()
    for dataset in (APPROVED_DATASET, REJECTED_DATASET):
        _upload(s3, bucket, dataset, make_recordio)
    rng = random.Random(7)
    for index in range(BATCH_IMAGES):  # before any model: collected into a pending batch
        key = f"{layout.BATCH}{APPROVED_DATASET}/{index}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=tiny_image(index % len(CLASS_COLORS), rng))

    waiting: dict[str, dict[str, Any]] = {}
    for dataset in (APPROVED_DATASET, REJECTED_DATASET):
        latest = wait(
            lambda d=dataset: (status := latest_status(s3, bucket, d)) and status.get("status") in ENDED and status,
            TRAIN_SECONDS,
            f"{dataset}'s model trained and registered",
        )
        assert latest["status"] == "awaiting_approval", latest
        (run,) = table.query(dataset, RUN_SK_PREFIX)
        assert run["status"] == "awaiting_approval" and run["model_package_arn"]
        package = sagemaker.describe_model_package(ModelPackageName=run["model_package_arn"])
        assert package["ModelApprovalStatus"] == "PendingManualApproval"
        assert "current_model_name" not in (table.get_item(dataset, DATASET_SK) or {})
        waiting[dataset] = run
    timings["both awaiting approval"] = time.monotonic() - started

    # The batch waits for a model the registry has not approved: pending, and still pending a while later.
    (batch,) = wait(
        lambda: table.query(APPROVED_DATASET, BATCH_SK_PREFIX),
        LABEL_SECONDS,
        f"the images under {layout.BATCH}{APPROVED_DATASET}/ collected into a batch",
    )
    assert batch["status"] == BatchStatus.PENDING.value
    time.sleep(HELD_SECONDS)
    (batch,) = table.query(APPROVED_DATASET, BATCH_SK_PREFIX)
    assert batch["status"] == BatchStatus.PENDING.value and "labeled" not in batch
    assert "current_model_name" not in (table.get_item(APPROVED_DATASET, DATASET_SK) or {})

    out = _cli(local_stack, capsys, "approve", "--dataset", APPROVED_DATASET)
    assert "approved version 1 of icflow-gated-approve" in out
    decided = time.monotonic()
    approved = waiting[APPROVED_DATASET]
    latest = wait(
        lambda: (status := latest_status(s3, bucket, APPROVED_DATASET))
        and status.get("status") != "awaiting_approval"
        and status,
        DECIDED_SECONDS,
        "ModelApprovalFunction releasing the approved model",
    )
    assert latest["status"] == "model_ready" and latest["model_name"] == approved["model_name"], latest
    timings["approved -> model_ready"] = time.monotonic() - decided
    head = table.get_item(APPROVED_DATASET, DATASET_SK) or {}
    assert head["current_model_name"] == approved["model_name"]
    package = sagemaker.describe_model_package(ModelPackageName=approved["model_package_arn"])
    assert package["ModelApprovalStatus"] == "Approved"
    (batch,) = wait(
        lambda: [
            b for b in table.query(APPROVED_DATASET, BATCH_SK_PREFIX) if b["status"] not in ("pending", "transforming")
        ],
        LABEL_SECONDS,
        "the pending batch labeled by the approved model",
    )
    assert batch["status"] == BatchStatus.LABELED.value, batch
    assert batch["model_name"] == approved["model_name"] and batch["labeled"] == BATCH_IMAGES
    timings["approved -> batch labeled"] = time.monotonic() - decided
    again = _cli(local_stack, capsys, "approve", "--dataset", APPROVED_DATASET, "--run", approved["run_id"])
    assert "is model_ready already" in again

    out = _cli(local_stack, capsys, "reject", "--dataset", REJECTED_DATASET, "--note", NOTE)
    assert "rejected version 1 of icflow-gated-reject" in out
    decided = time.monotonic()
    rejected = waiting[REJECTED_DATASET]
    latest = wait(
        lambda: (status := latest_status(s3, bucket, REJECTED_DATASET))
        and status.get("status") != "awaiting_approval"
        and status,
        DECIDED_SECONDS,
        "ModelApprovalFunction ending the rejected run",
    )
    timings["rejected -> run ended"] = time.monotonic() - decided
    assert latest["status"] == "rejected" and NOTE in latest["reason"], latest
    package = sagemaker.describe_model_package(ModelPackageName=rejected["model_package_arn"])
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == ("Rejected", NOTE)
    head = table.get_item(REJECTED_DATASET, DATASET_SK) or {}
    assert "current_model_name" not in head and table.get_item(REJECTED_DATASET, ENDPOINT_SK) is None
    assert sagemaker.list_endpoints(NameContains=REJECTED_DATASET)["Endpoints"] == []
    assert sagemaker.list_transform_jobs(NameContains=REJECTED_DATASET)["TransformJobSummaries"] == []

    # Cleaning the dataset up takes its version and group out of the registry with its model.
    out = _cli(local_stack, capsys, "cleanup", "--dataset", REJECTED_DATASET, "--yes")
    assert (
        f"  model package   {rejected['model_package_arn']}" in out and "  package group   icflow-gated-reject" in out
    )
    assert sagemaker.list_model_package_groups(NameContains=REJECTED_DATASET)["ModelPackageGroupSummaryList"] == []
    assert sagemaker.list_models(NameContains=REJECTED_DATASET)["Models"] == []
    print("timings (s): " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in timings.items()))
