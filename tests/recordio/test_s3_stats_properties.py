"""Properties of channel counting straight from S3 (icflow.recordio.s3.channel_stats), the reader of whatever
a user uploads as a channel: a .rec of any bytes, with or without a .idx and a .lst of any bytes beside it,
or .lst files alone, gives channel statistics or an IcflowError with a reason, within time and memory bounds
(support.hostile). A .idx and .lst that describe the .rec's records count what the records alone count."""

from __future__ import annotations

import io
import re

from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from hypothesis import given
from hypothesis import strategies as st

from icflow.core.errors import IcflowError
from icflow.recordio import IndexedRecordWriter, LstEntry, pack_image_record, write_lst
from icflow.recordio.s3 import channel_stats
from support.hostile import parses_or_explains

from .test_framing_properties import REC_DATA


class MemoryS3:
    """The S3 calls channel_stats makes, over objects in a dict; ranges answered as S3 answers them."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self._objects = objects

    def get_paginator(self, name: str) -> MemoryS3:
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict]:  # noqa: N803 - boto3's parameter names
        keys = sorted(key for key in self._objects if key.startswith(Prefix))
        return [{"Contents": [{"Key": key, "Size": len(self._objects[key])} for key in keys]}]

    def get_object(self, Bucket: str, Key: str, Range: str | None = None) -> dict:  # noqa: N803
        data = self._objects[Key]
        if Range is not None:
            start, end = map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", Range).groups())  # type: ignore[union-attr]
            if start >= len(data):
                raise ClientError({"Error": {"Code": "InvalidRange"}}, "GetObject")
            data = data[start : end + 1]
        return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


LABELS = st.one_of(
    st.integers(0, 5).map(float),
    st.sampled_from([1e8, 1e30, 3.4e38, float("nan"), float("inf"), -1.0, 0.5]),
)
RECORD_LABELS = st.one_of(LABELS, st.lists(LABELS, min_size=1, max_size=3))


def _dataset(records: list) -> tuple[bytes, str, str]:
    """(.rec, .idx, .lst) that agree: one record per entry of `records` (a label or a list), keyed 10, 11, ..."""
    rec, idx, lst = io.BytesIO(), io.StringIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    entries = []
    for position, labels in enumerate(records):
        key = 10 + position
        writer.write(key, pack_image_record(labels, b"image" * position, id=key))
        entries.append(LstEntry(key, tuple(labels) if isinstance(labels, list) else (labels,), f"c/{key}.jpg"))
    write_lst(lst, entries)
    return rec.getvalue(), idx.getvalue(), lst.getvalue()


DATASETS = st.lists(RECORD_LABELS, min_size=1, max_size=6).map(_dataset)
# Damage to a companion text file: cut, extra bytes spliced in (not UTF-8, say), a line replaced.
EDITS = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 400), st.binary(max_size=12)),
    st.tuples(st.integers(0, 400), st.sampled_from(["1e39", "\t", "\n", "-4", "99999999999999999999", "nan"])),
)
PROBE_FROM = st.sampled_from([0, 16, 1 << 20])  # probe every record, larger ones, or none


def _edited(text: str, edit: tuple | None) -> bytes:
    data = text.encode()
    if edit is None:
        return data
    position, insert = edit
    return data[:position] + (insert if isinstance(insert, bytes) else insert.encode()) + data[position:]


def _stats(objects: dict[str, bytes], probe_from: int) -> object:
    return channel_stats(MemoryS3(objects), "data", "d/train/", probe_from=probe_from)


@given(DATASETS, st.booleans(), PROBE_FROM)
def test_companions_that_describe_the_records_count_what_the_records_hold(dataset, with_lst, probe_from) -> None:
    rec, idx, lst = dataset
    alone = parses_or_explains(_stats, {"d/train/a.rec": rec}, probe_from)
    objects = {"d/train/a.rec": rec, "d/train/a.idx": idx.encode()}
    if with_lst:
        objects["d/train/a.lst"] = lst.encode()
    beside = parses_or_explains(_stats, objects, probe_from)
    if isinstance(alone, IcflowError):
        assert isinstance(beside, IcflowError)
    else:
        assert isinstance(beside, type(alone))
        assert (beside.records, beside.label_counts, beside.max_labels_per_record) == (  # type: ignore[attr-defined]
            alone.records,
            alone.label_counts,
            alone.max_labels_per_record,
        )


# Damaged, they are used or not: a .lst line changed between the first and the last is not noticed (only those
# two records are compared with it, by design), so the counts may differ; but never an exception or a hang.
@given(DATASETS, EDITS, EDITS, PROBE_FROM)
def test_damaged_companions_give_statistics_or_a_reason(dataset, idx_edit, lst_edit, probe_from: int) -> None:
    rec, idx, lst = dataset
    objects = {"d/train/a.rec": rec, "d/train/a.idx": _edited(idx, idx_edit), "d/train/a.lst": _edited(lst, lst_edit)}
    parses_or_explains(_stats, objects, probe_from)


@given(REC_DATA, st.binary(max_size=80) | DATASETS.map(lambda d: d[1].encode()), st.binary(max_size=80), PROBE_FROM)
def test_any_rec_idx_and_lst_give_statistics_or_a_reason(rec: bytes, idx: bytes, lst: bytes, probe_from: int) -> None:
    objects = {"d/train/a.rec": rec, "d/train/a.idx": idx, "d/train/a.lst": lst}
    parses_or_explains(_stats, objects, probe_from)


@given(st.lists(st.binary(max_size=60) | DATASETS.map(lambda d: d[2].encode()), min_size=1, max_size=3))
def test_any_lst_files_alone_give_statistics_or_a_reason(lsts: list[bytes]) -> None:
    objects = {f"d/train/{number}.lst": data for number, data in enumerate(lsts)}
    parses_or_explains(_stats, objects, 1 << 20)
