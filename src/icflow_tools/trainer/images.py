"""Decoding and the deterministic image path shared by validation and inference.

Images decode with Pillow into the mode image_shape asks for (RGB or L). `resize` scales the shorter side,
as the algorithm does before cropping; an image still smaller than the crop is scaled up just enough to
cover it. Pixels stay in 0-255: the network's first layer (bn_data) normalises them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from PIL import Image

from icflow_tools.decoded_images import DECODE_ERRORS, TooManyPixels, open_bounded
from icflow_tools.trainer.api import ClientError
from icflow_tools.trainer.hyperparameters import ImageShape


@contextmanager
def _opened(data: bytes, what: str) -> Iterator[Image.Image]:
    """The image with its header read; whatever fails, in opening or in the block, is a ClientError naming it."""
    try:
        with open_bounded(data, what) as image:
            yield image
    except TooManyPixels as error:
        raise ClientError(str(error)) from None
    except DECODE_ERRORS as error:
        raise ClientError(f"{what} is not an image Pillow can decode (JPEG, PNG, ...): {error}") from error


def decode(data: bytes, shape: ImageShape, what: str) -> Image.Image:
    """Decode `data` into shape's colour mode; `what` names the image in the error."""
    with _opened(data, what) as image:
        image.load()
        return image.convert("RGB" if shape.channels == 3 else "L")


def size_of(data: bytes, what: str) -> tuple[int, int]:
    """(width, height) from the image's header, without decoding its pixels."""
    with _opened(data, what) as image:
        return image.size


def resize_shorter(image: Image.Image, shorter: int) -> Image.Image:
    width, height = image.size
    if min(width, height) == shorter:
        return image
    scale = shorter / min(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def cover(image: Image.Image, shape: ImageShape) -> Image.Image:
    """Scale up, keeping the aspect ratio, so that a height x width crop fits."""
    width, height = image.size
    if width >= shape.width and height >= shape.height:
        return image
    scale = max(shape.width / width, shape.height / height)
    size = (max(shape.width, round(width * scale)), max(shape.height, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def prepare(image: Image.Image, shape: ImageShape, resize: int | None) -> Image.Image:
    """What every image goes through before cropping: the `resize` of the shorter side, then `cover`."""
    return cover(resize_shorter(image, resize) if resize else image, shape)


def center_crop(image: Image.Image, shape: ImageShape) -> Image.Image:
    width, height = image.size
    left, top = (width - shape.width) // 2, (height - shape.height) // 2
    return image.crop((left, top, left + shape.width, top + shape.height))


def to_tensor(image: Image.Image) -> torch.Tensor:
    """uint8 CHW tensor of a decoded image."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def deterministic(image: Image.Image, shape: ImageShape, resize: int | None) -> torch.Tensor:
    """The validation and inference path: resize, cover, centre crop."""
    return to_tensor(center_crop(prepare(image, shape, resize), shape))
