"""Accuracy per epoch, read from a training job's log lines: the only place SageMaker keeps them.

DescribeTrainingJob has the last values only (FinalMetricDataList), and the job's CloudWatch metrics are rolled
up per period with no epoch number. The image-classification algorithm prints, at each epoch end:

    Epoch[3] Train-accuracy=0.912000
    Epoch[3] Time cost=12.345
    Epoch[3] Validation-accuracy=0.850000

and, with `top_k`, `Epoch[3] Train-top_k_accuracy_5=...` and `Validation-top_k_accuracy_5=...`. CloudWatch Logs
may put a timestamp or the algorithm's `[12/05/2026 10:00:00 INFO 1403...] ` before them. Names follow
SageMaker's metric naming (`train:accuracy`, `validation:top_k_accuracy_5`); the time cost is `epoch_seconds`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

# More epochs than any training runs (the lines of a log past them are ignored): what one log costs is bounded.
MAX_EPOCHS = 10_000
# Per epoch, the algorithm prints a handful; a log that names more is not the algorithm's, and is not kept.
MAX_METRICS_PER_EPOCH = 32
EPOCH_SECONDS = "epoch_seconds"

# CloudWatch Logs shows a tab the algorithm printed as "#011" (syslog's escape).
_LINE = re.compile(
    r"Epoch\[(?P<epoch>\d{1,9})\](?:[ \t]|#011)+"
    r"(?:(?P<channel>Train|Validation)-(?P<name>[A-Za-z0-9_-]{1,64})|(?P<time>Time cost))"
    r"=(?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?i:nan|inf(?:inity)?))"
)


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    metrics: dict[str, float]


def parse_line(line: str) -> tuple[int, str, float] | None:
    """(epoch, metric name, value) of one epoch-end line; None for any other line, or a value that is not finite."""
    found = _LINE.search(line)
    if found is None:
        return None
    value = float(found["value"])
    if not math.isfinite(value):
        return None
    name = EPOCH_SECONDS if found["time"] else f"{found['channel'].lower()}:{found['name']}"
    return int(found["epoch"]), name, value


def epochs_from_log(lines: Iterable[str]) -> list[EpochMetrics]:
    """Every epoch the lines report, sorted by epoch. An epoch reported again (a spot job resumed from its
    checkpoint trains it anew) keeps its last values."""
    epochs: dict[int, dict[str, float]] = {}
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        epoch, name, value = parsed
        metrics = epochs.get(epoch)
        if metrics is None:
            if len(epochs) >= MAX_EPOCHS:
                continue
            metrics = epochs[epoch] = {}
        if name in metrics or len(metrics) < MAX_METRICS_PER_EPOCH:
            metrics[name] = value
    return [EpochMetrics(epoch, epochs[epoch]) for epoch in sorted(epochs)]
