"""Whether a run of class folders prepares within the upload function's limits: time and peak memory of
icflow.training.class_folders.ClassFolders.prepare at 100,000 images and at a million.

The issue asks that 100,000 images across 1,000 classes prepare within Lambda's limits with bounded memory;
DatasetUploadFunction, which prepares them, has 600 s and 1,024 MB (template.yaml; Lambda allows 900 s and
10,240 MB). Every image costs two ranged GETs (its first and last bytes), so the time is S3's latency times
the images over the GETs in flight, plus the client's CPU; the memory is what prepare holds per key.

S3 is a real boto3 client whose answers are generated in process (generated_class_folders.py, on
generated_s3.py): 1,000-key listing pages of `class-XXXX/img-YYYYYY.jpg`, JPEG first and last bytes (one image
in 1,000 cut off, so skipped.jsonl is written too), uploads drained and dropped. Every request waits
--latency-ms in its thread first, as S3's time to first byte (20-50 ms). Each case runs in a subprocess of its
own, so its peak RSS (VmHWM of /proc/self/status, what Lambda's "Max Memory Used" counts; not ru_maxrss,
which after fork and exec still holds the parent's size) and its CPU seconds (getrusage) are its own. Cases:

- list: S3Objects.list of the same keys only, the baseline to read the others against on a shared machine;
- prepare: ClassFolders.prepare with no class names (the folders sorted), the default split, --workers GETs
  in flight; its split (split_classes) and its writing (_write) are timed on their own, the rest being the
  listing and the checks.

At --big-keys (a million) the GETs cannot wait S3's latency here in reasonable time, so that size runs with
no latency and the report adds the S3 wait it would have had (GETs x latency / workers, plus the listing's
pages one after another). Lambda at 1,024 MB has about 0.58 of a vCPU (1,769 MB is one), so CPU seconds
measured here count for about 1.7 times as many there.

Usage: .venv/bin/python benchmarks/class_folders_bench.py [--images 100000] [--classes 1000] [--latency-ms 25]
       [--workers 64] [--big-keys 1000000]     (quick: --images 2000 --big-keys 20000)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

BUCKET = "icflow-bench"
DATASET = "bench"
RUN_ID = "run-bench"
# One image in this many has no end marker: the checks must leave exactly those out.
TRUNCATED_EVERY = 1000
# Classes get at least this many images (fewer classes in a quick run), so none is left with too few to split.
MIN_IMAGES_PER_CLASS_HERE = 10
TIMEOUT_S = 600
MEMORY_MB = 1024
# Lambda gives one vCPU at 1,769 MB and CPU in proportion to memory.
VCPU_AT_MEMORY = MEMORY_MB / 1769


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(phases: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, adding its wall time to phases[name] and the RSS when it starts to phases[name + "_rss_mb"]."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        phases[name + "_rss_mb"] = memory_mb("VmRSS")
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def child(case: str, keys: int, classes: int, latency_ms: float, workers: int) -> None:
    """One case in this process; prints one JSON line of figures."""
    from generated_class_folders import GeneratedClassFolders

    from icflow.core import layout
    from icflow.core.class_names import ClassNames
    from icflow.core.pipeline_config import SplitSettings
    from icflow.core.s3_objects import S3Objects
    from icflow.training import class_folders, image_checks

    bucket = GeneratedClassFolders(keys, classes, latency_ms / 1000, TRUNCATED_EVERY)
    s3 = bucket.client(pool=workers)  # as icflow.wiring builds the checks' client: a pool as wide as the checks
    objects = S3Objects(s3, BUCKET)
    image_checks.CHECK_WORKERS = workers
    # The client's first request loads its endpoint rules and models: before the baseline, as in a warm Lambda.
    s3.head_bucket(Bucket=BUCKET)
    phases: dict[str, float] = {}
    class_folders.split_classes = timed(phases, "split", class_folders.split_classes)  # type: ignore[assignment]
    class_folders.ClassFolders._write = timed(phases, "write", class_folders.ClassFolders._write)  # type: ignore[method-assign]
    bucket.requests.clear()
    bucket.answer_cpu_seconds = 0.0
    figures: dict[str, Any] = {"rss_before_mb": memory_mb("VmRSS")}
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if case == "list":
        figures["listed"] = len(objects.list(layout.images_prefix(DATASET)))
    else:
        folders = class_folders.ClassFolders(s3, objects, image_checks.ImageChecks(s3, objects))
        prepared = folders.prepare(DATASET, RUN_ID, ClassNames((), "class index"), SplitSettings())
        figures |= {
            "classes": len(prepared.class_names.names),
            "train": prepared.train.records,
            "validation": prepared.validation.records,
            "skipped": prepared.skipped["count"],
        }
    figures |= {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu_before,
        "peak_rss_mb": memory_mb("VmHWM"),
        "requests": dict(bucket.requests),
        "answer_cpu_seconds": bucket.answer_cpu_seconds,
        "phases": phases,
    }
    print(json.dumps(figures))


def measure(case: str, keys: int, classes: int, latency_ms: float, workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", case, "--images", str(keys), "--classes", str(classes)]
    command += ["--latency-ms", str(latency_ms), "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=4 * 3600)
    if done.returncode:
        raise SystemExit(f"{case} of {keys} keys failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if case == "list" and figures["listed"] != keys:
        raise SystemExit(f"listed {figures['listed']} of {keys} keys")
    if case == "prepare":
        # The generated bucket's truncated images are its numbers TRUNCATED_EVERY - 1, 2 * TRUNCATED_EVERY - 1, ...
        expected_skipped = keys // TRUNCATED_EVERY
        prepared = figures["train"] + figures["validation"]
        if figures["skipped"] != expected_skipped or prepared != keys - expected_skipped:
            raise SystemExit(f"prepared {prepared} and skipped {figures['skipped']} of {keys} keys: {figures}")
        if figures["classes"] != classes:
            raise SystemExit(f"found {figures['classes']} of {classes} classes")
    return figures


def main() -> None:
    from icflow.training.image_checks import CHECK_WORKERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000, help="images of the case with latency")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="S3's time to first byte, per request")
    parser.add_argument("--workers", type=int, default=CHECK_WORKERS, help="ranged GETs in flight")
    parser.add_argument("--big-keys", type=int, default=1_000_000, help="images of the case without latency")
    parser.add_argument("--child", choices=("list", "prepare"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.images, args.classes, args.latency_ms, args.workers)
        return

    cases = [(case, args.images, args.latency_ms) for case in ("list", "prepare")]
    cases += [(case, args.big_keys, 0.0) for case in ("list", "prepare")]
    rows = []
    for case, keys, latency_ms in cases:
        # A quick run's few images per class would leave a class with a cut-off image too few to split.
        classes = min(args.classes, keys // MIN_IMAGES_PER_CLASS_HERE)
        print(f"{case} {keys} keys in {classes} classes, {latency_ms:g} ms per request ...", flush=True)
        rows.append((case, keys, classes, latency_ms, measure(case, keys, classes, latency_ms, args.workers)))
    report(args, rows)


def report(args: argparse.Namespace, rows: list[tuple[str, int, int, float, dict[str, Any]]]) -> None:
    header = (
        "case",
        "keys",
        "classes",
        "latency ms",
        "seconds",
        "CPU s",
        "RSS before MB",
        "peak RSS MB",
        "GETs",
        "LIST",
    )
    header += ("fits 600 s", "fits 1024 MB")
    line = "{:<8} {:>8} {:>7} {:>10} {:>8} {:>7} {:>13} {:>11} {:>8} {:>5} {:>10} {:>12}"
    print("\n" + line.format(*header))
    for case, keys, classes, latency_ms, figures in rows:
        requests = figures["requests"]
        print(
            line.format(
                case,
                keys,
                classes,
                f"{latency_ms:g}",
                f"{figures['seconds']:.1f}",
                f"{figures['cpu_seconds']:.1f}",
                f"{figures['rss_before_mb']:.0f}",
                f"{figures['peak_rss_mb']:.0f}",
                requests.get("GET", 0),
                requests.get("LIST", 0),
                "yes" if figures["seconds"] <= TIMEOUT_S else "NO",
                "yes" if figures["peak_rss_mb"] <= MEMORY_MB else "NO",
            )
        )
    print()
    for case, keys, _, latency_ms, figures in rows:
        if case != "prepare":
            continue
        phases = figures["phases"]
        rest = figures["seconds"] - phases["split"] - phases["write"]
        print(
            f"prepare {keys}: listing and checks {rest:.1f} s, split {phases['split']:.1f} s (RSS at its start "
            f"{phases['split_rss_mb']:.0f} MB), writing {phases['write']:.1f} s (RSS at its start "
            f"{phases['write_rss_mb']:.0f} MB); {figures['train']} train, {figures['validation']} validation, "
            f"{figures['skipped']} skipped; requests {figures['requests']}."
        )
        # The generated answers' own CPU is no part of what Lambda would spend.
        client_cpu = figures["cpu_seconds"] - figures["answer_cpu_seconds"]
        cpu_in_lambda = client_cpu / VCPU_AT_MEMORY
        gets = figures["requests"].get("GET", 0)
        print(
            f"  CPU {figures['cpu_seconds']:.1f} s here, of which the generated answers {figures['answer_cpu_seconds']:.1f} s; "
            f"the rest, {client_cpu:.1f} s ({1000 * client_cpu / max(gets, 1):.2f} ms per GET), is about "
            f"{cpu_in_lambda:.0f} s on Lambda's {VCPU_AT_MEMORY:.2f} vCPU at {MEMORY_MB} MB."
        )
        if latency_ms == 0 and args.latency_ms:
            pages = figures["requests"].get("LIST", 0)
            wait = gets * args.latency_ms / 1000 / args.workers
            listing = pages * args.latency_ms / 1000
            low, high = max(cpu_in_lambda, wait + listing), cpu_in_lambda + wait + listing
            print(
                f"  run without latency; at {args.latency_ms:g} ms the S3 wait would be {gets} GETs x "
                f"{args.latency_ms:g} ms / {args.workers} workers = {wait:.0f} s, plus {pages} listing pages one "
                f"after another = {listing:.0f} s; with Lambda's CPU, {low:.0f}-{high:.0f} s in all "
                f"(CPU and waits overlapping fully or not at all): "
                f"{'within' if high <= TIMEOUT_S else 'over' if low > TIMEOUT_S else 'around'} {TIMEOUT_S} s."
            )
    print(
        f"\nPeak RSS: VmHWM of each case's own process (interpreter, boto3 and icflow included; RSS before: after "
        f"imports and the client's first request). CPU s: user + system of that process, the generated answers' included. Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs here, shared."
    )


if __name__ == "__main__":
    main()
