"""Samples as batches of tensors: decoding, augmentation and the pixel cache.

Training batches follow MXNet's `round_batch`: the last, short batch of an epoch is filled up with samples
from the start of the epoch's order, so every batch has mini_batch_size images.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator, Sequence

import torch
from PIL import Image

from icflow_tools.trainer.augment import augment
from icflow_tools.trainer.datasets import Sample
from icflow_tools.trainer.hyperparameters import ImageShape
from icflow_tools.trainer.images import decode, deterministic, prepare, size_of, to_tensor

# Decoded pixels are kept while they fit this budget; beyond it, images decode again for every batch.
CACHE_BYTES = 2 << 30


class ImageSet:
    """One channel's samples with their targets; yields uint8 NCHW batches."""

    def __init__(self, samples: Sequence[Sample], labels: torch.Tensor, shape: ImageShape, resize: int | None) -> None:
        self.samples = samples
        self.labels = labels
        self.shape = shape
        self.resize = resize
        self._prepared: dict[int, Image.Image] = {}
        self._crops: dict[int, torch.Tensor] = {}
        self._cached_bytes = 0

    def __len__(self) -> int:
        return len(self.samples)

    def _fits(self, size: int) -> bool:
        if self._cached_bytes + size > CACHE_BYTES:
            return False
        self._cached_bytes += size
        return True

    def _prepare(self, index: int) -> Image.Image:
        sample = self.samples[index]
        return prepare(decode(sample.image, self.shape, sample.source), self.shape, self.resize)

    def prepared(self, index: int) -> Image.Image:
        """The decoded image, resized and covering the crop: the input of augmentation."""
        image = self._prepared.get(index)
        if image is None:
            image = self._prepare(index)
            if self._fits(image.width * image.height * len(image.getbands())):
                self._prepared[index] = image
        return image

    def centred(self, index: int) -> torch.Tensor:
        """The centre crop; only the crop is cached, since nothing else needs the larger image."""
        tensor = self._crops.get(index)
        if tensor is None:
            image = self._prepared.get(index)
            tensor = deterministic(image if image is not None else self._prepare(index), self.shape, None)
            if self._fits(tensor.numel()):
                self._crops[index] = tensor
        return tensor

    def batch(
        self, indices: Sequence[int], augmentation_type: str | None, rng: random.Random
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if augmentation_type is None:
            images = [self.centred(index) for index in indices]
        else:
            images = [to_tensor(augment(self.prepared(index), self.shape, augmentation_type, rng)) for index in indices]
        return torch.stack(images), self.labels[list(indices)]

    def training_batches(
        self, batch_size: int, augmentation_type: str | None, rng: random.Random
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = list(range(len(self)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            if len(indices) < batch_size:
                indices += order[: batch_size - len(indices)]
            yield self.batch(indices, augmentation_type, rng)

    def evaluation_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self), batch_size):
            indices = range(start, min(start + batch_size, len(self)))
            yield self.batch(indices, None, random.Random(0))

    def median_shorter_side(self) -> int:
        """The median shorter side of the encoded images, read from their headers without decoding."""
        sides = [min(size_of(sample.image, sample.source)) for sample in self.samples]
        return int(statistics.median_low(sides))
