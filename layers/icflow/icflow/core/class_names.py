"""Class names for predictions: classes.txt (line i = class i), else a list in pipeline.json, else the index.

Names also become S3 folders (`labeled/<dataset>/<label>/`) and CSV cells, so a name that would shift
the indices (an empty line in the middle), repeat another, or split a folder is rejected with the line
it is on rather than guessed around.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from icflow.core import layout, naming
from icflow.core.errors import IcflowError
from icflow.core.s3_objects import S3Objects
from icflow.core.user_text import decode_user_text

FROM_CLASSES_FILE = layout.CLASSES_FILE
FROM_PIPELINE = layout.PIPELINE_FILE
FROM_INDEX = "class index"
# A dataset of class folders without classes.txt: the folder names, sorted (icflow.training.class_folders).
FROM_CLASS_FOLDERS = f"{layout.IMAGES}/ folders"


@dataclass(frozen=True)
class ClassNames:
    """Names by class index; `names` is empty when only indices are known."""

    names: tuple[str, ...]
    source: str

    def label(self, index: int) -> str:
        return self.names[index] if self.names else str(index)

    @property
    def count(self) -> int | None:
        """How many classes the names describe; None when any prediction length is acceptable."""
        return len(self.names) if self.names else None


def _check_name(name: str, where: str) -> None:
    if "/" in name:
        raise IcflowError(
            f"{where}: class name {name!r} contains '/', which would split its labeled/ folder; rename it"
        )
    if any(ord(char) < 32 for char in name):
        raise IcflowError(f"{where}: class name {name!r} contains a control character; remove it")


def parse_classes_txt(data: bytes | str) -> tuple[str, ...]:
    """Names from classes.txt: UTF-8 with or without BOM, LF or CRLF; surrounding spaces and trailing blank
    lines are ignored."""
    if isinstance(data, bytes):
        data = decode_user_text(data, layout.CLASSES_FILE)
    # str.splitlines would also split on form feeds and Unicode separators, shifting class indices.
    lines = [line.strip() for line in data.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise IcflowError(f"{layout.CLASSES_FILE} is empty; write one class name per line, class 0 first, or delete it")
    first_line: dict[str, int] = {}
    for number, name in enumerate(lines, start=1):
        where = f"{layout.CLASSES_FILE} line {number}"
        if not name:
            raise IcflowError(
                f"{where} is empty: line i names class i, so an empty line shifts every class after it; "
                "remove the line or write the class name"
            )
        _check_name(name, where)
        if name in first_line:
            raise IcflowError(
                f"{where}: class name {name!r} repeats line {first_line[name]}; every class needs its own name"
            )
        first_line[name] = number
    return tuple(lines)


def parse_pipeline_classes(value: Any) -> tuple[str, ...]:
    """The class-name list of pipeline.json, checked like classes.txt."""
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise IcflowError(f"{layout.PIPELINE_FILE}: class names must be a non-empty list of strings, class 0 first")
    first_index: dict[str, int] = {}
    for index, name in enumerate(value):
        where = f"{layout.PIPELINE_FILE} class {index}"
        if not name.strip():
            raise IcflowError(f"{where} is empty; give every class a name")
        _check_name(name, where)
        if name in first_index:
            raise IcflowError(f"{where}: class name {name!r} repeats class {first_index[name]}")
        first_index[name] = index
    return tuple(value)


def choose_class_names(classes_txt: bytes | str | None, pipeline_classes: Sequence[str] | None) -> ClassNames:
    """classes.txt wins over pipeline.json because it is the file the training data ships with."""
    if classes_txt is not None:
        return ClassNames(parse_classes_txt(classes_txt), FROM_CLASSES_FILE)
    if pipeline_classes is not None:
        return ClassNames(parse_pipeline_classes(list(pipeline_classes)), FROM_PIPELINE)
    return ClassNames((), FROM_INDEX)


def load_class_names(
    objects: S3Objects, dataset: str, pipeline_classes: Sequence[str] | None, model_name: str | None = None
) -> ClassNames:
    """choose_class_names with the dataset's classes.txt read from the bucket, if it has one. A model trained on
    class folders labels with the names it was trained with (its run's prepared classes.txt): its outputs are
    indexed by them, whatever the folders or classes.txt hold now."""
    run_id = naming.run_id_of_model(model_name) if model_name else None
    if run_id is not None:
        prepared = objects.read_optional(layout.prepared_classes_key(dataset, run_id))
        if prepared is not None:
            return ClassNames(parse_classes_txt(prepared), FROM_CLASS_FOLDERS)
    return choose_class_names(objects.read_optional(layout.classes_key(dataset)), pipeline_classes)
