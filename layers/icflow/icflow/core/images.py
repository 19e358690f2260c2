"""Which uploaded objects the algorithm can take: JPEG or PNG images (for a transform job, ones that fit a record).

SageMaker fails a whole transform job on one object the algorithm cannot decode, and a training job likewise, so
every object of a batch or of a dataset's class folders is checked before it goes into a manifest or a list: by
name, by size, by its first bytes, and by its last ones
(two ranged GETs, so checking a 6 MB photo costs a few kilobytes, and no image library is needed in the layer).
The last bytes catch the commonest broken image, one cut off by an interrupted upload or copy: a JPEG ends
with its end-of-image marker and a PNG with its IEND chunk, and a truncated file has neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from icflow.core.s3_objects import missing
from icflow.core.transform_payload import BYTES_PER_MB, MAX_PAYLOAD_MB

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SNIFF_BYTES = len(PNG_MAGIC)
JPEG_END = b"\xff\xd9"  # EOI: entropy-coded data stuffs every 0xFF, so only the end marker reads so
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the empty IEND chunk with its CRC
# Where the end is looked for: writers may pad after it, and some cameras append a trailer of their own.
TAIL_BYTES = 4096

# Files that desktop tools leave beside images (Finder, Explorer, zip extraction); never images.
SYSTEM_FILE_NAMES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"})
SYSTEM_FOLDER_NAMES = frozenset({"__macosx", "$recycle.bin", "system volume information"})


class SkipReason(str, Enum):
    """Why an object is left out of a transform manifest; the values are stable codes in reports."""

    EMPTY = "empty"
    HIDDEN = "hidden-or-system-file"
    NOT_AN_IMAGE = "not-jpeg-or-png"
    TRUNCATED = "truncated"
    TOO_LARGE = "too-large"
    MISSING = "missing"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    SkipReason.EMPTY: "the object has zero bytes; upload the image again",
    SkipReason.HIDDEN: "hidden or system file (such as .DS_Store or Thumbs.db), not an image",
    SkipReason.NOT_AN_IMAGE: "the content is not JPEG or PNG; convert it to JPEG or PNG and upload it again",
    SkipReason.TRUNCATED: (
        "the image is cut off: it has no end-of-image marker, as when an upload or a copy is interrupted; "
        "upload the whole file again"
    ),
    SkipReason.TOO_LARGE: (
        f"larger than {MAX_PAYLOAD_MB} MB, the most one transform record may hold; resize the image and upload it again"
    ),
    SkipReason.MISSING: "the object was deleted before the batch was collected; upload it again to classify it",
}


@dataclass(frozen=True)
class S3Object:
    """An uploaded object as its event names it; `size` None when the event did not carry it."""

    key: str
    size: int | None = None
    etag: str = ""


@dataclass(frozen=True)
class Head:
    """An object's first bytes and its total size, as one ranged GET tells them."""

    data: bytes
    size: int | None  # None when S3's answer did not say


def image_format(head: bytes) -> str | None:
    """ "jpeg" or "png" from an object's first bytes, None for anything else."""
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head.startswith(PNG_MAGIC):
        return "png"
    return None


def is_complete(image: str, tail: bytes) -> bool:
    """Whether the last bytes of a "jpeg" or "png" hold its end (TAIL_BYTES of them, or the whole object)."""
    return (JPEG_END if image == "jpeg" else PNG_END) in tail


def is_hidden_or_system(key: str) -> bool:
    """Dot files (.DS_Store, AppleDouble ._x.jpg), files in dot folders, and desktop litter."""
    parts = key.split("/")
    name = parts[-1]
    if name.startswith(".") or name.lower() in SYSTEM_FILE_NAMES:
        return True
    return any(part.startswith(".") or part.lower() in SYSTEM_FOLDER_NAMES for part in parts[:-1])


# The most bytes an image may have in a transform record; training reads images from disk, with no such limit.
TRANSFORM_MAX_BYTES = MAX_PAYLOAD_MB * BYTES_PER_MB


def skip_reason_before_reading(
    key: str, size: int | None, max_bytes: int | None = TRANSFORM_MAX_BYTES
) -> SkipReason | None:
    """What the key and size alone decide, so that no GET is spent on them."""
    if is_hidden_or_system(key):
        return SkipReason.HIDDEN
    if size == 0:
        return SkipReason.EMPTY
    if size is not None and max_bytes is not None and size > max_bytes:
        return SkipReason.TOO_LARGE
    return None


def skip_reason(key: str, head: Head, max_bytes: int | None = TRANSFORM_MAX_BYTES) -> SkipReason | None:
    """None when the object can go into a transform manifest (training lists: max_bytes None), otherwise why not."""
    reason = skip_reason_before_reading(key, head.size, max_bytes)
    if reason is not None:
        return reason
    return None if image_format(head.data) else SkipReason.NOT_AN_IMAGE


def read_head(s3: Any, bucket: str, key: str) -> Head | None:
    """The first SNIFF_BYTES of an object and its size; None when it no longer exists."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "InvalidRange":  # S3's answer to a range of a zero-byte object
            return Head(b"", 0)
        if missing(s3, bucket, key, error):
            return None
        raise
    with response["Body"] as body:
        data = body.read(SNIFF_BYTES)
    # "bytes 0-7/12345": the total after the slash; without a range S3 sends the whole (short) object. HTTP
    # allows "*" for a total the server does not know: then the size is unknown, as when an event omits it.
    # Twenty digits hold any size (S3's largest object has 13); int() refuses over 4,300.
    content_range = response.get("ContentRange") or ""
    if "/" not in content_range:
        return Head(data, response["ContentLength"])
    total = content_range.rpartition("/")[2]
    return Head(data, int(total) if total.isascii() and total.isdigit() and len(total) <= 20 else None)


def read_tail(s3: Any, bucket: str, key: str) -> bytes | None:
    """The last TAIL_BYTES of an object (all of a smaller one); None when it no longer exists."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{TAIL_BYTES}")
    except ClientError as error:
        if missing(s3, bucket, key, error):
            return None
        raise
    with response["Body"] as body:
        return body.read(TAIL_BYTES)


def check_object(s3: Any, bucket: str, obj: S3Object, max_bytes: int | None = TRANSFORM_MAX_BYTES) -> SkipReason | None:
    reason = skip_reason_before_reading(obj.key, obj.size, max_bytes)
    if reason is not None:
        return reason
    head = read_head(s3, bucket, obj.key)
    if head is None:
        return SkipReason.MISSING
    reason = skip_reason(obj.key, head, max_bytes)
    if reason is not None:
        return reason
    tail = read_tail(s3, bucket, obj.key)
    if tail is None:
        return SkipReason.MISSING
    image = image_format(head.data)
    assert image is not None  # skip_reason let only JPEG and PNG through
    return None if is_complete(image, tail) else SkipReason.TRUNCATED


def check_objects(
    s3: Any,
    bucket: str,
    objects: Iterable[S3Object],
    max_workers: int = 8,
    max_bytes: int | None = TRANSFORM_MAX_BYTES,
) -> Iterator[tuple[S3Object, SkipReason | None]]:
    """check_object for many objects with a fixed number of concurrent ranged GETs, in input order."""
    objects = list(objects)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="icflow-sniff") as pool:
        yield from zip(objects, pool.map(lambda obj: check_object(s3, bucket, obj, max_bytes), objects))
