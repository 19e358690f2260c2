from __future__ import annotations

import io
import os
import struct

import pytest

from icflow.recordio import MAGIC, RecordIOError, RecordWriter, read_record_at, read_records, scan_records
from icflow.recordio.framing import FRAME

M = struct.pack("<I", MAGIC)


def write_all(payloads: list[bytes]) -> tuple[bytes, list[int]]:
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    offsets = [writer.write(payload) for payload in payloads]
    return buffer.getvalue(), offsets


def parts(data: bytes) -> list[tuple[int, int]]:
    """(cflag, length) of every part header, walking the frames."""
    found, offset = [], 0
    while offset < len(data):
        magic, lrec = struct.unpack_from("<II", data, offset)
        assert magic == MAGIC
        length = lrec & ((1 << 29) - 1)
        found.append((lrec >> 29, length))
        offset += 8 + ((length + 3) & ~3)
    return found


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"a",
        b"abc",
        b"abcd",
        b"abcde",
        M,
        M * 3,
        b"abcd" + M,
        M + b"tail",
        b"xy" + M + b"zw",  # unaligned: not split
        b"abcd" + M + b"efgh" + M + b"ij",
        os.urandom(10_000),
    ],
)
def test_round_trip(payload: bytes) -> None:
    data, offsets = write_all([payload, b"after"])
    assert len(data) % 4 == 0
    assert list(read_records(io.BytesIO(data))) == [payload, b"after"]
    assert read_record_at(io.BytesIO(data), offsets[1]) == b"after"


def test_padding_is_zeros_up_to_four_bytes() -> None:
    data, _ = write_all([b"abcde"])
    assert data == struct.pack("<II", MAGIC, 5) + b"abcde\0\0\0"


def test_aligned_magic_splits_into_flagged_parts() -> None:
    data, _ = write_all([b"abcd" + M + b"efgh" + M + b"ij"])
    assert parts(data) == [(1, 4), (2, 4), (3, 2)]
    data, _ = write_all([M])
    assert parts(data) == [(1, 0), (3, 0)]
    data, _ = write_all([b"ab" + M + b"cd"])
    assert parts(data) == [(0, 8)]


def test_offsets_point_at_each_record() -> None:
    payloads = [b"x" * n for n in range(9)] + [M * 2]
    data, offsets = write_all(payloads)
    for payload, offset in zip(payloads, offsets):
        assert read_record_at(io.BytesIO(data), offset) == payload
    assert [head.offset for head in scan_records(io.BytesIO(data))] == offsets


def test_scan_gives_lengths_heads_and_ends_without_payloads(nonseekable) -> None:
    payloads = [os.urandom(300_000), b"abcd" + M + b"rest", b""]
    data, offsets = write_all(payloads)
    for source in (io.BytesIO(data), nonseekable(data)):
        heads = list(scan_records(source, keep=6))
        assert [h.length for h in heads] == [len(p) for p in payloads]
        assert [h.head for h in heads] == [p[:6] for p in payloads]
        assert [h.end for h in heads] == offsets[1:] + [len(data)]


