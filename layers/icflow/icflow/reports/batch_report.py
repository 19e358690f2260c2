"""What a batch's report page shows, from the batch's own files: summary.json and predictions.jsonl.

Every labeled image goes into the gallery, lowest probability first, since those are the ones to look at. When
the user sorted the batch's images into folders named after the model's classes, the folder is the image's true
class, and the report adds accuracy, a confusion matrix and the misclassified images.

The class folder rule: the first folder below batch/<dataset>/ (batch/<dataset>/<class>/<any depth>/<file>)
names a class when it equals one of the model's class names exactly. Otherwise, a folder whose name differs from
exactly one class name by case or Unicode normalization alone (`Cat` for `cat`, a macOS upload's decomposed `é`)
names that class; when it matches several (classes `cat` and `Cat`), it names none, since guessing would count
images as misclassified that are not. Images directly in the dataset folder, or in a folder that names no class,
are outside class folders: they are in the gallery, not in the accuracy.

Pure: no AWS. Everything is held in memory, and bounded by one batch: predictions.jsonl holds one record per
labeled image of one collected group, at most BatchMaximumBatchSize (10,000, SQS's most per batch) images; about
1 KB each here, 10 MB at most.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from icflow.core import layout


@dataclass(frozen=True)
class GalleryImage:
    image_uri: str  # s3://bucket/batch/<dataset>/...
    key: str  # the S3 key
    name: str  # the path under batch/<dataset>/, what the page shows
    label: str
    probability: float
    top_k: tuple[tuple[str, float], ...]  # best first; the first is the label itself
    true_label: str | None  # the class folder it sits in, when that folder names one of the model's classes


@dataclass(frozen=True)
class GroundTruth:
    classes: tuple[str, ...]  # rows and columns of the matrix: the classes that occur, in class-index order
    matrix: tuple[tuple[int, ...], ...]  # matrix[true][predicted]
    evaluated: int  # images in a class folder
    correct: int
    accuracy: float
    outside_class_folders: int  # labeled images in no class folder
    misclassified: tuple[GalleryImage, ...]  # lowest probability first


@dataclass(frozen=True)
class BatchReportData:
    dataset: str
    batch_id: str
    model_name: str
    labeled_by: dict[str, str]  # {"endpoint": name} or {"transform_job": name}, from summary.json
    images: tuple[GalleryImage, ...]  # every labeled image, lowest probability first (ties: name)
    count_per_label: dict[str, int]  # most frequent first (ties: label), as summary.json
    skipped: tuple[tuple[str, str], ...]  # (uri, why): objects that were not images, from summary.json
    failed: tuple[tuple[str, str], ...]  # (image uri, why): summary.json's examples, at most its first 1,000
    failed_per_reason: dict[str, int]  # every failure, by its stable reason code
    ground_truth: GroundTruth | None  # None when no labeled image sits in a class folder


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


class ClassFolders:
    """Which class a folder below batch/<dataset>/ names, by the module's rule."""

    def __init__(self, class_names: Iterable[str]) -> None:
        self._exact = set(class_names)
        by_fold: dict[str, set[str]] = {}
        for name in self._exact:
            by_fold.setdefault(_folded(name), set()).add(name)
        self._folded = {fold: next(iter(names)) for fold, names in by_fold.items() if len(names) == 1}

    def class_of(self, folder: str) -> str | None:
        if folder in self._exact:
            return folder
        return self._folded.get(_folded(folder))


def _location(image_uri: str, dataset: str) -> tuple[str, str, str | None]:
    """(key, name below batch/<dataset>/, first folder of that name or None) of an image's URI."""
    key = image_uri.removeprefix("s3://").partition("/")[2]
    try:
        parsed = layout.parse_batch_key(key)
    except layout.UnusableKey:
        parsed = None
    if parsed is None or parsed.dataset != dataset:  # not one of this batch's inputs: shown by its key
        return key, key, None
    folder, slash, rest = parsed.relative.partition("/")
    return key, parsed.relative, folder if slash and rest else None


def _class_order(class_names: Sequence[str], records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Class name -> class index: the model's names, and any label the predictions name beside them (labels that
    are indices when the model has no names; or names since changed in classes.txt), at the index it had."""
    order = {name: index for index, name in enumerate(class_names)}
    for record in records:
        order.setdefault(record["label"], record["class_index"])
    return order


def _reason(item: Mapping[str, Any]) -> str:
    """The words a page shows for a skipped or failed object: its message, else its reason code."""
    return str(item.get("message") or item.get("reason") or "")


def _ground_truth(images: Sequence[GalleryImage], order: Mapping[str, int]) -> GroundTruth | None:
    evaluated = [(image.true_label, image) for image in images if image.true_label is not None]
    if not evaluated:
        return None
    occurring = {label for true_label, image in evaluated for label in (true_label, image.label)}
    classes = tuple(sorted(occurring, key=lambda name: (order[name], name)))
    position = {name: index for index, name in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for true_label, image in evaluated:
        matrix[position[true_label]][position[image.label]] += 1
    misclassified = tuple(image for true_label, image in evaluated if image.label != true_label)
    correct = len(evaluated) - len(misclassified)
    return GroundTruth(
        classes=classes,
        matrix=tuple(tuple(row) for row in matrix),
        evaluated=len(evaluated),
        correct=correct,
        accuracy=correct / len(evaluated),
        outside_class_folders=len(images) - len(evaluated),
        misclassified=misclassified,
    )


def batch_report_data(
    dataset: str,
    batch_id: str,
    summary: Mapping[str, Any],
    predictions: Iterable[Mapping[str, Any]],
    class_names: Sequence[str],
) -> BatchReportData:
    """The report of one batch: `summary` is its summary.json, `predictions` its predictions.jsonl records (read
    as they come), `class_names` the model's classes in class-index order (icflow.core.class_names, as the
    labeler loaded them; empty when the model has none, and then the predictions' labels are the classes)."""
    records = list(predictions)
    order = _class_order(class_names, records)
    folders = ClassFolders(order)
    images = []
    for record in records:
        key, name, folder = _location(record["image_uri"], dataset)
        images.append(
            GalleryImage(
                image_uri=record["image_uri"],
                key=key,
                name=name,
                label=record["label"],
                probability=float(record["probability"]),
                top_k=tuple((ranked["label"], float(ranked["probability"])) for ranked in record["top_k"]),
                true_label=None if folder is None else folders.class_of(folder),
            )
        )
    images.sort(key=lambda image: (image.probability, image.name))
    counts = Counter(image.label for image in images)
    failed = summary.get("failed") or {}
    return BatchReportData(
        dataset=dataset,
        batch_id=batch_id,
        model_name=summary["model_name"],
        labeled_by={how: name for how, name in (summary.get("labeled_by") or {}).items() if name},
        images=tuple(images),
        count_per_label=dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        skipped=tuple((item["uri"], _reason(item)) for item in summary.get("skipped") or ()),
        failed=tuple((item["image_uri"], _reason(item)) for item in failed.get("examples") or ()),
        failed_per_reason=dict(failed.get("count_per_reason") or {}),
        ground_truth=_ground_truth(images, order),
    )
