"""Properties of the epoch-metrics reader: any lines give epochs within time and memory bounds (support.hostile),
never an exception; every value is finite, epochs are sorted and unique, and a line the algorithm printed is read
back whatever comes before it."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from icflow.reports.epoch_metrics import EpochMetrics, epochs_from_log
from support.hostile import parses_or_explains

EDGE_PIECES = [
    "Epoch[",
    "]",
    "Epoch[0]",
    "Epoch[3] ",
    "Epoch[99999999999999] ",
    "Train-",
    "Validation-",
    "accuracy",
    "top_k_accuracy_5",
    "Time cost",
    "=",
    "#011",
    "\t",
    " ",
    "0.5",
    "1e999",
    "-1e-999",
    "nan",
    "-inf",
    "9" * 5000,
    "." * 3,
    "\x00",
    "\u0661",
    "[12/05/2026 10:00:00 INFO 140] ",
]
LINES = st.lists(
    st.lists(st.one_of(st.sampled_from(EDGE_PIECES), st.text(max_size=8)), max_size=10).map("".join), max_size=30
)


def _well_formed(epochs: list[EpochMetrics]) -> None:
    numbers = [entry.epoch for entry in epochs]
    assert numbers == sorted(set(numbers))
    for entry in epochs:
        assert entry.metrics and all(math.isfinite(value) for value in entry.metrics.values())


@given(LINES)
def test_any_lines_give_well_formed_epochs(lines: list[str]) -> None:
    result = parses_or_explains(epochs_from_log, lines)
    assert isinstance(result, list)
    _well_formed(result)


@given(
    st.text(max_size=40).filter(lambda prefix: "Epoch[" not in prefix),
    st.integers(0, 10**6),
    st.sampled_from(["Train-accuracy", "Validation-accuracy", "Validation-top_k_accuracy_5", "Time cost"]),
    st.floats(0, 1e6, allow_nan=False),
    LINES,
)
def test_a_printed_line_is_read_back_whatever_its_prefix(
    prefix: str, epoch: int, metric: str, value: float, noise: list[str]
) -> None:
    line = f"{prefix}Epoch[{epoch}] {metric}={value:f}"
    # The noise comes first: a later line of the same epoch and metric wins.
    epochs = {entry.epoch: entry.metrics for entry in parses_or_explains(epochs_from_log, [*noise, line])}
    name = "epoch_seconds" if metric == "Time cost" else metric.lower().replace("-", ":", 1)
    assert epochs[epoch][name] == float(f"{value:f}")