def test_scanning_a_stream_holds_one_chunk_not_the_payload(nonseekable) -> None:
    import tracemalloc

    big = b"\x01" * (64 << 20)
    data, _ = write_all([big, big])
    stream = nonseekable(data)
    del big
    tracemalloc.start()
    try:
        heads = list(scan_records(stream, keep=32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(heads) == 2
    assert stream.bytes_read == len(data)
    assert peak < 8 << 20  # the file is 128 MiB


def test_scan_of_seekable_stream_seeks_over_payloads() -> None:
    data, _ = write_all([os.urandom(2_000_000) for _ in range(5)])

    class Counting(io.BytesIO):
        requested = 0

        def read(self, size=-1):  # type: ignore[override]
            chunk = super().read(size)
            self.requested += len(chunk)
            return chunk

    stream = Counting(data)
    assert [head.length for head in scan_records(stream, keep=24)] == [2_000_000] * 5
    assert stream.requested < 100_000 < len(data)


def test_scan_of_local_file_matches_stream_scan(tmp_path, nonseekable) -> None:
    payloads = [b"x" * n for n in range(0, 700, 7)] + [M * 3, os.urandom(100_000)]
    data, offsets = write_all(payloads)
    (tmp_path / "a.rec").write_bytes(data)
    with open(tmp_path / "a.rec", "rb") as handle:
        from_file = list(scan_records(handle, keep=10))
    assert from_file == list(scan_records(nonseekable(data), keep=10))
    assert [head.offset for head in from_file] == offsets
    (tmp_path / "cut.rec").write_bytes(data[:-5])
    with open(tmp_path / "cut.rec", "rb") as handle, pytest.raises(RecordIOError, match="truncated") as error:
        list(scan_records(handle))
    assert error.value.offset == offsets[-1]


def test_not_recordio_is_named_at_offset_zero() -> None:
    with pytest.raises(RecordIOError, match="not a RecordIO file") as error:
        list(read_records(io.BytesIO(b"\x89PNG\r\n\x1a\nmore bytes")))
    assert error.value.offset == 0


@pytest.mark.parametrize("cut", [3, 8, 20, 27])
def test_truncated_file_reports_the_record_offset(cut: int) -> None:
    data, offsets = write_all([b"first", b"x" * 20])
    broken = data[: offsets[1] + cut]
    for read in (lambda f: list(read_records(f)), lambda f: list(scan_records(f))):
        with pytest.raises(RecordIOError, match="truncated") as error:
            read(io.BytesIO(broken))
        assert error.value.offset == offsets[1]


def test_corrupt_header_reports_its_offset() -> None:
    data, offsets = write_all([b"first", b"second", b"third"])
    broken = bytearray(data)
    broken[offsets[2]] ^= 0xFF
    with pytest.raises(RecordIOError, match="corrupt") as error:
        list(read_records(io.BytesIO(bytes(broken))))
    assert error.value.offset == offsets[2]


def test_split_record_missing_its_last_part_is_truncated() -> None:
    data, _ = write_all([b"abcd" + M + b"efgh"])
    first_part_only = data[:12]
    with pytest.raises(RecordIOError, match="truncated"):
        list(read_records(io.BytesIO(first_part_only)))


def test_middle_part_without_first_is_corrupt() -> None:
    orphan = struct.pack("<II", MAGIC, 2 << 29 | 4) + b"abcd"
    with pytest.raises(RecordIOError, match="out of order"):
        list(read_records(io.BytesIO(orphan)))


def test_oversized_record_is_refused_before_writing() -> None:
    buffer = io.BytesIO()

    class Huge(bytes):
        def __len__(self) -> int:
            return 1 << 29

    with pytest.raises(RecordIOError, match="too large"):
        RecordWriter(buffer).write(Huge())
    assert buffer.getvalue() == b""


def test_writer_continues_offsets_of_an_open_file() -> None:
    buffer = io.BytesIO()
    buffer.write(struct.pack("<II", MAGIC, 4) + b"abcd")
    assert RecordWriter(buffer).write(b"next") == 12


def test_offsets_come_with_payloads() -> None:
    from icflow.recordio import read_records_with_offsets

    payloads = [b"a", M * 2 + b"z", b""]
    data, offsets = write_all(payloads)
    assert list(read_records_with_offsets(io.BytesIO(data))) == list(zip(offsets, payloads))


def test_find_record_start_skips_damage_to_the_next_record() -> None:
    from icflow.recordio.framing import find_record_start

    data, offsets = write_all([b"a" * 40, b"ab" + M + b"cd", b"c" * 12])
    damaged = io.BytesIO(data[:8] + b"\0" * 40 + data[offsets[1] :])
    assert find_record_start(damaged, 1) == offsets[1]
    assert find_record_start(damaged, offsets[1] + 1) == offsets[2]
    assert find_record_start(damaged, offsets[2] + 1) is None


def test_a_part_type_recordio_never_writes_is_corrupt() -> None:
    data = FRAME.pack(MAGIC, 4 << 29 | 0)  # part type 4: dmlc-core writes 0 to 3 only
    with pytest.raises(RecordIOError, match="part type 4, not 0 to 3"):
        list(read_records(io.BytesIO(data)))
    with pytest.raises(RecordIOError, match="part type 4, not 0 to 3"):
        list(scan_records(io.BytesIO(data)))


def test_a_header_announcing_more_than_the_file_holds_costs_no_memory_of_that_size(tmp_path, nonseekable) -> None:
    from support.hostile import bounded

    data = FRAME.pack(MAGIC, (1 << 29) - 1) + b"x" * 16  # announces 512 MiB, holds 16 bytes
    (tmp_path / "a.rec").write_bytes(data)
    with open(tmp_path / "a.rec", "rb") as handle:
        for stream in (handle, nonseekable(data)):
            with bounded(), pytest.raises(RecordIOError, match="truncated"):
                list(read_records(stream))
