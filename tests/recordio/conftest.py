"""Helpers shared by the RecordIO tests: small .rec/.idx/.lst files and image folders built in tmp_path."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from icflow.recordio import IndexedRecordWriter, LstEntry, pack_image_record, write_lst
from support.reference_tools import reference_tool


def write_dataset(folder: Path, stem: str, labels: list, image_size: int = 40) -> list[bytes]:
    """Writes stem.rec, stem.idx and stem.lst with one record per label (an int or a list); returns the payloads."""
    payloads = []
    with open(folder / f"{stem}.rec", "wb") as rec, open(folder / f"{stem}.idx", "w") as idx:
        writer = IndexedRecordWriter(rec, idx)
        for key, label in enumerate(labels):
            payload = pack_image_record(label, bytes([key % 251]) * image_size, id=key)
            writer.write(key, payload)
            payloads.append(payload)
    with open(folder / f"{stem}.lst", "w") as lst:
        entries = (
            LstEntry(key, tuple(label) if isinstance(label, list) else (label,), f"class{key}/img{key}.jpg")
            for key, label in enumerate(labels)
        )
        write_lst(lst, entries)
    return payloads


class NonSeekable(io.RawIOBase):
    """A stream like an S3 body: no seek; counts the bytes handed out and the largest single read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.bytes_read += len(chunk)
        self.largest_read = max(self.largest_read, len(chunk))
        return len(chunk)


@pytest.fixture
def nonseekable():
    return NonSeekable


MXNET_HELPER = Path(__file__).with_name("mxnet_helper.py")


def mxnet_python() -> Path:
    """The reference interpreter, with mxnet==1.9.1."""
    return reference_tool("ICFLOW_MXNET_PYTHON", ".venv-mxnet/bin/python", "a Python with mxnet==1.9.1")


@pytest.fixture(scope="session")
def mxnet(tmp_path_factory):
    """Runs tasks of tests/recordio/mxnet_helper.py in one mxnet process for the session; returns their results."""
    import json
    import select
    import subprocess

    log_path = tmp_path_factory.mktemp("mxnet") / "stderr.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(mxnet_python()), str(MXNET_HELPER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={"PATH": "/usr/bin:/bin", "MXNET_ENGINE_TYPE": "NaiveEngine", "OMP_NUM_THREADS": "1"},
        )

    def run(*tasks: dict) -> list:
        process.stdin.write(json.dumps(list(tasks)) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 300)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"the mxnet helper gave no answer:\n{log_path.read_text()[-4000:]}")
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"the mxnet helper failed: {answer['error']}\n{log_path.read_text()[-2000:]}")
        return answer["results"]

    yield run
    process.stdin.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
