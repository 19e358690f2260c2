"""Properties of RecordIO framing, the reader of whatever bytes are uploaded as a .rec: any bytes, read whole,
scanned (from a file, a seekable stream or an S3-like stream), or read at any offset, give records or a
RecordIOError with a reason, within time and memory bounds (support.hostile). The readers agree with each
other, and what RecordWriter writes reads back as written."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from hypothesis import given
from hypothesis import strategies as st

from icflow.recordio import RecordWriter, read_record_at, read_records_with_offsets, scan_records
from icflow.recordio.errors import RecordIOError
from icflow.recordio.framing import FRAME, MAGIC, MAGIC_BYTES, find_record_start
from icflow.recordio.image_record import unpack_image_record
from support.hostile import parses_or_explains

from .conftest import NonSeekable

T = TypeVar("T")

# Payloads with the magic word where it splits records (aligned) and where it does not.
PAYLOADS = st.lists(
    st.lists(st.sampled_from([b"", b"\x00", b"abc", MAGIC_BYTES, b"\x0a\x23\xd7", b"\xff" * 5]), max_size=6).map(
        b"".join
    ),
    max_size=5,
)


def _written(payloads: list[bytes]) -> bytes:
    out = io.BytesIO()
    writer = RecordWriter(out)
    for payload in payloads:
        writer.write(payload)
    return out.getvalue()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid file cut short, with bytes overwritten, or with a header's length field set to anything."""
    data = bytearray(_written(draw(PAYLOADS)))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        data[position : position + 4] = draw(st.sampled_from([MAGIC_BYTES, b"\xff\xff\xff\xff", b"\x00"]))
    return bytes(data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)


# A file ending in a header of any part type and length (up to RecordIO's 2**29 - 1): it announces more
# bytes than the file holds, which must cost no memory of that size.
ANNOUNCING = st.tuples(
    PAYLOADS.map(_written), st.integers(0, 7), st.integers(0, 2**29 - 1), st.binary(max_size=40)
).map(lambda t: t[0] + FRAME.pack(MAGIC, t[1] << 29 | t[2]) + t[3])
REC_DATA = st.one_of(PAYLOADS.map(_written), damaged(), ANNOUNCING, st.binary(max_size=200))


def _whole(stream: object) -> list[tuple[int, bytes]]:
    return list(read_records_with_offsets(stream))  # type: ignore[arg-type]


def _scanned(stream: object, keep: int) -> list[tuple[int, int, bytes]]:
    return [(head.offset, head.length, head.head) for head in scan_records(stream, keep=keep)]  # type: ignore[arg-type]


def _from_file(data: bytes, read: Callable[[BinaryIO], T]) -> T:
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        with open(handle.name, "rb") as rec:
            return read(rec)


@given(PAYLOADS)
def test_what_is_written_reads_back(payloads: list[bytes]) -> None:
    assert [payload for _, payload in _whole(io.BytesIO(_written(payloads)))] == payloads


@given(REC_DATA, st.integers(0, 40))
def test_every_reader_of_any_bytes_gives_the_same_records_or_a_reason(data: bytes, keep: int) -> None:
    whole = parses_or_explains(_whole, io.BytesIO(data))
    for read in (lambda: _whole(NonSeekable(data)), lambda: _from_file(data, _whole)):
        assert parses_or_explains(read) == whole if isinstance(whole, list) else isinstance(whole, RecordIOError)
    expected = (
        [(offset, len(payload), payload[:keep]) for offset, payload in whole] if isinstance(whole, list) else None
    )
    for scan in (
        lambda: _scanned(io.BytesIO(data), keep),
        lambda: _scanned(NonSeekable(data), keep),
        lambda: _from_file(data, lambda rec: _scanned(rec, keep)),
    ):
        scanned = parses_or_explains(scan)
        if expected is None:
            assert isinstance(scanned, RecordIOError)
        else:
            assert scanned == expected


@given(REC_DATA, st.integers(0, 2**63 - 1) | st.integers(0, 256))
def test_a_record_at_any_offset_is_read_or_explained(data: bytes, offset: int) -> None:
    parses_or_explains(read_record_at, io.BytesIO(data), offset)


@given(REC_DATA, st.integers(0, 256))
def test_finding_the_next_record_start_after_damage_ends(data: bytes, start: int) -> None:
    found = parses_or_explains(find_record_start, io.BytesIO(data), start)
    assert found is None or (found >= start and found % 4 == 0 and found + 8 <= len(data))


@given(st.binary(max_size=80) | PAYLOADS.map(lambda payloads: b"".join(payloads)))
def test_any_payload_is_an_image_record_or_a_reason(payload: bytes) -> None:
    parses_or_explains(unpack_image_record, payload, 0)


# The descriptor-based reader is chosen for plain files only; make sure the platform has it, or the file case
# above silently tests the stream reader twice.
assert hasattr(os, "pread")
