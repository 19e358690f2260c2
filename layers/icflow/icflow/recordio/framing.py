"""MXNet RecordIO framing, byte-compatible with dmlc-core's RecordIOWriter/RecordIOReader.

Each part on disk is: magic (u32 LE), lrec = cflag << 29 | length (u32 LE), data, zero padding to 4 bytes.
A payload holding the magic word at a 4-byte-aligned offset is cut there into parts (cflag 1 first,
2 middle, 3 last) and the magic word itself is dropped; readers put it back. A part that is the whole
record has cflag 0. Readers of a file start at a record boundary and can therefore never mistake a
payload byte for a header.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from icflow.recordio.errors import RecordIOError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
FRAME = struct.Struct("<II")
FRAME_SIZE = FRAME.size
MAX_RECORD_SIZE = (1 << 29) - 1  # dmlc-core refuses payloads of 2**29 bytes or more
_LENGTH_MASK = (1 << 29) - 1
CFLAG_WHOLE, CFLAG_FIRST, CFLAG_MIDDLE, CFLAG_LAST = 0, 1, 2, 3

# Large enough that per-call overhead vanishes in full reads, small enough to stay far from Lambda memory.
CHUNK_SIZE = 1 << 20
SEEKING_CHUNK_SIZE = 1 << 12


def padded(length: int) -> int:
    return (length + 3) & ~3


def decode_frame(frame: bytes | memoryview, offset: int) -> tuple[int, int]:
    """(cflag, length) of the part header `frame` found at `offset` of its file."""
    magic, lrec = FRAME.unpack(frame)
    if magic != MAGIC:
        if offset == 0:
            raise RecordIOError(
                "not a RecordIO file: it does not start with the RecordIO magic word 0xced7230a; "
                "pack images with `icflow pack` or MXNet's im2rec",
                0,
            )
        raise RecordIOError(f"corrupt RecordIO file: expected a record header, found {bytes(frame[:4]).hex()}", offset)
    return lrec >> 29, lrec & _LENGTH_MASK


def _check_sequence(previous: int, cflag: int, offset: int) -> None:
    """Parts must come as one whole part, or first, middles, last."""
    if cflag > CFLAG_LAST:
        raise RecordIOError(f"corrupt RecordIO file: a record header has part type {cflag}, not 0 to 3", offset)
    continuing = previous in (CFLAG_FIRST, CFLAG_MIDDLE)
    if continuing != (cflag in (CFLAG_MIDDLE, CFLAG_LAST)):
        expected = "a middle or last part" if continuing else "a new record"
        raise RecordIOError(
            f"corrupt RecordIO file: split record out of order (cflag {cflag}, expected {expected})", offset
        )


class RecordWriter:
    """Writes records to a binary file object; `write` returns each record's byte offset (for .idx files)."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._file = fileobj
        try:
            self._offset = fileobj.tell()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._offset = 0

    @property
    def offset(self) -> int:
        """Where the next record will start."""
        return self._offset

    def write(self, payload: bytes | bytearray | memoryview) -> int:
        size = len(payload)
        if size > MAX_RECORD_SIZE:
            raise RecordIOError(f"a record of {size} bytes is too large: RecordIO records must be under 512 MiB")
        raw = payload if isinstance(payload, (bytes, bytearray)) else bytes(payload)
        data = memoryview(raw)
        start = self._offset
        write = self._file.write
        part_start = 0
        # Only aligned occurrences matter; bytes.find skips to candidates at C speed.
        position = _find_aligned_magic(raw, 0, size)
        while position >= 0:
            cflag = CFLAG_FIRST if part_start == 0 else CFLAG_MIDDLE
            write(FRAME.pack(MAGIC, cflag << 29 | (position - part_start)))
            write(data[part_start:position])
            self._offset += FRAME_SIZE + position - part_start
            part_start = position + 4
            position = _find_aligned_magic(raw, part_start, size)
        length = size - part_start
        write(FRAME.pack(MAGIC, (CFLAG_LAST if part_start else CFLAG_WHOLE) << 29 | length))
        write(data[part_start:])
        padding = padded(length) - length
        if padding:
            write(b"\0" * padding)
        self._offset += FRAME_SIZE + length + padding
        return start


def _find_aligned_magic(payload: bytes | bytearray, start: int, end: int) -> int:
    lower_align = end & ~3
    find = payload.find
    position = find(MAGIC_BYTES, start, lower_align)
    while position >= 0 and position & 3:
        position = find(MAGIC_BYTES, position + 1, lower_align)
    return position


class RecordHead(NamedTuple):
    """One record found by `scan_records`: where it lies and the first bytes of its payload."""

    offset: int  # byte offset of its first part header
    end: int  # byte offset just after its last part (and padding)
    length: int  # payload length with split parts joined
    head: bytes  # the first min(keep, length) payload bytes


