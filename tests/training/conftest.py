"""Shared fixtures for the pure domain tests: channel statistics as icflow.recordio reports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class Counts:
    records: int
    label_counts: dict[int, int]
    max_labels_per_record: int = 1
    files: tuple[str, ...] = field(default=())


@pytest.fixture
def counts() -> Callable[..., Counts]:
    """counts({0: 5, 1: 5}) -> statistics of a channel with those label occurrences."""

    def make(label_counts: dict[int, int], records: int | None = None, max_labels: int = 1) -> Counts:
        total = sum(label_counts.values()) if records is None else records
        return Counts(total, dict(label_counts), max_labels)

    return make
