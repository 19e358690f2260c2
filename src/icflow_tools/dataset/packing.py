"""im2rec without --list: every PREFIX*.lst becomes a .rec and .idx of image records."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

from icflow.core.errors import IcflowError
from icflow.recordio import IndexedRecordWriter, LstEntry, pack_image_record, read_lst
from icflow_tools.dataset.images import EncodeOptions, encode_image
from icflow_tools.dataset.progress import Progress

LST, REC, IDX = ".lst", ".rec", ".idx"


@dataclass(frozen=True)
class PackOptions:
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    num_thread: int = 1
    pack_label: bool = False


@dataclass
class PackResult:
    lst: Path
    rec: Path
    idx: Path
    records: int = 0
    skipped: list[str] = field(default_factory=list)  # "path: reason" of images left out


def find_lists(prefix: str) -> list[Path]:
    """The .lst files im2rec would pack for PREFIX: those in its folder whose path starts with PREFIX."""
    given = Path(prefix)
    folder = given if given.is_dir() else given.parent
    start = str(given.resolve())
    lists = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix == LST and str(path.resolve()).startswith(start)
    )
    if not lists:
        raise IcflowError(
            f"no .lst file starting with {prefix}; create the lists first with `icflow pack --list {prefix} ROOT`"
        )
    return lists


def pack_list(lst: Path, root: Path, options: PackOptions, log: TextIO | None = None) -> PackResult:
    """Writes lst's .rec and .idx beside it. Images that do not decode are left out, as im2rec does."""
    with open(lst, "rb") as handle:
        entries = list(read_lst(handle, str(lst)))
    log = log or sys.stderr
    if not entries:
        raise IcflowError(f"{lst} lists no images; make it again with `icflow pack --list`")
    result = PackResult(lst, lst.with_suffix(REC), lst.with_suffix(IDX))
    progress = Progress(f"packing {lst.name}", len(entries), stream=log)

    def encode(entry: LstEntry) -> bytes | str:
        path = root / entry.path
        try:
            image = encode_image(path.read_bytes(), options.encode, str(path))
        except (OSError, IcflowError) as error:
            return str(error)
        labels = entry.labels if options.pack_label and len(entry.labels) > 1 else entry.labels[0]
        return pack_image_record(labels, image, id=entry.index)

    with open(result.rec, "wb") as rec, open(result.idx, "w", encoding="utf-8") as idx:
        writer = IndexedRecordWriter(rec, idx)
        for entry, packed in zip(entries, _ordered_map(encode, entries, options.num_thread), strict=True):
            if isinstance(packed, str):
                result.skipped.append(packed)
                print(f"skipped {entry.path}: {packed}", file=log)
            else:
                writer.write(entry.index, packed)
                result.records += 1
            progress.advance()
    progress.finish()
    if not result.records:
        result.rec.unlink()  # the empty files this call just wrote, not the user's
        result.idx.unlink()
        raise IcflowError(
            f"none of the {len(entries)} images listed in {lst} could be read (see above); "
            f"check that ROOT ({root}) is the folder the .lst paths are relative to"
        )
    return result


T = TypeVar("T")
R = TypeVar("R")


def _ordered_map(function: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """function over items in order, with at most a few results per thread waiting in memory.

    Pillow releases the GIL while decoding, resizing and encoding, so threads do run in parallel.
    """
    if threads <= 1:
        yield from map(function, items)
        return
    window = threads * 4
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: list[Future[R]] = []
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def check_root(root: Path) -> None:
    if not root.is_dir():
        raise IcflowError(f"{root} is not a folder; give the folder that the .lst paths are relative to")
    if not os.access(root, os.R_OK):
        raise IcflowError(f"{root} cannot be read")
