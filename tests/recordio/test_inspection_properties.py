"""Properties of `icflow inspect`, the reader of any file a user points it at: any bytes as a .rec (with any
bytes as the .idx beside it) or as a .lst give a report within time and memory bounds (support.hostile),
never an exception; a report without problems counts every record."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from icflow.recordio import RecordWriter, pack_image_record
from icflow_tools.dataset.inspection import Inspection, inspect_lst, inspect_rec
from support.hostile import parses_or_explains
from support.image_headers import png_announcing

from .test_framing_properties import REC_DATA
from .test_lst_properties import DATA as LST_DATA

LABELS = st.one_of(st.integers(0, 3).map(float), st.sampled_from([1e8, 1e30, float("nan"), -1.0, 0.5]))
IMAGES = st.one_of(st.binary(max_size=20), st.sampled_from([png_announcing(2, 2), png_announcing(20_000, 10_000)]))


def _records(items: list[tuple[float, bytes]]) -> bytes:
    with tempfile.TemporaryFile() as handle:
        writer = RecordWriter(handle)
        for key, (label, image) in enumerate(items):
            writer.write(pack_image_record(label, image, id=key))
        handle.seek(0)
        return handle.read()


RECS = st.one_of(REC_DATA, st.lists(st.tuples(LABELS, IMAGES), max_size=4).map(_records))


def _inspected(suffix: str, data: bytes, idx: bytes | None) -> Inspection:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a{suffix}"
        path.write_bytes(data)
        if idx is not None:
            path.with_suffix(".idx").write_bytes(idx)
        return inspect_lst(path) if suffix == ".lst" else inspect_rec(path)


@given(RECS, st.none() | st.binary(max_size=40))
def test_any_rec_gives_a_report(data: bytes, idx: bytes | None) -> None:
    report = parses_or_explains(_inspected, ".rec", data, idx)
    assert isinstance(report, Inspection)
    assert report.problems or report.records > 0


@given(LST_DATA)
def test_any_lst_gives_a_report(data: bytes) -> None:
    assert isinstance(parses_or_explains(_inspected, ".lst", data, None), Inspection)
