from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from icflow.core.errors import IcflowError
from icflow.recordio import IndexedRecordWriter, LstEntry, RecordWriter, pack_image_record, write_lst
from icflow.recordio.framing import MAGIC_BYTES
from icflow.recordio.s3 import channel_stats

BUCKET = "data"


class CountingClient:
    """The real (moto) client, adding up the bytes each GetObject hands back."""

    def __init__(self, client) -> None:
        self._client = client
        self.bytes_requested = 0
        self.gets: list[str] = []

    def get_object(self, **kwargs):
        response = self._client.get_object(**kwargs)
        self.bytes_requested += response["ContentLength"]
        self.gets.append(kwargs["Key"])
        return response

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield CountingClient(client)


def rec_files(labels: list, image_size: int = 40, split: bool = False) -> tuple[bytes, str, str]:
    """(.rec bytes, .idx text, .lst text) for one record per label, keyed 100, 101, ..."""
    import io

    rec, idx, lst = io.BytesIO(), io.StringIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    entries = []
    for position, label in enumerate(labels):
        key = 100 + position
        image = (MAGIC_BYTES if split else b"") + bytes([position % 256]) * image_size
        writer.write(key, pack_image_record(label, image, id=key))
        entries.append(LstEntry(key, tuple(label) if isinstance(label, list) else (float(label),), f"c/{key}.jpg"))
    write_lst(lst, entries)
    return rec.getvalue(), idx.getvalue(), lst.getvalue()


def put(s3, key: str, body: bytes | str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


LABELS = [0, 1, 1, 2, 2, 2]


def test_streams_a_rec_without_idx(s3) -> None:
    rec, _, _ = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert (stats.records, stats.label_counts, stats.max_labels_per_record) == (6, {0: 1, 1: 2, 2: 3}, 1)
    assert stats.num_classes == 3
    assert stats.files == ("datasets/d/train/a.rec",)


def test_adds_up_every_rec_under_the_prefix(s3) -> None:
    put(s3, "datasets/d/train/a.rec", rec_files(LABELS)[0])
    put(s3, "datasets/d/train/part2/b.rec", rec_files([3, 3], split=True)[0])
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert stats.records == 8
    assert stats.label_counts == {0: 1, 1: 2, 2: 3, 3: 2}


def test_idx_probes_large_records_with_small_range_reads(s3) -> None:
    rec, idx, _ = rec_files(LABELS, image_size=300_000)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/", probe_from=100_000)
    assert (stats.records, stats.label_counts) == (6, {0: 1, 1: 2, 2: 3})
    assert stats.files == ("datasets/d/train/a.idx", "datasets/d/train/a.rec")
    assert s3.bytes_requested < len(idx) + 6 * 100 < len(rec) / 1000


def test_idx_streams_runs_of_small_records_in_one_request(s3) -> None:
    rec, idx, _ = rec_files(LABELS * 10)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert stats.records == 60
    assert s3.gets == ["datasets/d/train/a.idx", "datasets/d/train/a.rec"]


def test_split_records_are_walked_even_when_large(s3) -> None:
    rec, idx, _ = rec_files([[1, 0, 1], [0, 1, 1]], image_size=200_000, split=True)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/", probe_from=100_000)
    assert (stats.records, stats.label_counts, stats.max_labels_per_record) == (2, {0: 2, 1: 4}, 3)


def test_idx_and_lst_together_answer_without_reading_the_payloads(s3) -> None:
    rec, idx, lst = rec_files(LABELS, image_size=300_000)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", lst)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert (stats.records, stats.label_counts) == (6, {0: 1, 1: 2, 2: 3})
    assert set(stats.files) == {"datasets/d/train/a.idx", "datasets/d/train/a.lst", "datasets/d/train/a.rec"}
    assert s3.bytes_requested < len(idx) + len(lst) + 1000


def test_lst_entries_missing_from_idx_are_not_counted(s3) -> None:
    # im2rec leaves out images it cannot decode: the .lst lists them, the .idx does not.
    rec, idx, lst = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", lst + "999\t7.000000\tbroken.jpg\n")
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert stats.records == 6 and 7 not in stats.label_counts


def test_lst_that_disagrees_with_the_records_is_not_trusted(s3) -> None:
    rec, idx, lst = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", lst.replace("\t0.000000\t", "\t5.000000\t"))
    assert channel_stats(s3, BUCKET, "datasets/d/train/").label_counts == {0: 1, 1: 2, 2: 3}


def test_lst_labels_are_counted_as_the_records_hold_them(s3) -> None:
    # Records hold float32: 16777217 is 16777216 there, as streaming the .rec would count it.
    rec, idx, lst = rec_files([0, 16777217])
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", lst)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert "datasets/d/train/a.lst" in stats.files
    assert stats.label_counts == {0: 1, 16777216: 1}


def test_multi_label_lst_with_single_label_records_counts_first_labels(s3) -> None:
    # im2rec without --pack-label stores only the first label of each .lst line.
    rec, idx, _ = rec_files([0, 1])
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", "100\t0\t4\tx.jpg\n101\t1\t4\ty.jpg\n")
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert (stats.label_counts, stats.max_labels_per_record) == ({0: 1, 1: 1}, 1)


def test_stale_idx_falls_back_to_streaming(s3) -> None:
    rec, idx, _ = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", "\n".join(idx.splitlines()[:3]) + "\n")  # lists only half the records
    assert channel_stats(s3, BUCKET, "datasets/d/train/").records == 6


@pytest.mark.parametrize(
    "damage",
    [
        lambda idx, lst: (b"\xff\t0\n", lst),  # a .idx that is not UTF-8
        lambda idx, lst: (idx, b"\xe9" + lst.encode()),  # a .lst that is not UTF-8
        # a label no float32 record holds: on an entry compared with a record, and on one that is not
        lambda idx, lst: (idx, lst.replace("100\t0.000000", "100\t1e39")),
        lambda idx, lst: (idx, lst.replace("102\t1.000000", "102\t1e39")),
    ],
    ids=["idx-not-utf8", "lst-not-utf8", "lst-1e39-sampled", "lst-1e39-unsampled"],
)
def test_unusable_idx_or_lst_falls_back_to_the_records(s3, damage) -> None:
    rec, idx, lst = rec_files(LABELS)
    idx, lst = damage(idx, lst)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", idx)
    put(s3, "datasets/d/train/a.lst", lst)
    stats = channel_stats(s3, BUCKET, "datasets/d/train/")
    assert (stats.records, stats.label_counts) == (6, {0: 1, 1: 2, 2: 3})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"0\t1\ta.jpg\n1\t0\tcaf\xe9.jpg\n", r"a.lst line 2 is not UTF-8 text \(byte 0xe9 at column 8\)"),
        (b"0\t1\ta.jpg\n1\t1e39\tb.jpg\n", r"a.lst line 2 has label 1e\+39, beyond what a RecordIO label"),
    ],
)
def test_unusable_lst_channel_is_named_with_the_line(s3, body: bytes, problem: str) -> None:
    put(s3, "datasets/d/train_lst/a.lst", body)
    with pytest.raises(IcflowError, match=r"s3://data/datasets/d/train_lst/" + problem):
        channel_stats(s3, BUCKET, "datasets/d/train_lst/")


