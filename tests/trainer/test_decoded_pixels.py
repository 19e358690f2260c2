"""The trainer (and the local SageMaker's training and endpoints, which run it) refuses an image whose header
announces more pixels than icflow_tools.decoded_images.MAX_DECODED_PIXELS (or a longer side than MAX_SIDE),
naming it, before decoding it."""

from __future__ import annotations

import pytest

from icflow_tools.decoded_images import MAX_DECODED_PIXELS, MAX_SIDE
from icflow_tools.trainer.api import ClientError
from icflow_tools.trainer.batches import ImageSet
from icflow_tools.trainer.datasets import Sample
from icflow_tools.trainer.hyperparameters import parse_image_shape
from icflow_tools.trainer.images import decode
from support.hostile import bounded
from support.image_headers import png_announcing

SHAPE = parse_image_shape("3,32,32")


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (12_000, 9_000, r"train/big.png is 12000x9000 pixels \(108.0 megapixels\); icflow decodes at most 89.5"),
        (20_000, 10_000, r"train/big.png has too many pixels \(Image size \(200000000 pixels\) exceeds"),
        (1, MAX_DECODED_PIXELS, r"train/big.png is 1x89478485 pixels \(89.5 megapixels\); .* and 65535 pixels a side"),
        (MAX_DECODED_PIXELS, 1, r"train/big.png is 89478485x1 pixels"),
        (MAX_DECODED_PIXELS // 2 + 1, 2, r"train/big.png is 44739243x2 pixels"),
    ],
)
def test_an_image_of_too_many_pixels_is_refused_before_decoding(width, height, reason) -> None:
    with bounded(seconds=5), pytest.raises(ClientError, match=reason):
        decode(png_announcing(width, height), SHAPE, "train/big.png")


def test_images_within_the_bounds_are_decoded() -> None:
    # A side of MAX_SIDE keeps the test cheap; the image then fails on its empty pixel data, as a decode error.
    with pytest.raises(ClientError, match="train/wide.png is not an image Pillow can decode"):
        decode(png_announcing(MAX_SIDE, 1), SHAPE, "train/wide.png")


def test_the_median_side_reads_headers_and_names_an_image_it_cannot_read() -> None:
    samples = [Sample(png_announcing(40, 30), (0.0,), "train/a.png"), Sample(b"not an image", (0.0,), "train/b.jpg")]
    with pytest.raises(ClientError, match="train/b.jpg is not an image Pillow can decode"):
        ImageSet(samples, None, SHAPE, None).median_shorter_side()  # type: ignore[arg-type]
    samples[1] = Sample(png_announcing(20_000, 10_000), (0.0,), "train/big.png")
    with pytest.raises(ClientError, match="train/big.png has too many pixels"):
        ImageSet(samples, None, SHAPE, None).median_shorter_side()  # type: ignore[arg-type]
