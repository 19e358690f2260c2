"""The data bucket's layout: every prefix and file name icflow reads or writes is decided here.

Only `datasets/` and `batch/` are watched by triggers; everything icflow writes goes under other
prefixes, so no output can start another run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from icflow.core.errors import IcflowError

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
REPORTS = "reports/"
# What icflow prepares for a dataset of class folders (icflow.training.class_folders): lists and manifests per run.
PREPARED = "prepared/"

PIPELINE_FILE = "pipeline.json"
CLASSES_FILE = "classes.txt"
LATEST_STATUS_FILE = "latest.json"
REPORT_FILE = "index.html"

TRAIN = "train"
VALIDATION = "validation"
TRAIN_LST = "train_lst"
VALIDATION_LST = "validation_lst"
CHANNELS = (TRAIN, VALIDATION, TRAIN_LST, VALIDATION_LST)
# A dataset of class folders: datasets/<dataset>/images/<class name>/<any depth>/<image>.
IMAGES = "images"

# A dataset is named by its folder, and any folder name S3 can hold works: SageMaker names derive a slug from
# it (icflow.core.naming), tags carry it encoded, and every key icflow writes keeps it as the user spelled it.
# Only these names cannot work, and an upload under one is rejected with the rule (UNUSABLE_NAME_STATUS):
# - empty ("datasets//x"), "." or "..": consoles and tools read them as path steps, not as a folder;
# - a control character (a line break, a tab): SageMaker's S3 URIs and the console cannot carry them;
# - over MAX_DATASET_NAME_BYTES: the keys icflow writes under the name (artifacts/<dataset>/<job>/output/
#   model.tar.gz, checkpoints/<dataset>/<run>/..., predictions/<dataset>/<batch>/predictions.jsonl) add up to
#   about 100 bytes, and the algorithm's checkpoint files more, to S3's limit of MAX_KEY_BYTES.
MAX_KEY_BYTES = 1024
MAX_DATASET_NAME_BYTES = 768
# Where an upload under a name icflow cannot use says why: a file directly under status/, so no dataset's
# status/<dataset>/latest.json can be it, whatever the dataset is called.
UNUSABLE_NAME_STATUS = f"{STATUS}unusable-dataset-name.json"


@dataclass(frozen=True)
class DatasetKey:
    """An object under datasets/<dataset>/: `part` is the first name below the dataset folder (a channel,
    PIPELINE_FILE or CLASSES_FILE when icflow reads it)."""

    dataset: str
    part: str
    relative: str  # path below the part's folder; "" for a file directly in the dataset folder


@dataclass(frozen=True)
class BatchKey:
    """An object under batch/<dataset>/: `relative` keeps any depth below the dataset folder."""

    dataset: str
    relative: str


class UnusableKey(IcflowError):
    """A key under datasets/ or batch/ that names no dataset icflow can use; `dataset` is the folder name,
    or None when the key has no dataset folder."""

    def __init__(self, key: str, dataset: str | None, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.dataset = dataset

    @property
    def folder(self) -> str:
        """The folder the key is in: datasets/<name>/ or batch/<name>/, or the watched prefix itself."""
        watched = DATASETS if self.key.startswith(DATASETS) else BATCH
        return watched if self.dataset is None else f"{watched}{self.dataset}/"


def dataset_name_problem(name: str) -> str | None:
    """Why `name` cannot be a dataset folder's name (the rule it breaks), or None when it can."""
    if name in ("", ".", ".."):
        return f"a dataset folder cannot be named {name!r}: S3 tools read it as a path step, not as a folder"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return (
            f"the dataset folder name {name!r} holds a control character (a line break, a tab, ...), "
            "which SageMaker's S3 URIs cannot carry"
        )
    size = len(name.encode("utf-8"))
    if size > MAX_DATASET_NAME_BYTES:
        return (
            f"the dataset folder name is {size} bytes long (UTF-8), over {MAX_DATASET_NAME_BYTES}: the keys icflow "
            f"writes under it (artifacts/<dataset>/<job>/output/model.tar.gz, ...) would pass S3's "
            f"{MAX_KEY_BYTES}-byte limit"
        )
    return None