def test_a_lst_without_line_breaks_is_refused_without_holding_it() -> None:
    from support.hostile import bounded

    from .test_s3_stats_properties import MemoryS3

    s3 = MemoryS3({"d/train_lst/a.lst": b"0\t1\t" + b"x" * (40 << 20)})
    with bounded(), pytest.raises(IcflowError, match=r"s3://data/d/train_lst/a.lst line 1 runs past 65536 bytes"):
        channel_stats(s3, BUCKET, "d/train_lst/")


def test_an_idx_without_line_breaks_falls_back_to_the_records(s3) -> None:
    rec, _, _ = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec)
    put(s3, "datasets/d/train/a.idx", b"0\t" + b"4" * 100_000)
    assert channel_stats(s3, BUCKET, "datasets/d/train/").records == 6


def test_lst_channel(s3) -> None:
    put(s3, "datasets/d/train_lst/a.lst", "0\t1\ta.jpg\n1\t0\tb.jpg\n")
    put(s3, "datasets/d/train_lst/b.lst", "2\t1.000000\tc d.jpg\n")
    stats = channel_stats(s3, BUCKET, "datasets/d/train_lst/")
    assert (stats.records, stats.label_counts) == (3, {0: 1, 1: 2})
    assert stats.files == ("datasets/d/train_lst/a.lst", "datasets/d/train_lst/b.lst")


def test_corrupt_rec_is_named_with_its_key_and_offset(s3) -> None:
    rec, _, _ = rec_files(LABELS)
    put(s3, "datasets/d/train/a.rec", rec[:-10])
    with pytest.raises(IcflowError, match=r"s3://data/datasets/d/train/a.rec: truncated .*byte offset \d+"):
        channel_stats(s3, BUCKET, "datasets/d/train/")


def test_file_that_is_not_recordio(s3) -> None:
    put(s3, "datasets/d/train/a.rec", b"\xff\xd8\xff\xe0 a jpeg, really")
    with pytest.raises(IcflowError, match="a.rec: not a RecordIO file"):
        channel_stats(s3, BUCKET, "datasets/d/train/")


def test_label_that_is_not_a_class_index(s3) -> None:
    put(s3, "datasets/d/train/a.rec", rec_files([0, 1.5])[0])
    with pytest.raises(IcflowError, match="label 1.5"):
        channel_stats(s3, BUCKET, "datasets/d/train/")


def test_prefix_without_usable_files(s3) -> None:
    put(s3, "datasets/d/train/readme.txt", "hello")
    with pytest.raises(IcflowError, match="no .rec or .lst file"):
        channel_stats(s3, BUCKET, "datasets/d/train/")


def test_stream_uses_bounded_memory_on_large_payloads(s3) -> None:
    import io
    import tracemalloc

    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for label in (0, 1):
        writer.write(pack_image_record(label, b"\0" * (12 << 20), id=label))
    put(s3, "datasets/d/train/a.rec", buffer.getvalue())
    del buffer

    def peak_of(action) -> int:
        tracemalloc.start()
        try:
            action()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # moto materialises the whole object for every GetObject; that much is the floor.
    floor = peak_of(lambda: s3.get_object(Bucket=BUCKET, Key="datasets/d/train/a.rec")["Body"].close())
    peak = peak_of(lambda: channel_stats(s3, BUCKET, "datasets/d/train/"))
    assert peak < floor + (6 << 20), (peak, floor)  # a payload is 12 MiB
