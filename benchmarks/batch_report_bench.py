"""Render the biggest batch report at S3's pace: a 10,000-image batch's page, beside the labeling it follows.

A batch holds at most 10,000 images (the collector's BatchMaximumBatchSize) and its report embeds a thumbnail of
each, read from S3; the report function has 2,048 MB and 900 s (template.yaml, ReportsFunction). These figures
say how far from those limits the biggest page is rendered.

As label_outputs_bench.py (whose constants and helpers this reuses), the parent starts moto's server twice on
free 127.0.0.1 ports, sharing one store: a plain one to put the batch, and one behind S3Latency that delays
every S3 request by a seeded uniform draw of 20-50 ms, as S3's first-byte latency does; both sides read
through it, each in its own subprocess so that its peak RSS (VmHWM) is its own. The batch: COUNT photo-like
640x480 JPEGs (DISTINCT_IMAGES made with Pillow, cycled) in CLASSES class folders named after the first classes
of a 257-class model, one transform output per image where SageMaker writes it, the model right about
ACCURACY of the time (so the page has its accuracy section and misclassified gallery too), and the batch's
inputs report. Sides:

- labeling: `icflow.batch.predictions.labeler.label_batch`, as label_outputs_bench runs it, which writes the
  predictions.jsonl and summary.json the report reads: the time the batch already took before its report.
- report: `RenderReports.batch_report`, built by `build_render_reports` on the functions' Adapters from the
  environment a function gets (events/env.json, pointed at the delayed server), as the report function builds
  it; its thumbnail fetcher is the wired one, timed.

Usage: .venv/bin/python benchmarks/batch_report_bench.py [--count 10000] [--latency-ms 20 50] [--save-page PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from label_outputs_bench import BATCH_ID, BUCKET, DATASET, HOST, NUM_CLASSES, client, memory_mb, run_icflow

REPO = Path(__file__).resolve().parents[1]
CLASSES = 10
DISTINCT_IMAGES = 20
WIDTH, HEIGHT = 640, 480
JPEG_QUALITY = 85
ACCURACY = 0.9
REGION = "us-east-1"
# The report function's limits (template.yaml, ReportsFunction).
LAMBDA_MEMORY_MB = 2048
LAMBDA_TIMEOUT_S = 900


def class_name(index: int) -> str:
    """The model's class names, as run_icflow gives them to the labeler."""
    return f"{index + 1:03d}.class-{index}"


def relative_key(index: int) -> str:
    """Image `index` below batch/<dataset>/: in the folder of its true class."""
    return f"{class_name(index % CLASSES)}/{index:05d}.jpg"


def photo(seed: int) -> bytes:
    """A 640x480 JPEG that compresses as a photo does: soft gradients and shapes, under a little sensor noise."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    bands = []
    for _ in range(3):
        gradient = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR)
        low, high = rng.randint(0, 100), rng.randint(150, 255)
        bands.append(
            gradient.resize((WIDTH, HEIGHT)).point(lambda v, low=low, high=high: low + v * (high - low) // 255)
        )
    image = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y, radius = rng.randrange(WIDTH), rng.randrange(HEIGHT), rng.randint(10, 120)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(rng.randrange(256) for _ in "rgb"))
    noise = Image.effect_noise((WIDTH, HEIGHT), rng.uniform(20, 40)).convert("RGB")
    image = Image.blend(image.filter(ImageFilter.GaussianBlur(2)), noise, 0.2)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def prediction(rng: random.Random, true_class: int) -> list[float]:
    """The model's probabilities for an image of `true_class`: that class first ACCURACY of the time, else
    another of the batch's classes; the rest of the mass spread thin over all 257."""
    wrong = rng.random() >= ACCURACY
    top = rng.choice([index for index in range(CLASSES) if index != true_class]) if wrong else true_class
    top_probability = rng.uniform(0.3, 0.7) if wrong else rng.uniform(0.5, 0.99)
    weights = [rng.random() for _ in range(NUM_CLASSES)]
    scale = (1 - top_probability) / sum(weights)
    probabilities = [weight * scale for weight in weights]
    probabilities[top] = top_probability
    return probabilities


