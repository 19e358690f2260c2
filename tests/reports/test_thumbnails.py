"""Thumbnails of users' images: small upright JPEGs, or a reason in words for what cannot be one; and the fetcher
that reads them from S3, turning what S3 refuses into that image's reason."""

from __future__ import annotations

import base64
import io
import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from PIL import Image

from icflow.reports.thumbnails import (
    DATA_URI_PREFIX,
    MAX_PIXELS,
    Thumbnail,
    ThumbnailFetcher,
    thumbnail,
)
from support.image_headers import png_announcing

EXIF_ORIENTATION = 0x0112
ROTATED_90 = 6  # the camera was held upright: the pixels are stored sideways


def photo(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A photo's kind of content: detail at every scale (a Mandelbrot crop) under a coarse coloured texture."""
    rng = random.Random(seed)
    x, y, zoom = rng.uniform(-2, 0), rng.uniform(-1, 0.5), rng.uniform(0.3, 1.5)
    detail = Image.effect_mandelbrot((width, height), (x, y, x + zoom, y + zoom * height / width), 100)
    textures = [
        Image.effect_noise((width // 4, height // 4), 60).resize((width, height), Image.Resampling.BICUBIC)
        for _ in range(3)
    ]
    return Image.merge("RGB", [Image.blend(detail, texture, 0.6) for texture in textures])


def encoded(image: Image.Image, image_format: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def decoded(found: Thumbnail) -> Image.Image:
    assert found.data_uri is not None and found.data_uri.startswith(DATA_URI_PREFIX)
    image = Image.open(io.BytesIO(base64.b64decode(found.data_uri.removeprefix(DATA_URI_PREFIX))))
    image.load()
    return image


def test_a_jpeg_photo_becomes_a_small_jpeg_of_the_same_shape():
    found = thumbnail(encoded(photo(), "JPEG", quality=90))
    assert found.problem is None and (found.width, found.height) == (96, 72)
    image = decoded(found)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (96, 72))
    assert len(found.data_uri) < 6 * 1024  # the page embeds one per image of a batch


def test_max_side_bounds_the_longer_side():
    found = thumbnail(encoded(photo(300, 600), "PNG"), max_side=40)
    assert (found.width, found.height) == (20, 40) and decoded(found).size == (20, 40)


def test_a_small_image_is_not_enlarged():
    found = thumbnail(encoded(Image.new("RGB", (30, 20), (10, 200, 30)), "PNG"))
    assert (found.width, found.height) == (30, 20)


def test_transparency_is_flattened_on_white():
    image = Image.new("RGBA", (200, 100), (255, 0, 0, 0))  # transparent red: white once flattened
    image.paste((0, 0, 255, 255), (100, 0, 200, 100))  # opaque blue on the right half
    found = thumbnail(encoded(image, "PNG"))
    flat = decoded(found)
    assert (found.width, found.height) == (96, 48)
    assert all(abs(a - b) <= 8 for a, b in zip(flat.getpixel((10, 24)), (255, 255, 255), strict=True))
    assert all(abs(a - b) <= 8 for a, b in zip(flat.getpixel((85, 24)), (0, 0, 255), strict=True))


@pytest.mark.parametrize(
    "image",
    [
        Image.new("P", (40, 40), 3),
        Image.new("L", (40, 40), 128),
        Image.new("LA", (40, 40), (128, 0)),
        Image.new("I;16", (40, 40), 60000),
        Image.new("1", (40, 40), 1),
        Image.new("CMYK", (40, 40), (0, 100, 200, 0)),
    ],
    ids=lambda image: image.mode,
)
def test_every_mode_becomes_an_rgb_jpeg(image: Image.Image):
    image_format = "JPEG" if image.mode == "CMYK" else "PNG"
    assert decoded(thumbnail(encoded(image, image_format))).mode == "RGB"


def test_a_transparent_gif_and_a_webp_open():
    gif = Image.new("P", (50, 50), 0)
    assert thumbnail(encoded(gif, "GIF", transparency=0)).problem is None
    assert thumbnail(encoded(photo(64, 48), "WEBP")).problem is None


def test_the_exif_orientation_is_applied():
    image = photo()
    exif = image.getexif()
    exif[EXIF_ORIENTATION] = ROTATED_90
    found = thumbnail(encoded(image, "JPEG", exif=exif.tobytes()))
    assert (found.width, found.height) == (72, 96) and decoded(found).size == (72, 96)


def test_a_truncated_image_gives_a_reason():
    data = encoded(photo(), "JPEG")
    found = thumbnail(data[: len(data) // 2])
    assert found == Thumbnail(None, 0, 0, found.problem)
    assert found.problem.startswith("not a decodable image: ") and "truncated" in found.problem


def test_a_text_file_is_not_an_image():
    found = thumbnail(b"name,label\ncat.jpg,cat\n")
    assert found.data_uri is None and found.problem.startswith("not a decodable image")


def test_an_empty_object_is_named_so():
    assert thumbnail(b"").problem == "empty: the object has zero bytes"


def test_bytes_over_the_cap_are_not_opened():
    found = thumbnail(encoded(photo(), "JPEG"), max_bytes=1000)
    assert found.data_uri is None and found.problem.startswith("larger than")


@pytest.mark.parametrize(
    ("width", "height", "problem"),
    [
        (100_000, 100_000, "larger than 50 megapixels"),  # past Pillow's own limit: its refusal
        (8_000, 8_000, "larger than 50 megapixels (8000x8000)"),  # within Pillow's, past icflow's
        (40_000, 10, "wider or taller than 32000 pixels (40000x10)"),
    ],
)
def test_a_decompression_bomb_is_refused_before_decoding(width: int, height: int, problem: str):
    """A few dozen bytes announcing more pixels than a report function could hold."""
    assert width * height > MAX_PIXELS or max(width, height) > 32_000
    assert thumbnail(png_announcing(width, height)) == Thumbnail(None, 0, 0, problem)


def test_formats_a_report_has_no_use_for_are_not_opened():
    """Pillow would open a TIFF, and an EPS by running Ghostscript; neither is a photo icflow classifies."""
    assert thumbnail(encoded(Image.new("RGB", (8, 8)), "TIFF")).problem.startswith("not a decodable image")
    assert thumbnail(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n").problem.startswith("not a decodable")


# The fetcher, on moto's S3.


def test_the_fetcher_reads_each_key_once_and_names_what_it_could_not_read(s3, helpers):
    jpeg = encoded(photo(), "JPEG")
    for key, body in {
        "batch/pets/cat/a.jpg": jpeg,
        "batch/pets/b b.png": encoded(Image.new("RGB", (300, 100)), "PNG"),
        "batch/pets/notes.txt": b"hello",
        "batch/pets/empty.jpg": b"",
    }.items():
        helpers.put(s3, key, body)
    keys = [
        "batch/pets/cat/a.jpg",
        "batch/pets/b b.png",
        "batch/pets/notes.txt",
        "batch/pets/empty.jpg",
        "batch/pets/gone.jpg",
        "batch/pets/cat/a.jpg",
    ]
    found = ThumbnailFetcher(s3, helpers.BUCKET, max_workers=4).thumbnails(keys)
    assert list(found) == keys[:5]
    assert found["batch/pets/cat/a.jpg"] == thumbnail(jpeg)
    assert (found["batch/pets/b b.png"].width, found["batch/pets/b b.png"].height) == (96, 32)
    assert found["batch/pets/notes.txt"].problem.startswith("not a decodable image")
    assert found["batch/pets/empty.jpg"].problem == "empty: the object has zero bytes"
    assert found["batch/pets/gone.jpg"].problem == "not found (NoSuchKey): the object was deleted or moved"


def test_an_object_over_the_cap_is_not_read_whole(s3, helpers):
    helpers.put(s3, "batch/pets/big.png", encoded(photo(), "PNG"))
    reads: list[str] = []
    s3.meta.events.register("before-call.s3.GetObject", lambda params, **_: reads.append(params["headers"]["Range"]))
    [found] = ThumbnailFetcher(s3, helpers.BUCKET, max_bytes=10_000).thumbnails(["batch/pets/big.png"]).values()
    assert found.problem == f"larger than {10_000 / 2**20:g} MB, the most a thumbnail is made of"
    assert reads == ["bytes=0-10000"]


def test_many_keys_at_once(s3, helpers):
    keys = [f"batch/pets/{number}.png" for number in range(40)]
    for number, key in enumerate(keys):
        helpers.put(s3, key, encoded(Image.new("RGB", (10 + number, 10)), "PNG"))
    found = ThumbnailFetcher(s3, helpers.BUCKET, max_workers=8).thumbnails(keys)
    assert [found[key].width for key in keys] == [10 + number for number in range(40)]


class RefusingS3:
    """GetObject refused as S3 refuses it, or a connection that fails; the key itself is listed (it exists)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_object(self, **_: Any) -> dict:
        raise self.error

    def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int) -> dict:  # noqa: N803 - boto3's names
        return {"Contents": [{"Key": Prefix}]}


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (
            ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject"),
            "not readable (AccessDenied): the report function may not read it",
        ),
        (ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"), "not readable: S3 answered SlowDown"),
        (
            EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"),
            'not readable: Could not connect to the endpoint URL: "https://s3.amazonaws.com"',
        ),
    ],
)
def test_what_s3_refuses_is_that_key_s_problem(error: Exception, problem: str):
    assert ThumbnailFetcher(RefusingS3(error), "b").thumbnails(["batch/pets/a.jpg"]) == {
        "batch/pets/a.jpg": Thumbnail(None, 0, 0, problem)
    }
