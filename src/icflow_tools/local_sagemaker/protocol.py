"""HTTP on one port for both APIs: SageMaker's JSON 1.1 (routed by X-Amz-Target) and the runtime's REST-JSON
(`POST /endpoints/<name>/invocations`), so AWS_ENDPOINT_URL_SAGEMAKER and ..._SAGEMAKER_RUNTIME may both point here.

`/_icflow/faults` is the local SageMaker's own control route (fault injection, see faults.py); it is not an AWS
API, so it is neither signed nor authorized.

Signatures are not checked (the service binds to 127.0.0.1); the access key they name is passed on, so that
the service can authorize its callers when it runs under IAM.

Requests no SDK would send still get an answer shaped as AWS's (botocore reads the code from `__type` or
`x-amzn-ErrorType`): a request that cannot be read (its Content-Length, request line or headers) is a 400
SerializationException, as AWS's JSON protocol calls a request it cannot deserialize, and closes the
connection, since where the next request would start is unknown; a body over MAX_BODY_BYTES is a 413.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from icflow_tools.local_iam.middleware import credential_scope
from icflow_tools.local_sagemaker.errors import (
    InternalFailure,
    RuntimeValidationError,
    SerializationException,
    ServiceError,
    UnknownOperation,
    ValidationException,
)
from icflow_tools.local_sagemaker.request_json import UnreadableJson, read_json

logger = logging.getLogger(__name__)

TARGET_PREFIX = "SageMaker."
JSON_11 = "application/x-amz-json-1.1"
INVOCATIONS = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations/?$")
FAULTS_ROUTE = "/_icflow/faults"
# InvokeEndpoint's documented payload limit (6 MB); no control-plane request comes near it. 413 rather than 400:
# the status says what is wrong before the body is read, and botocore does not retry it.
MAX_BODY_BYTES = 6 * 1024 * 1024
# How long a connection may stay silent (mid-request, or idle between keep-alive requests) before it is dropped.
IDLE_SECONDS = 60.0
BYTE_COUNT = re.compile(r"[0-9]{1,15}")  # ASCII digits only (str.isdigit takes any script's), too few to overflow

# (operation, params, access key) -> answer; (endpoint name, body, headers) -> (body, content type, variant name)
JsonDispatch = Callable[[str, dict[str, Any], str], dict[str, Any]]
Invoke = Callable[[str, bytes, dict[str, str]], tuple[bytes, str, str]]
# (HTTP method, body) -> (status, JSON answer)
Control = Callable[[str, bytes], tuple[int, dict[str, Any]]]


def access_key(authorization: str) -> str:
    """The access key a SigV4 Authorization header names ("" when unsigned)."""
    return (credential_scope(authorization) or [""])[0]


def handler_class(dispatch: JsonDispatch, invoke: Invoke, faults: Control) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # No client speaks HTTP/0.9: a request line without a version is garbage, answered with a status line too.
        default_request_version = "HTTP/1.1"
        timeout = IDLE_SECONDS

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm and the client's
            # delayed ACK hold the body back ~40 ms on every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            if self._faults_route(b""):
                return
            # A health check for whoever waits for the service (the local stack, the CLI's readiness line).
            if self.path.rstrip("/") in ("", "/ping"):
                self._send(200, b'{"status": "ok"}', "application/json")
            else:
                self._no_route()

        def do_POST(self) -> None:
            body = self._body()
            if body is None or self._faults_route(body):
                return
            target = self.headers.get("X-Amz-Target")
            match = INVOCATIONS.match(self.path.split("?", 1)[0])
            if target:
                self._json_11(target, body)
            elif match:
                self._invoke(unquote(match["name"]), body)
            else:
                self._no_route()

        def do_DELETE(self) -> None:
            body = self._body()
            if body is not None and not self._faults_route(body):
                self._no_route()

        def _no_route(self) -> None:
            # Neither API has this method and path: a code as well as a message, so that botocore names it.
            error = UnknownOperation(
                f"No operation at {self.command} {self.path}: send SageMaker's operations as POST / with X-Amz-Target, "
                "InvokeEndpoint as POST /endpoints/<name>/invocations."
            )
            payload = {"__type": error.code, "message": error.message}
            self._send(404, json.dumps(payload).encode(), "application/json", {"x-amzn-ErrorType": error.code})

        def _body(self) -> bytes | None:
            """The request's body; None when the request was refused for it (answered, and the connection closed)."""
            declared = self.headers.get_all("Content-Length") or ["0"]
            text = declared[0].strip()
            if len(set(declared)) > 1 or not text.isascii() or not text.isdigit():
                return self._refuse(
                    SerializationException(
                        f"The Content-Length header {', '.join(declared)!r} is not one byte count; send the body's "
                        "length in bytes, once."
                    )
                )
            length = int(text) if BYTE_COUNT.fullmatch(text) else MAX_BODY_BYTES + 1
            if length > MAX_BODY_BYTES:
                error = self._validation_error(
                    f"The request's Content-Length is {text} bytes, over the local SageMaker's limit of "
                    f"{MAX_BODY_BYTES} bytes (InvokeEndpoint's 6 MB payload limit); send a smaller body."
                )
                error.status = 413
                return self._refuse(error)
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                return self._refuse(
                    SerializationException(
                        f"The body did not arrive within {IDLE_SECONDS:g} s: {length} bytes were announced by "
                        "Content-Length; send the whole body."
                    )
                )
            if len(body) < length:
                return self._refuse(
                    SerializationException(
                        f"The body ended after {len(body)} of the {length} bytes its Content-Length announced; "
                        "send the whole body."
                    )
                )
            return body

        def _validation_error(self, message: str) -> ServiceError:
            # The runtime API spells its validation error differently from the JSON 1.1 API.
            if not self.headers.get("X-Amz-Target") and INVOCATIONS.match(self.path.split("?", 1)[0]):
                return RuntimeValidationError(message)
            return ValidationException(message)

        def _refuse(self, error: ServiceError) -> None:
            """Answers a request that cannot be read, in a shape both botocore parsers read, and ends the connection."""
            self.close_connection = True
            payload = {"__type": error.code, "message": error.message}
            content_type = JSON_11 if self.headers.get("X-Amz-Target") else "application/json"
            self._send(
                error.status,
                json.dumps(payload).encode(),
                content_type,
                {"x-amzn-ErrorType": error.code, "Connection": "close"},
            )

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (a malformed request line or header, an unknown method) in AWS's shape
            # rather than its HTML page. They come before the headers are read, so the shape is the generic one.
            self.close_connection = True
            payload = {"__type": SerializationException.code, "message": message or explain or f"HTTP {code}"}
            self._send(
                code,
                json.dumps(payload).encode(),
                "application/json",
                {"x-amzn-ErrorType": SerializationException.code, "Connection": "close"},
            )

        def _faults_route(self, body: bytes) -> bool:
            if self.path.split("?", 1)[0].rstrip("/") != FAULTS_ROUTE:
                return False
            status, answer = faults(self.command, body)
            if status >= 400:
                # Not an AWS route, but its refusals carry a code as AWS's do, so every client reads them alike.
                answer = {"__type": ValidationException.code, **answer}
            self._send(status, json.dumps(answer).encode(), "application/json")
            return True

        def _json_11(self, target: str, body: bytes) -> None:
            try:
                if not target.startswith(TARGET_PREFIX):
                    raise UnknownOperation(f"Unknown target {target}")
                try:
                    params = read_json(body, b"{}")
                except UnreadableJson as error:
                    raise ValidationException(str(error)) from None
                answer = dispatch(
                    target[len(TARGET_PREFIX) :], params, access_key(self.headers.get("Authorization", ""))
                )
                self._send(200, json.dumps(answer).encode(), JSON_11)
            except ServiceError as error:
                payload = {"__type": error.code, "message": error.message, **error.fields}
                self._send(error.status, json.dumps(payload).encode(), JSON_11)
            except Exception as error:
                logger.exception("%s failed", target)
                failure = InternalFailure(f"{type(error).__name__}: {error}")
                self._send(
                    failure.status, json.dumps({"__type": failure.code, "message": failure.message}).encode(), JSON_11
                )

        def _invoke(self, name: str, body: bytes) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                answer, content_type, variant = invoke(name, body, headers)
                self._send(200, answer, content_type, {"x-Amzn-Invoked-Production-Variant": variant})
            except ServiceError as error:
                payload = {"message": error.message, **error.fields}
                self._send(
                    error.status, json.dumps(payload).encode(), "application/json", {"x-amzn-ErrorType": error.code}
                )
            except Exception as error:
                logger.exception("InvokeEndpoint %s failed", name)
                self._send(
                    500,
                    json.dumps({"message": f"{type(error).__name__}: {error}"}).encode(),
                    "application/json",
                    {"x-amzn-ErrorType": InternalFailure.code},
                )

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client hung up before its answer (say, after sending half a refused body): no one to tell.
                self.close_connection = True

    return Handler
