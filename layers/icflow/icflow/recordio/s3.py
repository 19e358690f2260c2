"""Channel statistics straight from S3: record count and class indexes, without downloading payloads.

For each .rec under the prefix:
- with a .idx and a .lst of the same name beside it, the counts come from the .lst entries whose index is
  a key of the .idx (im2rec leaves out images it cannot decode, so the .idx says which made it into the
  .rec). They are trusted only if the .idx is well formed, every key is in the .lst, and the first and
  last records, read with two small range requests, carry the id and labels the .lst gives them;
- with a .idx (alone, or when the .lst fails those checks), each record's header is read: records at
  least `probe_from` bytes long get a small range request each, runs of smaller records are streamed in one
  request with their payloads dropped as they pass. The .idx is trusted only if its offsets tile the
  object exactly, record after record; otherwise the .rec is streamed;
- without a .idx, the .rec is streamed and only headers are kept (a .lst alone is not used: it cannot
  tell which of its images made it into the .rec).
A prefix without any .rec is an image channel: its .lst files are read instead.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from icflow.core.errors import IcflowError
from icflow.recordio.errors import RecordIOError
from icflow.recordio.framing import CFLAG_WHOLE, FRAME_SIZE, check_not_empty, decode_frame, padded, scan_records
from icflow.recordio.image_record import HEADER, HEADER_SIZE, LABEL_SIZE, labels_size, unpack_labels
from icflow.recordio.index import read_idx
from icflow.recordio.lst import LstEntry, read_lst
from icflow.recordio.stats import ChannelStats, LabelTally
from icflow.recordio.text_lines import lines_of

logger = logging.getLogger(__name__)

REC, IDX, LST = ".rec", ".idx", ".lst"
# A range request costs about as much as streaming a megabyte, so only larger records are worth probing.
PROBE_FROM = 1 << 20
PROBE_SIZE = FRAME_SIZE + HEADER_SIZE + 8 * LABEL_SIZE
PARALLEL_REQUESTS = 16
MAX_LABELS = 4096  # one-hot label vectors of up to this many classes
HEAD_KEEP = HEADER_SIZE + MAX_LABELS * LABEL_SIZE


class _IndexMismatch(Exception):
    """The .idx (or .lst) beside a .rec does not describe it; the .rec itself is read instead."""


def channel_stats(s3_client: Any, bucket: str, prefix: str, *, probe_from: int = PROBE_FROM) -> ChannelStats:
    """Records and labels of every .rec under `prefix` (or of every .lst, when there is no .rec)."""
    sizes = _list(s3_client, bucket, prefix)
    recs = sorted(key for key in sizes if key.lower().endswith(REC))
    tally = LabelTally()
    files: list[str] = []
    if recs:
        for key in recs:
            stem = key[: -len(REC)]
            idx_key = next((k for k in (stem + IDX, stem + IDX.upper()) if k in sizes), None)
            lst_key = next((k for k in (stem + LST, stem + LST.upper()) if k in sizes), None)
            reader = _RecReader(s3_client, bucket, key, sizes[key], probe_from)
            tally.merge(reader.stats(idx_key, lst_key))
            files.extend(reader.files)
        return tally.stats(files)
    lsts = sorted(key for key in sizes if key.lower().endswith(LST))
    if not lsts:
        raise IcflowError(
            f"s3://{bucket}/{prefix} holds no .rec or .lst file; upload the channel's RecordIO files (.rec, "
            "with their .idx) or, for images, the im2rec .lst files there"
        )
    for key in lsts:
        for entry in lst_entries(s3_client, bucket, key):
            tally.add(entry.labels, f"s3://{bucket}/{key}, entry {entry.index}")
        files.append(key)
    return tally.stats(files)


def _list(s3_client: Any, bucket: str, prefix: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            if not item["Key"].endswith("/"):
                sizes[item["Key"]] = item["Size"]
    return sizes


def lst_entries(s3_client: Any, bucket: str, key: str) -> Iterator[LstEntry]:
    """The entries of one .lst object, streamed."""
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
    with body:
        name = f"s3://{bucket}/{key}"
        yield from read_lst(lines_of(body.iter_chunks(1 << 16), name), name)


class _RecReader:
    def __init__(self, s3_client: Any, bucket: str, key: str, size: int, probe_from: int) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._probe_from = probe_from
        self._url = f"s3://{bucket}/{key}"
        self.files: list[str] = []

    def stats(self, idx_key: str | None, lst_key: str | None) -> LabelTally:
        try:
            if idx_key is not None:
                index = self._read_index(idx_key)
                if lst_key is not None:
                    try:
                        return self._from_lst(index, lst_key)
                    except _IndexMismatch as mismatch:
                        logger.warning("not using s3://%s/%s: %s", self._bucket, lst_key, mismatch)
                return self._from_index(index)
        except _IndexMismatch as mismatch:
            logger.warning("not using s3://%s/%s: %s; reading the whole .rec", self._bucket, idx_key, mismatch)
        return self._stream()

    def _get(self, start: int, end: int) -> Any:
        """The body of bytes [start, end) of the .rec."""
        return self._s3.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end - 1}")["Body"]

    def _labels(self, head: bytes, offset: int) -> tuple[float, ...]:
        if len(head) == HEAD_KEEP and labels_size(head) > HEAD_KEEP:
            count = (labels_size(head) - HEADER_SIZE) // LABEL_SIZE
            raise IcflowError(
                f"{self._url}: the record at byte offset {offset} has {count} labels; "
                f"icflow reads records of up to {MAX_LABELS} labels"
            )
        try:
            return unpack_labels(head, offset)[0]
        except RecordIOError as error:
            raise error.in_file(self._url) from None

    def _stream(self) -> LabelTally:
        tally = LabelTally()
        self._note(self._key)
        check_not_empty(self._size, self._url)
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"]
        with body:
            try:
                for record in scan_records(body, keep=HEAD_KEEP, offset=0):
                    labels = self._labels(record.head, record.offset)
                    tally.add(labels, f"{self._url}, record at byte offset {record.offset}")
            except RecordIOError as error:
                raise error.in_file(self._url) from None
        return tally

    def _read_index(self, idx_key: str) -> list[tuple[int, int]]:
        """(key, offset) pairs sorted by offset, checked to be able to tile the .rec."""
        self._note(idx_key)
        body = self._s3.get_object(Bucket=self._bucket, Key=idx_key)["Body"]
        with body:
            try:
                lines = lines_of(body.iter_chunks(1 << 16), idx_key)
                entries = sorted(read_idx(lines, idx_key), key=lambda entry: entry[1])
            except IcflowError as error:
                raise _IndexMismatch(str(error)) from None
        if not entries or entries[0][1] != 0:
            raise _IndexMismatch("its first record is not at offset 0")
        if entries[-1][1] >= self._size:
            raise _IndexMismatch(f"offset {entries[-1][1]} lies beyond the end of the .rec ({self._size} bytes)")
        if len({offset for _, offset in entries}) != len(entries):
            raise _IndexMismatch("two keys share an offset")
        if len({key for key, _ in entries}) != len(entries):
            raise _IndexMismatch("a key appears twice")
        return entries

    def _from_index(self, index: list[tuple[int, int]]) -> LabelTally:
        self._note(self._key)
        offsets = [offset for _, offset in index]
        ends = offsets[1:] + [self._size]
        # Each task is a range of record positions: one large record to probe, or a run of small ones to stream.
        tasks: list[tuple[int, int]] = []
        i = 0
        while i < len(offsets):
            j = i + 1
            if ends[i] - offsets[i] < self._probe_from:
                while j < len(offsets) and ends[j] - offsets[j] < self._probe_from:
                    j += 1
            tasks.append((i, j))
            i = j

        def run(task: tuple[int, int]) -> list[tuple[int, tuple[float, ...]]]:
            first, stop = task
            if ends[first] - offsets[first] >= self._probe_from:
                head = self._probe(offsets[first], ends[first])
                if head is not None:
                    return [(offsets[first], self._labels(head, offsets[first]))]
                # a split record: streamed like a run of small ones
            return self._walk(offsets[first:stop], ends[stop - 1])

        tally = LabelTally()
        # Probes are latency-bound, so several run at once; boto3 clients may be shared between threads.
        pool = ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS)
        try:
            for found in pool.map(run, tasks):
                for offset, labels in found:
                    tally.add(labels, f"{self._url}, record at byte offset {offset}")
        finally:
            pool.shutdown(cancel_futures=True)
        return tally

    def _probe(self, offset: int, end: int) -> bytes | None:
        """The head of the single-part record at `offset`, checked to end exactly at `end`; None if split."""
        with self._get(offset, min(offset + PROBE_SIZE, end)) as body:
            probe = body.read()
        try:
            cflag, length = decode_frame(probe[:FRAME_SIZE], offset)
        except (RecordIOError, struct.error):
            raise _IndexMismatch(f"no record starts at offset {offset}") from None
        if cflag != CFLAG_WHOLE:
            return None
        if offset + FRAME_SIZE + padded(length) != end:
            raise _IndexMismatch(f"the record at offset {offset} does not end where the next one starts")
        head = probe[FRAME_SIZE : FRAME_SIZE + length]
        if len(head) >= HEADER_SIZE:
            needed = min(labels_size(head), length)
            if needed > len(head):
                with self._get(offset + FRAME_SIZE, offset + FRAME_SIZE + needed) as body:
                    head = body.read()
        return head

    def _walk(self, offsets: list[int], end: int) -> list[tuple[int, tuple[float, ...]]]:
        """Labels of the records in bytes [offsets[0], end), which must start exactly at `offsets`."""
        expected = iter(offsets)
        found = []
        with self._get(offsets[0], end) as body:
            try:
                for record in scan_records(body, keep=HEAD_KEEP, offset=offsets[0]):
                    if record.offset != next(expected, None):
                        raise _IndexMismatch(f"the .rec has a record at offset {record.offset} that it does not list")
                    found.append((record.offset, self._labels(record.head, record.offset)))
            except RecordIOError as error:
                raise _IndexMismatch(str(error)) from None
        if next(expected, None) is not None:
            raise _IndexMismatch("it lists more records than the .rec holds")
        return found

    def _from_lst(self, index: list[tuple[int, int]], lst_key: str) -> LabelTally:
        self._note(lst_key)
        try:
            by_index = {entry.index: entry for entry in lst_entries(self._s3, self._bucket, lst_key)}
        except IcflowError as error:
            raise _IndexMismatch(str(error)) from None
        missing = [key for key, _ in index if key not in by_index]
        if missing:
            raise _IndexMismatch(f"{len(missing)} key(s) of the .idx are not in the .lst, e.g. {missing[0]}")
        packed_all = self._check_sample(index, by_index)
        tally = LabelTally()
        for key, _ in index:
            labels = _as_stored(by_index[key].labels)
            tally.add(labels if packed_all else labels[:1], f"s3://{self._bucket}/{lst_key}, entry {key}")
        return tally

    def _check_sample(self, index: list[tuple[int, int]], by_index: dict[int, LstEntry]) -> bool:
        """Compares the first and last records with their .lst entries; True if records carry every label.

        im2rec packs only the first label unless --pack-label is given, so a record with one label and an
        entry with several is consistent and means records carry the first label only.
        """
        self._note(self._key)
        ends = [offset for _, offset in index[1:]] + [self._size]
        packed: set[bool] = set()
        for position in {0, len(index) - 1}:
            key, offset = index[position]
            head = self._probe(offset, ends[position])
            if head is None or len(head) < HEADER_SIZE:
                raise _IndexMismatch(f"the record at offset {offset} cannot be checked against the .lst")
            labels, _ = unpack_labels(head, offset)
            _, _, record_id, _ = HEADER.unpack_from(head)
            wanted = by_index[key].labels
            expected = _as_stored(wanted)
            if record_id != key:
                raise _IndexMismatch(f"the record at offset {offset} has id {record_id}, not its key {key}")
            if labels == expected:
                packed.add(True)
            elif len(labels) == 1 and labels[0] == expected[0]:
                packed.add(False)
            else:
                raise _IndexMismatch(f"the record with key {key} has labels {labels}; the .lst says {wanted}")
        if len(packed) != 1:
            raise _IndexMismatch("its first record carries every label of the .lst and its last only the first")
        return packed.pop()

    def _note(self, key: str) -> None:
        if key not in self.files:
            self.files.append(key)


def _as_stored(labels: tuple[float, ...]) -> tuple[float, ...]:
    """Labels as a record holds them: the .lst holds decimals, records float32 (1e30 is 1000000015047466219876688855040
    there, and 16777217 is 16777216), so counting the decimals would make other class indexes than the records."""
    return struct.unpack(f"<{len(labels)}f", struct.pack(f"<{len(labels)}f", *labels))
