"""Properties of the batch path's image check (icflow.core.images), the reader of what users drop under
batch/: any key, any first bytes and any size, as S3 answers a ranged GET of them, give an image format and a
skip reason or none, within time and memory bounds (support.hostile), never an exception. What it lets into a
transform manifest starts with the JPEG or PNG signature, is not empty and fits one record."""

from __future__ import annotations

import io

from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from hypothesis import given
from hypothesis import strategies as st

from icflow.core.images import (
    JPEG_END,
    JPEG_MAGIC,
    PNG_END,
    PNG_MAGIC,
    SNIFF_BYTES,
    S3Object,
    SkipReason,
    check_object,
    image_format,
)
from icflow.core.transform_payload import BYTES_PER_MB, MAX_PAYLOAD_MB
from support.hostile import parses_or_explains

# First bytes, and for whole objects an end: a JPEG's end-of-image marker, a PNG's IEND chunk, or neither.
HEADS = st.one_of(
    st.binary(max_size=16),
    st.tuples(
        st.sampled_from([JPEG_MAGIC, PNG_MAGIC, PNG_MAGIC[:5], b"GIF89a", b"BM"]),
        st.binary(max_size=8),
        st.sampled_from([b"", JPEG_END, PNG_END, JPEG_END + b"\0" * 10]),
    ).map(b"".join),
)
SIZES = st.one_of(
    st.none(),
    st.integers(0, 2**64),
    st.sampled_from([0, 1, MAX_PAYLOAD_MB * BYTES_PER_MB, MAX_PAYLOAD_MB * BYTES_PER_MB + 1]),
)
KEYS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["batch/a.jpg", "batch/.DS_Store", "batch/__MACOSX/a.jpg", "batch/Thumbs.db", "batch/", "/"]),
)


class RangedS3:
    """GetObject of one object as S3 answers a range (first bytes, or a suffix), with a given Content-Range."""

    def __init__(self, data: bytes, content_range: str | None) -> None:
        self._data = data
        self._content_range = content_range

    def get_object(self, Bucket: str, Key: str, Range: str) -> dict:  # noqa: N803 - boto3's parameter names
        if not self._data:
            raise ClientError({"Error": {"Code": "InvalidRange"}}, "GetObject")
        first, _, last = Range.removeprefix("bytes=").partition("-")
        part = self._data[-int(last) :] if not first else self._data[int(first) : int(last) + 1]
        answer = {"Body": StreamingBody(io.BytesIO(part), len(part)), "ContentLength": len(part)}
        if self._content_range is not None:
            answer["ContentRange"] = self._content_range
        return answer


@given(HEADS)
def test_any_first_bytes_are_jpeg_png_or_neither(head: bytes) -> None:
    found = parses_or_explains(image_format, head)
    assert found in ("jpeg", "png", None)
    assert (found is not None) == head.startswith((JPEG_MAGIC, PNG_MAGIC))


@given(KEYS, HEADS, SIZES, st.booleans())
def test_any_object_is_taken_or_skipped_with_a_reason(key: str, data: bytes, size: int | None, known) -> None:
    total = size if size is not None else len(data)
    s3 = RangedS3(data, f"bytes 0-{SNIFF_BYTES - 1}/{total}")
    reason = parses_or_explains(check_object, s3, "b", S3Object(key, size if known else None))
    assert reason is None or isinstance(reason, SkipReason)
    if reason is None:
        assert image_format(data) is not None and (JPEG_END in data or PNG_END in data)
        assert 0 < (size if known and size is not None else total) <= MAX_PAYLOAD_MB * BYTES_PER_MB


# Content-Range as RFC 9110 allows it: S3 names the total, but a proxy or a look-alike store may send "*".
CONTENT_RANGES = st.one_of(
    st.none(),
    st.sampled_from(["bytes 0-7/*", "bytes */0", "bytes 0-7/", "bytes 0-7/12x", "", "bytes 0-7/-1", "0/" + "9" * 5000]),
    st.text(max_size=20),
)


@given(HEADS, CONTENT_RANGES)
def test_any_content_range_is_read_or_ignored(data: bytes, content_range: str | None) -> None:
    reason = parses_or_explains(check_object, RangedS3(data, content_range), "b", S3Object("batch/a.jpg"))
    assert reason is None or isinstance(reason, SkipReason)
