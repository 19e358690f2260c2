"""What the training path needs to know about a channel: how many records and which class indexes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from icflow.core.errors import IcflowError


@dataclass(frozen=True)
class ChannelStats:
    records: int
    label_counts: dict[int, int]  # class index -> occurrences; a multi-label record counts each label
    max_labels_per_record: int
    files: tuple[str, ...]  # what was read (S3 keys or paths), in reading order

    @property
    def num_classes(self) -> int:
        """Classes are indexes 0..n-1, so this is the largest index seen plus one (0 for no records)."""
        return max(self.label_counts) + 1 if self.label_counts else 0


def is_class_index(label: float) -> bool:
    return math.isfinite(label) and label >= 0 and label == int(label)


def missing_class_indexes(indexes: Iterable[int], shown: int) -> tuple[list[int], int]:
    """The first `shown` class indexes missing from 0..max(indexes), and how many are missing in all.

    Costs time and memory in the number of distinct indexes, never in their values: anyone can upload a
    record labelled 1e30, and walking 0..1e30 would never end."""
    present = sorted({index for index in indexes if index >= 0})
    first: list[int] = []
    expected = 0
    for index in present:
        first.extend(range(expected, min(index, expected + shown - len(first))))
        expected = index + 1
    return first, expected - len(present)


@dataclass
class LabelTally:
    """Adds up records and labels, checking that every label is a class index."""

    records: int = 0
    max_labels_per_record: int = 0
    counts: Counter[int] = field(default_factory=Counter)

    def add(self, labels: Iterable[float], where: str) -> None:
        """`where` names the record for messages, e.g. "train/a.rec, record at byte offset 96"."""
        width = 0
        for label in labels:
            if not is_class_index(label):
                raise IcflowError(
                    f"{where} has label {label!r}, which is not a class index; "
                    "labels must be whole numbers 0, 1, 2, ..."
                )
            self.counts[int(label)] += 1
            width += 1
        self.records += 1
        self.max_labels_per_record = max(self.max_labels_per_record, width)

    def merge(self, other: LabelTally) -> None:
        self.records += other.records
        self.max_labels_per_record = max(self.max_labels_per_record, other.max_labels_per_record)
        self.counts.update(other.counts)

    def stats(self, files: Iterable[str]) -> ChannelStats:
        return ChannelStats(self.records, dict(sorted(self.counts.items())), self.max_labels_per_record, tuple(files))
