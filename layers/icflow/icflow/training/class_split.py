"""A dataset of class folders, decided: its classes in label order and a stratified training/validation split.

Pure: icflow.training.class_folders lists and checks the images, this decides what they train as. Every class
gives the same share of its images to validation (`split.validation_fraction`, at least one image, never all),
chosen by a hash of each key with `split.seed`: the same upload always splits the same way, whatever order
S3 lists it in, and a different seed draws another split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from icflow.algorithm.problems import InvalidInput
from icflow.core import layout
from icflow.core.pipeline_config import SplitSettings

MIN_CLASSES = 2
# One image to learn from and one to validate on; fewer cannot be split.
MIN_IMAGES_PER_CLASS = 2
_SHOWN = 5


@dataclass(frozen=True)
class LabeledImage:
    key: str  # the object's key, which is also its path in the job's channel folder (the manifest's prefix is the bucket)
    label: int


@dataclass(frozen=True)
class ClassSplit:
    classes: tuple[str, ...]  # class i's name at index i
    train: tuple[LabeledImage, ...]  # sorted by key
    validation: tuple[LabeledImage, ...]

    def counts(self, images: Sequence[LabeledImage]) -> dict[int, int]:
        counts = dict.fromkeys(range(len(self.classes)), 0)
        for image in images:
            counts[image.label] += 1
        return counts


def validation_count(images: int, fraction: float) -> int:
    """How many of a class's `images` (at least MIN_IMAGES_PER_CLASS) go to validation: the fraction, rounded,
    and at least one and at most all but one."""
    return min(images - 1, max(1, round(images * fraction)))


def _draw_order(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def _quote(items: Sequence[str], total: int | None = None) -> str:
    more = (len(items) if total is None else total) - min(len(items), _SHOWN)
    return ", ".join(items[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def class_order(folders: Sequence[str], names: Sequence[str], source: str) -> tuple[list[str], list[str]]:
    """The classes in label order, and the problems: `names` (from `source`, classes.txt or pipeline.json) give
    the order and must name exactly the class folders; without names the folders are sorted by name."""
    if not names:
        return sorted(folders), []
    problems: list[str] = []
    folder_set = set(folders)
    without_folder = [name for name in names if name not in folder_set]
    without_name = sorted(folder_set - set(names))
    if without_folder:
        problems.append(
            f"{source} names {_quote([repr(n) for n in without_folder])}, which "
            f"{'has' if len(without_folder) == 1 else 'have'} no folder under {layout.IMAGES}/; add the "
            f"folder{'s' if len(without_folder) != 1 else ''} with images, or take the name out of {source}"
        )
    if without_name:
        problems.append(
            f"{layout.IMAGES}/ has folder{'s' if len(without_name) != 1 else ''} "
            f"{_quote([repr(n) for n in without_name])} that {source} does not name; add "
            f"{'it' if len(without_name) == 1 else 'them'} to {source} (one name per line, in label order) or "
            f"remove {'it' if len(without_name) == 1 else 'them'}"
        )
    return list(names), problems


def split_classes(
    images: Mapping[str, Sequence[str]],
    skipped: Mapping[str, int],
    names: Sequence[str],
    names_source: str,
    settings: SplitSettings,
) -> ClassSplit:
    """The classes and split of `images` (class folder -> keys of its usable images). `skipped` counts, per
    class folder, the images left out (for the reasons); `names` are the class names in force (classes.txt or
    pipeline.json's, in label order; empty: sorted folder names). Raises InvalidInput with every problem."""
    folders = {folder for folder, keys in images.items() if keys} | {f for f in skipped if not images.get(f)}
    classes, problems = class_order(sorted(folders), names, names_source)
    if len(classes) < MIN_CLASSES and not problems:
        found = f"only the class folder {classes[0]!r}" if classes else "no class folder"
        problems.append(
            f"{layout.IMAGES}/ has {found}; the algorithm needs at least {MIN_CLASSES} classes: put each class's "
            f"images in a folder of its own, {layout.IMAGES}/<class name>/"
        )
    too_few = [name for name in classes if len(images.get(name, ())) < MIN_IMAGES_PER_CLASS and name in folders]
    if too_few:
        described = [
            f"{name!r} ({len(images.get(name, ()))} usable"
            + (f", {skipped[name]} left out" if skipped.get(name) else "")
            + ")"
            for name in too_few
        ]
        problems.append(
            f"class folder{'s' if len(too_few) != 1 else ''} {_quote(described, len(too_few))} "
            f"{'has' if len(too_few) == 1 else 'have'} fewer than {MIN_IMAGES_PER_CLASS} usable images, too few "
            "for one to train on and one to validate on; add images or remove the folder"
        )
    if problems:
        raise InvalidInput("class folders", problems)

    train: list[LabeledImage] = []
    validation: list[LabeledImage] = []
    for label, name in enumerate(classes):
        keys = sorted(images[name], key=lambda key: _draw_order(key, settings.seed))
        held_out = validation_count(len(keys), settings.validation_fraction)
        validation.extend(LabeledImage(key, label) for key in keys[:held_out])
        train.extend(LabeledImage(key, label) for key in keys[held_out:])
    return ClassSplit(
        tuple(classes),
        tuple(sorted(train, key=lambda image: image.key)),
        tuple(sorted(validation, key=lambda image: image.key)),
    )
