"""Properties of the .lst parser: any text, any bytes (UTF-8 or not), as a string, a binary or a text stream,
gives entries or an IcflowError with a reason, within time and memory bounds (support.hostile); and the
entries it gives are ones a RecordIO record can carry: at least one label, each one a float32 holds."""

from __future__ import annotations

import io
import struct

from hypothesis import given
from hypothesis import strategies as st

from icflow.recordio.lst import LstEntry, read_lst
from icflow.recordio.text_lines import lines_of
from support.hostile import parses_or_explains

# Field texts near the parser's edges: labels past float32 (1e39), huge class indexes, NaN, digits Python's
# int() refuses (over 4,300), other scripts' digits and whitespace that str.strip() removes.
EDGE_FIELDS = [
    "0",
    "1.000000",
    "1e8",
    "1e30",
    "1e39",
    "-1e39",
    "3.4e38",
    "3.5e38",
    "1e400",
    "nan",
    "inf",
    "-0",
    "1_0",
    "\u0661",
    "9" * 5000,
    "x" * 5000,
    "",
    " ",
    "\x85",
    "\u2028",
    "\x1c",
    "\r",
    "cat/a.jpg",
]
FIELDS = st.one_of(
    st.sampled_from(EDGE_FIELDS),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(max_size=12),
)
LINES = st.lists(st.lists(FIELDS, max_size=6).map("\t".join), max_size=8)
TEXTS = LINES.map("\n".join)
# Text of .lst lines with arbitrary bytes spliced in: Latin-1 and UTF-16 files, a cut multi-byte character.
DATA = st.one_of(
    TEXTS.map(str.encode),
    st.tuples(TEXTS, st.binary(max_size=8), TEXTS).map(lambda t: t[0].encode() + t[1] + t[2].encode()),
    TEXTS.map(lambda text: text.encode("utf-16")),
    st.binary(max_size=200),
)


def _entries(source: object) -> list[LstEntry]:
    return list(read_lst(source, "a.lst"))  # type: ignore[arg-type]


def _holds_records(result: object) -> None:
    """Entries a record can carry, or a reason short enough for a run's status (not the whole line quoted)."""
    assert not isinstance(result, Exception) or len(str(result)) < 500
    if isinstance(result, list):
        for entry in result:
            assert entry.labels
            struct.pack(f"<{len(entry.labels)}f", *entry.labels)  # no OverflowError: a record holds them


@given(TEXTS)
def test_any_text_gives_entries_or_a_reason(text: str) -> None:
    _holds_records(parses_or_explains(_entries, text))


@given(DATA)
def test_any_bytes_give_entries_or_a_reason(data: bytes) -> None:
    _holds_records(parses_or_explains(_entries, io.BytesIO(data)))


@given(DATA)
def test_a_text_stream_of_any_bytes_gives_entries_or_a_reason(data: bytes) -> None:
    _holds_records(parses_or_explains(_entries, io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")))


@given(DATA)
def test_text_and_bytes_read_alike(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    # A string splits at "\n" only, as the binary stream does.
    from_bytes, from_text = parses_or_explains(_entries, io.BytesIO(data)), parses_or_explains(_entries, text)
    assert type(from_bytes) is type(from_text)
    if isinstance(from_text, list):
        assert repr(from_bytes) == repr(from_text)  # repr: a NaN label equals itself only as text


@given(DATA, st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_lines_read_in_any_chunks_are_the_lines_of_the_whole(data: bytes, sizes: list[int]) -> None:
    chunks, start = [], 0
    while start < len(data):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(data[start : start + size])
        start += size
    lines = parses_or_explains(lambda: list(lines_of(chunks, "a.lst")))
    assert b"".join(lines) == data  # type: ignore[arg-type]
    # A "\r\n" cut between two chunks reads as two breaks: one more blank line, which readers skip.
    assert [line for line in lines if line.strip()] == [line for line in data.splitlines(True) if line.strip()]  # type: ignore[union-attr]
