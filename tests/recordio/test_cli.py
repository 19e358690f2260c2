"""The `icflow pack`, `inspect` and `unpack` commands end to end on small generated images."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from icflow.recordio import IndexedRecordReader, read_lst, read_records, unpack_image_record
from icflow_tools.cli import main


def make_images(root: Path, classes: dict[str, int], size=(48, 32)) -> None:
    for number, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", size, (40 * number, 10 * i, 200)).save(root / name / f"img {i}.jpg")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    make_images(root, {"cat": 3, "dog": 4, "emu": 2})
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_list_then_pack_then_inspect_then_unpack(tmp_path: Path, images: Path, capsys) -> None:
    before = snapshot(images)
    prefix = str(tmp_path / "out" / "pets")
    assert main(["pack", "--list", "--recursive", prefix, str(images)]) == 0
    entries = list(read_lst((tmp_path / "out" / "pets.lst").read_text()))
    assert sorted(e.index for e in entries) == list(range(9))
    assert sorted(e.path for e in entries)[0] == "cat/img 0.jpg"
    assert {e.path.split("/")[0]: e.labels for e in entries} == {"cat": (0.0,), "dog": (1.0,), "emu": (2.0,)}
    assert (tmp_path / "out" / "classes.txt").read_text() == "cat\ndog\nemu\n"

    assert main(["pack", prefix, str(images), "--resize", "16", "--num-thread", "2"]) == 0
    with IndexedRecordReader(tmp_path / "out" / "pets.rec", tmp_path / "out" / "pets.idx") as reader:
        assert reader.keys == [e.index for e in entries]
        for entry in entries:
            record = unpack_image_record(reader.read(entry.index))
            assert (record.id, record.labels) == (entry.index, entry.labels)
            assert Image.open(io.BytesIO(record.image)).size == (24, 16)  # shorter side resized to 16
    capsys.readouterr()

    assert main(["inspect", "--json", prefix + ".rec"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records"], report["labels"], report["problems"]) == (9, {"0": 3, "1": 4, "2": 2}, [])
    assert report["formats"] == {"JPEG": 9} and report["sizes"] == {"24x16": 9}

    outdir = tmp_path / "unpacked"
    assert main(["unpack", prefix + ".rec", str(outdir)]) == 0
    unpacked = list(read_lst((outdir / "pets.lst").read_text()))
    assert [(e.index, e.labels) for e in unpacked] == [(e.index, e.labels) for e in entries]
    assert all((outdir / e.path).is_file() for e in unpacked)
    # Packing the unpacked images as they are gives back the very same file.
    assert main(["pack", str(outdir / "pets"), str(outdir), "--pass-through"]) == 0
    assert (outdir / "pets.rec").read_bytes() == (tmp_path / "out" / "pets.rec").read_bytes()
    assert snapshot(images) == before


def test_split_ratios_and_shuffle_like_im2rec(tmp_path: Path, images: Path) -> None:
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", "--train-ratio", "0.5", "--test-ratio", "0.2", prefix, str(images)])
    sizes = {
        name: len(list(read_lst((tmp_path / f"pets_{name}.lst").read_text()))) for name in ("train", "val", "test")
    }
    assert sizes == {"train": 4, "test": 1, "val": 4}  # int(9 * 0.5), int(9 * 0.2), the rest
    main(["pack", "--list", "--recursive", "--no-shuffle", str(tmp_path / "plain"), str(images)])
    assert [e.index for e in read_lst((tmp_path / "plain.lst").read_text())] == list(range(9))


def test_color_encoding_crop_and_multi_labels(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    root.mkdir()
    Image.new("RGBA", (30, 60), (1, 2, 3, 128)).save(root / "a.png")
    (tmp_path / "m.lst").write_text("0\t1\t0\t1\ta.png\n")
    main(
        ["pack", str(tmp_path / "m"), str(root), "--center-crop", "--encoding", ".png", "--color", "0", "--pack-label"]
    )
    (payload,) = read_records(open(tmp_path / "m.rec", "rb"))
    record = unpack_image_record(payload)
    assert record.labels == (1.0, 0.0, 1.0)
    image = Image.open(io.BytesIO(record.image))
    assert (image.format, image.mode, image.size) == ("PNG", "L", (30, 30))
    main(["pack", str(tmp_path / "m"), str(root)])  # without --pack-label only the first label is stored
    (payload,) = read_records(open(tmp_path / "m.rec", "rb"))
    assert unpack_image_record(payload).labels == (1.0,)


def test_unreadable_image_is_left_out_and_named(tmp_path: Path, images: Path, capsys) -> None:
    (images / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", prefix, str(images)])
    assert main(["pack", prefix, str(images)]) == 0
    assert "broken.jpg" in capsys.readouterr().err
    assert sum(1 for _ in read_records(open(prefix + ".rec", "rb"))) == 9


def test_inspect_reports_problems_with_offsets(tmp_path: Path, images: Path, capsys) -> None:
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", "--no-shuffle", prefix, str(images)])
    main(["pack", prefix, str(images)])
    data = Path(prefix + ".rec").read_bytes()
    Path(prefix + ".rec").write_bytes(data[:-100])  # the last record is cut
    capsys.readouterr()
    assert main(["inspect", "--json", prefix + ".rec"]) == 1
    report = json.loads(capsys.readouterr().out)
    truncated = [p for p in report["problems"] if "truncated" in p["problem"]]
    last_offset = int(Path(prefix + ".idx").read_text().split()[-1])
    assert truncated and truncated[0]["offset"] == last_offset
    assert report["records"] == 8
    assert any("pets.idx lists 9 records" in p["problem"] for p in report["problems"])


def test_inspect_flags_gaps_in_labels_and_bad_images(tmp_path: Path, capsys) -> None:
    from icflow.recordio import RecordWriter, pack_image_record

    good = io.BytesIO()
    Image.new("RGB", (8, 8)).save(good, format="JPEG")
    with open(tmp_path / "x.rec", "wb") as handle:
        writer = RecordWriter(handle)
        writer.write(pack_image_record(0, good.getvalue(), id=0))
        writer.write(pack_image_record(2, b"\xff\xd8\xff garbage", id=1))
    assert main(["inspect", str(tmp_path / "x.rec")]) == 1
    out = capsys.readouterr().out
    assert "no record has label 1" in out
    assert "record id 1 does not decode" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "{tmp}/none.rec"], "is not a file"),
        (["pack", "--list", "{tmp}/p", "{tmp}/empty"], "no images"),
        (["pack", "{tmp}/nolist", "{tmp}/empty"], "no .lst file starting with"),
        (["pack", "{tmp}/wrongroot", "{tmp}/empty"], "none of the 1 images listed"),
        (["unpack", "{tmp}/wrongroot.lst", "{tmp}/out"], "not a RecordIO file"),
    ],
)
def test_bad_input_gives_a_message_not_a_traceback(tmp_path: Path, capsys, argv, message) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "wrongroot.lst").write_text("0\t0.000000\tcat/a.jpg\n")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "wrongroot.rec").exists()


def test_class_folder_without_images_is_an_error(tmp_path: Path, images: Path, capsys) -> None:
    (images / "zebra").mkdir()
    (images / "zebra" / "notes.txt").write_text("no images yet")
    assert main(["pack", "--list", "--recursive", str(tmp_path / "p"), str(images)]) == 1
    assert "zebra holds no images" in capsys.readouterr().err


def test_inspect_of_a_file_that_is_not_recordio(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.rec").write_bytes(b"PK\x03\x04 a zip file")
    assert main(["inspect", str(tmp_path / "x.rec")]) == 1
    assert "not a RecordIO file" in capsys.readouterr().out


def test_unpack_refuses_a_folder_with_files(tmp_path: Path, images: Path, capsys) -> None:
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", prefix, str(images)])
    main(["pack", prefix, str(images)])
    assert main(["unpack", prefix + ".rec", str(images)]) == 1
    assert "is not empty" in capsys.readouterr().err


def test_existing_class_list_with_other_names_is_kept(tmp_path: Path, images: Path, capsys) -> None:
    (tmp_path / "classes.txt").write_text("mine\n")
    assert main(["pack", "--list", "--recursive", str(tmp_path / "p"), str(images)]) == 1
    assert (tmp_path / "classes.txt").read_text() == "mine\n"
    assert "already exists" in capsys.readouterr().err


def test_inspect_reads_on_past_a_damaged_record(tmp_path: Path, images: Path, capsys) -> None:
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", prefix, str(images)])
    main(["pack", prefix, str(images)])
    offsets = [int(line.split("\t")[1]) for line in Path(prefix + ".idx").read_text().splitlines()]
    data = bytearray(Path(prefix + ".rec").read_bytes())
    data[offsets[4] : offsets[4] + 8] = b"\xde\xad\xbe\xef" * 2  # the fifth record's header
    Path(prefix + ".rec").write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["inspect", "--json", prefix + ".rec"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 8
    (damage,) = [p for p in report["problems"] if "corrupt" in p["problem"]]
    assert damage["offset"] == offsets[4]
    assert f"{offsets[5] - offsets[4]} bytes from here could not be read" in damage["problem"]


def test_inspect_refuses_an_empty_rec_as_the_upload_path_does(tmp_path: Path, capsys) -> None:
    import boto3
    from moto import mock_aws

    from icflow.core.errors import IcflowError
    from icflow.recordio.s3 import channel_stats

    (tmp_path / "x.rec").write_bytes(b"")
    assert main(["inspect", str(tmp_path / "x.rec")]) == 1
    reason = "empty file: a .rec holds at least one record; upload or copy the file again"
    assert reason in capsys.readouterr().out
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="datasets/d/train/x.rec", Body=b"")
        with pytest.raises(IcflowError, match=reason):
            channel_stats(s3, "data", "datasets/d/train/")


@pytest.mark.parametrize("label", [1e8, 1e30])
@pytest.mark.parametrize("suffix", [".rec", ".lst"])
def test_inspect_of_a_huge_label_finishes_quickly_with_the_gap_counted(tmp_path: Path, capsys, label, suffix) -> None:
    from icflow.recordio import RecordWriter, pack_image_record
    from support.hostile import bounded

    path = tmp_path / f"x{suffix}"
    if suffix == ".rec":
        with open(path, "wb") as handle:
            writer = RecordWriter(handle)
            writer.write(pack_image_record(0, b"", id=0))
            writer.write(pack_image_record(label, b"", id=1))
    else:
        path.write_text(f"0\t0\ta.jpg\n1\t{label}\tb.jpg\n")
    with bounded(seconds=5):
        assert main(["inspect", "--json", "--no-decode", str(path)]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert problem["problem"].startswith("labels are not contiguous from 0: no record has label 1, 2, 3, 4, 5, 6, ")
    assert problem["problem"].endswith(" more")


def test_inspect_of_a_lst_names_the_line_it_cannot_read(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.lst").write_bytes(b"0\t0\ta.jpg\n1\t1\tcaf\xe9.jpg\n")
    assert main(["inspect", str(tmp_path / "x.lst")]) == 1
    out = capsys.readouterr().out
    assert "x.lst: 1 records" in out
    assert "x.lst line 2 is not UTF-8 text" in out


def test_pack_and_inspect_refuse_an_image_of_too_many_pixels(tmp_path: Path, images: Path, capsys) -> None:
    from icflow.recordio import RecordWriter, pack_image_record
    from support.image_headers import png_announcing

    (images / "cat" / "huge.png").write_bytes(png_announcing(12_000, 9_000))
    prefix = str(tmp_path / "pets")
    main(["pack", "--list", "--recursive", prefix, str(images)])
    assert main(["pack", prefix, str(images)]) == 0
    assert "huge.png is 12000x9000 pixels (108.0 megapixels)" in capsys.readouterr().err

    with open(tmp_path / "x.rec", "wb") as handle:
        RecordWriter(handle).write(pack_image_record(0, png_announcing(12_000, 9_000), id=7))
    assert main(["inspect", "--json", str(tmp_path / "x.rec")]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert problem["problem"].startswith("the image of record id 7 is 12000x9000 pixels (108.0 megapixels); ")


def test_pack_names_a_png_with_a_broken_chunk(tmp_path: Path) -> None:
    from icflow.core.errors import IcflowError
    from icflow_tools.dataset.images import EncodeOptions, encode_image
    from support.image_headers import png_announcing

    broken = png_announcing(1, 1).replace(b"IEND", b"\x00END")  # Pillow: SyntaxError, broken PNG file
    with pytest.raises(IcflowError, match="cat/a.png is not a readable image"):
        encode_image(broken, EncodeOptions(), "cat/a.png")
