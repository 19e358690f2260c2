"""`icflow inspect`: what a .rec holds and what is wrong with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError
from icflow.recordio import RecordIOError, read_idx, read_lst, read_records_with_offsets, unpack_image_record
from icflow.recordio.framing import check_not_empty, find_record_start
from icflow.recordio.stats import is_class_index, missing_class_indexes
from icflow_tools.dataset.images import describe_image
from icflow_tools.dataset.progress import Progress

IDX = ".idx"


@dataclass
class Inspection:
    file: str
    bytes: int
    records: int = 0
    labels: Counter[float] = field(default_factory=Counter)
    max_labels_per_record: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, text: str, offset: int | None = None) -> None:
        self.problems.append({"offset": offset, "problem": text})

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "bytes": self.bytes,
            "records": self.records,
            "labels": {label_text(label): count for label, count in sorted(self.labels.items())},
            "num_classes": num_classes(self.labels),
            "max_labels_per_record": self.max_labels_per_record,
            "formats": dict(self.formats.most_common()),
            "sizes": {f"{w}x{h}": count for (w, h), count in self.sizes.most_common()},
            "problems": self.problems,
        }


def label_text(label: float) -> str:
    return str(int(label)) if is_class_index(label) else repr(label)


def num_classes(labels: Counter[float]) -> int:
    whole = [label for label in labels if is_class_index(label)]
    return int(max(whole)) + 1 if whole else 0


MAX_PROBLEMS = 100  # a badly damaged file would otherwise print one line per record


def inspect_rec(path: Path, decode: bool = True, progress: Progress | None = None) -> Inspection:
    """Reads every record; past a damaged stretch it reads on from the next plausible record."""
    result = Inspection(str(path), path.stat().st_size)
    offsets: list[int] = []
    start: int | None = 0
    try:
        check_not_empty(result.bytes)
    except RecordIOError as error:
        result.problem(error.reason, error.offset)
        start = None
    with open(path, "rb") as handle:
        while start is not None and len(result.problems) < MAX_PROBLEMS:
            handle.seek(start)
            try:
                for offset, payload in read_records_with_offsets(handle, offset=start):
                    offsets.append(offset)
                    _record(result, payload, offset, decode)
                    if progress:
                        progress.advance()
                start = None
            except RecordIOError as error:
                damaged = start if error.offset is None else error.offset
                start = find_record_start(handle, damaged + 4)
                skipped = (start if start is not None else result.bytes) - damaged
                result.problem(f"{error.reason}; {skipped} bytes from here could not be read", damaged)
    _check_labels(result)
    _check_idx(result, path.with_suffix(IDX), offsets)
    return result


def inspect_lst(path: Path) -> Inspection:
    """Reads every entry of an im2rec .lst: entries are its records; stops at the first line that is not one."""
    result = Inspection(str(path), path.stat().st_size)
    with open(path, "rb") as handle:
        try:
            for entry in read_lst(handle, path.name):
                result.records += 1
                result.labels.update(entry.labels)
                result.max_labels_per_record = max(result.max_labels_per_record, len(entry.labels))
        except IcflowError as error:
            result.problem(f"{error}; the lines after it were not read")
    _check_labels(result)
    return result


def _record(result: Inspection, payload: bytes, offset: int, decode: bool) -> None:
    result.records += 1
    try:
        record = unpack_image_record(payload, offset)
    except RecordIOError as error:
        result.problem(error.reason, offset)
        return
    result.labels.update(record.labels)
    result.max_labels_per_record = max(result.max_labels_per_record, len(record.labels))
    if decode:
        _describe(result, record.image, record.id, offset)


def _describe(result: Inspection, image: bytes, record_id: int, offset: int) -> None:
    what = f"the image of record id {record_id}"
    try:
        kind, size = describe_image(image, what)
    except IcflowError as error:  # one with too many pixels, say
        result.problem(str(error), offset)
        return
    except Exception as error:  # Pillow raises many types for damaged images; each is a finding here
        result.problem(f"{what} does not decode: {error}", offset)
        return
    result.formats[kind] += 1
    result.sizes[size] += 1


def _check_labels(result: Inspection) -> None:
    odd = [label for label in result.labels if not is_class_index(label)]
    if odd:
        result.problem(f"labels that are not class indexes: {', '.join(label_text(x) for x in odd[:10])}")
    # The training path's check: a label of 1e30 costs one entry here, not a walk over 0..1e30.
    missing, count = missing_class_indexes((int(label) for label in result.labels if is_class_index(label)), 10)
    if count:
        shown = ", ".join(map(str, missing)) + (f" and {count - len(missing)} more" if count > len(missing) else "")
        result.problem(f"labels are not contiguous from 0: no record has label {shown}")


def _check_idx(result: Inspection, idx: Path, offsets: list[int]) -> None:
    if not idx.exists():
        return
    try:
        with open(idx, "rb") as handle:
            listed = sorted(offset for _, offset in read_idx(handle, str(idx)))
    except (OSError, IcflowError) as error:
        result.problem(f"{idx.name} cannot be read: {error}")
        return
    if listed != offsets:
        result.problem(f"{idx.name} lists {len(listed)} records that do not match the {len(offsets)} in the file")


def render(result: Inspection) -> str:
    lines = [f"{result.file}: {result.records} records, {result.bytes / 1e6:.1f} MB"]
    if result.labels:
        lines.append(
            f"labels: {len(result.labels)} distinct, num_classes {num_classes(result.labels)}, "
            f"up to {result.max_labels_per_record} per record"
        )
        lines.extend(f"  {label_text(label):>8}  {count}" for label, count in sorted(result.labels.items()))
    if result.formats:
        lines.append("formats: " + ", ".join(f"{kind} {count}" for kind, count in result.formats.most_common()))
    if result.sizes:
        (w0, h0), _ = min(result.sizes.items(), key=lambda item: item[0][0] * item[0][1])
        (w1, h1), _ = max(result.sizes.items(), key=lambda item: item[0][0] * item[0][1])
        top = ", ".join(f"{w}x{h} ({count})" for (w, h), count in result.sizes.most_common(3))
        lines.append(f"sizes: smallest {w0}x{h0}, largest {w1}x{h1}, most common {top}")
    if result.problems:
        lines.append(f"problems: {len(result.problems)}")
        for problem in result.problems:
            where = f" at byte offset {problem['offset']}" if problem["offset"] is not None else ""
            lines.append(f"  {problem['problem']}{where}")
    else:
        lines.append("problems: none")
    return "\n".join(lines)
