from __future__ import annotations

import struct

import pytest

from icflow.recordio import RecordIOError, pack_image_record, unpack_image_record


def test_single_label_lives_in_the_header() -> None:
    payload = pack_image_record(3, b"JPEG", id=7)
    assert payload == struct.pack("<IfQQ", 0, 3.0, 7, 0) + b"JPEG"
    record = unpack_image_record(payload)
    assert (record.labels, record.id, record.id2, record.image) == ((3.0,), 7, 0, b"JPEG")


def test_label_sequence_follows_the_header_with_flag_equal_to_its_length() -> None:
    payload = pack_image_record([1, 0, 1, 2.5], b"PNG", id=1, id2=9)
    assert payload[:24] == struct.pack("<IfQQ", 4, 0.0, 1, 9)
    assert payload[24:40] == struct.pack("<4f", 1, 0, 1, 2.5)
    assert unpack_image_record(payload).labels == (1.0, 0.0, 1.0, 2.5)
    assert unpack_image_record(payload).image == b"PNG"


def test_one_element_sequence_is_still_a_label_array() -> None:
    # mxnet.recordio.pack treats any non-number as an array, even of one element.
    payload = pack_image_record([5.0], b"", id=0)
    assert struct.unpack_from("<I", payload)[0] == 1
    assert unpack_image_record(payload).labels == (5.0,)


def test_labels_are_float32() -> None:
    assert unpack_image_record(pack_image_record(0.1, b"", id=0)).labels == (
        struct.unpack("<f", struct.pack("<f", 0.1))[0],
    )


def test_short_payload_is_not_an_image_record() -> None:
    with pytest.raises(RecordIOError, match="shorter than the 24-byte"):
        unpack_image_record(b"tiny", offset=40)


def test_flag_announcing_more_labels_than_present_is_corrupt() -> None:
    payload = struct.pack("<IfQQ", 1000, 0.0, 1, 0) + b"\0" * 8
    with pytest.raises(RecordIOError, match="announces 1000 labels") as error:
        unpack_image_record(payload, offset=16)
    assert error.value.offset == 16
