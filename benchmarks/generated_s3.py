"""A real boto3 S3 client whose answers are generated in process, for the benchmarks' large counts.

A botocore `before-send` handler answers each request instead of the network, so everything icflow's labeler
does with S3 runs as in Lambda: signing, parsing 1,000-key listing pages, streaming bodies, s3transfer's
uploads (multipart above 8 MB, as predictions.jsonl is at 100,000 outputs). Nothing is stored per output:
listings and outputs are generated from their index and uploaded bodies are read and dropped, so the memory
the benchmark measures at 100,000 outputs is the client's and the labeler's, not a server's.

GeneratedBucket is what every generated bucket shares (the client, uploads drained and dropped, a count of
requests by kind and the CPU their answers took, an optional wait before each answer standing for S3's time to first byte); GeneratedS3 is
the labeling benchmark's bucket of transform outputs, generated_class_folders.py the class folders' one.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

ENDPOINT = "https://s3.generated.invalid"
LAST_MODIFIED = "2026-01-01T00:00:00.000Z"
_XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_OUTPUT_INDEX = re.compile(r"/(\d+)\.jpg\.out$")
# What one read of an uploaded body takes, as a socket send would.
_SEND_CHUNK = 64 * 1024


class _Raw(io.BytesIO):
    """The raw stream botocore reads an answer's body from (urllib3's response: read, stream, close)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def _drain(body: Any) -> None:
    """Reads a streamed upload to its end, as sending it would."""
    if body is not None and not isinstance(body, bytes | bytearray | str):
        while body.read(_SEND_CHUNK):
            pass


class GeneratedBucket(ABC):
    """A bucket whose listings and objects a subclass generates; every request waits `latency_s` first and is
    counted in `requests` by kind: "LIST" for a listing page, "MULTIPART" for a multipart upload's start or end,
    otherwise the HTTP method ("GET", "PUT" for an object or a part, "HEAD")."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.requests: Counter[str] = Counter()
        # CPU the answers took (their threads' time): the benchmark's own cost, not the client's.
        self.answer_cpu_seconds = 0.0
        self._lock = threading.Lock()

    def client(self, pool: int | None = None) -> Any:
        """A client answered by this bucket, with a connection pool of `pool` (icflow's MAX_CONNECTIONS)."""
        import boto3
        from botocore.config import Config

        from icflow.core.s3_objects import MAX_CONNECTIONS

        s3 = boto3.client(
            "s3",
            endpoint_url=ENDPOINT,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=pool or MAX_CONNECTIONS, s3={"addressing_style": "path"}),
        )
        s3.meta.events.register("before-send.s3", self.answer)
        return s3

    def answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        started = time.thread_time()
        try:
            return self._answer(request)
        finally:
            spent = time.thread_time() - started
            with self._lock:
                self.answer_cpu_seconds += spent

    def _answer(self, request: AWSPreparedRequest) -> AWSResponse:
        url = urlsplit(request.url)
        query = parse_qs(url.query, keep_blank_values=True)
        key = unquote(url.path).split("/", 2)[2] if url.path.count("/") >= 2 else ""
        listing = request.method == "GET" and "list-type" in query
        multipart = "uploads" in query or "uploadId" in query
        kind = "LIST" if listing else "MULTIPART" if multipart else request.method
        with self._lock:
            self.requests[kind] += 1
        if self.latency_s:
            # In the calling thread, as a socket's wait would be: the GIL is free for the others meanwhile.
            time.sleep(self.latency_s)
        if listing:
            return self._listing(request, query)
        if request.method == "GET":
            return self._object(request, key)
        if request.method == "POST" and "uploads" in query:
            upload = f"<UploadId>generated</UploadId><Key>{escape(key)}</Key>"
            return self._xml(
                request, f"<InitiateMultipartUploadResult {_XMLNS}>{upload}</InitiateMultipartUploadResult>"
            )
        if request.method == "POST":  # CompleteMultipartUpload
            _drain(request.body)
            return self._xml(
                request,
                f"<CompleteMultipartUploadResult {_XMLNS}><ETag>&quot;generated&quot;</ETag>"
                "</CompleteMultipartUploadResult>",
            )
        if request.method == "PUT":  # PutObject or UploadPart
            _drain(request.body)
            return AWSResponse(request.url, 200, {"ETag": '"generated"'}, _Raw(b""))
        return AWSResponse(request.url, 200, {}, _Raw(b""))  # HeadBucket

    count: int  # objects the listing holds, numbered 0..count-1

    @abstractmethod
    def listed(self, prefix: str, index: int) -> tuple[str, int]:
        """The key and size of object `index` under `prefix`, in S3's order of the index."""

    def _listing(self, request: AWSPreparedRequest, query: dict[str, list[str]]) -> AWSResponse:
        prefix = query.get("prefix", [""])[0]
        start = int(query.get("continuation-token", ["0"])[0])
        end = min(start + int(query.get("max-keys", ["1000"])[0]), self.count)
        contents = "".join(
            f"<Contents><Key>{escape(key)}</Key><LastModified>{LAST_MODIFIED}</LastModified>"
            f"<ETag>&quot;{i:032x}&quot;</ETag><Size>{size}</Size>"
            "<StorageClass>STANDARD</StorageClass></Contents>"
            for i in range(start, end)
            for key, size in (self.listed(prefix, i),)
        )
        more = f"<IsTruncated>true</IsTruncated><NextContinuationToken>{end}</NextContinuationToken>"
        truncated = more if end < self.count else "<IsTruncated>false</IsTruncated>"
        head = f"<Name>bucket</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{end - start}</KeyCount>"
        return self._xml(request, f"<ListBucketResult {_XMLNS}>{head}{truncated}{contents}</ListBucketResult>")

    @abstractmethod
    def _object(self, request: AWSPreparedRequest, key: str) -> AWSResponse: ...

    @staticmethod
    def _xml(request: AWSPreparedRequest, document: str) -> AWSResponse:
        body = ('<?xml version="1.0" encoding="UTF-8"?>' + document).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, _Raw(body))


class GeneratedS3(GeneratedBucket):
    """Answers for one bucket holding `count` transform outputs of `num_classes` classes under any prefix."""

    def __init__(self, count: int, num_classes: int) -> None:
        super().__init__()
        self.count = count
        rng = random.Random(7)
        # A few hundred distinct bodies, cycled: parsing cost is real, generation cost is not measured.
        self.bodies = []
        for _ in range(256):
            weights = [rng.random() for _ in range(num_classes)]
            total = sum(weights)
            self.bodies.append(json.dumps({"prediction": [w / total for w in weights]}).encode())

    def listed(self, prefix: str, index: int) -> tuple[str, int]:
        return f"{prefix}test/{index:07d}.jpg.out", len(self.bodies[index % len(self.bodies)])

    def _object(self, request: AWSPreparedRequest, key: str) -> AWSResponse:
        found = _OUTPUT_INDEX.search(key)
        if found is None:
            error = f"<Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>{escape(key)}</Key></Error>"
            return AWSResponse(request.url, 404, {"Content-Type": "application/xml"}, _Raw(error.encode()))
        body = self.bodies[int(found.group(1)) % len(self.bodies)]
        headers = {"Content-Length": str(len(body)), "ETag": '"generated"', "Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, _Raw(body))
