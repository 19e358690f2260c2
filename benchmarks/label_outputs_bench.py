"""Label transform outputs from S3 at S3's pace: icflow's labeler beside the seed notebook's loop.

The parent starts moto's server twice on free 127.0.0.1 ports, sharing one store: a plain one to put COUNT
outputs of a 257-class model (Caltech-256, as in the seed notebook), and one behind S3Latency
(icflow_tools.local_stack.s3_latency) that delays every S3 request by a seeded uniform draw of 20-50 ms, as
S3's first-byte latency does; both sides read through it. Each side runs in its own subprocess, so its peak
RSS (VmHWM) is its own; a second subprocess per side measures the Python heap peak with tracemalloc, which
would slow the timed run. Sides:

- icflow: `icflow.batch.predictions.labeler.label_batch`, with the S3 client wiring.py builds (its connection
  pool), which also writes predictions.jsonl, predictions.csv and summary.json back to S3.
- seed: the notebook's `get_label` — list the outputs, then one `download_file` (a HeadObject and a
  GetObject) and `json.load` per output, one after another (listing paginated, or the notebook's single
  call would stop at 1,000). Two requests of 20-50 ms per output add up to about 15 minutes for 10,000
  outputs, so by default it lists all of them and labels the first --seed-sample (200); its time for all is
  its listing plus its measured time per output times the count.
- icflow again on --generated-counts outputs, through a real boto3 client whose answers are generated in
  process (generated_s3.py; no latency, nothing stored): equal memory at 10,000 and 100,000 outputs shows it
  does not grow with the count.

Usage: .venv/bin/python benchmarks/label_outputs_bench.py [--count 10000] [--max-in-flight 16]
       [--latency-ms 20 50] [--seed-sample 200 (0: all)] [--generated-counts 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BUCKET = "icflow-bench"
DATASET = "caltech"
NUM_CLASSES = 257
BATCH_ID = "bench"
HOST = "127.0.0.1"


def client(endpoint: str, pool: int = 10) -> Any:
    """An S3 client of the endpoint; pool 10 is botocore's default, the notebook's client."""
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


def put_outputs(endpoint: str, count: int) -> None:
    from icflow.batch.manifest import output_key

    s3 = client(endpoint, pool=16)
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(7)

    def put(i: int) -> None:
        weights = [rng.random() for _ in range(NUM_CLASSES)]
        total = sum(weights)
        body = json.dumps({"prediction": [w / total for w in weights]}).encode()
        s3.put_object(Bucket=BUCKET, Key=output_key(DATASET, BATCH_ID, f"test/{i:06d}.jpg"), Body=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(count)))


def run_icflow(s3: Any, batch_id: str, max_in_flight: int) -> dict[str, Any]:
    from icflow.batch.predictions.labeler import LabelingRequest, label_batch
    from icflow.core.class_names import choose_class_names

    names = choose_class_names("\n".join(f"{i + 1:03d}.class-{i}" for i in range(NUM_CLASSES)), None)
    request = LabelingRequest(BUCKET, DATASET, batch_id, "bench-model", "bench-job", names)
    return {"images": label_batch(s3, request, max_in_flight=max_in_flight).summary["images"]["labeled"]}


def run_seed(s3: Any, batch_id: str, sample: int) -> dict[str, Any]:
    """The notebook's list_objects and get_label loop over the first `sample` outputs (all when 0)."""
    import numpy as np

    object_categories = [f"{i + 1:03d}.class-{i}" for i in range(NUM_CLASSES)]
    started = time.perf_counter()
    paginator = s3.get_paginator("list_objects_v2")
    outputs = [
        item["Key"]
        for page in paginator.paginate(Bucket=BUCKET, Prefix=f"transform-output/{DATASET}/{batch_id}/")
        for item in page.get("Contents", ())
    ]
    list_seconds = time.perf_counter() - started
    labels = []
    with tempfile.TemporaryDirectory() as folder:
        for key in outputs[:sample] if sample else outputs:
            filename = os.path.join(folder, key.split("/")[-1])
            s3.download_file(BUCKET, key, filename)
            with open(filename) as file:
                data = json.load(file)
                index = np.argmax(data["prediction"])
                labels.append((object_categories[index], data["prediction"][index]))
    return {"images": len(labels), "listed": len(outputs), "list_seconds": list_seconds}


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: after fork and exec it still counts the
    parent's size at the fork, which here is the moto server holding every output."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(side: str, endpoint: str, count: int, max_in_flight: int, trace: bool) -> None:
    """One side in this process; prints one JSON line of figures. `count`: the generated outputs, or the
    seed's sample (0: all)."""
    import numpy  # noqa: F401

    import icflow.batch.predictions.labeler  # noqa: F401
    from icflow.core.s3_objects import MAX_CONNECTIONS

    # Imports and the client (botocore's S3 model is about 10 MB of heap) come before the baseline, the
    # same for every side, so the figures are the labeling's own.
    if side == "generated":
        from generated_s3 import GeneratedS3

        s3: Any = GeneratedS3(count, NUM_CLASSES).client()
    elif side == "seed":
        s3 = client(endpoint)
    else:
        # The pool wiring.py gives the functions' client, or more when asked for more requests in flight.
        s3 = client(endpoint, pool=max(MAX_CONNECTIONS, max_in_flight))
    s3.head_bucket(Bucket=BUCKET)
    baseline = memory_mb("VmRSS")
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if side == "seed":
        figures = run_seed(s3, BATCH_ID, count)
    else:
        figures = run_icflow(s3, BATCH_ID, max_in_flight)
    figures["seconds"] = time.perf_counter() - started
    figures["baseline_rss_mb"] = baseline
    figures["max_rss_mb"] = memory_mb("VmHWM")
    if trace:
        figures["heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(figures))


def measure(side: str, endpoint: str, count: int, max_in_flight: int, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", side, "--endpoint", endpoint]
    command += ["--count", str(count), "--max-in-flight", str(max_in_flight)] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    from icflow.batch.predictions.labeler import DEFAULT_MAX_IN_FLIGHT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 50.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--latency-seed", type=int, default=7)
    parser.add_argument("--seed-sample", type=int, default=200, help="outputs the seed's loop labels; 0: all")
    parser.add_argument("--generated-counts", type=counts, default=[1_000, 10_000, 100_000], help="'' skips them")
    parser.add_argument("--child", choices=("icflow", "seed", "generated"))
    parser.add_argument("--endpoint")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.count, args.max_in_flight, args.trace)
        return

    from icflow_tools.local_stack.moto_server import MotoServer
    from icflow_tools.local_stack.s3_latency import S3Latency, S3LatencyRange

    # Without it werkzeug logs a line per request, which would cost the server more than the requests.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    latency = S3Latency(S3LatencyRange(args.latency_ms[0] / 1000, args.latency_ms[1] / 1000), args.latency_seed)
    # moto's store is the process's: what goes in through the plain server is read through the delayed one.
    plain = MotoServer(HOST, 0).start()
    delayed = MotoServer(HOST, 0, latency).start()
    sample = min(args.seed_sample, args.count) if args.seed_sample else 0
    # (side, S3 it reads, outputs in the batch, outputs the side labels)
    runs = [("icflow", "delayed", args.count, args.count), ("seed", "delayed", args.count, sample or args.count)]
    runs += [("icflow", "generated", count, count) for count in args.generated_counts]
    rows = []
    try:
        started = time.perf_counter()
        put_outputs(plain.url, args.count)
        seconds = time.perf_counter() - started
        print(f"put {args.count} transform outputs ({NUM_CLASSES} classes) in {seconds:.1f} s, without latency")
        for side, source, outputs, labels in runs:
            requests_before = latency.delayed_requests
            child_side = "generated" if source == "generated" else side
            child_count = sample if side == "seed" else outputs
            timed = measure(child_side, delayed.url, child_count, args.max_in_flight, trace=False)
            requests = latency.delayed_requests - requests_before
            traced = measure(child_side, delayed.url, child_count, args.max_in_flight, trace=True)
            if timed["images"] != labels or traced["images"] != labels:
                raise SystemExit(f"{side} labeled {timed['images']} of {labels} outputs")
            # The seed's extrapolation counts on its listing having seen every output.
            if timed.get("listed", outputs) != outputs:
                raise SystemExit(f"seed listed {timed['listed']} of {outputs} outputs")
            rows.append((side, source, outputs, labels, requests, timed, traced))
    finally:
        delayed.stop()
        plain.stop()
    report(args, latency, rows)


def report(args: argparse.Namespace, latency: Any, rows: list[tuple[Any, ...]]) -> None:
    header = ("side", "S3", "outputs", "labeled", "seconds", "labeled/s", "S3 requests", "RSS before MB")
    header += ("peak RSS MB", "RSS growth MB", "heap peak MB")
    print("\n{:<9} {:<9} {:>7} {:>7} {:>8} {:>9} {:>11} {:>13} {:>11} {:>13} {:>12}".format(*header))
    for side, source, outputs, labels, requests, timed, traced in rows:
        print(
            f"{side:<9} {source:<9} {outputs:>7} {labels:>7} {timed['seconds']:>8.1f} "
            f"{labels / timed['seconds']:>9.1f} {requests if source == 'delayed' else '-':>11} "
            f"{timed['baseline_rss_mb']:>13.0f} {timed['max_rss_mb']:>11.0f} "
            f"{timed['max_rss_mb'] - timed['baseline_rss_mb']:>13.1f} {traced['heap_peak_mb']:>12.1f}"
        )

    low, high = args.latency_ms
    mean_ms = 1000 * latency.delayed_seconds / max(latency.delayed_requests, 1)
    print(
        f"\nS3 latency: {low:g}-{high:g} ms per request, uniform (seed {args.latency_seed}), injected at the server "
        f"in front of moto; mean drawn {mean_ms:.1f} ms over {latency.delayed_requests} requests."
    )
    icflow = rows[0][5]
    _, _, outputs, labels, _, seed, _ = rows[1]
    # The seed's time for every output: its listing as measured, then its measured rate per output.
    per_output = (seed["seconds"] - seed["list_seconds"]) / labels
    seed_seconds = seed["list_seconds"] + per_output * outputs
    how = (
        "measured"
        if labels == outputs
        else f"extrapolated from its first {labels} (listing {seed['list_seconds']:.1f} s)"
    )
    ratio = seed_seconds / icflow["seconds"]
    print(
        f"{outputs} outputs: icflow {icflow['seconds']:.1f} s ({outputs / icflow['seconds']:.0f} outputs/s, "
        f"max_in_flight {args.max_in_flight}); seed's loop {1000 * per_output:.1f} ms per output "
        f"({1 / per_output:.1f} outputs/s), {seed_seconds:.0f} s for all, {how}. "
        f"icflow is {ratio:.1f}x the seed's loop (target 10x: {'met' if ratio >= 10 else 'missed'})."
    )
    for side, source, outputs, _, _, timed, traced in rows:
        if side == "icflow":
            growth = timed["max_rss_mb"] - timed["baseline_rss_mb"]
            print(
                f"icflow's memory at {outputs} outputs ({source} S3): peak RSS {timed['max_rss_mb']:.0f} MB "
                f"({growth:.1f} MB above its RSS after imports), heap peak {traced['heap_peak_mb']:.1f} MB."
            )
    print(
        "\nicflow: label_batch, also writing predictions.jsonl/.csv and summary.json to S3; seed: the notebook's "
        "list, then one download_file (HeadObject + GetObject) + json.load per output, one after another; "
        "generated: label_batch with a real boto3 client whose answers are generated in process (no latency, "
        "nothing stored), to show memory at counts moto cannot serve quickly. RSS growth: peak RSS above the RSS "
        "after imports. "
        "Heap peak: tracemalloc in a second run of each, counted from after imports. "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, moto's servers in the parent process."
    )


if __name__ == "__main__":
    main()
