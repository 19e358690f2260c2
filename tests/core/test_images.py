from __future__ import annotations

import pytest

from icflow.core.images import (
    S3Object,
    SkipReason,
    check_object,
    check_objects,
    image_format,
    is_hidden_or_system,
    skip_reason_before_reading,
)
from icflow.core.transform_payload import BYTES_PER_MB, MAX_PAYLOAD_MB


def test_image_format_reads_the_signature_not_the_name(helpers):
    assert image_format(helpers.JPEG) == "jpeg"
    assert image_format(helpers.PNG) == "png"
    assert image_format(b"GIF89a....") is None
    assert image_format(b"\xff\xd8") is None  # truncated JPEG signature
    assert image_format(b"") is None


@pytest.mark.parametrize(
    "key",
    [
        "batch/cats/.DS_Store",
        "batch/cats/holiday/._IMG_1.jpg",
        "batch/cats/Thumbs.db",
        "batch/cats/desktop.ini",
        "batch/cats/__MACOSX/IMG_1.jpg",
        "batch/cats/.git/objects/ab",
    ],
)
def test_hidden_and_system_files_are_recognised(key):
    assert is_hidden_or_system(key)
    assert skip_reason_before_reading(key, 1000) is SkipReason.HIDDEN


@pytest.mark.parametrize("key", ["batch/cats/IMG_1.jpg", "batch/cats/a.b/c.png", "batch/cats/thumbs.jpg"])
def test_ordinary_names_are_not_hidden(key):
    assert not is_hidden_or_system(key)


def test_size_alone_decides_empty_and_too_large():
    limit = MAX_PAYLOAD_MB * BYTES_PER_MB
    assert limit == 6_291_456  # MaxPayloadInMB counts MiB
    assert skip_reason_before_reading("batch/d/a.jpg", 6_000_001) is None
    assert skip_reason_before_reading("batch/d/a.jpg", 0) is SkipReason.EMPTY
    assert skip_reason_before_reading("batch/d/a.jpg", limit) is None
    assert skip_reason_before_reading("batch/d/a.jpg", limit + 1) is SkipReason.TOO_LARGE
    assert skip_reason_before_reading("batch/d/a.jpg", None) is None


def test_check_object_sniffs_content_with_a_ranged_get(s3, helpers):
    helpers.put(s3, "batch/d/photo.jpg", helpers.JPEG)
    helpers.put(s3, "batch/d/scan.PNG", helpers.PNG)
    helpers.put(s3, "batch/d/notes.txt", b"hello")
    helpers.put(s3, "batch/d/renamed.jpg", b"GIF89a" + b"\x00" * 32)
    helpers.put(s3, "batch/d/empty.jpg", b"")
    helpers.put(s3, "batch/d/tiny.jpg", b"\xff")
    bucket = helpers.BUCKET
    # Sizes unknown (None): the ranged GET's Content-Range supplies them.
    assert check_object(s3, bucket, S3Object("batch/d/photo.jpg")) is None
    assert check_object(s3, bucket, S3Object("batch/d/scan.PNG")) is None
    assert check_object(s3, bucket, S3Object("batch/d/notes.txt")) is SkipReason.NOT_AN_IMAGE
    assert check_object(s3, bucket, S3Object("batch/d/renamed.jpg")) is SkipReason.NOT_AN_IMAGE
    assert check_object(s3, bucket, S3Object("batch/d/empty.jpg")) is SkipReason.EMPTY
    assert check_object(s3, bucket, S3Object("batch/d/tiny.jpg")) is SkipReason.NOT_AN_IMAGE
    assert check_object(s3, bucket, S3Object("batch/d/gone.jpg")) is SkipReason.MISSING


def test_too_large_is_found_from_content_range_when_the_event_had_no_size(s3, helpers):
    helpers.put(s3, "batch/d/huge.jpg", helpers.JPEG + b"\x00" * (MAX_PAYLOAD_MB * BYTES_PER_MB))
    assert check_object(s3, helpers.BUCKET, S3Object("batch/d/huge.jpg")) is SkipReason.TOO_LARGE


def test_names_and_sizes_known_from_the_event_need_no_get(s3, helpers):
    # None of these exist: a GET would report MISSING, so the answers prove no GET was made.
    bucket = helpers.BUCKET
    assert check_object(s3, bucket, S3Object("batch/d/.DS_Store", 6148)) is SkipReason.HIDDEN
    assert check_object(s3, bucket, S3Object("batch/d/a.jpg", 0)) is SkipReason.EMPTY
    assert check_object(s3, bucket, S3Object("batch/d/b.jpg", 7_000_000)) is SkipReason.TOO_LARGE


def test_check_objects_keeps_input_order(s3, helpers):
    objects = []
    for i in range(30):
        key = f"batch/d/{i:02d}.jpg"
        helpers.put(s3, key, helpers.JPEG if i % 3 else b"text")
        objects.append(S3Object(key))
    results = list(check_objects(s3, helpers.BUCKET, iter(objects), max_workers=4))
    assert [obj for obj, _ in results] == objects
    assert [reason for _, reason in results] == [None if i % 3 else SkipReason.NOT_AN_IMAGE for i in range(30)]


def test_an_image_cut_off_before_its_end_is_truncated(s3, helpers):
    photo = helpers.JPEG[:-2] + bytes(range(256)) * 40  # entropy-coded data, and no end-of-image marker
    helpers.put(s3, "batch/d/cut.jpg", photo)
    helpers.put(s3, "batch/d/cut.png", helpers.PNG[:-6])
    helpers.put(s3, "batch/d/padded.jpg", helpers.JPEG + b"\x00" * 100)  # padding after the end is fine
    helpers.put(s3, "batch/d/trailer.png", helpers.PNG + b"camera trailer" * 10)
    helpers.put(s3, "batch/d/small.jpg", b"\xff\xd8\xff\xd9")  # shorter than the tail read
    bucket = helpers.BUCKET
    assert check_object(s3, bucket, S3Object("batch/d/cut.jpg")) is SkipReason.TRUNCATED
    assert check_object(s3, bucket, S3Object("batch/d/cut.png")) is SkipReason.TRUNCATED
    assert check_object(s3, bucket, S3Object("batch/d/padded.jpg")) is None
    assert check_object(s3, bucket, S3Object("batch/d/trailer.png")) is None
    assert check_object(s3, bucket, S3Object("batch/d/small.jpg")) is None
    assert "upload the whole file again" in SkipReason.TRUNCATED.message


def test_a_real_image_cut_anywhere_is_caught(s3, helpers):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    photo = buffer.getvalue()
    bucket = helpers.BUCKET
    for cut in (len(photo) // 3, len(photo) // 2, len(photo) - 3):
        helpers.put(s3, f"batch/d/cut-{cut}.jpg", photo[:cut])
        assert check_object(s3, bucket, S3Object(f"batch/d/cut-{cut}.jpg")) is SkipReason.TRUNCATED, cut
    helpers.put(s3, "batch/d/whole.jpg", photo)
    assert check_object(s3, bucket, S3Object("batch/d/whole.jpg")) is None
