"""Properties of the thumbnailer, the reader of every image a batch report shows: any bytes (images of every format
and mode the report opens, cut short or with a byte changed; headers announcing any size; anything at all) give
a Thumbnail within time and memory bounds (support.hostile), never an exception. A thumbnail is a JPEG data URI
of the size it says, at most max_side a side; anything else carries a reason and no data."""

from __future__ import annotations

import base64
import io

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from icflow.reports.thumbnails import DATA_URI_PREFIX, Thumbnail, thumbnail
from support.hostile import parses_or_explains
from support.image_headers import png_announcing


def _encoded(mode: str, size: tuple[int, int], image_format: str) -> bytes:
    out = io.BytesIO()
    image = Image.linear_gradient("L").resize(size).convert(mode)
    image.save(out, image_format)
    return out.getvalue()


# Small real images: every format the thumbnailer opens, in the modes it meets there.
SEEDS = [
    _encoded(mode, size, image_format)
    for image_format, modes in {
        "JPEG": ["RGB", "L", "CMYK"],
        "PNG": ["RGB", "RGBA", "L", "LA", "P", "I;16", "1"],
        "GIF": ["P"],
        "BMP": ["RGB", "P"],
        "WEBP": ["RGB", "RGBA"],
    }.items()
    for mode in modes
    for size in [(1, 1), (37, 5), (130, 90)]
]
SIDES = st.one_of(st.integers(0, 300), st.sampled_from([7_071, 7_072, 32_000, 32_001, 2**16, 2**31 - 1]))


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real image cut short, or with a few bytes changed, or with bytes added."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    data = data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data
    return bytes(data) + draw(st.binary(max_size=16))


IMAGES = st.one_of(
    st.sampled_from(SEEDS),
    damaged(),
    st.builds(png_announcing, SIDES, SIDES),
    st.binary(max_size=200),
)


@given(IMAGES, st.integers(1, 200))
def test_any_bytes_give_a_thumbnail_or_a_reason(data: bytes, max_side: int) -> None:
    found = parses_or_explains(thumbnail, data, max_side)
    assert isinstance(found, Thumbnail)
    if found.data_uri is None:
        assert found.problem and (found.width, found.height) == (0, 0)
        return
    assert found.problem is None and 0 < found.width <= max_side and 0 < found.height <= max_side
    image = Image.open(io.BytesIO(base64.b64decode(found.data_uri.removeprefix(DATA_URI_PREFIX))))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (found.width, found.height))


@given(st.sampled_from(SEEDS), st.integers(1, 200))
def test_every_real_image_gives_a_thumbnail_of_any_size(data: bytes, max_side: int) -> None:
    found = thumbnail(data, max_side)
    assert found.problem is None and max(found.width, found.height) == min(
        max_side, max(Image.open(io.BytesIO(data)).size)
    )
