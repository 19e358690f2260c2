"""scikit-learn's handwritten digits (1797 8x8 images, bundled with the library) as image folders.

Training images go to one folder per class, named by the digit's English name: class folders as icflow takes
them under datasets/<dataset>/images/, and as `icflow pack --list --recursive` expects. The folders sort
alphabetically (eight, five, four, ...), so class indexes differ from the digits and the labels the demo reads
back must come through the class names icflow keeps (the run's classes.txt, or the one pack wrote). Held-out images go to one flat
folder under neutral names, with their true class kept aside for scoring.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 28  # the trainer's small-image family (3x28x28), as AWS's own workshop trains digits
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digit_png(pixels: np.ndarray, side: int = SIDE) -> bytes:
    """An 8x8 digit (values 0-16) as a side x side RGB PNG, upscaled bilinearly."""
    grey = Image.fromarray((pixels * (255 / 16)).astype(np.uint8), "L").resize((side, side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    grey.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class HeldOut:
    path: Path
    true_label: str


@dataclass(frozen=True)
class DigitFolders:
    classes_root: Path  # <root>/<name>/<n>.png, for icflow pack
    held_out: tuple[HeldOut, ...]
    training_images: int


def write_digit_folders(root: Path, held_out_fraction: float, per_class: int | None, seed: int) -> DigitFolders:
    """Writes the digits under `root` (which must not exist yet); `per_class` caps the images of each digit."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    classes_root, held_out_root = root / "images", root / "held-out"
    held_out: list[HeldOut] = []
    training = 0
    for digit, name in enumerate(NAMES):
        indexes = rng.permutation(np.flatnonzero(digits.target == digit))[:per_class]
        cut = max(1, round(len(indexes) * held_out_fraction))
        folder = classes_root / name
        folder.mkdir(parents=True)
        for index in indexes[cut:]:
            (folder / f"{index:04d}.png").write_bytes(digit_png(digits.images[index]))
            training += 1
        held_out_root.mkdir(parents=True, exist_ok=True)
        for index in indexes[:cut]:
            path = held_out_root / f"image-{index:04d}.png"
            path.write_bytes(digit_png(digits.images[index]))
            held_out.append(HeldOut(path, name))
    held_out.sort(key=lambda item: item.path.name)
    return DigitFolders(classes_root, tuple(held_out), training)
