"""Label transform outputs from a moto S3 server: icflow's labeler beside the seed notebook's loop.

The parent starts moto's ThreadedMotoServer on a free 127.0.0.1 port and puts COUNT outputs of a
257-class model (Caltech-256, as in the seed notebook). Each side then runs in its own subprocess, so
its peak RSS (VmHWM) is its own; a second subprocess per side measures the Python heap peak with
tracemalloc, which would slow the timed run. Sides:

- icflow: `icflow.batch.predictions.labeler.label_batch`, which also writes predictions.jsonl,
  predictions.csv and summary.json back to S3.
- seed: the notebook's `get_label` — list the outputs, then one `download_file` and `json.load` per
  output, one after another (listing paginated, or the notebook's single call would stop at 1,000).
- icflow again on a tenth of the outputs, and on --synthetic-count (100,000) outputs generated in process:
  equal memory at 1,000, 10,000 and 100,000 images shows it does not grow with the count.

Usage: .venv/bin/python benchmarks/label_outputs_bench.py [--count 10000] [--max-in-flight 16]
       [--synthetic-count 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BUCKET = "icflow-bench"
DATASET = "caltech"
NUM_CLASSES = 257
# The full run, and a tenth of it for icflow alone: equal memory for both shows it does not grow with the count.
BATCH_ID = "bench-full"
TENTH_BATCH_ID = "bench-tenth"


def client(endpoint: str, pool: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=pool),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def put_outputs(endpoint: str, count: int) -> None:
    from icflow.batch.manifest import output_key

    s3 = client(endpoint, pool=16)
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(7)

    def put(item: tuple[str, int]) -> None:
        batch_id, i = item
        weights = [rng.random() for _ in range(NUM_CLASSES)]
        total = sum(weights)
        body = json.dumps({"prediction": [w / total for w in weights]}).encode()
        s3.put_object(Bucket=BUCKET, Key=output_key(DATASET, batch_id, f"test/{i:06d}.jpg"), Body=body)

    items = [(BATCH_ID, i) for i in range(count)] + [(TENTH_BATCH_ID, i) for i in range(count // 10)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, items))


def run_icflow(s3: Any, batch_id: str, max_in_flight: int) -> int:
    from icflow.batch.predictions.labeler import LabelingRequest, label_batch
    from icflow.core.class_names import choose_class_names

    names = choose_class_names("\n".join(f"{i + 1:03d}.class-{i}" for i in range(NUM_CLASSES)), None)
    request = LabelingRequest(BUCKET, DATASET, batch_id, "bench-model", "bench-job", names)
    return label_batch(s3, request, max_in_flight=max_in_flight).summary["images"]["labeled"]


def run_seed(s3: Any, batch_id: str) -> int:
    import numpy as np

    object_categories = [f"{i + 1:03d}.class-{i}" for i in range(NUM_CLASSES)]
    paginator = s3.get_paginator("list_objects_v2")
    outputs = [
        item["Key"]
        for page in paginator.paginate(Bucket=BUCKET, Prefix=f"transform-output/{DATASET}/{batch_id}/")
        for item in page.get("Contents", ())
    ]
    labels = []
    with tempfile.TemporaryDirectory() as folder:
        for key in outputs:
            filename = os.path.join(folder, key.split("/")[-1])
            s3.download_file(BUCKET, key, filename)
            with open(filename) as file:
                data = json.load(file)
                index = np.argmax(data["prediction"])
                labels.append((object_categories[index], data["prediction"][index]))
    return len(labels)


class SyntheticS3:
    """Just enough of an S3 client for label_batch, generating outputs on demand instead of storing them.

    It holds nothing per image, so the figures it gives are the labeler's own, at counts a moto server
    would need tens of minutes to serve.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.uploaded: dict[str, int] = {}
        rng = random.Random(7)
        # A few hundred distinct bodies, cycled: parsing cost is real, generation cost is not measured.
        self.bodies = []
        for _ in range(256):
            weights = [rng.random() for _ in range(NUM_CLASSES)]
            total = sum(weights)
            self.bodies.append(json.dumps({"prediction": [w / total for w in weights]}).encode())

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str, PaginationConfig: dict[str, int]) -> Iterator[dict[str, Any]]:
        size = PaginationConfig["PageSize"]
        for start in range(0, self.count, size):
            keys = range(start, min(start + size, self.count))
            yield {"Contents": [{"Key": f"{Prefix}test/{i:07d}.jpg.out"} for i in keys]}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if not Key.endswith(".out"):
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        index = int(Key.rsplit("/", 1)[1].split(".")[0])
        return {"Body": io.BytesIO(self.bodies[index % len(self.bodies)])}

    def upload_file(self, Filename: str, Bucket: str, Key: str, ExtraArgs: dict[str, str]) -> None:
        self.uploaded[Key] = os.path.getsize(Filename)

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.uploaded[Key] = len(Body)


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: after fork and exec it still counts the
    parent's size at the fork, which here is the moto server holding every output."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(side: str, endpoint: str, batch_id: str, count: int, max_in_flight: int, trace: bool) -> None:
    """One side in this process; prints one JSON line of figures."""
    import numpy  # noqa: F401

    import icflow.batch.predictions.labeler  # noqa: F401

    # Imports and the client (botocore's S3 model is about 10 MB of heap) come before the baseline, the
    # same for every side, so the figures are the labeling's own.
    if side == "synthetic":
        s3: Any = SyntheticS3(count)
    else:
        s3 = client(endpoint, pool=max_in_flight + 4)
        s3.head_bucket(Bucket=BUCKET)
    baseline = memory_mb("VmRSS")
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if side == "seed":
        images = run_seed(s3, batch_id)
    else:
        images = run_icflow(s3, batch_id or "synthetic", max_in_flight)
    seconds = time.perf_counter() - started
    figures = {
        "images": images,
        "seconds": seconds,
        "baseline_rss_mb": baseline,
        "max_rss_mb": memory_mb("VmHWM"),
    }
    if trace:
        figures["heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(figures))


def measure(side: str, endpoint: str, batch_id: str, count: int, max_in_flight: int, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", side, "--endpoint", endpoint, "--batch-id", batch_id]
    command += ["--count", str(count), "--max-in-flight", str(max_in_flight)] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--synthetic-count", type=int, default=100_000, help="0 skips the synthetic run")
    parser.add_argument("--child", choices=("icflow", "seed", "synthetic"))
    parser.add_argument("--endpoint")
    parser.add_argument("--batch-id", default=BATCH_ID)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.batch_id, args.count, args.max_in_flight, args.trace)
        return

    from moto.server import ThreadedMotoServer

    # verbose=False leaves werkzeug's line per request, which would cost the server more than the requests.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    tenth = args.count // 10
    # (side, S3 it reads, batch, images)
    runs = [("icflow", "moto", BATCH_ID, args.count), ("seed", "moto", BATCH_ID, args.count)]
    runs.append(("icflow", "moto", TENTH_BATCH_ID, tenth))
    if args.synthetic_count:
        runs.append(("synthetic", "generated", "", args.synthetic_count))
    rows = []
    try:
        started = time.perf_counter()
        put_outputs(endpoint, args.count)
        seconds = time.perf_counter() - started
        print(f"put {args.count + tenth} transform outputs ({NUM_CLASSES} classes) in {seconds:.1f} s")
        for side, source, batch_id, count in runs:
            timed = measure(side, endpoint, batch_id, count, args.max_in_flight, trace=False)
            traced = measure(side, endpoint, batch_id, count, args.max_in_flight, trace=True)
            if timed["images"] != count or traced["images"] != count:
                raise SystemExit(f"{side} labeled {timed['images']} of {count} outputs")
            rows.append((side, source, count, timed, traced))
    finally:
        server.stop()

    header = ("side", "S3", "images", "images/s", "seconds", "RSS before MB", "peak RSS MB", "heap peak MB")
    print("\n{:<9} {:<9} {:>7} {:>9} {:>8} {:>14} {:>12} {:>13}".format(*header))
    for side, source, count, timed, traced in rows:
        print(
            f"{side:<9} {source:<9} {count:>7} {count / timed['seconds']:>9.0f} {timed['seconds']:>8.1f} "
            f"{timed['baseline_rss_mb']:>14.0f} {timed['max_rss_mb']:>12.0f} {traced['heap_peak_mb']:>13.1f}"
        )
    print(
        f"\nicflow: label_batch with --max-in-flight {args.max_in_flight}, also writing predictions.jsonl/.csv and "
        "summary.json to S3; seed: list, then one download_file + json.load per output, one after another; "
        "synthetic: label_batch against an in-process stand-in for S3 that generates outputs, to show memory "
        "at counts moto cannot serve quickly. Heap peak: tracemalloc in a second run of each, counted from "
        f"after imports. Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, moto server in the parent process."
    )


if __name__ == "__main__":
    main()
