"""Uploads settle into one run on the real template's stack (DatasetSettleSeconds is 2 s here): a RecordIO channel
of several files, the other channel, then pipeline.json, put one after another as a slow upload of a folder puts
them, start exactly one training job, configured by the pipeline.json that came last; and a storm of an image
dataset's files in parallel is one evaluation and one job."""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from icflow.core import layout
from icflow.recordio.lst import LstEntry, write_lst

DATASET = "settling-burst"
GAP_SECONDS = 0.5  # between two uploads: well within the 2 s the dataset settles for


@pytest.mark.slow
def test_files_uploaded_one_by_one_start_one_run_with_the_last_pipeline_json(
    local_stack: Any, wait: Callable[..., Any], make_recordio: Callable[..., bytes]
) -> None:
    outputs = local_stack.state()["outputs"]
    bucket = outputs["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    pipeline = {"hyperparameters": {"num_layers": 20, "image_shape": "3,28,28", "epochs": 1, "mini_batch_size": 8}}
    files = {
        "validation/val.rec": make_recordio(per_class=3, seed=2),
        "train/part-0.rec": make_recordio(per_class=4, seed=1),
        "train/part-1.rec": make_recordio(per_class=4, seed=3),
        "pipeline.json": json.dumps(pipeline).encode(),
    }
    statuses = []
    for relative, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(DATASET)}{relative}", Body=body)
        time.sleep(GAP_SECONDS)
        latest = s3.get_object(Bucket=bucket, Key=layout.latest_status_key(DATASET))["Body"].read()
        statuses.append(json.loads(latest)["status"])

    def jobs() -> list[dict[str, Any]]:
        return sagemaker.list_training_jobs(NameContains=f"icflow-{DATASET}-")["TrainingJobSummaries"]

    (job,) = wait(jobs, 60, "one training job once the uploads settled")
    assert set(statuses) == {"settling"}  # nothing was decided while files kept coming
    hyperparameters = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])["HyperParameters"]
    assert hyperparameters["epochs"] == "1" and hyperparameters["num_training_samples"] == "24"
    time.sleep(3)  # a second run would have started by now
    assert len(jobs()) == 1


@pytest.mark.slow
def test_an_upload_storm_of_an_image_dataset_is_one_evaluation_and_one_job(
    local_stack: Any, wait: Callable[..., Any], make_image: Callable[[int, random.Random], bytes]
) -> None:
    """Images and their .lst files in parallel and in random order, as `aws s3 cp --recursive` puts a folder."""
    dataset = "settling-storm"
    state = local_stack.state()
    bucket = state["outputs"]["DataBucketName"]
    s3, sagemaker = local_stack.client("s3"), local_stack.client("sagemaker")
    rng = random.Random(7)
    files: dict[str, bytes] = {}
    for channel, per_class in (("train", 16), ("validation", 4)):
        entries = []
        for label in range(3):
            for number in range(per_class):
                relative = f"{label}/{number}.jpg"
                files[f"{channel}/{relative}"] = make_image(label, rng)
                entries.append(LstEntry(len(entries), (float(label),), relative))
        lines = io.StringIO()
        write_lst(lines, entries)
        files[f"{channel}_lst/{channel}.lst"] = lines.getvalue().encode()
    pipeline = {"hyperparameters": {"num_layers": 20, "image_shape": "3,28,28", "epochs": 1, "mini_batch_size": 8}}
    files["pipeline.json"] = json.dumps(pipeline).encode()
    order = list(files)
    rng.shuffle(order)
    log = Path(state["functions"]["DatasetUploadFunction"]["log_file"])
    logged_before = len(log.read_text().splitlines())

    def put(relative: str) -> None:
        s3.put_object(Bucket=bucket, Key=f"{layout.dataset_prefix(dataset)}{relative}", Body=files[relative])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, order))

    def jobs() -> list[dict[str, Any]]:
        return sagemaker.list_training_jobs(NameContains=f"icflow-{dataset}-")["TrainingJobSummaries"]

    (job,) = wait(jobs, 90, "one training job once the storm settled")
    hyperparameters = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])["HyperParameters"]
    assert hyperparameters["num_training_samples"] == "48" and hyperparameters["epochs"] == "1"
    time.sleep(3)  # a second evaluation would have run by now

    checks = [
        json.loads(line)
        for line in log.read_text().splitlines()[logged_before:]
        if '"settle check"' in line and dataset in line
    ]
    decided = [check["action"] for check in checks if check["action"] != "superseded"]
    assert decided == ["started"], f"{len(files)} uploads: {len(checks)} checks, decided {decided}"
    assert len(jobs()) == 1
