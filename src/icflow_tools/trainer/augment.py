"""augmentation_type, as the algorithm documents it:

- crop: a random crop of image_shape and a random horizontal flip;
- crop_color: also adds random values in [-36, 36], [-50, 50] and [-50, 50] to hue, saturation and
  lightness (MXNet's OpenCV HLS, where hue runs 0-180 for 360 degrees);
- crop_color_transform: also a random rotation (up to 10 degrees), shear (up to 0.1) and aspect-ratio
  change (up to 0.25), applied before the crop.

Pillow has no HLS mode, so colour is jittered in HSV with value standing in for lightness.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image

from icflow_tools.trainer.hyperparameters import ImageShape
from icflow_tools.trainer.images import center_crop, cover

MAX_HUE = 36  # OpenCV hue units: 180 per turn
MAX_SATURATION = 50
MAX_LIGHTNESS = 50
MAX_ROTATE_DEGREES = 10.0
MAX_SHEAR = 0.1
MAX_ASPECT_CHANGE = 0.25


def random_crop(image: Image.Image, shape: ImageShape, rng: random.Random) -> Image.Image:
    width, height = image.size
    left = rng.randint(0, width - shape.width)
    top = rng.randint(0, height - shape.height)
    return image.crop((left, top, left + shape.width, top + shape.height))


def jitter_color(image: Image.Image, rng: random.Random) -> Image.Image:
    if image.mode != "RGB":
        return image  # hue and saturation do not exist for greyscale images
    hsv = np.asarray(image.convert("HSV"), dtype=np.int16)
    hue = round(rng.uniform(-MAX_HUE, MAX_HUE) * 256 / 180)  # Pillow's hue runs 0-255 per turn
    saturation = round(rng.uniform(-MAX_SATURATION, MAX_SATURATION))
    lightness = round(rng.uniform(-MAX_LIGHTNESS, MAX_LIGHTNESS))
    shifted = np.empty_like(hsv)
    shifted[..., 0] = (hsv[..., 0] + hue) % 256
    shifted[..., 1] = np.clip(hsv[..., 1] + saturation, 0, 255)
    shifted[..., 2] = np.clip(hsv[..., 2] + lightness, 0, 255)
    return Image.fromarray(shifted.astype(np.uint8), "HSV").convert("RGB")


def random_transform(image: Image.Image, rng: random.Random) -> Image.Image:
    """Rotation, shear and aspect-ratio change about the image centre, keeping the image size."""
    angle = math.radians(rng.uniform(-MAX_ROTATE_DEGREES, MAX_ROTATE_DEGREES))
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR)
    ratio = 1 + rng.uniform(-MAX_ASPECT_CHANGE, MAX_ASPECT_CHANGE)
    scale_y = 2 / (1 + ratio)
    scale_x = ratio * scale_y
    cos, sin = math.cos(angle), math.sin(angle)
    # Forward map: scale, then shear, then rotate. Pillow wants the inverse (output -> input) matrix.
    a, b = cos * scale_x, cos * shear * scale_y - sin * scale_y
    c, d = sin * scale_x, sin * shear * scale_y + cos * scale_y
    det = a * d - b * c
    inv = (d / det, -b / det, -c / det, a / det)
    width, height = image.size
    cx, cy = width / 2, height / 2
    offset_x = cx - inv[0] * cx - inv[1] * cy
    offset_y = cy - inv[2] * cx - inv[3] * cy
    matrix = (inv[0], inv[1], offset_x, inv[2], inv[3], offset_y)
    return image.transform(image.size, Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)


def augment(image: Image.Image, shape: ImageShape, augmentation_type: str | None, rng: random.Random) -> Image.Image:
    """Crop a prepared (resized, covering) image to shape, with the augmentation the job asked for."""
    if augmentation_type is None:
        return center_crop(image, shape)
    if augmentation_type == "crop_color_transform":
        image = cover(random_transform(image, rng), shape)
    image = random_crop(image, shape, rng)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if augmentation_type in ("crop_color", "crop_color_transform"):
        image = jitter_color(image, rng)
    return image
