"""Properties of the image decoders, the readers of every image a user packs, trains on or sends to an
endpoint: any bytes, and headers announcing any size, depth and colour type, decode or give an IcflowError
(the trainer's ClientError, `icflow pack`'s reason) within time bounds (support.hostile), never Pillow's own
exceptions; and what decodes has at most MAX_DECODED_PIXELS pixels and sides of at most MAX_SIDE.

Pillow allocates pixels outside Python's allocator, where tracemalloc does not see them: the pixel bound is
what keeps that memory bounded, and it is asserted on every image that decodes."""

from __future__ import annotations

import struct
import zlib

from hypothesis import given
from hypothesis import strategies as st

from icflow_tools.dataset.images import EncodeOptions, encode_image
from icflow_tools.decoded_images import MAX_DECODED_PIXELS, MAX_SIDE
from icflow_tools.trainer.hyperparameters import parse_image_shape
from icflow_tools.trainer.images import decode, size_of
from support.hostile import parses_or_explains
from support.image_headers import PNG_SIGNATURE, png_chunk

SIDES = st.one_of(
    st.integers(0, 40),
    st.sampled_from([MAX_SIDE, MAX_SIDE + 1, 9_459, 9_460, 2**16, 2**31 - 1, 2**32 - 1]),
)


@st.composite
def pngs(draw: st.DrawFn) -> bytes:
    width, height = draw(SIDES), draw(SIDES)
    depth, colour = draw(st.sampled_from([1, 2, 4, 8, 16, 3])), draw(st.sampled_from([0, 2, 3, 4, 6, 5]))
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, draw(st.sampled_from([0, 1])))
    rows = draw(st.binary(max_size=200))
    chunks = [png_chunk(b"IHDR", header)]
    if draw(st.booleans()):
        chunks.append(png_chunk(b"PLTE", draw(st.binary(max_size=30))))
    chunks.append(png_chunk(b"IDAT", zlib.compress(rows) if draw(st.booleans()) else rows))
    data = bytearray(PNG_SIGNATURE + b"".join(chunks) + png_chunk(b"IEND", b""))
    if draw(st.booleans()):  # one byte changed: a bad CRC, a chunk length past the end, a broken header
        data[draw(st.integers(8, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def jpegs(draw: st.DrawFn) -> bytes:
    """A start-of-frame segment (baseline or progressive) of any size and components, then anything."""
    components = draw(st.integers(0, 4))
    frame = struct.pack(
        ">BHHB", draw(st.sampled_from([8, 12, 0])), draw(SIDES) & 0xFFFF, draw(SIDES) & 0xFFFF, components
    )
    frame += b"".join(struct.pack(">BBB", number, 0x11, 0) for number in range(1, components + 1))
    marker = draw(st.sampled_from([b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"]))
    return (
        b"\xff\xd8" + marker + struct.pack(">H", len(frame) + 2) + frame + draw(st.binary(max_size=100)) + b"\xff\xd9"
    )


@st.composite
def others(draw: st.DrawFn) -> bytes:
    """GIF and BMP headers of any size (BMP heights may be negative: top-down rows), and any bytes."""
    width, height = draw(SIDES) & 0xFFFF, draw(SIDES) & 0xFFFF
    gif = b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF7, 0, 0) + draw(st.binary(max_size=60))
    bmp_height = draw(st.sampled_from([height, -height, -(2**31)]))
    bmp = b"BM" + struct.pack(
        "<IHHIIiiHH", 0, 0, 0, 54, 40, width, bmp_height, 1, draw(st.sampled_from([1, 8, 24, 32]))
    )
    return draw(st.sampled_from([gif, bmp + draw(st.binary(max_size=60))]) | st.binary(max_size=120))


IMAGES = st.one_of(pngs(), jpegs(), others())
SHAPE = parse_image_shape("3,16,16")


def _within_bounds(image: object) -> None:
    if hasattr(image, "size"):
        width, height = image.size  # type: ignore[attr-defined]
        assert width * height <= MAX_DECODED_PIXELS and max(width, height) <= MAX_SIDE


@given(IMAGES)
def test_the_trainer_decodes_any_bytes_or_gives_a_client_error(data: bytes) -> None:
    _within_bounds(parses_or_explains(decode, data, SHAPE, "train/x.png"))
    size = parses_or_explains(size_of, data, "train/x.png")
    assert not isinstance(size, tuple) or (size[0] * size[1] <= MAX_DECODED_PIXELS)


@given(IMAGES)
def test_pack_encodes_any_bytes_or_gives_a_reason(data: bytes) -> None:
    parses_or_explains(encode_image, data, EncodeOptions(resize=8), "images/x.png")