def _dataset_folder(key: str, watched: str, example: str) -> tuple[str, str]:
    """(dataset, the rest of the key) of a key under `watched`; UnusableKey when the name cannot be one."""
    dataset, slash, rest = key[len(watched) :].partition("/")
    if not slash:
        raise UnusableKey(key, None, f"{key} is not in a dataset folder: upload it under {watched}<dataset>/{example}")
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise UnusableKey(key, dataset, f"{key}: {problem}; rename the folder and upload again")
    return dataset, rest


def parse_dataset_key(key: str) -> DatasetKey | None:
    """Classify a key under datasets/: None for other keys and for folders (the console makes them empty).
    `part` is what the key names below the dataset folder: a channel, a top-level file, or something
    icflow does not read (`Train`, `test`, `notes.txt`: icflow.training.dataset_facts rejects those).
    UnusableKey when the key names no dataset icflow can use."""
    if not key.startswith(DATASETS) or key.endswith("/"):
        return None
    dataset, rest = _dataset_folder(key, DATASETS, "train/...")
    part, _, relative = rest.partition("/")
    return DatasetKey(dataset, part, relative)


def parse_batch_key(key: str) -> BatchKey | None:
    """A key under batch/<dataset>/ (any depth): None for other keys and for folders; UnusableKey when the
    key names no dataset icflow can use."""
    if not key.startswith(BATCH) or key.endswith("/"):
        return None
    dataset, relative = _dataset_folder(key, BATCH, "<images>")
    return BatchKey(dataset, relative)


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


def run_report_key(dataset: str, run_id: str) -> str:
    """A run's report page (icflow.reports), linked from its run item and so from latest.json."""
    return f"{REPORTS}{dataset}/runs/{run_id}/{REPORT_FILE}"


def batch_report_key(dataset: str, batch_id: str) -> str:
    """A batch's report page (icflow.reports), linked from its summary.json."""
    return f"{REPORTS}{dataset}/batches/{batch_id}/{REPORT_FILE}"


def images_prefix(dataset: str) -> str:
    """Where a dataset's class folders are: images/<class name>/..."""
    return f"{DATASETS}{dataset}/{IMAGES}/"


def prepared_prefix(dataset: str, run_id: str) -> str:
    """What a run of class folders trains on: a manifest and a .lst file per channel, the class list, the skipped
    objects. Written once per run, read by its job and by labeling (the class names)."""
    return f"{PREPARED}{dataset}/{run_id}/"


def prepared_manifest_key(dataset: str, run_id: str, channel: str) -> str:
    return f"{prepared_prefix(dataset, run_id)}{channel}.manifest"


def prepared_lst_prefix(dataset: str, run_id: str, channel: str) -> str:
    """The folder the `<channel>_lst` channel reads; it holds one .lst file."""
    return f"{prepared_prefix(dataset, run_id)}{channel}_lst/"


def prepared_lst_key(dataset: str, run_id: str, channel: str) -> str:
    return f"{prepared_lst_prefix(dataset, run_id, channel)}{channel}.lst"


def prepared_classes_key(dataset: str, run_id: str) -> str:
    """The class names a run of class folders trained with, line i = class i."""
    return f"{prepared_prefix(dataset, run_id)}{CLASSES_FILE}"


def image_checks_key(dataset: str) -> str:
    """What checking a dataset's class-folder images found, by key and ETag, kept from run to run: an image checked
    once is not read again until it changes."""
    return f"{PREPARED}{dataset}/image-checks.jsonl"


def prepared_skipped_key(dataset: str, run_id: str) -> str:
    """Every object of the class folders left out of the run, one JSON object per line: key and reason."""
    return f"{prepared_prefix(dataset, run_id)}skipped.jsonl"
