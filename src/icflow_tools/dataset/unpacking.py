"""`icflow unpack`: every image of a .rec written back out, with a .lst that describes them."""

from __future__ import annotations

from pathlib import Path

from icflow.core.errors import IcflowError
from icflow.recordio import LstEntry, RecordIOError, read_records_with_offsets, unpack_image_record, write_lst
from icflow_tools.dataset.images import guess_extension
from icflow_tools.dataset.inspection import label_text
from icflow_tools.dataset.progress import Progress


def unpack_rec(rec: Path, outdir: Path, progress: Progress | None = None) -> tuple[Path, int]:
    """Images go to OUTDIR/<first label>/<record id><ext>; OUTDIR/<name>.lst lists them. Returns (lst, count)."""
    if outdir.exists() and any(outdir.iterdir()):
        raise IcflowError(f"{outdir} is not empty; unpack into a new folder so that no file is overwritten")
    outdir.mkdir(parents=True, exist_ok=True)
    lst = outdir / (rec.stem + ".lst")
    used: set[str] = set()
    count = 0
    with open(rec, "rb") as handle, open(lst, "w", encoding="utf-8") as listing:
        try:
            for offset, payload in read_records_with_offsets(handle):
                record = unpack_image_record(payload, offset)
                relative = _name(record.labels[0], record.id, guess_extension(record.image), used)
                target = outdir / relative
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(record.image)
                write_lst(listing, [LstEntry(record.id, record.labels, relative)])
                count += 1
                if progress:
                    progress.advance()
        except RecordIOError as error:
            raise error.in_file(str(rec)) from None
    return lst, count


def _name(label: float, record_id: int, extension: str, used: set[str]) -> str:
    """A path per record; ids are normally unique, and a repeated one gets a suffix instead of overwriting."""
    base = f"{label_text(label)}/{record_id}"
    name, number = base + extension, 1
    while name in used:
        name, number = f"{base}_{number}{extension}", number + 1
    used.add(name)
    return name
