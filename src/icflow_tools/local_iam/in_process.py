"""The local IAM for moto's in-process mock (`mock_aws`), where no server stands between the client and moto:
a botocore `before-send` handler hands each request to the same middleware as a WSGI call, and answers a
denied one itself. What the server adds after the call (a 403 for a missing key without s3:ListBucket) is
not done here: moto's answer passes unchanged."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore import handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.middleware import AuthorizingMiddleware


class _Raw:
    """The raw stream botocore reads an answer's body from."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body.read()

    def read(self, *args: Any) -> bytes:
        return self._body.read(*args)


def _environ(request: AWSPreparedRequest) -> dict[str, Any]:
    url = urlsplit(request.url)
    body = request.body
    # A streamed body (a file upload) is left unread: authorizing an S3 PUT needs only its path and headers.
    data = body.encode() if isinstance(body, str) else bytes(body) if isinstance(body, bytes | bytearray) else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": unquote(url.path),
        "REQUEST_URI": url.path + (f"?{url.query}" if url.query else ""),
        "QUERY_STRING": url.query,
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "HTTP_HOST": url.netloc,
    }
    for name, value in request.headers.items():
        text = value.decode() if isinstance(value, bytes) else str(value)
        environ["HTTP_" + name.upper().replace("-", "_")] = text
    return environ


class InProcessAuthorizer:
    def __init__(self, authorizer: Authorizer, account_id: str) -> None:
        self.authorizer = authorizer
        self._middleware = AuthorizingMiddleware(self._passed, authorizer, account_id)

    @staticmethod
    def _passed(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["icflow.passed"] = True
        start_response("200 OK", [])
        return [b""]

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        environ = _environ(request)
        answer: list[Any] = []
        body = b"".join(self._middleware(environ, lambda status, headers, *rest: answer.extend((status, headers))))
        if environ.get("icflow.passed"):
            return None  # allowed: moto's own handler answers
        status, headers = answer
        return AWSResponse(request.url, int(status.split()[0]), dict(headers), _Raw(body))

    @contextmanager
    def installed(self) -> Iterator[InProcessAuthorizer]:
        """For botocore sessions created meanwhile, ahead of moto's own handler."""
        entry = ("before-send", self)
        handlers.BUILTIN_HANDLERS.insert(0, entry)
        try:
            yield self
        finally:
            handlers.BUILTIN_HANDLERS.remove(entry)
