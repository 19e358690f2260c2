"""Image transforms of im2rec (cv2) done with Pillow: color mode, center crop, shorter-side resize, encoding."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from icflow.core.errors import IcflowError
from icflow_tools.decoded_images import DECODE_ERRORS, open_bounded

JPEG, PNG = ".jpg", ".png"


@dataclass(frozen=True)
class EncodeOptions:
    resize: int = 0  # shorter side in pixels; 0 keeps the size
    center_crop: bool = False
    quality: int = 95  # JPEG quality 1-100, or PNG compression 0-9
    encoding: str = JPEG
    color: int = 1  # 1 color (alpha dropped), 0 grayscale, -1 as stored
    pass_through: bool = False


def encode_image(data: bytes, options: EncodeOptions, name: str) -> bytes:
    """The image as it goes into a record; raises IcflowError naming `name` when it does not decode."""
    if options.pass_through:
        return data
    try:
        with open_bounded(data, name) as opened:
            opened.load()
            mode = {1: "RGB", 0: "L"}.get(options.color)
            # convert/copy detach the pixels from the file, which closes with this block
            image = opened.convert(mode) if mode else opened.copy()
    except DECODE_ERRORS as error:
        raise IcflowError(f"{name} is not a readable image ({error})") from None
    if options.center_crop:
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if options.resize:
        width, height = image.size
        if height > width:
            size = (options.resize, height * options.resize // width)
        else:
            size = (width * options.resize // height, options.resize)
        image = image.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if options.encoding == JPEG:
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")  # JPEG has no alpha channel or palette
        image.save(out, format="JPEG", quality=options.quality)
    else:
        image.save(out, format="PNG", compress_level=min(max(options.quality, 0), 9))
    return out.getvalue()


def describe_image(data: bytes, what: str) -> tuple[str, tuple[int, int]]:
    """(format, (width, height)) of an encoded image, fully decoded so that damage shows; `what` names it."""
    with open_bounded(data, what) as image:
        kind, size = image.format or "unknown", image.size
        image.load()
    return kind, size


def guess_extension(data: bytes) -> str:
    """A file extension from the image's first bytes, for writing images back out."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if data.startswith(b"BM"):
        return ".bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".bin"
