"""Thumbnails for the report pages: any image a user dropped, as a small JPEG the page embeds as a data URI.

The images are the users' own uploads, so each one is read as hostile: its bytes are capped before Pillow sees
them, and its pixels before any is decoded (Image.open only reads the header; `load` decodes). Decoded memory
follows the pixels the header announces, not the file's size: a few-megabyte PNG can announce a gigapixel.
Pillow's own decompression-bomb limit is a process-wide setting other code relies on, so it is left as it is
and MAX_PIXELS is checked here, well below it. Only the formats a photo comes in are opened: Pillow's other
plugins reach further (EPS runs Ghostscript, TIFF brings libtiff's many codecs) for nothing a report needs.

A JPEG is decoded at the smallest scale its decoder offers that still covers the thumbnail (`draft`: 1/2, 1/4
or 1/8 of each side), which makes a large photo cheap. An image that cannot be thumbnailed is not an error of
the report: its Thumbnail carries the problem, in words, and the page shows that instead.

Pillow is imported at module level: only the report function imports this module, and it ships Pillow.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image, ImageOps, UnidentifiedImageError

from icflow.core.s3_objects import missing

THUMBNAIL_SIDE = 96
JPEG_QUALITY = 70
WHITE = (255, 255, 255)
DATA_URI_PREFIX = "data:image/jpeg;base64,"
OPENED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")

# A batch image is at most 6 MiB (icflow.core.images skips larger ones); a dataset's photos may be larger.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
# 50 megapixels covers any camera's photo; decoded as RGBA it takes 200 MB, the most one image may cost.
MAX_PIXELS = 50_000_000
# Pillow's bookkeeping grows with the rows and its line buffers with the width, apart from the pixel count.
MAX_SIDE = 32_000


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail as a data URI with its size in pixels; or, when there is none, why (`problem`)."""

    data_uri: str | None
    width: int
    height: int
    problem: str | None

    @classmethod
    def refused(cls, problem: str) -> Thumbnail:
        return cls(None, 0, 0, problem)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:g} MB"


def _as_rgb(image: Image.Image) -> Image.Image:
    """RGB for the JPEG encoder: transparency flattened on white, 16-bit and float grey scaled to 8 bits."""
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I") or image.mode == "F":
        # Their values span more than 0..255: stretch what the image holds onto it, as a viewer does.
        image = image.convert("F")
        low, high = image.getextrema()
        scale = 255 / (high - low) if high > low else 0
        image = image.point(lambda value: (value - low) * scale)
    return image.convert("RGB")


def _resizable(image: Image.Image) -> Image.Image:
    """`image` in a mode Pillow scales down by averaging: it has no reduction for 16-bit grey, and scales
    palette and bilevel images by picking pixels, which turns a drawing's lines into dots."""
    if image.mode.startswith("I;16"):
        return image.convert("I")
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


def _encode(image: Image.Image, max_side: int) -> Thumbnail:
    image.draft("RGB", (max_side, max_side))  # only JPEG decoders act on it: decode at 1/2, 1/4 or 1/8
    image = _resizable(image)
    image.thumbnail((max_side, max_side))
    image = _as_rgb(ImageOps.exif_transpose(image))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    encoded = base64.b64encode(out.getvalue()).decode("ascii")
    return Thumbnail(DATA_URI_PREFIX + encoded, image.width, image.height, None)


def thumbnail(data: bytes, max_side: int = THUMBNAIL_SIDE, max_bytes: int = MAX_IMAGE_BYTES) -> Thumbnail:
    """A JPEG of `data` whose longer side is at most `max_side` pixels, upright as its EXIF orientation says;
    a problem instead for bytes that are empty, over `max_bytes`, over MAX_PIXELS or not a decodable image."""
    if not data:
        return Thumbnail.refused("empty: the object has zero bytes")
    if len(data) > max_bytes:
        return Thumbnail.refused(f"larger than {_megabytes(max_bytes)}, the most a thumbnail is made of")
    try:
        image = Image.open(io.BytesIO(data), formats=OPENED_FORMATS)
    except UnidentifiedImageError:
        return Thumbnail.refused(f"not a decodable image: not {', '.join(OPENED_FORMATS)}")
    except Image.DecompressionBombError:  # Pillow's own limit, far above MAX_PIXELS
        return Thumbnail.refused(f"larger than {MAX_PIXELS / 1e6:g} megapixels")
    except Exception as error:  # a header Pillow could not parse; every plugin raises its own kinds
        return Thumbnail.refused(f"not a decodable image: {error}")
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            return Thumbnail.refused(f"larger than {MAX_PIXELS / 1e6:g} megapixels ({width}x{height})")
        if max(width, height) > MAX_SIDE:
            return Thumbnail.refused(f"wider or taller than {MAX_SIDE} pixels ({width}x{height})")
        try:
            return _encode(image, max_side)
        except Exception as error:
            # Decoding a user's file: Pillow's decoders raise OSError for a truncated file, but also
            # SyntaxError, ValueError, EOFError, struct.error and others for broken ones. A thumbnail is worth
            # less than the page it sits on, so whatever the bytes do, the page gets a reason.
            return Thumbnail.refused(f"not a decodable image: {error or type(error).__name__}")


class ThumbnailFetcher:
    """Thumbnails of objects in one bucket, read concurrently (`max_workers` GETs at a time, as many connections
    as the client's pool should hold) and decoded `max_decoders` at a time (Pillow's decoders release the GIL).

    Each object is read with one ranged GET of at most `max_bytes` + 1 bytes, so a huge object costs no more;
    what S3 refuses becomes that key's problem. Memory: at most `max_workers` objects of `max_bytes`, and
    `max_decoders` images of MAX_PIXELS decoded."""

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        max_workers: int = 16,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_side: int = THUMBNAIL_SIDE,
        max_decoders: int = 2,
    ) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._max_workers = max_workers
        self._max_bytes = max_bytes
        self._max_side = max_side
        self._decoding = threading.BoundedSemaphore(max_decoders)

    def thumbnails(self, keys: Iterable[str]) -> dict[str, Thumbnail]:
        """Each key's thumbnail, or its problem; a key given twice is read once."""
        unique = list(dict.fromkeys(keys))
        with ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="icflow-thumbnails") as pool:
            return dict(zip(unique, pool.map(self._thumbnail, unique), strict=True))

    def _thumbnail(self, key: str) -> Thumbnail:
        data = self._read(key)
        if isinstance(data, Thumbnail):
            return data
        with self._decoding:
            return thumbnail(data, self._max_side, self._max_bytes)

    def _read(self, key: str) -> bytes | Thumbnail:
        """The object's bytes, or a refusal naming what S3 said."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{self._max_bytes}")
            with response["Body"] as body:
                data = body.read(self._max_bytes + 1)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            if code == "InvalidRange":  # S3's answer to a range of a zero-byte object
                return Thumbnail.refused("empty: the object has zero bytes")
            if missing(self._s3, self._bucket, key, error):
                return Thumbnail.refused(f"not found ({code}): the object was deleted or moved")
            if code in ("AccessDenied", "403"):
                return Thumbnail.refused(f"not readable ({code}): the report function may not read it")
            return Thumbnail.refused(f"not readable: S3 answered {code}")
        except BotoCoreError as error:  # the connection, not S3: a timeout, a reset
            return Thumbnail.refused(f"not readable: {error}")
        if len(data) > self._max_bytes:
            return Thumbnail.refused(f"larger than {_megabytes(self._max_bytes)}, the most a thumbnail is made of")
        return data
