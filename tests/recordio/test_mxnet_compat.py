"""icflow against the reference: mxnet 1.9.1 run in its own venv through tests/recordio/mxnet_helper.py."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from icflow.recordio import (
    IndexedRecordReader,
    IndexedRecordWriter,
    pack_image_record,
    read_lst,
    read_records,
    unpack_image_record,
)
from icflow.recordio.framing import MAGIC_BYTES
from icflow_tools.cli import main

pytestmark = pytest.mark.compat

M = MAGIC_BYTES
RAW_PAYLOADS = [
    b"",
    b"a",
    b"abcd",
    M,
    M * 3,
    b"abcd" + M,
    M + b"tail",
    b"xy" + M + b"zw",
    b"abcd" + M + b"efgh" + M + b"ijk",
    random.Random(1).randbytes(5000) + M + random.Random(2).randbytes(4999),
]
# (labels, image) for image records: single labels, label arrays, and a magic word inside the image.
IMAGE_RECORDS = [(3, b"JPEGDATA"), ([1, 0, 1], b"PNG"), ([7.0], b""), (0.5, M + b"img"), ([2, 4], b"abcd" + M)]


def write_icflow(folder: Path) -> None:
    with open(folder / "i.rec", "wb") as rec, open(folder / "i.idx", "w") as idx:
        writer = IndexedRecordWriter(rec, idx)
        for key, payload in enumerate(RAW_PAYLOADS):
            writer.write(key, payload)
        for key, (labels, image) in enumerate(IMAGE_RECORDS, start=100):
            writer.write(key, pack_image_record(labels, image, id=key))


def mxnet_write_tasks(folder: Path) -> dict:
    records = [{"key": key, "payload": p.hex()} for key, p in enumerate(RAW_PAYLOADS)]
    records += [
        {"key": key, "labels": labels, "image": image.hex(), "id": key}
        for key, (labels, image) in enumerate(IMAGE_RECORDS, start=100)
    ]
    return {"task": "write", "rec": str(folder / "m.rec"), "idx": str(folder / "m.idx"), "records": records}


def test_mxnet_reads_what_icflow_writes(tmp_path: Path, mxnet) -> None:
    write_icflow(tmp_path)
    rec, idx = str(tmp_path / "i.rec"), str(tmp_path / "i.idx")
    payloads, by_key, headers = mxnet(
        {"task": "read", "rec": rec},
        {"task": "read_idx", "rec": rec, "idx": idx},
        {"task": "unpack", "rec": rec, "start": len(RAW_PAYLOADS)},
    )
    expected = RAW_PAYLOADS + [
        pack_image_record(labels, image, id=key) for key, (labels, image) in enumerate(IMAGE_RECORDS, 100)
    ]
    assert [bytes.fromhex(p) for p in payloads] == expected
    assert [bytes.fromhex(by_key[str(key)]) for key in [*range(len(RAW_PAYLOADS)), *range(100, 105)]] == expected
    assert len(headers) == len(IMAGE_RECORDS)
    for header, (labels, image), key in zip(headers, IMAGE_RECORDS, range(100, 105)):
        record = unpack_image_record(pack_image_record(labels, image, id=key))
        mx_labels = tuple(header["label"]) if isinstance(header["label"], list) else (header["label"],)
        assert (mx_labels, header["id"], bytes.fromhex(header["image"])) == (record.labels, key, image)
        assert header["flag"] == (0 if isinstance(labels, (int, float)) else len(labels))


def test_icflow_reads_what_mxnet_writes_and_writes_the_same_bytes(tmp_path: Path, mxnet) -> None:
    mxnet(mxnet_write_tasks(tmp_path))
    write_icflow(tmp_path)
    with open(tmp_path / "m.rec", "rb") as handle:
        payloads = list(read_records(handle))
    assert payloads[: len(RAW_PAYLOADS)] == RAW_PAYLOADS
    for payload, (labels, image), key in zip(payloads[len(RAW_PAYLOADS) :], IMAGE_RECORDS, range(100, 105)):
        record = unpack_image_record(payload)
        assert (record.labels, record.id, record.image) == (
            unpack_image_record(pack_image_record(labels, image, key)).labels,
            key,
            image,
        )
    with IndexedRecordReader(tmp_path / "m.rec", tmp_path / "m.idx") as reader:
        assert [reader.read(key) for key in reader.keys] == payloads
    assert (tmp_path / "i.rec").read_bytes() == (tmp_path / "m.rec").read_bytes()
    assert (tmp_path / "i.idx").read_text() == (tmp_path / "m.idx").read_text()


def make_images(root: Path) -> None:
    rng = random.Random(7)
    for number, name in enumerate(["ant", "bee", "cow"]):
        (root / name).mkdir(parents=True)
        for i in range(4):
            size = (rng.randint(20, 60), rng.randint(20, 60))
            Image.new("RGB", size, (80 * number, 30 * i, rng.randint(0, 255))).save(root / name / f"p{i}.jpg")


def test_image_record_iter_reads_icflow_packs(tmp_path: Path, mxnet) -> None:
    images = tmp_path / "images"
    make_images(images)
    prefix = str(tmp_path / "set")
    assert main(["pack", "--list", "--recursive", prefix, str(images)]) == 0
    assert main(["pack", prefix, str(images), "--resize", "32", "--center-crop"]) == 0
    entries = list(read_lst((tmp_path / "set.lst").read_text()))
    (labels,) = mxnet({"task": "iterate", "rec": prefix + ".rec", "data_shape": [3, 32, 32]})
    assert labels == [entry.labels[0] for entry in entries]

    # Multi-label records, as SageMaker's multi_label training reads them.
    (tmp_path / "multi.lst").write_text(
        "".join(f"{e.index}\t{e.labels[0]}\t{(e.labels[0] + 1) % 3}\t{e.index % 2}\t{e.path}\n" for e in entries)
    )
    assert main(["pack", str(tmp_path / "multi"), str(images), "--resize", "32", "--center-crop", "--pack-label"]) == 0
    (labels,) = mxnet(
        {"task": "iterate", "rec": str(tmp_path / "multi.rec"), "data_shape": [3, 32, 32], "label_width": 3}
    )
    assert labels == [[e.labels[0], (e.labels[0] + 1) % 3, e.index % 2] for e in entries]


def test_pack_list_matches_im2rec(tmp_path: Path, mxnet) -> None:
    images = tmp_path / "images"
    make_images(images)
    (images / "cow" / "deep").mkdir()
    Image.new("RGB", (9, 9)).save(images / "cow" / "deep" / "x.png")
    for extra in ([], ["--train-ratio", "0.6", "--test-ratio", "0.2"]):
        out_mx, out_ic = tmp_path / f"mx{len(extra)}", tmp_path / f"ic{len(extra)}"
        out_mx.mkdir()
        mxnet({"task": "im2rec", "cwd": str(out_mx), "args": ["--list", "--recursive", *extra, "d", str(images)]})
        assert main(["pack", "--list", "--recursive", *extra, str(out_ic / "d"), str(images)]) == 0
        lists = sorted(p.name for p in out_mx.glob("*.lst"))
        assert lists == sorted(p.name for p in out_ic.glob("*.lst")) and lists
        for name in lists:
            assert (out_ic / name).read_text() == (out_mx / name).read_text()


def test_icflow_reads_im2rec_packs_and_pass_through_is_byte_identical(tmp_path: Path, mxnet) -> None:
    images = tmp_path / "images"
    make_images(images)
    mx_dir, ic_dir = tmp_path / "mx", tmp_path / "ic"
    mx_dir.mkdir()
    ic_dir.mkdir()
    lst = "".join(f"{i}\t{i % 3}.000000\t{name}/p{i % 4}.jpg\n" for i, name in enumerate(["ant", "bee", "cow"] * 2))
    lst += "6\t2.000000\t1.000000\tcow/p3.jpg\n"  # a multi-label line, packed with --pack-label
    for folder in (mx_dir, ic_dir):
        (folder / "d.lst").write_text(lst)
    mxnet({"task": "im2rec", "cwd": str(mx_dir), "args": ["--pass-through", "--pack-label", "d", str(images)]})
    assert main(["pack", str(ic_dir / "d"), str(images), "--pass-through", "--pack-label"]) == 0
    assert (ic_dir / "d.rec").read_bytes() == (mx_dir / "d.rec").read_bytes()
    assert (ic_dir / "d.idx").read_text() == (mx_dir / "d.idx").read_text()

    # cv2 re-encodes differently from Pillow, but ids, labels and image sizes must agree.
    (mx_dir / "e.lst").write_text(lst)
    mxnet({"task": "im2rec", "cwd": str(mx_dir), "args": ["--resize", "24", "--quality", "90", "e", str(images)]})
    with IndexedRecordReader(mx_dir / "e.rec", mx_dir / "e.idx") as reader:
        records = [unpack_image_record(reader.read(key)) for key in reader.keys]
    entries = list(read_lst(lst))
    assert [(r.id, r.labels) for r in records] == [(e.index, e.labels[:1]) for e in entries]
    assert all(min(Image.open(io.BytesIO(r.image)).size) == 24 for r in records)
    assert main(["inspect", str(mx_dir / "e.rec")]) == 0