class _Source:
    """Sequential reads over any binary stream, in large chunks; skips seek when the stream allows."""

    def __init__(self, fileobj: BinaryIO, offset: int, chunk_size: int = CHUNK_SIZE) -> None:
        self._file = fileobj
        self._chunk_size = chunk_size
        self._buffer = b""
        self._position = 0
        self.offset = offset  # file offset of the next unread byte
        self._size: int | None = None  # of a seekable file, read once when first skipping
        try:
            self.seekable = fileobj.seekable()
        except (AttributeError, ValueError):
            self.seekable = False

    def read(self, size: int) -> bytes:
        """`size` bytes, or fewer only at the end of the stream."""
        end = self._position + size
        if end <= len(self._buffer):
            data = self._buffer[self._position : end]
            self._position = end
            self.offset += size
            return data
        parts = [self._buffer[self._position :]]
        missing = size - len(parts[0])
        self._buffer, self._position = b"", 0
        while missing > 0:
            # A read of n bytes allocates n up front, even at the end of the file; reads growing with what has
            # come (from a chunk) keep a header announcing more than the file holds from costing that much memory.
            gathered = size - missing
            block = self._file.read(max(self._chunk_size, min(missing, max(gathered, CHUNK_SIZE))))
            if not block:
                break
            if len(block) > missing:
                parts.append(block[:missing])
                self._buffer, self._position = block, missing
                missing = 0
            else:
                parts.append(block)
                missing -= len(block)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.offset += len(data)
        return data

    def skip(self, size: int) -> int:
        """Moves `size` bytes on without keeping them; returns how many were really there."""
        available = len(self._buffer) - self._position
        if size <= available:
            self._position += size
            self.offset += size
            return size
        skipped = available
        self._buffer, self._position = b"", 0
        missing = size - available
        if self.seekable:
            here = self._file.tell()
            if self._size is None:
                self._size = self._file.seek(0, os.SEEK_END)
            target = min(here + missing, self._size)
            self._file.seek(target)
            skipped += target - here
        else:
            while missing > 0:
                block = self._file.read(min(missing, self._chunk_size))
                if not block:
                    break
                missing -= len(block)
                skipped += len(block)
        self.offset += skipped
        return skipped


def _truncated(offset: int, wanted: int, got: int) -> RecordIOError:
    return RecordIOError(
        f"truncated RecordIO file: a record needs {wanted} more bytes but the file ends after {got}; "
        "upload or copy the file again",
        offset,
    )


def check_not_empty(size: int, file: str | None = None) -> None:
    """A .rec of `size` bytes: zero bytes is a file RecordIO readers accept as no records, but a channel file
    without records is an upload or copy that went wrong, so every reader of a dataset refuses it alike."""
    if size == 0:
        raise RecordIOError("empty file: a .rec holds at least one record; upload or copy the file again", 0, file)


def read_records(fileobj: BinaryIO, *, offset: int | None = None) -> Iterator[bytes]:
    """Every record's payload in file order, split records joined; memory holds one record at a time.

    `offset` is the file offset of the stream's first byte (for error messages); by default fileobj.tell().
    """
    return (payload for _, payload in _payloads(_Source(fileobj, _start_offset(fileobj, offset))))


