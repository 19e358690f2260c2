"""HTTP on one port for both APIs: SageMaker's JSON 1.1 (routed by X-Amz-Target) and the runtime's REST-JSON
(`POST /endpoints/<name>/invocations`), so AWS_ENDPOINT_URL_SAGEMAKER and ..._SAGEMAKER_RUNTIME may both point here.

`/_icflow/faults` is the local SageMaker's own control route (fault injection, see faults.py); it is not an AWS
API, so it is neither signed nor authorized.

Signatures are not checked (the service binds to 127.0.0.1); the access key they name is passed on, so that
the service can authorize its callers when it runs under IAM.
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
from icflow_tools.local_sagemaker.errors import InternalFailure, ServiceError, UnknownOperation, ValidationException

logger = logging.getLogger(__name__)

TARGET_PREFIX = "SageMaker."
JSON_11 = "application/x-amz-json-1.1"
INVOCATIONS = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations/?$")
FAULTS_ROUTE = "/_icflow/faults"

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
                self._send(404, b'{"message": "Not Found"}', "application/json")

        def do_POST(self) -> None:
            body = self._body()
            if self._faults_route(body):
                return
            target = self.headers.get("X-Amz-Target")
            match = INVOCATIONS.match(self.path.split("?", 1)[0])
            if target:
                self._json_11(target, body)
            elif match:
                self._invoke(unquote(match["name"]), body)
            else:
                self._send(404, json.dumps({"message": f"No route for POST {self.path}"}).encode(), "application/json")

        def do_DELETE(self) -> None:
            if not self._faults_route(self._body()):
                self._send(404, b'{"message": "Not Found"}', "application/json")

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _faults_route(self, body: bytes) -> bool:
            if self.path.split("?", 1)[0].rstrip("/") != FAULTS_ROUTE:
                return False
            status, answer = faults(self.command, body)
            self._send(status, json.dumps(answer).encode(), "application/json")
            return True

        def _json_11(self, target: str, body: bytes) -> None:
            try:
                if not target.startswith(TARGET_PREFIX):
                    raise UnknownOperation(f"Unknown target {target}")
                try:
                    params = json.loads(body or b"{}")
                except ValueError:
                    raise ValidationException("The request body is not valid JSON.") from None
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
            self.wfile.write(body)

    return Handler
