"""Checking a dataset's class-folder images, once per image and ETag.

Each check is two ranged GETs (icflow.core.images.check_objects). They are what a run of a large dataset spends its
time on (benchmarks/class_folders_bench.py: 100,000 images, 200,000 GETs), and most of them would repeat the last
run's: adding a hundred images to a hundred thousand starts a new run on all of them. An object's content is its
ETag's, so what a check found is kept under prepared/<dataset>/image-checks.jsonl, one line per key with its ETag
and verdict, and the next run reads again only the keys that are new or changed. A verdict that says nothing of
the content (the object was deleted while it was read) is not kept. Runs of one dataset that overlap each write
what they found; either file is true.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from icflow.core import layout
from icflow.core.images import S3Object, SkipReason, check_objects
from icflow.core.s3_objects import S3Objects

# Ranged GETs in flight. S3 answers each in 20-50 ms, so the checks wait far more than they compute: with 64 in
# flight, 100,000 new images wait about 80 s at 25 ms, and the client's own work (about 0.6 ms of CPU a request)
# is what remains. The client's connection pool is built this size (icflow.wiring).
CHECK_WORKERS = 64
# Images checked per round: the pool's queue and results stay this size however many images there are.
CHECK_CHUNK = 2048
_OK = "ok"


def _chunks(items: Iterable[S3Object], size: int) -> Iterator[list[S3Object]]:
    chunk: list[S3Object] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class CheckRound:
    """One run's checks: verdicts known from earlier runs are reused, the others are fetched, and every one that
    speaks of the content is written down for the next run."""

    def __init__(self, s3: Any, bucket: str, known: dict[str, tuple[str, str]], written: IO[bytes]) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._known = known
        self._written = written

    def check(self, objects: Iterable[S3Object]) -> Iterator[tuple[S3Object, SkipReason | None]]:
        """Each object with None (a usable image) or why not, in input order."""
        for chunk in _chunks(objects, CHECK_CHUNK):
            new = [obj for obj in chunk if not obj.etag or self._known.get(obj.key, ("", ""))[0] != obj.etag]
            checked = check_objects(self._s3, self._bucket, new, max_workers=CHECK_WORKERS, max_bytes=None)
            found = {obj.key: reason for obj, reason in checked}
            for obj in chunk:
                reason = found[obj.key] if obj.key in found else _reason(self._known[obj.key][1])
                if reason is not SkipReason.MISSING:
                    verdict = reason.value if reason is not None else _OK
                    line = json.dumps({"key": obj.key, "etag": obj.etag, "verdict": verdict}, ensure_ascii=False)
                    self._written.write((line + "\n").encode())
                yield obj, reason


def _reason(verdict: str) -> SkipReason | None:
    return None if verdict == _OK else SkipReason(verdict)


def _read(body: bytes | None) -> dict[str, tuple[str, str]]:
    """key -> (ETag, verdict) from an image-checks file; a line that does not read is checked again."""
    known: dict[str, tuple[str, str]] = {}
    for line in (body or b"").splitlines():
        try:
            entry = json.loads(line)
            verdict = str(entry["verdict"])
            if verdict != _OK:
                SkipReason(verdict)
            known[str(entry["key"])] = (str(entry["etag"]), verdict)
        except (ValueError, KeyError, TypeError):
            continue
    return known


class ImageChecks:
    def __init__(self, s3_client: Any, objects: S3Objects) -> None:
        """`s3_client` with a connection pool of CHECK_WORKERS."""
        self._s3 = s3_client
        self._objects = objects

    @contextmanager
    def updating(self, dataset: str) -> Iterator[CheckRound]:
        """A round of checks for the dataset; its verdicts are kept when the round ends without an error."""
        key = layout.image_checks_key(dataset)
        known = _read(self._objects.read_optional(key))
        with tempfile.TemporaryFile() as written:
            yield CheckRound(self._s3, self._objects.bucket, known, written)
            written.seek(0)
            self._s3.upload_fileobj(
                written, self._objects.bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"}
            )
