from __future__ import annotations

import io

import pytest

from icflow.core.errors import IcflowError
from icflow.recordio import IndexedRecordReader, IndexedRecordWriter, read_idx, read_records
from icflow.recordio.framing import MAGIC_BYTES


def test_random_access_by_key(tmp_path) -> None:
    payloads = {10: b"ten", 3: b"three" + MAGIC_BYTES * 2, 7: b"", 99: b"x" * 1000}
    with open(tmp_path / "d.rec", "wb") as rec, open(tmp_path / "d.idx", "w") as idx:
        writer = IndexedRecordWriter(rec, idx)
        for key, payload in payloads.items():
            writer.write(key, payload)
    with IndexedRecordReader(tmp_path / "d.rec", tmp_path / "d.idx") as reader:
        assert reader.keys == [10, 3, 7, 99]
        assert {key: reader.read(key) for key in reversed(reader.keys)} == payloads
        with pytest.raises(IcflowError, match="key 5 is not in"):
            reader.read(5)
    with open(tmp_path / "d.rec", "rb") as rec:
        assert list(read_records(rec)) == list(payloads.values())


def test_idx_lines_are_key_tab_offset(tmp_path) -> None:
    rec, idx = io.BytesIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    writer.write(4, b"abcde")
    writer.write(5, b"f")
    assert idx.getvalue() == "4\t0\n5\t16\n"


def test_reader_takes_file_objects() -> None:
    rec, idx = io.BytesIO(), io.StringIO()
    IndexedRecordWriter(rec, idx).write(1, b"one")
    reader = IndexedRecordReader(io.BytesIO(rec.getvalue()), io.StringIO(idx.getvalue()))
    assert reader.read(1) == b"one"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("1\t0\n2\n", "line 2"), ("a\t0\n", "line 1"), ("1\t6\n", "multiples of 4"), ("1\t0\t3\n", "line 1")],
)
def test_malformed_idx_names_the_line(text: str, problem: str) -> None:
    with pytest.raises(IcflowError, match=problem):
        list(read_idx(io.StringIO(text)))


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(IcflowError, match="twice"):
        IndexedRecordReader(io.BytesIO(), io.StringIO("1\t0\n1\t16\n"))


def test_an_idx_that_is_not_utf8_is_named_with_what_to_do(tmp_path) -> None:
    (tmp_path / "a.idx").write_bytes(b"0\t0\n\xff\t16\n")
    with pytest.raises(IcflowError, match=r"a.idx line 2 is not UTF-8 text .*; rebuild it with `icflow pack`"):
        IndexedRecordReader(io.BytesIO(), tmp_path / "a.idx")
