"""A folder of class folders dragged in with the AWS CLI, end to end through the local stack wired from the real
template.yaml (DatasetSettleSeconds is 2 s here): `aws s3 cp --recursive` puts the images in parallel, a
pipeline.json put half a second later, inside the settle window, is the run's configuration; exactly one local
training job trains on the lists icflow prepared (full keys with spaces, subfolders and non-ASCII names), the
model becomes ready, the objects that are no images are reported with their reasons, and a batch is labeled
with the folder names.

The AWS CLI v1 is the one `make test` installs in .venv-awscli (it pins its own botocore, so it has a venv of
its own); it talks to the stack with the environment `icflow local up` prints."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from icflow.core import layout
from icflow.core.class_names import FROM_CLASS_FOLDERS
from icflow.core.images import SkipReason
from icflow.core.pipeline_config import SplitSettings
from icflow.core.state import BATCH_SK_PREFIX, BatchStatus, StateTable
from icflow.training.class_folders import NOT_AN_IMAGE_NAME
from icflow.training.class_split import validation_count
from support.latest_status import latest_status
from support.reference_tools import reference_tool

DATASET = "class-folders-cli"
# Sorted as icflow sorts them (code points): the labels are 0, 1, 2 in this order. A space, and a non-ASCII name.
CLASSES = ("chat noir", "red fox", "été")
PER_CLASS = 12
# Below the bucket's datasets/<dataset>/images/, as the CLI names them from the local tree: some in subfolders.
NOT_IMAGES = {
    ".DS_Store": SkipReason.HIDDEN.message,
    "red fox/.DS_Store": SkipReason.HIDDEN.message,
    "chat noir/notes.txt": NOT_AN_IMAGE_NAME,
}
LATE_SECONDS = 0.5  # pipeline.json after the folder: well within the 2 s the dataset settles for
PIPELINE = {"hyperparameters": {"num_layers": 20, "image_shape": "3,28,28", "epochs": 1, "mini_batch_size": 8}}
BATCH_IMAGES = 3
# Bounds of each stage on a busy 2-core machine: the training takes seconds, the batching window 10 s.
START_SECONDS = 90
TRAIN_SECONDS = 240
LABEL_SECONDS = 180


def aws_cli() -> Path:
    return reference_tool("ICFLOW_AWS_CLI", ".venv-awscli/bin/aws", "an AWS CLI v1 executable")


def _class_of(relative: str) -> str:
    return relative.split("/", 1)[0]


def _write_tree(root: Path, make_image: Callable[[int, random.Random], bytes]) -> dict[str, list[str]]:
    """The folder a user drags in: PER_CLASS images per class, a third of them a level or two down, and files
    that are no images. Returns each class's image paths below `root`."""
    rng = random.Random(11)
    images: dict[str, list[str]] = {name: [] for name in CLASSES}
    for label, name in enumerate(CLASSES):
        for number in range(PER_CLASS):
            below = ("", "2024/", "2024/jour d'été/")[number % 3]
            relative = f"{name}/{below}{name} {number}.jpg"
            images[name].append(relative)
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(make_image(label, rng))
    for relative in NOT_IMAGES:
        (root / relative).write_bytes(b"\x00\x00\x00\x01Bud1" if relative.endswith(".DS_Store") else b"to do\n")
    return images