def read_records_with_offsets(fileobj: BinaryIO, *, offset: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Like `read_records`, with each record's byte offset (what a .idx file lists)."""
    return _payloads(_Source(fileobj, _start_offset(fileobj, offset)))


def _payloads(source: _Source) -> Iterator[tuple[int, bytes]]:
    previous = CFLAG_WHOLE
    parts: list[bytes] = []
    record_offset = source.offset
    while True:
        part_offset = source.offset
        if previous in (CFLAG_WHOLE, CFLAG_LAST):
            record_offset = part_offset
        frame = source.read(FRAME_SIZE)
        if not frame:
            if previous in (CFLAG_FIRST, CFLAG_MIDDLE):
                raise _truncated(part_offset, FRAME_SIZE, 0)
            return
        if len(frame) < FRAME_SIZE:
            raise _truncated(part_offset, FRAME_SIZE, len(frame))
        cflag, length = decode_frame(frame, part_offset)
        _check_sequence(previous, cflag, part_offset)
        stored = padded(length)
        data = source.read(stored)
        if len(data) < stored:
            raise _truncated(part_offset, FRAME_SIZE + stored, FRAME_SIZE + len(data))
        if stored != length:
            data = data[:length]
        previous = cflag
        if cflag == CFLAG_WHOLE:
            yield record_offset, data
        elif cflag == CFLAG_LAST:
            parts.append(data)
            yield record_offset, MAGIC_BYTES.join(parts)
            parts = []
        else:
            parts.append(data)


def scan_records(fileobj: BinaryIO, *, keep: int = 0, offset: int | None = None) -> Iterator[RecordHead]:
    """Every record's place and first `keep` payload bytes, without reading the rest of the payload.

    On seekable files it hops from header to header; on streams (an S3 body) the payload bytes are read
    in chunks and dropped as they pass, so memory stays at one chunk whatever the record size.
    """
    start = _start_offset(fileobj, offset)
    source: _Source | _PositionalSource
    if _has_descriptor(fileobj):
        source = _PositionalSource(fileobj, start)
    else:
        source = _Source(fileobj, start)
        if source.seekable:
            # Payloads are skipped by seeking, so a large read-ahead would mostly read what is skipped.
            source = _Source(fileobj, start, chunk_size=SEEKING_CHUNK_SIZE)
    while True:
        record_offset = source.offset
        frame = source.read(FRAME_SIZE)
        if not frame:
            return
        head = b""
        length = 0
        previous = CFLAG_WHOLE
        part_offset = record_offset
        while True:
            if len(frame) < FRAME_SIZE:
                raise _truncated(part_offset, FRAME_SIZE, len(frame))
            cflag, part_length = decode_frame(frame, part_offset)
            _check_sequence(previous, cflag, part_offset)
            stored = padded(part_length)
            wanted = min(part_length, max(keep - len(head), 0))
            if wanted:
                taken = source.read(wanted)
                head += taken
                got = len(taken) + (source.skip(stored - wanted) if len(taken) == wanted else 0)
            else:
                got = source.skip(stored)
            if got < stored:
                raise _truncated(part_offset, FRAME_SIZE + stored, FRAME_SIZE + got)
            length += part_length
            if cflag in (CFLAG_WHOLE, CFLAG_LAST):
                break
            length += 4
            if len(head) < keep:
                head += MAGIC_BYTES[: keep - len(head)]
            previous = cflag
            part_offset = source.offset
            frame = source.read(FRAME_SIZE)
            if not frame:
                raise _truncated(part_offset, FRAME_SIZE, 0)
        yield RecordHead(record_offset, source.offset, length, head)


def read_record_at(fileobj: BinaryIO, offset: int) -> bytes:
    """The one record starting at `offset` of a seekable file, reading no further than its end."""
    fileobj.seek(offset)
    # A chunk size of one header makes every read exactly as large as the record needs.
    for _, payload in _payloads(_Source(fileobj, offset, chunk_size=FRAME_SIZE)):
        return payload
    raise _truncated(offset, FRAME_SIZE, 0)


def _start_offset(fileobj: BinaryIO, offset: int | None) -> int:
    if offset is not None:
        return offset
    try:
        return fileobj.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return 0


def _has_descriptor(fileobj: BinaryIO) -> bool:
    """A plain local file, whose descriptor reads the very bytes the object does (unlike, say, GzipFile's)."""
    return isinstance(fileobj, (io.FileIO, io.BufferedReader, io.BufferedRandom)) and hasattr(os, "pread")


class _PositionalSource:
    """`_Source` for local files: preads at the record headers, skips are arithmetic.

    After a long skip only a header's worth is read; after short ones (small records) a block holding
    the next several headers is, so small records cost one system call per block, not per record.
    """

    _HEADER_READ = 256  # a frame, an image header and dozens of labels
    _BLOCK_READ = 1 << 16

    def __init__(self, fileobj: BinaryIO, offset: int) -> None:
        self._descriptor = fileobj.fileno()
        self._size = os.fstat(self._descriptor).st_size
        self._buffer = b""
        self._position = 0
        self._read_size = self._HEADER_READ
        self.offset = offset

    def read(self, size: int) -> bytes:
        if self._position + size > len(self._buffer):
            self._buffer = os.pread(self._descriptor, max(size, self._read_size), self.offset)
            self._position = 0
        data = self._buffer[self._position : self._position + size]
        self._position += len(data)
        self.offset += len(data)
        return data

    def skip(self, size: int) -> int:
        skipped = min(size, self._size - self.offset)
        self.offset += skipped
        self._position += skipped
        self._read_size = self._BLOCK_READ if size < self._BLOCK_READ // 4 else self._HEADER_READ
        return skipped


def find_record_start(fileobj: BinaryIO, start: int) -> int | None:
    """The first offset at or after `start` where a plausible record begins, for reading on past damage.

    Plausible: the magic word at a 4-byte boundary followed by a whole or first part that fits in the file.
    A payload can hold such bytes too, so what follows is a guess that the next read confirms or refutes.
    """
    size = fileobj.seek(0, os.SEEK_END)
    position = padded(start)
    while position + FRAME_SIZE <= size:
        fileobj.seek(position)
        block = fileobj.read(CHUNK_SIZE + FRAME_SIZE)
        found = _find_aligned_magic(block, 0, len(block))
        while found >= 0:
            if found + FRAME_SIZE <= len(block):
                cflag, length = decode_frame(block[found : found + FRAME_SIZE], position + found)
                if cflag in (CFLAG_WHOLE, CFLAG_FIRST) and position + found + FRAME_SIZE + length <= size:
                    return position + found
            found = _find_aligned_magic(block, found + 4, len(block))
        position += CHUNK_SIZE
    return None
