"""Tiny synthetic datasets in both input forms, and hooks that record what a training reports."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from icflow.recordio import IndexedRecordWriter, LstEntry, pack_image_record, write_lst
from icflow_tools.trainer.api import Channel

RECORDIO = "application/x-recordio"
IMAGE = "application/x-image"

# Well-separated colours: class c is an image of colour c plus noise.
PALETTE = ((220, 40, 40), (40, 200, 40), (40, 60, 220), (230, 220, 50), (200, 60, 210), (60, 210, 220))


def encode(pixels: np.ndarray, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def coloured_image(label: int, size: tuple[int, int], rng: np.random.Generator, image_format: str = "PNG") -> bytes:
    height, width = size
    noise = rng.integers(-30, 31, size=(height, width, 3))
    pixels = np.clip(np.array(PALETTE[label])[None, None, :] + noise, 0, 255).astype(np.uint8)
    return encode(pixels, image_format)


@dataclass(frozen=True)
class Item:
    image: bytes
    labels: tuple[float, ...]


def coloured_items(count: int, num_classes: int, size: tuple[int, int] = (12, 12), seed: int = 0) -> list[Item]:
    rng = np.random.default_rng(seed)
    return [
        Item(coloured_image(index % num_classes, size, rng), (float(index % num_classes),)) for index in range(count)
    ]


def multi_label_items(count: int, seed: int = 0) -> list[Item]:
    """Three classes, each a bright band (top, middle, bottom) present or not; at least one per image."""
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        present = rng.integers(0, 2, size=3)
        present[index % 3] = 1
        pixels = rng.integers(0, 40, size=(12, 12, 3))
        for band, on in enumerate(present):
            if on:
                pixels[band * 4 : band * 4 + 4] += 200
        items.append(Item(encode(np.clip(pixels, 0, 255).astype(np.uint8)), tuple(float(flag) for flag in present)))
    return items


def write_recordio(folder: Path, items: Sequence[Item], name: str = "data") -> Channel:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.rec").open("wb") as rec, (folder / f"{name}.idx").open("w") as idx:
        writer = IndexedRecordWriter(rec, idx)
        for key, item in enumerate(items):
            labels: float | tuple[float, ...] = item.labels[0] if len(item.labels) == 1 else item.labels
            writer.write(key, pack_image_record(labels, item.image, key))
    return Channel(folder, RECORDIO)


def write_images(
    image_folder: Path, lst_folder: Path, items: Sequence[Item], name: str = "data"
) -> tuple[Channel, Channel]:
    """Images in class sub-folders, listed by one .lst whose paths are relative to image_folder."""
    lst_folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, item in enumerate(items):
        relative = f"class{int(item.labels[0])}/{index:05d}.png"
        (image_folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (image_folder / relative).write_bytes(item.image)
        entries.append(LstEntry(index, item.labels, relative))
    with (lst_folder / f"{name}.lst").open("w") as lst:
        write_lst(lst, entries)
    return Channel(image_folder, IMAGE), Channel(lst_folder, IMAGE)


def recordio_channels(root: Path, train: Sequence[Item], validation: Sequence[Item]) -> dict[str, Channel]:
    return {
        "train": write_recordio(root / "train", train),
        "validation": write_recordio(root / "validation", validation),
    }


@dataclass
class RecordingHooks:
    """Keeps every log line and epoch report; `stop_after` makes epoch_end ask to stop at that epoch."""

    stop_after: int | None = None
    lines: list[str] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    reports: list[tuple[int, dict[str, float]]] = field(default_factory=list)

    def log(self, line: str) -> None:
        self.lines.append(line)

    def secondary_status(self, status: str, message: str) -> None:
        self.statuses.append((status, message))

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> bool:
        self.reports.append((epoch, dict(metrics)))
        return self.stop_after is not None and epoch >= self.stop_after


def small_hyperparameters(**overrides: str) -> dict[str, str]:
    """A ResNet-20 on 12x12 images: the smallest network the algorithm offers, fast enough for unit tests."""
    hyperparameters = {
        "num_classes": "3",
        "num_training_samples": "48",
        "num_layers": "20",
        "image_shape": "3,12,12",
        "epochs": "2",
        "mini_batch_size": "16",
        "learning_rate": "0.05",
    }
    hyperparameters.update(overrides)
    return hyperparameters


@pytest.fixture
def hooks() -> RecordingHooks:
    return RecordingHooks()


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import this conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        Item=Item,
        RecordingHooks=RecordingHooks,
        coloured_image=coloured_image,
        coloured_items=coloured_items,
        encode=encode,
        multi_label_items=multi_label_items,
        recordio_channels=recordio_channels,
        small_hyperparameters=small_hyperparameters,
        write_images=write_images,
        write_recordio=write_recordio,
    )