@pytest.mark.slow
def test_a_folder_copied_with_the_aws_cli_trains_once_and_labels_with_the_folder_names(
    local_stack: Any,
    tmp_path: Path,
    wait: Callable[..., Any],
    make_image: Callable[[int, random.Random], bytes],
) -> None:
    cli = aws_cli()
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    images = _write_tree(tmp_path / "pets", make_image)
    # The user's own AWS settings stay out: only what `icflow local up` prints, and no config files.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment |= local_stack.client_environment() | {
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    timings: dict[str, float] = {}
    started = time.monotonic()

    copy = [str(cli), "s3", "cp", "--recursive", "--only-show-errors", str(tmp_path / "pets")]
    copied = subprocess.run(
        [*copy, f"s3://{bucket}/{layout.images_prefix(DATASET)}"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert copied.returncode == 0, copied.stderr
    timings["aws s3 cp --recursive"] = time.monotonic() - started
    time.sleep(LATE_SECONDS)
    settling = latest_status(s3, bucket, DATASET)
    s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}pipeline.json", Body=json.dumps(PIPELINE))
    uploaded = time.monotonic()

    def jobs() -> list[dict[str, Any]]:
        return sagemaker.list_training_jobs(NameContains=f"icflow-{DATASET}-")["TrainingJobSummaries"]

    (job,) = wait(jobs, START_SECONDS, "one training job once the folder and pipeline.json settled")
    timings["training job started"] = time.monotonic() - uploaded
    # Every object the CLI put is in the bucket under its local path's name, non-ASCII and spaces included.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=layout.images_prefix(DATASET))["Contents"]
    all_files = {relative for names in images.values() for relative in names} | set(NOT_IMAGES)
    assert {item["Key"] for item in listed} == {f"{layout.images_prefix(DATASET)}{r}" for r in all_files}
    assert settling is not None and settling["status"] == "settling"  # nothing decided while the folder came in

    job_name = job["TrainingJobName"]
    latest = wait(
        lambda: (status := latest_status(s3, bucket, DATASET))
        and status.get("status") in ("model_ready", "failed")
        and status,
        TRAIN_SECONDS,
        f"{job_name} trained and its model recorded in latest.json",
    )
    timings["model ready"] = time.monotonic() - uploaded
    described = sagemaker.describe_training_job(TrainingJobName=job_name)
    assert latest["status"] == "model_ready", described.get("FailureReason") or latest
    assert described["TrainingJobStatus"] == "Completed"
    # The late pipeline.json configured the run; the data set the rest.
    held_out = validation_count(PER_CLASS, SplitSettings().validation_fraction)
    hyperparameters = described["HyperParameters"]
    assert {name: hyperparameters[name] for name in PIPELINE["hyperparameters"]} == {
        name: str(value) for name, value in PIPELINE["hyperparameters"].items()
    }
    assert hyperparameters["num_classes"] == str(len(CLASSES))
    assert hyperparameters["num_training_samples"] == str(len(CLASSES) * (PER_CLASS - held_out))
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"] for channel in described["InputDataConfig"]
    }
    assert channels["train"]["S3DataType"] == channels["validation"]["S3DataType"] == "ManifestFile"

    # The objects that are no images: left out, each with its reason, in latest.json and in skipped.jsonl.
    skipped = latest["skipped"]
    prefix = layout.images_prefix(DATASET)
    assert skipped["count"] == len(NOT_IMAGES)
    assert sorted(skipped["examples"]) == sorted(f"{prefix}{r}: {reason}" for r, reason in NOT_IMAGES.items())
    every = s3.get_object(Bucket=bucket, Key=skipped["all"].removeprefix(f"s3://{bucket}/"))["Body"].read()
    assert {row["key"]: row["reason"] for row in map(json.loads, every.decode().splitlines())} == {
        f"{prefix}{relative}": reason for relative, reason in NOT_IMAGES.items()
    }
    run_id = latest["run_id"]
    classes_txt = s3.get_object(Bucket=bucket, Key=layout.prepared_classes_key(DATASET, run_id))["Body"].read()
    assert classes_txt.decode().splitlines() == list(CLASSES)
    time.sleep(3)  # a second run would have started by now
    assert len(jobs()) == 1

    # A batch: labeled with the folder names, whatever the model got right after one epoch.
    rng = random.Random(5)
    for index in range(BATCH_IMAGES):
        key = f"{layout.BATCH}{DATASET}/day 1/photo {index}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=make_image(index % len(CLASSES), rng))
    batch_put = time.monotonic()
    table = StateTable(local_stack.client("dynamodb"), outputs["RunsTableName"])
    (batch,) = wait(
        lambda: [b for b in table.query(DATASET, BATCH_SK_PREFIX) if b["status"] == BatchStatus.LABELED.value],
        LABEL_SECONDS,
        f"the batch under {layout.BATCH}{DATASET}/ labeled",
    )
    timings["batch labeled"] = time.monotonic() - batch_put
    assert batch["model_name"] == latest["model_name"]
    summary_key = f"{layout.predictions_prefix(DATASET, batch['batch_id'])}summary.json"
    summary = json.loads(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())
    assert summary["images"]["labeled"] == BATCH_IMAGES and summary["images"]["failed"] == 0
    assert summary["class_names_source"] == FROM_CLASS_FOLDERS
    key = batch["predictions_uri"].removeprefix(f"s3://{bucket}/")
    rows = [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]
    assert len(rows) == BATCH_IMAGES
    for row in rows:
        # Three classes, top 3: every folder name once, the label first.
        assert row["label"] in CLASSES
        assert sorted(ranked["label"] for ranked in row["top_k"]) == sorted(CLASSES)
        assert row["top_k"][0]["label"] == row["label"]
    print("timings (s): " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in timings.items()))
