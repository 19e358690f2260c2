"""The data bucket's layout: every prefix and file name icflow reads or writes is decided here.

Only `datasets/` and `batch/` are watched by triggers; everything icflow writes goes under other
prefixes, so no output can start another run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DATASETS = "datasets/"
BATCH = "batch/"
WATCHED_PREFIXES = (DATASETS, BATCH)

STATUS = "status/"
ARTIFACTS = "artifacts/"
CHECKPOINTS = "checkpoints/"
TRANSFORM_INPUT = "transform-input/"
TRANSFORM_OUTPUT = "transform-output/"
PREDICTIONS = "predictions/"
LABELED = "labeled/"

PIPELINE_FILE = "pipeline.json"
CLASSES_FILE = "classes.txt"
LATEST_STATUS_FILE = "latest.json"

TRAIN = "train"
VALIDATION = "validation"
TRAIN_LST = "train_lst"
VALIDATION_LST = "validation_lst"
CHANNELS = (TRAIN, VALIDATION, TRAIN_LST, VALIDATION_LST)

# Dataset names become part of SageMaker resource names and S3 prefixes.
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class DatasetKey:
    """An object under datasets/<dataset>/: `part` is a channel name, PIPELINE_FILE or CLASSES_FILE."""

    dataset: str
    part: str
    relative: str  # path below the channel folder; "" for pipeline.json and classes.txt


@dataclass(frozen=True)
class BatchKey:
    """An object under batch/<dataset>/: `relative` keeps any depth below the dataset folder."""

    dataset: str
    relative: str


def parse_dataset_key(key: str) -> DatasetKey | None:
    """Classify a key under datasets/; None for keys icflow does not act on (folders, other files)."""
    if not key.startswith(DATASETS) or key.endswith("/"):
        return None
    parts = key[len(DATASETS) :].split("/", 2)
    if len(parts) < 2 or not DATASET_NAME.match(parts[0]):
        return None
    dataset = parts[0]
    if len(parts) == 2:
        return DatasetKey(dataset, parts[1], "") if parts[1] in (PIPELINE_FILE, CLASSES_FILE) else None
    channel, relative = parts[1], parts[2]
    return DatasetKey(dataset, channel, relative) if channel in CHANNELS else None


def parse_batch_key(key: str) -> BatchKey | None:
    if not key.startswith(BATCH) or key.endswith("/"):
        return None
    parts = key[len(BATCH) :].split("/", 1)
    if len(parts) < 2 or not DATASET_NAME.match(parts[0]) or not parts[1]:
        return None
    return BatchKey(parts[0], parts[1])


def dataset_prefix(dataset: str) -> str:
    return f"{DATASETS}{dataset}/"


def channel_prefix(dataset: str, channel: str) -> str:
    return f"{DATASETS}{dataset}/{channel}/"


def pipeline_key(dataset: str) -> str:
    return f"{DATASETS}{dataset}/{PIPELINE_FILE}"


def classes_key(dataset: str) -> str:
    return f"{DATASETS}{dataset}/{CLASSES_FILE}"


def status_prefix(dataset: str) -> str:
    return f"{STATUS}{dataset}/"


def latest_status_key(dataset: str) -> str:
    return f"{STATUS}{dataset}/{LATEST_STATUS_FILE}"


def artifacts_prefix(dataset: str) -> str:
    """Training output path; SageMaker adds <job>/output/model.tar.gz below it."""
    return f"{ARTIFACTS}{dataset}/"


def checkpoints_prefix(dataset: str, run_id: str) -> str:
    return f"{CHECKPOINTS}{dataset}/{run_id}/"


def transform_input_prefix(dataset: str, batch_id: str) -> str:
    return f"{TRANSFORM_INPUT}{dataset}/{batch_id}/"


def transform_output_prefix(dataset: str, batch_id: str) -> str:
    return f"{TRANSFORM_OUTPUT}{dataset}/{batch_id}/"


def predictions_prefix(dataset: str, batch_id: str) -> str:
    return f"{PREDICTIONS}{dataset}/{batch_id}/"


def labeled_prefix(dataset: str, label: str) -> str:
    return f"{LABELED}{dataset}/{label}/"
