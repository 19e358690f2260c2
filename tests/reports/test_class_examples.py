"""A few training images per class for a run's page: from the images an image dataset's .lst files list, or from
inside a RecordIO dataset's records; read no further than the examples need, and never failed by a bad file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from icflow.core import layout
from icflow.core.s3_objects import S3Objects
from icflow.recordio.framing import RecordWriter
from icflow.recordio.image_record import pack_image_record
from icflow.reports import class_examples
from icflow.reports.class_examples import EXAMPLES_PER_CLASS, ClassExamples, _choose
from icflow.reports.thumbnails import ThumbnailFetcher
from support.s3_files import BUCKET, put

DATASET = "pets"
RUN = "0123456789ab"


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (shade, 0, 0)).save(out, "PNG")
    return out.getvalue()


def _rec(labels: list[float]) -> bytes:
    out = io.BytesIO()
    writer = RecordWriter(out)
    for index, label in enumerate(labels):
        writer.write(pack_image_record(label, _png(index), index))
    return out.getvalue()


def _examples(s3: Any) -> ClassExamples:
    return ClassExamples(s3, S3Objects(s3, BUCKET), ThumbnailFetcher(s3, BUCKET))


def test_a_recordio_dataset_shows_images_from_inside_its_records(s3: Any) -> None:
    put(s3, f"{layout.channel_prefix(DATASET, layout.TRAIN)}part-0.rec", _rec([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0]))
    put(s3, f"{layout.channel_prefix(DATASET, layout.TRAIN)}notes.rec", b"not RecordIO at all")

    examples = _examples(s3).of(DATASET, RUN, "recordio", classes=3)

    assert {index: len(uris) for index, uris in examples.items()} == {0: 3, 1: 3, 2: 3}
    assert all(uri.startswith("data:image/jpeg;base64,") for uris in examples.values() for uri in uris)


def test_an_image_dataset_shows_the_images_its_lists_name(s3: Any) -> None:
    lines = []
    for index in range(8):
        put(s3, f"{layout.channel_prefix(DATASET, layout.TRAIN)}img/{index}.png", _png(index))
        lines.append(f"{index}\t{index % 2}\timg/{index}.png")
    lines.append("8\t1\timg/deleted.png")  # listed, since deleted: the page goes without it
    put(s3, f"{layout.channel_prefix(DATASET, layout.TRAIN_LST)}train.lst", "\n".join(lines).encode())

    examples = _examples(s3).of(DATASET, RUN, "image", classes=2)

    assert {index: len(uris) for index, uris in examples.items()} == {0: EXAMPLES_PER_CLASS, 1: EXAMPLES_PER_CLASS}


def test_class_folders_show_the_images_the_runs_prepared_list_names(s3: Any) -> None:
    lines = []
    for index in range(6):
        key = f"{layout.images_prefix(DATASET)}{'cat' if index % 2 else 'dog'}/{index}.png"
        put(s3, key, _png(index))
        lines.append(f"{index}\t{index % 2}\t{key}")
    put(s3, layout.prepared_lst_key(DATASET, RUN, layout.TRAIN), "\n".join(lines).encode())

    examples = _examples(s3).of(DATASET, RUN, "folders", classes=2)

    assert {index: len(uris) for index, uris in examples.items()} == {0: EXAMPLES_PER_CLASS, 1: EXAMPLES_PER_CLASS}


def test_reading_stops_once_every_class_has_its_examples() -> None:
    def entries() -> Iterator[tuple[tuple[float, ...], int]]:
        yield from (((float(n % 2),), n) for n in range(2 * EXAMPLES_PER_CLASS))
        raise AssertionError("read past the examples needed")

    assert _choose(entries(), wanted=2) == {0: [0, 2, 4], 1: [1, 3, 5]}


def test_labels_that_are_no_class_index_are_passed_over_and_classes_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(class_examples, "EXAMPLES_PER_CLASS", 1)
    items = [((float("nan"),), "a"), ((), "b"), ((-1.0,), "c"), ((7.0,), "d"), ((8.0,), "e"), ((9.0,), "f")]
    assert _choose(iter(items), wanted=2) == {7: ["d"], 8: ["e"]}


def test_a_format_without_images_has_no_examples(s3: Any) -> None:
    assert _examples(s3).of(DATASET, RUN, None, classes=None) == {}
