"""im2rec --list: image folders become .lst files and the class-name list."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from icflow.core.errors import IcflowError
from icflow.core.layout import CLASSES_FILE
from icflow.recordio import LstEntry, write_lst

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")  # im2rec's default --exts
IM2REC_SHUFFLE_SEED = 100  # im2rec always seeds Python's random with 100 before shuffling


@dataclass(frozen=True)
class ListOptions:
    recursive: bool = False
    exts: tuple[str, ...] = IMAGE_EXTENSIONS
    train_ratio: float = 1.0
    test_ratio: float = 0.0
    chunks: int = 1
    shuffle: bool = True
    seed: int = IM2REC_SHUFFLE_SEED


@dataclass(frozen=True)
class Listing:
    entries: list[LstEntry]
    classes: list[str]  # class i's folder, relative to the root


def list_images(root: Path, options: ListOptions) -> Listing:
    """Images in im2rec's order: folders walked sorted, each folder holding images is the next class."""
    if not root.is_dir():
        raise IcflowError(f"{root} is not a folder; give the folder that holds the images (or class folders)")
    exts = tuple(ext.lower() for ext in options.exts)
    entries: list[LstEntry] = []
    classes: dict[str, int] = {}
    if options.recursive:
        walk = os.walk(root, followlinks=True)
    else:
        walk = iter([(str(root), [], os.listdir(root))])
    for folder, dirs, files in walk:
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.splitext(name)[1].lower() in exts and os.path.isfile(path):
                label = classes.setdefault(folder, len(classes))
                entries.append(LstEntry(len(entries), (float(label),), Path(os.path.relpath(path, root)).as_posix()))
    if not entries:
        raise IcflowError(
            f"no images ({', '.join(exts)}) in {root}"
            + ("" if options.recursive else "; for a folder of class folders add --recursive")
        )
    if options.recursive:
        _check_class_folders(root, set(classes))
    names = [Path(os.path.relpath(folder, root)).as_posix() for folder in classes]
    if not options.recursive:
        names = [root.resolve().name]
    return Listing(entries, names)


def _check_class_folders(root: Path, with_images: set[str]) -> None:
    """A class folder (a direct subfolder of the root) with no image anywhere below it is a mistake."""
    for child in sorted(root.iterdir()):
        inside = str(child) + os.sep
        if child.is_dir() and not any(folder == str(child) or folder.startswith(inside) for folder in with_images):
            raise IcflowError(f"class folder {child} holds no images; add images to it or move it out of {root}")


def write_lists(prefix: str, listing: Listing, options: ListOptions) -> list[Path]:
    """Writes the .lst file(s) as im2rec names them, and the class list; returns the .lst paths."""
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    entries = list(listing.entries)
    if options.shuffle:
        random.Random(options.seed).shuffle(entries)
    chunk_size = (len(entries) + options.chunks - 1) // options.chunks
    written: list[Path] = []
    for number in range(options.chunks):
        chunk = entries[number * chunk_size : (number + 1) * chunk_size]
        stem = prefix + (f"_{number}" if options.chunks > 1 else "")
        train_end = int(chunk_size * options.train_ratio)
        test_end = int(chunk_size * options.test_ratio)
        if options.train_ratio == 1.0:
            written.append(_write(Path(stem + ".lst"), chunk))
            continue
        if options.test_ratio:
            written.append(_write(Path(stem + "_test.lst"), chunk[:test_end]))
        if options.train_ratio + options.test_ratio < 1.0:
            written.append(_write(Path(stem + "_val.lst"), chunk[test_end + train_end :]))
        written.append(_write(Path(stem + "_train.lst"), chunk[test_end : test_end + train_end]))
    write_classes(Path(prefix).parent / CLASSES_FILE, listing.classes)
    return written


def _write(path: Path, entries: list[LstEntry]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        write_lst(handle, entries)
    return path


def write_classes(path: Path, classes: list[str]) -> None:
    """Line i names class i; an existing file is kept when it says the same and never overwritten otherwise."""
    text = "".join(f"{name}\n" for name in classes)
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return
        raise IcflowError(
            f"{path} already exists with other class names; remove it or write the lists to another folder"
        )
    path.write_text(text, encoding="utf-8")