def put_batch(endpoint: str, count: int) -> int:
    """The batch as the transform path leaves it: images, outputs, inputs report. Returns the images' bytes."""
    from icflow.batch.manifest import BatchPlan, input_prefix, output_key, write_batch_inputs

    photos = [photo(seed) for seed in range(DISTINCT_IMAGES)]
    s3 = client(endpoint, pool=16)
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(7)
    outputs = [json.dumps({"prediction": prediction(rng, index % CLASSES)}).encode() for index in range(count)]

    def put(index: int) -> int:
        relative, body = relative_key(index), photos[index % DISTINCT_IMAGES]
        s3.put_object(Bucket=BUCKET, Key=input_prefix(DATASET) + relative, Body=body, ContentType="image/jpeg")
        s3.put_object(Bucket=BUCKET, Key=output_key(DATASET, BATCH_ID, relative), Body=outputs[index])
        return len(body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        stored = sum(pool.map(put, range(count)))
    write_batch_inputs(s3, BatchPlan(BUCKET, DATASET, BATCH_ID, tuple(sorted(map(relative_key, range(count))))))
    return stored


@cache
def _timed_adapters() -> type:
    """Adapters whose thumbnail fetcher, the one wiring builds, times its thumbnails and keeps their problems.
    Defined on first use, in the report's child: the wiring and Pillow stay out of the labeling's process."""
    from icflow.core.s3_objects import MAX_CONNECTIONS
    from icflow.reports.thumbnails import Thumbnail, ThumbnailFetcher
    from icflow.wiring import Adapters

    class TimedThumbnails(ThumbnailFetcher):
        seconds = 0.0
        made = 0
        problems: tuple[str, ...] = ()

        def thumbnails(self, keys: Iterable[str]) -> dict[str, Thumbnail]:
            started = time.perf_counter()
            made = super().thumbnails(keys)
            self.seconds = time.perf_counter() - started
            self.made = len(made)
            self.problems = tuple(thumb.problem for thumb in made.values() if thumb.problem is not None)
            return made

    class TimedAdapters(Adapters):
        @cached_property
        def thumbnails(self) -> TimedThumbnails:
            return TimedThumbnails(self.s3, self.settings.data_bucket, max_workers=MAX_CONNECTIONS)

    return TimedAdapters


def run_report(count: int) -> dict[str, Any]:
    from icflow.core import layout
    from icflow.core.batch_labeled import BatchLabeledDetail
    from icflow.core.settings import current_settings
    from icflow.reports.render_reports import build_render_reports

    adapters = _timed_adapters()(current_settings())
    use_case = build_render_reports(adapters)
    prefix = f"s3://{BUCKET}/{layout.predictions_prefix(DATASET, BATCH_ID)}"
    detail = BatchLabeledDetail(
        stack="icflow",
        dataset=DATASET,
        batch_id=BATCH_ID,
        model_name="bench-model",
        summary_uri=prefix + "summary.json",
        predictions_uri=prefix + "predictions.jsonl",
        labeled=count,
    )
    adapters.s3.head_bucket(Bucket=BUCKET)
    baseline = memory_mb("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    outcome = use_case.batch_report(detail)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    if outcome.action != "rendered":
        raise SystemExit(f"the report was not rendered: {outcome.reason}")
    thumbnails = adapters.thumbnails
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "thumbnail_seconds": thumbnails.seconds,
        "images": thumbnails.made,
        "problems": list(thumbnails.problems[:5]),
        "problem_count": len(thumbnails.problems),
        "page_bytes": outcome.bytes,
        "baseline_rss_mb": baseline,
    }


def run_labeling(endpoint: str) -> dict[str, Any]:
    import icflow.batch.predictions.labeler  # noqa: F401
    from icflow.core.s3_objects import MAX_CONNECTIONS

    s3 = client(endpoint, pool=MAX_CONNECTIONS)  # the pool wiring.py gives the functions' client
    s3.head_bucket(Bucket=BUCKET)
    baseline = memory_mb("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    figures = run_icflow(s3, BATCH_ID, MAX_CONNECTIONS)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return {**figures, "seconds": seconds, "cpu_seconds": cpu_seconds, "baseline_rss_mb": baseline}


def child(side: str, endpoint: str, count: int) -> None:
    """One side in this process; prints one JSON line of figures."""
    figures = run_labeling(endpoint) if side == "labeling" else run_report(count)
    print(json.dumps({**figures, "max_rss_mb": memory_mb("VmHWM")}))


def child_environment(endpoint: str) -> dict[str, str]:
    """A function's environment, as the local stack gives it: the template's variables (events/env.json, as
    `sam local` has them) with this bucket, the clients pointed at `endpoint`."""
    from icflow_tools.local_stack.environment import client_environment, function_environment

    template = json.loads((REPO / "events" / "env.json").read_text())["Parameters"]
    return function_environment({**template, "DATA_BUCKET": BUCKET}, {}, client_environment(REGION, endpoint, None))


def measure(side: str, endpoint: str, count: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", side, "--endpoint", endpoint, "--count", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=child_environment(endpoint))
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 50.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--latency-seed", type=int, default=7)
    parser.add_argument("--save-page", type=Path, help="also write the rendered page here, to open in a browser")
    parser.add_argument("--child", choices=("labeling", "report"))
    parser.add_argument("--endpoint")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.count)
        return

    from icflow.core import layout
    from icflow_tools.local_stack.moto_server import MotoServer
    from icflow_tools.local_stack.s3_latency import S3Latency, S3LatencyRange

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request would cost more than the request
    latency = S3Latency(S3LatencyRange(args.latency_ms[0] / 1000, args.latency_ms[1] / 1000), args.latency_seed)
    plain = MotoServer(HOST, 0).start()
    delayed = MotoServer(HOST, 0, latency).start()
    rows = {}
    try:
        started = time.perf_counter()
        stored = put_batch(plain.url, args.count)
        print(
            f"put {args.count} images ({stored / 2**20:.0f} MB, {DISTINCT_IMAGES} distinct {WIDTH}x{HEIGHT} JPEGs "
            f"at quality {JPEG_QUALITY}, {CLASSES} class folders) and their outputs in "
            f"{time.perf_counter() - started:.1f} s, without latency"
        )
        for side in ("labeling", "report"):
            requests_before = latency.delayed_requests
            rows[side] = measure(side, delayed.url, args.count)
            rows[side]["requests"] = latency.delayed_requests - requests_before
            if rows[side]["images"] != args.count:
                raise SystemExit(f"{side} covered {rows[side]['images']} of {args.count} images")
        if args.save_page:
            page = client(plain.url).get_object(Bucket=BUCKET, Key=layout.batch_report_key(DATASET, BATCH_ID))
            args.save_page.write_bytes(page["Body"].read())
    finally:
        delayed.stop()
        plain.stop()
    report(args, latency, rows)


def report(args: argparse.Namespace, latency: Any, rows: dict[str, dict[str, Any]]) -> None:
    from icflow.core.s3_objects import MAX_CONNECTIONS

    mean = latency.delayed_seconds / max(latency.delayed_requests, 1)
    header = ("side", "images", "seconds", "s/1,000", "S3 floor s", "CPU s", "S3 requests", "RSS before MB")
    print("\n{:<9} {:>7} {:>8} {:>8} {:>10} {:>6} {:>11} {:>13} {:>11}".format(*header, "peak RSS MB"))
    for side, figures in rows.items():
        # What S3's latency alone costs, its requests MAX_CONNECTIONS at a time.
        floor = figures["requests"] * mean / MAX_CONNECTIONS
        print(
            f"{side:<9} {args.count:>7} {figures['seconds']:>8.1f} {1000 * figures['seconds'] / args.count:>8.2f} "
            f"{floor:>10.1f} {figures['cpu_seconds']:>6.1f} {figures['requests']:>11} "
            f"{figures['baseline_rss_mb']:>13.0f} {figures['max_rss_mb']:>11.0f}"
        )
    labeling, page = rows["labeling"], rows["report"]
    print(
        f"\nS3 latency: {args.latency_ms[0]:g}-{args.latency_ms[1]:g} ms per request, uniform (seed "
        f"{args.latency_seed}), injected at the server in front of moto; mean drawn {1000 * mean:.1f} ms over "
        f"{latency.delayed_requests} requests."
    )
    rest = page["seconds"] - page["thumbnail_seconds"]
    print(
        f"report of {args.count} images: {page['seconds']:.1f} s ({page['thumbnail_seconds']:.1f} s reading and "
        f"thumbnailing, {rest:.1f} s the rest: summary, predictions, the page and its PUT), "
        f"{page['page_bytes'] / 2**20:.1f} MB page, peak RSS {page['max_rss_mb']:.0f} MB; "
        f"{page['seconds'] / labeling['seconds']:.2f}x the labeling's {labeling['seconds']:.1f} s. Limits: "
        f"{LAMBDA_TIMEOUT_S} s ({100 * page['seconds'] / LAMBDA_TIMEOUT_S:.0f}% used), {LAMBDA_MEMORY_MB} MB "
        f"({100 * page['max_rss_mb'] / LAMBDA_MEMORY_MB:.0f}% used)."
    )
    examples = f", e.g. {page['problems']}" if page["problems"] else ""
    print(f"thumbnails with a problem: {page['problem_count']}{examples}")
    if args.save_page:
        print(f"page written to {args.save_page}")
    print(
        "\nlabeling: label_batch, writing predictions.jsonl/.csv and summary.json; report: RenderReports.batch_report "
        "as build_render_reports wires it, reading summary.json and predictions.jsonl, one ranged GET per thumbnail "
        f"({MAX_CONNECTIONS} at a time, 2 decoders), and putting the page. S3 floor: the side's requests times the "
        f"mean latency over {MAX_CONNECTIONS} in flight. CPU: the side's process, every thread. RSS before: after "
        f"imports and the client. Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, moto's servers in the "
        "parent process."
    )


if __name__ == "__main__":
    main()
