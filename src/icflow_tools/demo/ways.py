"""The two ways the demo brings the same digits to icflow, as a user would, and the objects each way puts.

1. Class folders: the folders as they are, under datasets/<dataset>/images/<class name>/; icflow checks the
   images, splits them (pipeline.json's `split`) and prepares the algorithm's lists itself. Nothing to install.
2. RecordIO: `icflow pack` makes .lst and .rec files on the user's machine, which go under train/ and
   validation/ with the classes.txt pack wrote; the way of datasets already packed, or too large to upload
   image by image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from icflow.core import layout

# Images per digit, by default. Each image in a class folder is an upload, which the local stack's one
# DatasetUploadFunction process handles after the others (about 0.1 s each on 2 busy cores; Lambda would run them
# side by side): all 180 per digit would take the demo past 3 minutes.
PER_CLASS = 80
# Objects a folder dragged from a desktop brings along; icflow leaves them out of training and of a batch.
JUNK = {".DS_Store": b"\x00\x00\x00\x01Bud1", "notes.txt": b"handwritten digits for the demo\n"}

Upload = tuple[str, bytes]  # (key in the data bucket, body)


def pipeline_upload(dataset: str, pipeline: dict[str, Any]) -> Upload:
    return layout.pipeline_key(dataset), json.dumps(pipeline, indent=1).encode()


def class_folder_uploads(dataset: str, classes_root: Path) -> list[Upload]:
    """Every file below `classes_root` at the same path below images/, and the desktop's stray files beside
    the class folders, where icflow must leave them out."""
    prefix = layout.images_prefix(dataset)
    images = sorted(path for path in classes_root.rglob("*") if path.is_file())
    uploads = [(f"{prefix}{path.relative_to(classes_root).as_posix()}", path.read_bytes()) for path in images]
    return uploads + [(f"{prefix}{name}", body) for name, body in JUNK.items()]


def pack_arguments(prefix: Path, classes_root: Path, validation_fraction: float, seed: int) -> list[list[str]]:
    """The `icflow pack` commands that turn the class folders into <prefix>_train.rec and <prefix>_val.rec,
    holding out the same share for validation as the class folders' split."""
    listing = ["pack", "--list", "--recursive", "--train-ratio", f"{1 - validation_fraction:g}", "--seed", str(seed)]
    return [
        [*listing, str(prefix), str(classes_root)],
        ["pack", "--num-thread", "2", str(prefix), str(classes_root)],
        ["inspect", "--no-decode", f"{prefix}_val.rec"],
    ]


def recordio_uploads(dataset: str, packed: Path) -> list[Upload]:
    """classes.txt and the two .rec files `icflow pack` wrote with the prefix `packed` (a path and a name start);
    validation last: until both channels hold data the dataset waits, so one run starts."""
    return [
        (layout.classes_key(dataset), (packed.parent / layout.CLASSES_FILE).read_bytes()),
        (
            f"{layout.channel_prefix(dataset, layout.TRAIN)}{packed.name}_train.rec",
            packed.with_name(f"{packed.name}_train.rec").read_bytes(),
        ),
        (
            f"{layout.channel_prefix(dataset, layout.VALIDATION)}{packed.name}_val.rec",
            packed.with_name(f"{packed.name}_val.rec").read_bytes(),
        ),
    ]
