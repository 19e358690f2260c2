from __future__ import annotations

import io

import pytest

from icflow.core.errors import IcflowError
from icflow.recordio import LstEntry, read_lst, write_lst


def test_written_like_im2rec() -> None:
    out = io.StringIO()
    write_lst(out, [LstEntry(0, (3.0,), "cat/a.jpg"), LstEntry(12, (1.0, 0.0, 2.5), "dog/b c.jpg")])
    assert out.getvalue() == "0\t3.000000\tcat/a.jpg\n12\t1.000000\t0.000000\t2.500000\tdog/b c.jpg\n"


def test_round_trip_keeps_spaces_and_tabs_in_paths() -> None:
    entries = [LstEntry(1, (2.0,), "my photos/cat 1.jpg"), LstEntry(2, (0.0, 1.0), "odd\tname.png")]
    out = io.StringIO()
    write_lst(out, entries)
    assert list(read_lst(out.getvalue())) == entries


def test_reads_text_binary_and_files(tmp_path) -> None:
    text = "5\t1\tx.jpg\r\n\n6 \t 2.000000 \t y.jpg \n"
    expected = [LstEntry(5, (1.0,), "x.jpg"), LstEntry(6, (2.0,), "y.jpg")]
    assert list(read_lst(text)) == expected
    assert list(read_lst(io.BytesIO(text.encode()))) == expected
    (tmp_path / "a.lst").write_text(text)
    with open(tmp_path / "a.lst") as handle:
        assert list(read_lst(handle)) == expected


@pytest.mark.parametrize(
    ("line", "problem"),
    [("1\tx.jpg", "2 tab-separated"), ("one\t1\tx.jpg", "integer index"), ("1\tcat\tx.jpg", "no numeric label")],
)
def test_malformed_lines_are_named(line: str, problem: str) -> None:
    with pytest.raises(IcflowError, match=f"line 2 .*{problem}|line 2 starts with.*{problem}"):
        list(read_lst("0\t0\tok.jpg\n" + line + "\n"))


def test_line_break_in_path_cannot_be_written() -> None:
    with pytest.raises(IcflowError, match="line break"):
        write_lst(io.StringIO(), [LstEntry(0, (0.0,), "a\nb.jpg")])


def test_a_line_that_is_not_utf8_is_named_with_what_to_do() -> None:
    data = b"0\t0\tok.jpg\n" + b"1\t1\tcaf\xe9.jpg\n"
    with pytest.raises(
        IcflowError, match=r"a.lst line 2 is not UTF-8 text \(byte 0xe9 at column 8\); save it as UTF-8"
    ):
        list(read_lst(io.BytesIO(data), "a.lst"))


def test_a_text_stream_that_is_not_utf8_is_named_too(tmp_path) -> None:
    (tmp_path / "a.lst").write_bytes(b"0\t1\tcaf\xe9.jpg\n")
    with open(tmp_path / "a.lst", encoding="utf-8") as handle, pytest.raises(IcflowError, match="not UTF-8 text"):
        list(read_lst(handle, "a.lst"))


@pytest.mark.parametrize("label", ["1e39", "-1e39", "3.5e38"])
def test_a_label_no_record_can_hold_is_named(label: str) -> None:
    with pytest.raises(IcflowError, match="a.lst line 2 has label .*beyond what a RecordIO label"):
        list(read_lst(f"0\t0\tok.jpg\n1\t{label}\tbig.jpg\n", "a.lst"))


def test_labels_float32_holds_are_read() -> None:
    assert next(read_lst("0\t3.4e38\tx.jpg\n")).labels == (3.4e38,)
