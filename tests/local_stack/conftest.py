"""Helpers for the local stack tests: bounded waits, a tiny real image dataset, the stack on free ports."""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from icflow.recordio.framing import RecordWriter
from icflow.recordio.image_record import pack_image_record

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"

# Three classes a ResNet-20 tells apart after one or two epochs: red, green and blue squares with noise.
CLASS_COLORS = ((200, 40, 40), (40, 200, 40), (40, 40, 200))


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Polls until `check()` is truthy; fails naming `what` did not happen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s (last seen: {value!r})")


def tiny_image(label: int, rng: random.Random, size: int = 28) -> bytes:
    base = CLASS_COLORS[label]
    image = Image.new("RGB", (size, size))
    image.putdata([tuple(max(0, min(255, c + rng.randint(-40, 40))) for c in base) for _ in range(size * size)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def tiny_recordio(per_class: int, seed: int) -> bytes:
    """A .rec of `per_class` 28x28 JPEG images of each class, shuffled."""
    rng = random.Random(seed)
    labels = [label for label in range(len(CLASS_COLORS)) for _ in range(per_class)]
    rng.shuffle(labels)
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for index, label in enumerate(labels):
        writer.write(pack_image_record(label, tiny_image(label, rng), index))
    return buffer.getvalue()


def tiny_pipeline() -> bytes:
    """Small enough that training takes seconds on two CPU cores."""
    return json.dumps(
        {
            "hyperparameters": {
                "num_layers": 20,
                "image_shape": "3,28,28",
                "epochs": 2,
                "mini_batch_size": 8,
                "learning_rate": 0.05,
            }
        }
    ).encode()


@pytest.fixture(scope="package")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real template.yaml on free ports, in a tmp work dir; started once for this folder's tests. The batching
    window is short, and long enough for test_demo's 92 uploads (about 4 s); a dataset settles after 2 quiet seconds."""
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    work_dir = tmp_path_factory.mktemp("local-stack")
    options = StackOptions(
        template=TEMPLATE,
        work_dir=work_dir,
        state_file=work_dir / "local.json",
        parameters={"BatchMaximumBatchingWindowSeconds": "10", "DatasetSettleSeconds": "2"},
    )
    with LocalStack(options) as stack:
        yield stack


@pytest.fixture(autouse=True)
def no_denials(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test on the real template's stack ends with no call refused: a denial is a deployment that would
    fail in AWS, even when the flow recovers from it."""
    if "local_stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("local_stack")
    before = len(stack.authorizer.denials)
    yield
    refused = [f"{d.caller.session if d.caller else '?'}: {d.message}" for d in stack.authorizer.denials[before:]]
    assert not refused, "calls AWS would refuse:\n" + "\n".join(refused)


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


@pytest.fixture
def make_image() -> Callable[[int, random.Random], bytes]:
    """tiny_image(label, rng): a 28x28 JPEG of the class's colour, for tests that lay out image folders."""
    return tiny_image


@pytest.fixture
def make_recordio() -> Callable[..., bytes]:
    """tiny_recordio(per_class=, seed=), for tests that lay out their own channel files."""
    return tiny_recordio


@pytest.fixture
def tiny_dataset() -> dict[str, bytes]:
    """pipeline.json, train and validation of a three-class dataset, by path below datasets/<dataset>/."""
    return {
        "pipeline.json": tiny_pipeline(),
        "train/colors_train.rec": tiny_recordio(per_class=8, seed=1),
        "validation/colors_val.rec": tiny_recordio(per_class=3, seed=2),
    }
