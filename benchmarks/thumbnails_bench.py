"""What thumbnails cost the report function: icflow.reports.thumbnails.thumbnail on COUNT photo-like 640x480 JPEGs
(the size the workshop's images come in), in one thread and in --decoders threads (the ThumbnailFetcher's
decoders; Pillow releases the GIL while it decodes and scales), and how large the data URIs a page embeds are.

The photos have detail at every scale (a Mandelbrot crop) under a coarse coloured texture, so that they compress
as photos do, not as flat colour; --distinct of them are made, then cycled, since making one costs more than
thumbnailing it.

Usage: .venv/bin/python benchmarks/thumbnails_bench.py [--count 1000] [--side 96] [--decoders 2] [--distinct 50]
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from icflow.reports.thumbnails import DATA_URI_PREFIX, thumbnail


def _photo(seed: int, width: int = 640, height: int = 480) -> bytes:
    rng = random.Random(seed)
    x, y, zoom = rng.uniform(-2, 0), rng.uniform(-1, 0.5), rng.uniform(0.3, 1.5)
    detail = Image.effect_mandelbrot((width, height), (x, y, x + zoom, y + zoom * height / width), 100)
    textures = [
        Image.effect_noise((width // 4, height // 4), 60).resize((width, height), Image.Resampling.BICUBIC)
        for _ in range(3)
    ]
    out = io.BytesIO()
    Image.merge("RGB", [Image.blend(detail, texture, 0.6) for texture in textures]).save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--decoders", type=int, default=2)
    parser.add_argument("--distinct", type=int, default=50)
    args = parser.parse_args()

    photos = [_photo(seed) for seed in range(args.distinct)]
    images = [photos[number % len(photos)] for number in range(args.count)]
    thumbnail(images[0], args.side)  # Pillow loads its JPEG plugin on first use

    started = time.perf_counter()
    thumbnails = [thumbnail(data, args.side) for data in images]
    one_thread = time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=args.decoders) as pool:
        started = time.perf_counter()
        list(pool.map(lambda data: thumbnail(data, args.side), images))
        threaded = time.perf_counter() - started

    assert all(found.data_uri is not None for found in thumbnails)
    uris = [len(found.data_uri or "") for found in thumbnails]
    jpegs = [len(base64.b64decode((found.data_uri or "").removeprefix(DATA_URI_PREFIX))) for found in thumbnails]
    print(
        f"{args.count} thumbnails ({args.side} px) of 640x480 JPEGs of {statistics.mean(map(len, images)):,.0f} bytes"
    )
    print(f"  one thread:    {one_thread:.2f} s ({one_thread / args.count * 1000:.2f} ms each)")
    print(f"  {args.decoders} threads:     {threaded:.2f} s")
    print(f"  thumbnail:     {statistics.mean(jpegs):,.0f} bytes of JPEG on average (largest {max(jpegs):,})")
    print(f"  data URI:      {statistics.mean(uris):,.0f} bytes on average, {sum(uris) / 2**20:.1f} MB for all")


if __name__ == "__main__":
    main()
