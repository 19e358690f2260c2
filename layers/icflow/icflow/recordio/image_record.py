"""MXNet's image record: the payload of each record in an image-classification .rec file.

Layout (mxnet.recordio.pack): struct 'IfQQ' little-endian = flag, label, id, id2 (24 bytes), then `flag`
float32 labels when flag > 0, then the encoded image. A single number is stored in `label` with flag 0;
any sequence, even of one element, is stored after the header with flag = its length.
"""

from __future__ import annotations

import numbers
import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from icflow.recordio.errors import RecordIOError

HEADER = struct.Struct("<IfQQ")
HEADER_SIZE = HEADER.size
LABEL_SIZE = 4


@dataclass(frozen=True)
class ImageRecord:
    labels: tuple[float, ...]
    id: int
    id2: int
    image: bytes  # the encoded image (JPEG, PNG, ...)


def pack_image_record(labels: float | Sequence[float], image: bytes, id: int, id2: int = 0) -> bytes:
    if isinstance(labels, numbers.Number):
        return HEADER.pack(0, float(labels), id, id2) + image  # type: ignore[arg-type]
    values = array("f", (float(label) for label in labels))
    if sys.byteorder == "big":
        values.byteswap()
    return HEADER.pack(len(values), 0.0, id, id2) + values.tobytes() + image


def unpack_image_record(payload: bytes, offset: int | None = None) -> ImageRecord:
    """`offset` is the record's byte offset in its file, for error messages."""
    labels, image_start = unpack_labels(payload, offset)
    _, _, id, id2 = HEADER.unpack_from(payload)
    return ImageRecord(labels, id, id2, bytes(payload[image_start:]))


def labels_size(head: bytes) -> int:
    """How many payload bytes hold the header and labels, given at least the 24 header bytes."""
    return HEADER_SIZE + LABEL_SIZE * struct.unpack_from("<I", head)[0]


def unpack_labels(head: bytes, offset: int | None = None) -> tuple[tuple[float, ...], int]:
    """The labels of an image record from its first bytes, and where the image starts."""
    if len(head) < HEADER_SIZE:
        raise RecordIOError(
            f"not an image record: a record of {len(head)} bytes is shorter than the 24-byte image record header",
            offset,
        )
    flag, label, _, _ = HEADER.unpack_from(head)
    if flag == 0:
        return (label,), HEADER_SIZE
    end = HEADER_SIZE + LABEL_SIZE * flag
    if end > len(head):
        raise RecordIOError(
            f"corrupt image record header: it announces {flag} labels but the record holds only "
            f"{(len(head) - HEADER_SIZE) // LABEL_SIZE}",
            offset,
        )
    return struct.unpack_from(f"<{flag}f", head, HEADER_SIZE), end
