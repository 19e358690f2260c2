"""A run of class folders: what its job trains on, prepared from the listing of images/ (icflow.training.class_split).

The algorithm's image format wants the images in a `train` and a `validation` channel and an im2rec .lst file in
`train_lst` and `validation_lst` naming each image by its path in its channel. icflow writes, under
prepared/<dataset>/<run>/ (a prefix no trigger watches, so nothing it writes starts a run):
- `train.manifest` and `validation.manifest`: ManifestFile channels listing the split's images, so each job
  downloads each image once, into the channel that uses it. Their prefix is the bucket itself: whichever way
  SageMaker names the downloaded files (by the key below the prefix, or by the whole key), the name is the key;
- `train_lst/train.lst`, `validation_lst/validation.lst`: `index<TAB>label<TAB>key`;
- `classes.txt`, the class names in label order, which labeling reads for the run's model;
- `skipped.jsonl`, every object left out and why.

Every image is checked as a batch's images are (icflow.core.images): by name, size, first and last bytes, so
a text file named .jpg or an image cut off by an interrupted upload is left out with its reason, rather than
failing the job hours later; what the checks found is kept for the next run (icflow.training.image_checks).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from icflow.algorithm.problems import InvalidInput
from icflow.core import layout
from icflow.core.class_names import FROM_CLASS_FOLDERS, ClassNames
from icflow.core.images import S3Object, SkipReason, is_hidden_or_system
from icflow.core.pipeline_config import SplitSettings
from icflow.core.s3_objects import S3Objects
from icflow.recordio.stats import ChannelStats
from icflow.training.class_split import ClassSplit, LabeledImage, split_classes
from icflow.training.dataset_facts import IMAGE_SUFFIXES
from icflow.training.image_checks import ImageChecks

# Skipped objects quoted in the run's status; skipped.jsonl has all of them.
SHOWN_SKIPPED = 10

NOT_IN_CLASS_FOLDER = f"directly in {layout.IMAGES}/, not in a class folder; move it to {layout.IMAGES}/<class name>/"
NOT_AN_IMAGE_NAME = "not a .jpg, .jpeg or .png file; only JPEG and PNG images are examples of a class"
CONTROL_CHARACTER = (
    "its name holds a control character (a tab, a line break, ...), which the algorithm's .lst files cannot "
    "carry; rename it"
)
DELETED = "the object was deleted while the run was prepared; upload it again"


@dataclass(frozen=True)
class PreparedFolders:
    """What the run trains on: its classes and split, counted like a channel's records, and what was left out."""

    class_names: ClassNames  # in label order, from classes.txt, pipeline.json or the folders
    train: ChannelStats
    validation: ChannelStats
    skipped: dict[str, object]  # the run item's summary: count, per reason, first examples, where the rest are


def class_folder(relative: str) -> str | None:
    """The class folder of a key below images/, or None for a file directly in images/."""
    folder, slash, _ = relative.partition("/")
    return folder if slash else None


def name_problem(relative: str) -> str | None:
    """Why a key below images/ is no example of a class, from its name alone."""
    if is_hidden_or_system(relative):
        return SkipReason.HIDDEN.message
    if class_folder(relative) is None:
        return NOT_IN_CLASS_FOLDER
    if any(ord(char) < 32 or ord(char) == 127 for char in relative):
        return CONTROL_CHARACTER
    if not relative.lower().endswith(IMAGE_SUFFIXES):
        return NOT_AN_IMAGE_NAME
    return None


def _content_problem(reason: SkipReason) -> str:
    return DELETED if reason is SkipReason.MISSING else reason.message


def _stats(split: ClassSplit, images: Sequence[LabeledImage], where: str) -> ChannelStats:
    return ChannelStats(len(images), split.counts(images), 1 if images else 0, (where,))


