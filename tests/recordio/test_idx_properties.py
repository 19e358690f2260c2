"""Properties of the .idx parser and of random access through it: any bytes as a .idx, beside any bytes as a
.rec, give (key, offset) pairs and records, or an IcflowError with a reason, within time and memory bounds
(support.hostile). Offsets it accepts are where RecordIO records can start: 4-byte aligned, within a file."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from icflow.recordio import IndexedRecordReader, RecordWriter, pack_image_record, read_idx
from icflow.recordio.framing import MAGIC_BYTES
from support.hostile import parses_or_explains

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 4, 8, 16, 2**31, 2**62, 2**63 - 4, 2**63, 2**64, 10**30]),
)
FIELDS = st.one_of(NUMBERS.map(str), st.sampled_from(["", " ", "x", "1e3", "4.0", "\u0664", "9" * 5000, "x" * 5000]))
LINES = st.lists(st.lists(FIELDS, min_size=1, max_size=3).map("\t".join), max_size=8).map("\n".join)
IDX_DATA = st.one_of(
    LINES.map(str.encode),
    st.tuples(LINES, st.binary(max_size=6)).map(lambda t: t[0].encode() + t[1]),
    st.binary(max_size=100),
)


def _small_rec() -> bytes:
    out = io.BytesIO()
    writer = RecordWriter(out)
    for key in range(3):
        writer.write(pack_image_record(key, MAGIC_BYTES * key + b"image", id=key))
    return out.getvalue()


REC_DATA = st.one_of(st.just(_small_rec()), st.binary(max_size=120), st.just(_small_rec()).map(lambda d: d[:-7]))


@given(IDX_DATA)
def test_any_idx_gives_aligned_offsets_or_a_reason(data: bytes) -> None:
    result = parses_or_explains(lambda: list(read_idx(io.BytesIO(data), "a.idx")))
    assert not isinstance(result, Exception) or len(str(result)) < 500  # the line is quoted cut, not whole
    if isinstance(result, list):
        assert all(0 <= offset < 2**63 and offset % 4 == 0 for _, offset in result)


@given(IDX_DATA, REC_DATA)
def test_reading_every_key_of_any_idx_and_rec_gives_records_or_a_reason(idx: bytes, rec: bytes) -> None:
    def read_all() -> list[bytes]:
        with IndexedRecordReader(io.BytesIO(rec), io.BytesIO(idx)) as reader:
            return [reader.read(key) for key in reader.keys]

    parses_or_explains(read_all)
