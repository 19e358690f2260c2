"""RecordIO speed: icflow and mxnet's C++ reader side by side on one generated .rec (1 GB by default).

Prints records/s and MB/s for counting records (with their labels) and for reading every payload, and the
icflow/mxnet ratios. mxnet runs in $ICFLOW_MXNET_PYTHON (default .venv-mxnet/bin/python); `make bench`
sets it. Usage: python benchmarks/recordio_bench.py [--size-mb 1024] [--record-kb 100] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from icflow.recordio import RecordWriter, pack_image_record, read_records, scan_records, unpack_labels

REPOSITORY = Path(__file__).resolve().parents[1]
HEAD = 24 + 4 * 16  # image header and up to 16 labels: all that counting needs

MXNET_SCRIPT = """
import json, sys, time
import mxnet as mx
path = sys.argv[1]
def run(read_labels):
    start = time.perf_counter()
    record = mx.recordio.MXRecordIO(path, "r")
    count = size = 0
    while True:
        item = record.read()
        if item is None:
            break
        count += 1
        if read_labels:
            mx.recordio.unpack(item)
        else:
            size += len(item)
    record.close()
    return {"records": count, "seconds": time.perf_counter() - start}
run(False)  # warm the page cache like the icflow side
print(json.dumps({"count": run(True), "read": run(False)}))
"""


def generate(path: Path, size: int, record_size: int) -> int:
    rng = random.Random(0)
    blocks = [rng.randbytes(record_size) for _ in range(16)]
    count = 0
    with open(path, "wb", buffering=1 << 20) as handle:
        writer = RecordWriter(handle)
        while writer.offset < size:
            writer.write(pack_image_record(count % 257, blocks[count % 16], id=count))
            count += 1
    return count


def icflow_count(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        for record in scan_records(handle, keep=HEAD):
            unpack_labels(record.head, record.offset)
            count += 1
    return count


def icflow_read(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in read_records(handle))


def timed(function, path: Path) -> dict:
    start = time.perf_counter()
    records = function(path)
    return {"records": records, "seconds": time.perf_counter() - start}


def mxnet_python() -> Path | None:
    configured = Path(os.environ.get("ICFLOW_MXNET_PYTHON", ".venv-mxnet/bin/python"))
    python = configured if configured.is_absolute() else REPOSITORY / configured
    return python if python.exists() else None


def line(name: str, result: dict, size: int) -> str:
    seconds = result["seconds"]
    return f"{name:<28} {result['records'] / seconds:>14,.0f} records/s {size / 1e6 / seconds:>12,.0f} MB/s  ({seconds:.3f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--record-kb", type=int, default=100, help="image bytes per record")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and print its path")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="icflow-bench-"))
    try:
        path = folder / "bench.rec"
        records = generate(path, args.size_mb << 20, args.record_kb << 10)
        size = path.stat().st_size
        print(f"{path.name}: {records:,} records, {size / 1e6:,.0f} MB ({args.record_kb} KB images)")
        icflow_read(path)  # warm the page cache: every figure is for a file in memory
        results = {"icflow count": timed(icflow_count, path), "icflow full read": timed(icflow_read, path)}
        python = mxnet_python()
        if python is None:
            print("mxnet: no reference interpreter (run `make bench`, or set ICFLOW_MXNET_PYTHON); icflow only")
        else:
            done = subprocess.run(
                [str(python), "-c", MXNET_SCRIPT, str(path)], capture_output=True, text=True, timeout=1800, check=True
            )
            mx = json.loads(done.stdout.strip().splitlines()[-1])
            results["mxnet count (read+unpack)"] = mx["count"]
            results["mxnet full read"] = mx["read"]
        for name, result in results.items():
            assert result["records"] == records, (name, result)
            print(line(name, result, size))
        if python is not None:
            count_ratio = results["mxnet count (read+unpack)"]["seconds"] / results["icflow count"]["seconds"]
            read_ratio = results["mxnet full read"]["seconds"] / results["icflow full read"]["seconds"]
            print(
                f"icflow/mxnet speed: counting {count_ratio:.2f}x, full read {read_ratio:.2f}x (target: counting >= 1x)"
            )
        if args.keep:
            print(f"kept {path}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
