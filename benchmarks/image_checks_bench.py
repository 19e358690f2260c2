"""What checking a batch's images costs: the first bytes only (the sniff before truncated images were caught) beside
the first and last bytes (icflow.core.images.check_objects), on COUNT images in a moto S3 server on 127.0.0.1.

Every S3 request waits --latency-ms first (S3's own time to first byte is 20-50 ms), so the figures show what the
concurrent ranged GETs cost in the batch collector, not what loopback costs. One image in a hundred is cut off
halfway; the new check must find every one of them, the old one finds none.

Usage: .venv/bin/python benchmarks/image_checks_bench.py [--count 10000] [--latency-ms 25] [--workers 8]
"""

from __future__ import annotations

import argparse
import io
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BUCKET = "icflow-bench"
PREFIX = "batch/bench/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client(endpoint: str, workers: int, latency_s: float) -> tuple[Any, list[int]]:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=workers),
    )
    requests = [0]

    def delay(**_: Any) -> None:
        requests[0] += 1
        time.sleep(latency_s)

    s3.meta.events.register("before-send.s3.GetObject", delay)
    return s3, requests


def _photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((320, 240), 64).convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--workers", type=int, default=8, help="concurrent GETs, as the batch collector uses")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from moto.server import ThreadedMotoServer

    from icflow.core.images import S3Object, check_objects, read_head, skip_reason

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        loader, _ = _client(endpoint, 32, 0.0)
        loader.create_bucket(Bucket=BUCKET)
        photo = _photo()
        objects = []

        def put(index: int) -> S3Object:
            body = photo[: len(photo) // 2] if index % 100 == 99 else photo
            key = f"{PREFIX}{index:06d}.jpg"
            loader.put_object(Bucket=BUCKET, Key=key, Body=body)
            return S3Object(key, len(body))

        with ThreadPoolExecutor(32) as pool:
            objects = list(pool.map(put, range(args.count)))
        cut = sum(1 for index in range(args.count) if index % 100 == 99)
        print(
            f"{args.count} JPEGs of {len(photo)} bytes ({cut} cut off halfway), {args.latency_ms:g} ms per GET, "
            f"{args.workers} GETs at a time"
        )

        s3, requests = _client(endpoint, args.workers, args.latency_ms / 1000)

        def head_only(obj: S3Object) -> Any:
            head = read_head(s3, BUCKET, obj.key)
            return None if head is None else skip_reason(obj.key, head)

        rows = []
        for name, run in (
            ("first bytes only (before)", lambda: list(ThreadPoolExecutor(args.workers).map(head_only, objects))),
            ("first and last bytes (now)", lambda: [r for _, r in check_objects(s3, BUCKET, objects, args.workers)]),
        ):
            requests[0] = 0
            started = time.perf_counter()
            reasons = run()
            seconds = time.perf_counter() - started
            found = sum(1 for reason in reasons if reason is not None and reason.value == "truncated")
            rows.append((name, seconds, requests[0], found))
        for name, seconds, gets, found in rows:
            print(f"  {name:<28} {seconds:7.2f} s  {gets:6d} GETs  {found:4d} of {cut} truncated found")
        before, now = rows[0][1], rows[1][1]
        print(
            f"  cost of the end check: {now - before:+.2f} s on {args.count} images ({now / before:.2f}x), "
            f"{(now - before) / args.count * 1000:.2f} ms per image"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
