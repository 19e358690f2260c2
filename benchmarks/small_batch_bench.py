"""A small batch labeled through the dataset's serving endpoint, beside the same batch through a transform job,
on the local stack wired from template.yaml (moto, the local SageMaker training and serving a real model, the
template's functions).

A ResNet-20 is trained for a few epochs on scikit-learn's digits with deploy.realtime.enabled, and once its
endpoint is in service 30 held-out digits are uploaded under batch/ in parallel: BatchCollectFunction labels them
by InvokeEndpoint. Then pipeline.json sets deploy.realtime.batch_max_images to 0 (a deploy setting: the same
run, no new training) and the same 30 images go up under another folder: a transform job labels them. Each
figure is the time from the batch's last upload to the batch item's `labeled` (its history's timestamp),
against the target: the batching window + 15 s, with no transform job for the endpoint's batch.

    .venv/bin/python benchmarks/small_batch_bench.py [--images 30] [--window 10] [--epochs 8]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from icflow.core import layout
from icflow.core.state import BATCH_SK_PREFIX, DATASET_SK, ENDPOINT_SK, BatchStatus, EndpointStatus, StateTable
from icflow.recordio import IndexedRecordWriter, pack_image_record
from icflow_tools.demo.digits import NAMES, SIDE, digit_png
from icflow_tools.local_stack.stack import LocalStack, StackOptions

REPO = Path(__file__).resolve().parents[1]
DATASET = "digits"
TARGET_SECONDS = 15  # past the batching window (issue 14)
UPLOAD_THREADS = 8  # as the console or `aws s3 cp --recursive` uploads a folder
TRAIN_PER_CLASS = 40


def recordio(images: np.ndarray, labels: np.ndarray) -> bytes:
    rec, idx = io.BytesIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    for key, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        writer.write(key, pack_image_record(float(label), digit_png(pixels), key))
    return rec.getvalue()


def wait(check: Callable[[], Any], what: str, timeout: float = 900.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def pipeline(epochs: int, batch_max_images: int | None = None) -> bytes:
    realtime: dict[str, Any] = {"enabled": True}
    if batch_max_images is not None:
        realtime["batch_max_images"] = batch_max_images
    return json.dumps(
        {
            "hyperparameters": {
                "num_layers": 20,
                "image_shape": f"3,{SIDE},{SIDE}",
                "epochs": epochs,
                "mini_batch_size": 32,
                "optimizer": "adam",
                "learning_rate": 0.003,
            },
            "deploy": {"realtime": realtime, "top_k": 3},
        }
    ).encode()


class Bench:
    def __init__(self, stack: LocalStack, args: argparse.Namespace) -> None:
        outputs = stack.state()["outputs"]
        self.bucket = outputs["DataBucketName"]
        self.s3 = stack.client("s3")
        self.sagemaker = stack.client("sagemaker")
        self.table = StateTable(stack.client("dynamodb"), outputs["RunsTableName"])
        self.args = args

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """Uploads the dataset and waits for its model and endpoint; the held-out images and their digits."""
        digits = load_digits()
        rng = np.random.default_rng(0)
        chosen = np.concatenate(
            [rng.permutation(np.flatnonzero(digits.target == d))[:TRAIN_PER_CLASS] for d in range(10)]
        )
        rest = np.setdiff1d(np.arange(len(digits.target)), chosen)
        train_x, val_x, train_y, val_y = train_test_split(
            digits.images[chosen], digits.target[chosen], test_size=0.25, stratify=digits.target[chosen], random_state=0
        )
        self.put(layout.pipeline_key(DATASET), pipeline(self.args.epochs))
        self.put(layout.classes_key(DATASET), "\n".join(NAMES).encode() + b"\n")
        self.put(f"{layout.channel_prefix(DATASET, layout.TRAIN)}digits.rec", recordio(train_x, train_y))
        self.put(f"{layout.channel_prefix(DATASET, layout.VALIDATION)}digits.rec", recordio(val_x, val_y))
        started = time.monotonic()

        def ready() -> bool:
            dataset = self.table.get_item(DATASET, DATASET_SK) or {}
            if dataset.get("status") in ("rejected", "failed", "stopped"):
                raise RuntimeError(f"the run is {dataset['status']}: {dataset.get('reason')}")
            endpoint = self.table.get_item(DATASET, ENDPOINT_SK) or {}
            return endpoint.get("status") == EndpointStatus.IN_SERVICE.value

        wait(ready, "the model's endpoint coming into service")
        print(
            f"model trained ({self.args.epochs} epochs, ResNet-20, {len(train_y)} digits) and its endpoint in "
            f"service after {time.monotonic() - started:.1f} s"
        )
        held_out = rng.permutation(rest)[: self.args.images]
        return digits.images[held_out], digits.target[held_out]

    def label(self, folder: str, images: np.ndarray) -> tuple[list[dict[str, Any]], float]:
        """Uploads the images under batch/<dataset>/<folder>/ and waits until they are labeled; their batch items
        (one, unless the window cut the uploads in two) and the seconds from the last upload to the last
        `labeled`."""
        before = {batch["batch_id"] for batch in self.table.query(DATASET, BATCH_SK_PREFIX)}
        uploads = [(f"{layout.BATCH}{DATASET}/{folder}/{i:03d}.png", digit_png(x)) for i, x in enumerate(images)]
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(lambda upload: self.put(*upload), uploads))
        last_upload = datetime.now(UTC)

        def labeled() -> list[dict[str, Any]] | None:
            batches = [b for b in self.table.query(DATASET, BATCH_SK_PREFIX) if b["batch_id"] not in before]
            for batch in batches:
                if batch["status"] in (BatchStatus.FAILED.value, BatchStatus.STOPPED.value):
                    raise RuntimeError(f"batch {batch['batch_id']} {batch['status']}: {batch.get('reason')}")
            done = all(batch["status"] == BatchStatus.LABELED.value for batch in batches)
            return batches if done and sum(int(b["images"]) for b in batches) == len(images) else None

        batches = wait(labeled, f"the images under {folder}/ being labeled")
        at = max(datetime.fromisoformat(batch["history"][-1]["at"]) for batch in batches)
        return batches, (at - last_upload).total_seconds()

    def labels_right(self, batches: list[dict[str, Any]], truth: np.ndarray) -> int:
        right = 0
        for batch in batches:
            key = batch["predictions_uri"].removeprefix(f"s3://{self.bucket}/")
            for line in self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().splitlines():
                row = json.loads(line)
                right += row["label"] == NAMES[truth[int(row["image_uri"].rsplit("/", 1)[1][:3])]]
        return right

    def transform_jobs(self) -> list[str]:
        return [job["TransformJobName"] for job in self.sagemaker.list_transform_jobs()["TransformJobSummaries"]]


def report(path: str, batches: list[dict[str, Any]], seconds: float, window: int, right: int, images: int) -> None:
    past = seconds - window
    met = "met" if past <= TARGET_SECONDS else f"missed by {past - TARGET_SECONDS:.1f} s"
    by = ", ".join(f"{kind} {name}" for batch in batches for kind, name in batch["labeled_by"].items())
    print(
        f"{path}: {images} images in {len(batches)} batch(es) labeled {seconds:.1f} s after the last upload "
        f"(batching window {window} s + {past:.1f} s; target window + {TARGET_SECONDS} s: {met}); labeled by {by}; "
        f"{right}/{images} labels right"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--window", type=int, default=10, help="BatchMaximumBatchingWindowSeconds")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    # The stack's own INFO lines would drown the figures; what goes wrong still shows.
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, handlers=[console])
    with tempfile.TemporaryDirectory(prefix="icflow-small-batch-") as work:
        options = StackOptions(
            template=REPO / "template.yaml",
            work_dir=Path(work),
            state_file=Path(work) / "local.json",
            parameters={"BatchMaximumBatchingWindowSeconds": str(args.window)},
        )
        with LocalStack(options) as stack:
            bench = Bench(stack, args)
            images, truth = bench.train()

            fast, fast_seconds = bench.label("by-endpoint", images)
            jobs_after_fast = bench.transform_jobs()
            report("endpoint path", fast, fast_seconds, args.window, bench.labels_right(fast, truth), len(images))
            print(f"  transform jobs started for it: {len(jobs_after_fast)}")

            # The baseline: the same images, with the endpoint path turned off for the dataset.
            bench.put(layout.pipeline_key(DATASET), pipeline(args.epochs, batch_max_images=0))
            slow, slow_seconds = bench.label("by-transform-job", images)
            report("transform path", slow, slow_seconds, args.window, bench.labels_right(slow, truth), len(images))
            print(
                f"  after the window: endpoint {fast_seconds - args.window:.1f} s, transform job "
                f"{slow_seconds - args.window:.1f} s ({(slow_seconds - args.window) / max(fast_seconds - args.window, 0.001):.1f}x); "
                "in AWS a transform job adds minutes of instance start-up, which the local SageMaker does not"
            )
            denials = stack.authorizer.denials
            if denials:
                raise SystemExit(f"{len(denials)} calls AWS would refuse, e.g. {denials[0].message}")


if __name__ == "__main__":
    main()
