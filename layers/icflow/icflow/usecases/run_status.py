"""The status values of the run-state table's items (docs/architecture.md, "Run state")."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    STARTING = "starting"  # the run item exists; its job is being created
    TRAINING = "training"
    TUNING = "tuning"
    MODEL_READY = "model_ready"
    REJECTED = "rejected"  # invalid configuration or dataset, or below the quality gate
    FAILED = "failed"
    STOPPED = "stopped"


# The dataset item's status is its latest run's, or this while a channel has no data yet.
DATASET_WAITING = "waiting"


RUNNING = (RunStatus.STARTING, RunStatus.TRAINING, RunStatus.TUNING)
