"""MXNet .idx files ("key\\toffset" per line) and the .rec + .idx pair they make (MXIndexedRecordIO)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO, TextIO

from icflow.core.errors import IcflowError
from icflow.recordio.framing import RecordWriter, read_record_at
from icflow.recordio.text_lines import numbered_lines, quoted

# No file is larger than a signed 64-bit seek reaches: an offset past it is no record's, and seeking there fails.
MAX_OFFSET = 2**63 - 1


def read_idx(source: IO[str] | IO[bytes] | Iterable[str], name: str = ".idx file") -> Iterator[tuple[int, int]]:
    """(key, byte offset) pairs in file order; `name` appears in error messages."""
    for number, text in numbered_lines(source, name, "rebuild it with `icflow pack`"):
        if not text.strip():
            continue
        fields = text.strip().split("\t")
        try:
            if len(fields) != 2:
                raise ValueError
            key, offset = int(fields[0]), int(fields[1])
        except ValueError:
            raise IcflowError(
                f"{name} line {number} is {quoted(text.strip())}; "
                "expected an integer key and a byte offset separated by a tab"
            ) from None
        if offset < 0 or offset % 4:
            raise IcflowError(f"{name} line {number} has offset {offset}; RecordIO records start at multiples of 4")
        if offset > MAX_OFFSET:
            raise IcflowError(
                f"{name} line {number} has offset {offset}, past the end of any file; rebuild it with `icflow pack`"
            )
        yield key, offset


def format_idx_line(key: int, offset: int) -> str:
    return f"{key}\t{offset}\n"


class IndexedRecordWriter:
    """Writes a .rec and its .idx together, like mxnet's MXIndexedRecordIO.write_idx."""

    def __init__(self, rec_fileobj: BinaryIO, idx_fileobj: TextIO) -> None:
        self._records = RecordWriter(rec_fileobj)
        self._idx = idx_fileobj

    def write(self, key: int, payload: bytes) -> int:
        offset = self._records.write(payload)
        self._idx.write(format_idx_line(key, offset))
        return offset


class IndexedRecordReader:
    """Random access to the records of a .rec by the keys of its .idx; takes file objects or paths."""

    def __init__(
        self, rec: BinaryIO | str | os.PathLike[str], idx: IO[str] | IO[bytes] | str | os.PathLike[str]
    ) -> None:
        self._owned: list[IO] = []
        if isinstance(rec, (str, os.PathLike)):
            self._rec: BinaryIO = open(rec, "rb")
            self._owned.append(self._rec)
        else:
            self._rec = rec
        try:
            if isinstance(idx, (str, os.PathLike)):
                with open(idx, "rb") as handle:
                    self._offsets = _unique_offsets(handle, str(idx))
            else:
                self._offsets = _unique_offsets(idx, getattr(idx, "name", ".idx file"))
        except BaseException:
            self.close()
            raise

    @property
    def keys(self) -> list[int]:
        """The keys in .idx order."""
        return list(self._offsets)

    def offset(self, key: int) -> int:
        return self._offsets[key]

    def __len__(self) -> int:
        return len(self._offsets)

    def read(self, key: int) -> bytes:
        try:
            offset = self._offsets[key]
        except KeyError:
            raise IcflowError(f"key {key} is not in the .idx file") from None
        return read_record_at(self._rec, offset)

    def close(self) -> None:
        for handle in self._owned:
            handle.close()
        self._owned.clear()

    def __enter__(self) -> IndexedRecordReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _unique_offsets(source: IO[str] | IO[bytes], name: str) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for key, offset in read_idx(source, name):
        if key in offsets:
            raise IcflowError(f"{name} lists key {key} twice; rebuild it with `icflow pack`")
        offsets[key] = offset
    return offsets
