"""A generated bucket of class folders (generated_s3.GeneratedBucket), for the class folders' benchmark.

Any prefix listed holds `count` JPEGs spread evenly over `classes` folders, `<prefix>class-XXXX/img-YYYYYY.jpg`,
in 1,000-key pages sorted as S3 sorts them (the image number grows with the class number), each with its ETag
and size. A ranged GET of an image answers what S3 would: its first bytes start with the JPEG magic and its
last ones end with the end-of-image marker, except one image in `truncated_every` (0: none), whose end is
missing as an interrupted upload's is. Nothing is stored per image, so a million of them cost the benchmark
no memory of its own.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from generated_s3 import GeneratedBucket, _Raw

_IMAGE_INDEX = re.compile(r"/class-\d+/img-(\d+)\.jpg$")
_SUFFIX_RANGE = re.compile(r"bytes=-(\d+)$")
_SPAN_RANGE = re.compile(r"bytes=(\d+)-(\d+)$")
# Photos of 40-200 KB, sized by their number: larger than the 4 KB the end check reads, as phone photos are.
_MIN_SIZE = 40_000
_SIZE_SPREAD = 160_000
_FIRST_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
_JPEG_END = b"\xff\xd9"


class GeneratedClassFolders(GeneratedBucket):
    def __init__(self, count: int, classes: int, latency_s: float = 0.0, truncated_every: int = 0) -> None:
        super().__init__(latency_s)
        self.count = count
        self.classes = classes
        self.truncated_every = truncated_every
        self._digits = max(6, len(str(count - 1)))

    def key(self, prefix: str, index: int) -> str:
        return f"{prefix}class-{index * self.classes // self.count:04d}/img-{index:0{self._digits}d}.jpg"

    @staticmethod
    def size(index: int) -> int:
        return _MIN_SIZE + index * 7919 % _SIZE_SPREAD

    def truncated(self, index: int) -> bool:
        return bool(self.truncated_every) and index % self.truncated_every == self.truncated_every - 1

    def listed(self, prefix: str, index: int) -> tuple[str, int]:
        return self.key(prefix, index), self.size(index)

    def _object(self, request: AWSPreparedRequest, key: str) -> AWSResponse:
        found = _IMAGE_INDEX.search(key)
        if found is None or int(found.group(1)) >= self.count:
            error = f"<Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>{escape(key)}</Key></Error>"
            return AWSResponse(request.url, 404, {"Content-Type": "application/xml"}, _Raw(error.encode()))
        index = int(found.group(1))
        size = self.size(index)
        range_header = request.headers.get("Range", b"")  # as signed: bytes
        first, last = self._span(range_header.decode() if isinstance(range_header, bytes) else range_header, size)
        length = last - first + 1
        # The image's bytes first..last: its first bytes, zeros, then its end marker (or zeros for a cut one).
        body = bytearray(length)
        start = _FIRST_BYTES[first : last + 1]
        body[: len(start)] = start
        ending = b"\x00\x00" if self.truncated(index) else _JPEG_END
        ending_at = size - len(ending)
        end = ending[max(0, first - ending_at) : max(0, last - ending_at + 1)]
        if end:
            body[length - len(end) :] = end
        headers = {"Content-Length": str(length), "ETag": f'"{index:032x}"', "Content-Type": "image/jpeg"}
        if not range_header:
            return AWSResponse(request.url, 200, headers, _Raw(bytes(body)))
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return AWSResponse(request.url, 206, headers, _Raw(bytes(body)))

    @staticmethod
    def _span(header: str, size: int) -> tuple[int, int]:
        """The first and last byte a Range header asks for (the whole object without one)."""
        suffix = _SUFFIX_RANGE.match(header)
        if suffix:
            return max(0, size - int(suffix.group(1))), size - 1
        span = _SPAN_RANGE.match(header)
        if span:
            return int(span.group(1)), min(int(span.group(2)), size - 1)
        return 0, size - 1
