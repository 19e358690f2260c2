"""The one bound on how many pixels icflow's tools decode from one image, and the opener that keeps it.

The trainer (and so the local SageMaker's training and inference), `icflow pack` and `icflow inspect` all
decode images with Pillow. Decoding costs memory in the pixels the header announces, not in the file's size:
a 180-megapixel PNG of a few megabytes takes over half a gigabyte once decoded. Such an image is refused with
a reason naming it, before its pixels are decoded, as the real algorithm refuses an image it cannot handle.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from icflow.core.errors import IcflowError

# Pillow's own default threshold (2**30 // 4 // 3, a third of a GiB in Pillow's 4-byte RGB); past it Pillow
# only warns, and decodes up to twice as many. Ample for training images, which the algorithm scales down to
# a few hundred pixels a side anyway, and small enough that a few images at once fit a small machine.
MAX_DECODED_PIXELS = 89_478_485
# JPEG's own limit. Pillow's bookkeeping grows with the rows and its line buffers with the width, apart from
# the pixel count: a PNG 1 pixel wide and 89 million high, within the bound above, takes 700 MB to decode.
MAX_SIDE = 65_535


# What Pillow raises for bytes that are not an image it can decode: unknown formats, truncated files and broken
# chunks (SyntaxError, for a PNG's bad CRC), decompression bombs; each is bad input like any other.
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class TooManyPixels(IcflowError):
    """An image whose header announces more than MAX_DECODED_PIXELS pixels, or a side longer than MAX_SIDE."""


def open_bounded(data: bytes, what: str) -> Image.Image:
    """`data` opened by Pillow: its header read, no pixels decoded yet. Raises TooManyPixels, naming the image
    as `what`, when it has more than MAX_DECODED_PIXELS or a side longer than MAX_SIDE; Pillow's own errors
    for data that is not an image are left to the caller."""
    limit = (
        f"icflow decodes at most {MAX_DECODED_PIXELS / 1e6:.1f} megapixels and {MAX_SIDE} pixels a side "
        "per image; scale it down first"
    )
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's own refusal, at twice the bound
        raise TooManyPixels(f"{what} has too many pixels ({error}); {limit}") from None
    width, height = image.size
    if width * height > MAX_DECODED_PIXELS or max(width, height) > MAX_SIDE:
        image.close()
        raise TooManyPixels(f"{what} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); {limit}")
    return image