class ClassFolders:
    def __init__(self, s3_client: Any, objects: S3Objects, checks: ImageChecks) -> None:
        self._s3 = s3_client
        self._objects = objects
        self._bucket = objects.bucket
        self._checks = checks

    def prepare(self, dataset: str, run_id: str, names: ClassNames, settings: SplitSettings) -> PreparedFolders:
        """Lists and checks the class folders, splits them and writes the run's prepared files. `names` are the
        class names in force (classes.txt or pipeline.json's; none: the folders sorted). Raises InvalidInput
        naming every problem (too few classes or images, names and folders that differ)."""
        prefix = layout.images_prefix(dataset)
        usable: dict[str, list[str]] = defaultdict(list)
        skipped_in_class: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        examples: list[str] = []
        with tempfile.TemporaryFile() as skipped_file:

            def skip(key: str, reason: str, folder: str | None) -> None:
                skipped_file.write(_line(json.dumps({"key": key, "reason": reason}, ensure_ascii=False)))
                reasons[reason] += 1
                if len(examples) < SHOWN_SKIPPED:
                    examples.append(f"{key}: {reason}")
                if folder is not None:
                    skipped_in_class[folder] += 1

            with self._checks.updating(dataset) as checks:
                for obj, reason in checks.check(self._candidates(prefix, skip)):
                    folder = class_folder(obj.key[len(prefix) :])
                    assert folder is not None  # _candidates passes only keys in class folders
                    if reason is None:
                        usable[folder].append(obj.key)
                    else:
                        skip(obj.key, _content_problem(reason), folder)
            count = sum(reasons.values())
            skipped_key = layout.prepared_skipped_key(dataset, run_id)
            if count:
                self._upload(skipped_file, skipped_key, "application/x-ndjson")
        summary: dict[str, object] = {"count": count}
        if count:
            summary |= {"by_reason": dict(reasons), "examples": examples, "all": f"s3://{self._bucket}/{skipped_key}"}
        source = names.source if names.names else FROM_CLASS_FOLDERS
        try:
            split = split_classes(usable, skipped_in_class, names.names, source, settings)
        except InvalidInput as error:
            if not count:
                raise
            left_out = f"{count} object{'s' if count != 1 else ''} left out, such as " + "; ".join(examples[:3])
            raise InvalidInput(error.subject, [*error.problems, f"{left_out} (all in {summary['all']})"]) from None
        self._write(dataset, run_id, split)
        return PreparedFolders(
            ClassNames(split.classes, source),
            _stats(split, split.train, layout.prepared_lst_key(dataset, run_id, layout.TRAIN)),
            _stats(split, split.validation, layout.prepared_lst_key(dataset, run_id, layout.VALIDATION)),
            summary,
        )

    def _candidates(self, prefix: str, skip: Any) -> Iterable[S3Object]:
        """The keys below images/ whose names make them images of a class; the others go to `skip`."""
        for stored in self._objects.walk(prefix):
            relative = stored.key[len(prefix) :]
            if not relative or relative.endswith("/"):
                continue  # a folder the console made
            problem = name_problem(relative)
            if problem is None:
                yield S3Object(stored.key, stored.size, stored.etag)
                continue
            # Hidden and system files are no class's: a __MACOSX/ folder is not a class without images.
            counted = problem not in (SkipReason.HIDDEN.message, NOT_IN_CLASS_FOLDER)
            skip(stored.key, problem, class_folder(relative) if counted else None)

    def _write(self, dataset: str, run_id: str, split: ClassSplit) -> None:
        bucket_prefix = f"s3://{self._bucket}/"
        for channel, images in ((layout.TRAIN, split.train), (layout.VALIDATION, split.validation)):
            # Written as they are made, to temporary files: a list of a million keys never sits in memory twice.
            with tempfile.TemporaryFile() as manifest:
                manifest.write(json.dumps([{"prefix": bucket_prefix}], ensure_ascii=False)[:-1].encode())
                for image in images:
                    manifest.write((", " + json.dumps(image.key, ensure_ascii=False)).encode())
                manifest.write(b"]")
                self._upload(manifest, layout.prepared_manifest_key(dataset, run_id, channel), "application/json")
            with tempfile.TemporaryFile() as lst:
                for index, image in enumerate(images):
                    lst.write(_line(f"{index}\t{image.label}\t{image.key}"))
                self._upload(lst, layout.prepared_lst_key(dataset, run_id, channel), "text/plain; charset=utf-8")
        self._s3.put_object(
            Bucket=self._bucket,
            Key=layout.prepared_classes_key(dataset, run_id),
            Body="".join(f"{name}\n" for name in split.classes).encode(),
            ContentType="text/plain; charset=utf-8",
        )

    def _upload(self, written: IO[bytes], key: str, content_type: str) -> None:
        """Uploads a temporary file from its start; upload_fileobj sends a large one in parts."""
        written.seek(0)
        self._s3.upload_fileobj(written, self._bucket, key, ExtraArgs={"ContentType": content_type})


def _line(text: str) -> bytes:
    return (text + "\n").encode()
