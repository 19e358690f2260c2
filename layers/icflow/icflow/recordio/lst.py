"""im2rec .lst files: "index\\tlabel[\\tlabel...]\\tpath" per line, labels written as %f."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from icflow.core.errors import IcflowError
from icflow.recordio.text_lines import numbered_lines, quoted

# Records store labels as float32 (and im2rec packs .lst labels into records), so a label beyond float32's
# range, such as 1e39, is one no record can hold: refused here rather than as an OverflowError later.
_FLOAT32 = struct.Struct("<f")


@dataclass(frozen=True)
class LstEntry:
    index: int
    labels: tuple[float, ...]
    path: str  # relative to the image root, with "/" separators


def read_lst(source: IO[str] | IO[bytes] | str, name: str = ".lst file") -> Iterator[LstEntry]:
    """Entries of a .lst given as a file object (text or binary) or as its text; `name` is for messages.

    Like im2rec, fields are split on tabs and stripped. Labels are the numeric fields after the index and
    the path is the rest, so a path that itself holds a tab survives (im2rec would keep only its last piece).
    """
    lines: Iterable[str | bytes] = io.StringIO(source) if isinstance(source, str) else source
    for number, text in numbered_lines(
        lines, name, "save it as UTF-8, or list the images again with `icflow pack --list`"
    ):
        if not text.strip():
            continue
        fields = [field.strip() for field in text.strip().split("\t")]
        if len(fields) < 3:
            raise IcflowError(
                f"{name} line {number} has {len(fields)} tab-separated field(s); "
                "expected index, label(s) and image path separated by tabs"
            )
        try:
            index = int(fields[0])
        except ValueError:
            raise IcflowError(
                f"{name} line {number} starts with {quoted(fields[0])}; expected an integer index"
            ) from None
        labels: list[float] = []
        for field in fields[1:-1]:
            try:
                label = float(field)
            except ValueError:
                break
            _check_label(label, name, number)
            labels.append(label)
        if not labels:
            raise IcflowError(f"{name} line {number} has no numeric label after the index {quoted(fields[0])}")
        path = "\t".join(fields[1 + len(labels) :])
        yield LstEntry(index, tuple(labels), path)


def _check_label(label: float, name: str, number: int) -> None:
    try:
        _FLOAT32.pack(label)
    except OverflowError:
        raise IcflowError(
            f"{name} line {number} has label {label!r}, beyond what a RecordIO label (float32, up to 3.4e38) "
            "holds; labels are class indexes 0, 1, 2, ...: correct the line"
        ) from None


def format_lst_line(entry: LstEntry) -> str:
    if "\n" in entry.path or "\r" in entry.path:
        raise IcflowError(f"image path {entry.path!r} holds a line break, which a .lst file cannot store; rename it")
    return f"{entry.index}\t" + "".join(f"{label:f}\t" for label in entry.labels) + f"{entry.path}\n"


def write_lst(fileobj: IO[str], entries: Iterable[LstEntry]) -> int:
    """Writes entries the way im2rec does; returns how many."""
    count = 0
    for entry in entries:
        fileobj.write(format_lst_line(entry))
        count += 1
    return count
