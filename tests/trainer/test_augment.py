import random

import numpy as np
from PIL import Image

from icflow_tools.trainer.augment import augment, jitter_color, random_transform
from icflow_tools.trainer.hyperparameters import ImageShape
from icflow_tools.trainer.images import deterministic, prepare

SHAPE = ImageShape(3, 16, 16)


def gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    flat = np.full((height, width), 90, np.uint8), np.full((height, width), 30, np.uint8)
    pixels = np.stack([np.tile(x, (height, 1)), *flat], axis=2)
    return Image.fromarray(pixels, "RGB")


def test_resize_scales_the_shorter_side_keeping_the_aspect_ratio():
    assert prepare(gradient(40, 20), SHAPE, resize=24).size == (48, 24)
    assert prepare(gradient(40, 20), SHAPE, resize=None).size == (40, 20)


def test_images_smaller_than_the_crop_are_scaled_up_to_cover_it():
    assert prepare(gradient(8, 12), SHAPE, resize=None).size == (16, 24)


def test_the_deterministic_path_is_a_centre_crop():
    image = gradient(32, 16)
    tensor = deterministic(image, SHAPE, None)
    assert tensor.shape == (3, 16, 16)
    assert np.array_equal(tensor.numpy().transpose(1, 2, 0), np.asarray(image)[:, 8:24])


def test_every_augmentation_type_yields_the_crop_size():
    image = prepare(gradient(30, 22), SHAPE, None)
    for augmentation_type in (None, "crop", "crop_color", "crop_color_transform"):
        for seed in range(5):
            assert augment(image, SHAPE, augmentation_type, random.Random(seed)).size == (16, 16)


def test_crop_picks_varying_windows_and_flips():
    image = prepare(gradient(40, 16), SHAPE, None)
    crops = {np.asarray(augment(image, SHAPE, "crop", random.Random(seed)))[0, :, 0].tobytes() for seed in range(20)}
    assert len(crops) > 3
    first_columns = [int(np.asarray(augment(image, SHAPE, "crop", random.Random(seed)))[0, 0, 0]) for seed in range(20)]
    last_columns = [int(np.asarray(augment(image, SHAPE, "crop", random.Random(seed)))[0, -1, 0]) for seed in range(20)]
    assert any(first > last for first, last in zip(first_columns, last_columns))  # some crops are mirrored


def test_colour_jitter_changes_colours_but_not_greyscale_images():
    image = gradient(16, 16)
    changed = [
        not np.array_equal(np.asarray(jitter_color(image, random.Random(seed))), np.asarray(image)) for seed in range(5)
    ]
    assert all(changed)
    grey = image.convert("L")
    assert jitter_color(grey, random.Random(0)) is grey


def test_transform_keeps_the_size_and_moves_pixels():
    image = gradient(24, 24)
    transformed = random_transform(image, random.Random(1))
    assert transformed.size == image.size
    assert not np.array_equal(np.asarray(transformed), np.asarray(image))
