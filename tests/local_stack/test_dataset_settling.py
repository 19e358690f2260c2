"""Uploads settle into one run on the real template's stack: a RecordIO channel of several files, the other
channel, then pipeline.json, put one after another as a slow upload of a folder puts them, start exactly one
training job, configured by the pipeline.json that came last (DatasetSettleSeconds is 2 s here)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from icflow.core import layout

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
