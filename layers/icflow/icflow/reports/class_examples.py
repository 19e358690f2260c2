"""A few training images of each class, as thumbnails, for a run's page: the images an image dataset's .lst files
list (for class folders, the .lst file icflow prepared for the run), or the images inside a RecordIO dataset's
first records.

Examples illustrate the data, they are not the data: the first MAX_CLASSES classes get EXAMPLES_PER_CLASS each,
and reading stops after MAX_ENTRIES .lst lines or MAX_RECORD_BYTES of records, however the classes are spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from icflow.core import layout
from icflow.core.s3_objects import S3Objects
from icflow.recordio.errors import RecordIOError
from icflow.recordio.framing import read_records
from icflow.recordio.image_record import unpack_image_record
from icflow.recordio.s3 import lst_entries
from icflow.recordio.stats import is_class_index
from icflow.reports.thumbnails import ThumbnailFetcher, thumbnail

EXAMPLES_PER_CLASS = 3
MAX_CLASSES = 200
MAX_ENTRIES = 200_000
MAX_RECORD_BYTES = 128 * 2**20
T = TypeVar("T")


class ClassExamples:
    def __init__(self, s3: Any, objects: S3Objects, thumbnails: ThumbnailFetcher) -> None:
        self._s3 = s3
        self._bucket = objects.bucket
        self._objects = objects
        self._thumbnails = thumbnails

    def of(self, dataset: str, run_id: str, input_format: str | None, classes: int | None) -> dict[int, list[str]]:
        """Class index -> data URIs of a few of its training images; {} for a format that holds no images.
        `classes`, when the run counted them, lets reading stop as soon as each has its examples."""
        wanted = min(classes or MAX_CLASSES, MAX_CLASSES)
        if input_format == "image":
            train = layout.channel_prefix(dataset, layout.TRAIN)
            return self._listed(self._keys(dataset, layout.TRAIN_LST, ".lst"), train, wanted)
        if input_format == "folders":  # the prepared list names each image by its key
            return self._listed([layout.prepared_lst_key(dataset, run_id, layout.TRAIN)], "", wanted)
        if input_format == "recordio":
            return self._recorded(dataset, wanted)
        return {}

    def _keys(self, dataset: str, channel: str, suffix: str) -> list[str]:
        return [
            obj.key for obj in self._objects.list(layout.channel_prefix(dataset, channel)) if obj.key.endswith(suffix)
        ]

    def _listed(self, lst_keys: list[str], root: str, wanted: int) -> dict[int, list[str]]:
        """Examples from .lst files whose paths are below `root` (the train channel's prefix)."""
        entries = (
            (entry.labels, root + entry.path) for key in lst_keys for entry in lst_entries(self._s3, self._bucket, key)
        )
        chosen = _choose(islice(entries, MAX_ENTRIES), wanted)
        thumbs = self._thumbnails.thumbnails(key for keys in chosen.values() for key in keys)
        return {index: [uri for key in keys if (uri := thumbs[key].data_uri)] for index, keys in chosen.items()}

    def _recorded(self, dataset: str, wanted: int) -> dict[int, list[str]]:
        chosen = _choose(self._records(self._keys(dataset, layout.TRAIN, ".rec")), wanted)
        return {
            index: [uri for image in images if (uri := thumbnail(image).data_uri)] for index, images in chosen.items()
        }

    def _records(self, keys: list[str]) -> Iterator[tuple[tuple[float, ...], bytes]]:
        """(labels, encoded image) of the records of the .rec files in turn, until MAX_RECORD_BYTES are read; a
        file that turns out not to be RecordIO of images ends its own examples, not the page."""
        budget = MAX_RECORD_BYTES
        for key in keys:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            with body:
                try:
                    for payload in read_records(body, offset=0):
                        record = unpack_image_record(payload)
                        yield record.labels, record.image
                        budget -= len(payload)
                        if budget <= 0:
                            return
                except RecordIOError:
                    continue


def _choose(entries: Iterable[tuple[tuple[float, ...], T]], wanted: int) -> dict[int, list[T]]:
    """The first EXAMPLES_PER_CLASS items of each of the first `wanted` classes (by an item's first label), read no
    further than needed: as soon as `wanted` classes each have theirs."""
    chosen: dict[int, list[T]] = {}
    for labels, item in entries:
        if not labels or not is_class_index(labels[0]):
            continue
        index = int(labels[0])
        if index not in chosen and len(chosen) >= wanted:
            continue
        examples = chosen.setdefault(index, [])
        if len(examples) < EXAMPLES_PER_CLASS:
            examples.append(item)
        if len(chosen) >= wanted and all(len(found) >= EXAMPLES_PER_CLASS for found in chosen.values()):
            break
    return chosen
