"""Reading the train and validation channels into memory as encoded images with their labels.

Two input forms, as the algorithm accepts them: RecordIO channels (application/x-recordio, every .rec
file in the channel folder), or image channels (application/x-image) with `train_lst`/`validation_lst`
channels whose .lst paths are relative to the image channel's folder. Images stay encoded until a batch
needs them, so memory holds about the size of the files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from icflow.core import layout
from icflow.core.errors import IcflowError
from icflow.recordio import read_lst, read_records, unpack_image_record
from icflow_tools.trainer.api import Channel, ClientError

RECORDIO = "application/x-recordio"
IMAGE = "application/x-image"
LST_CHANNELS = {layout.TRAIN: layout.TRAIN_LST, layout.VALIDATION: layout.VALIDATION_LST}


@dataclass(frozen=True)
class Sample:
    image: bytes
    labels: tuple[float, ...]
    source: str  # where the sample comes from, for error messages: "train.rec record 12", "train/cat/1.jpg"


def read_channel(channels: Mapping[str, Channel], name: str) -> list[Sample]:
    """All samples of the `train` or `validation` channel, in file order."""
    channel = channels.get(name)
    if channel is None:
        raise ClientError(
            f"the {name} channel is missing: the algorithm needs both {layout.TRAIN} and {layout.VALIDATION} channels"
        )
    try:
        if channel.content_type == RECORDIO:
            samples = list(_recordio_samples(channel.path, name))
        elif channel.content_type == IMAGE:
            samples = list(_lst_samples(channels, name))
        else:
            raise ClientError(
                f"the {name} channel has content type {channel.content_type!r}; "
                f"use {RECORDIO} (.rec files) or {IMAGE} (images with a {LST_CHANNELS[name]} channel)"
            )
    except IcflowError as error:
        raise ClientError(f"the {name} channel cannot be read: {error}") from error
    if not samples:
        raise ClientError(f"the {name} channel holds no images")
    return samples


def _files(folder: Path, suffix: str) -> list[Path]:
    return sorted(path for path in folder.rglob(f"*{suffix}") if path.is_file())


def _recordio_samples(folder: Path, name: str) -> Iterator[Sample]:
    files = _files(folder, ".rec")
    if not files:
        raise ClientError(f"the {name} channel (content type {RECORDIO}) holds no .rec file")
    for path in files:
        relative = path.relative_to(folder).as_posix()
        with path.open("rb") as stream:
            for number, payload in enumerate(read_records(stream)):
                record = unpack_image_record(payload)
                yield Sample(record.image, record.labels, f"{name}/{relative} record {number}")


def _lst_samples(channels: Mapping[str, Channel], name: str) -> Iterator[Sample]:
    lst_name = LST_CHANNELS[name]
    lst_channel = channels.get(lst_name)
    if lst_channel is None:
        raise ClientError(
            f"the {name} channel holds images ({IMAGE}) but the {lst_name} channel with its .lst file is missing"
        )
    lst_files = _files(lst_channel.path, ".lst")
    if not lst_files:
        raise ClientError(f"the {lst_name} channel holds no .lst file")
    root = channels[name].path.resolve()
    for lst_path in lst_files:
        lst_label = f"{lst_name}/{lst_path.relative_to(lst_channel.path).as_posix()}"
        with lst_path.open("rb") as stream:
            for entry in read_lst(stream, lst_label):
                image_path = (root / entry.path).resolve()
                if not image_path.is_relative_to(root) or not image_path.is_file():
                    raise ClientError(
                        f"{lst_label} lists {entry.path!r}, which is not a file of the {name} channel; "
                        "paths in a .lst file are relative to the image channel's folder"
                    )
                yield Sample(image_path.read_bytes(), entry.labels, f"{name}/{entry.path}")
