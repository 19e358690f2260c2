"""The authorizer in front of moto's server, and what S3 does that moto does not: a missing key read without
s3:ListBucket answers 403 AccessDenied (not 404), and keys longer than 1024 bytes are refused."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit
from xml.sax.saxutils import escape

from icflow_tools.local_iam.api_actions import ACTION_PREFIX, Call, api_requests, no_tags
from icflow_tools.local_iam.authorizer import Authorizer, Denial
from icflow_tools.local_iam.policy import AuthRequest
from icflow_tools.local_iam.s3_actions import bucket_arn, key_too_long, path_style, s3_requests, split_path

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_READS = ("s3:GetObject", "s3:GetObjectVersion")
# InvokeEndpoint, the one sagemaker-runtime call icflow makes: REST, its endpoint named in the path.
_INVOCATIONS = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations/?$")
_WRITES = ("PUT", "POST")


def credential_scope(authorization: str) -> list[str]:
    """A SigV4 Authorization header's scope, [access key, date, region, signing name, "aws4_request"]; []
    when the request is not signed so."""
    if "Credential=" not in authorization:
        return []
    return authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")


def credential(environ: Environ) -> tuple[str, str, str] | None:
    """(access key, region, signing name) of a SigV4 request: its Authorization header or presigned query."""
    parts = credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
    if not parts:
        parts = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0].split("/")
    return (parts[0], parts[2], parts[3]) if len(parts) >= 4 else None


def _body(environ: Environ) -> bytes:
    """Reads the request body and puts it back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _query_params(body: bytes) -> dict[str, Any]:
    """A query-protocol form, with `Name.member.N` lists gathered under Name."""
    params: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if ".member." in name:
            params.setdefault(name.split(".member.", 1)[0], []).append(value)
        else:
            params[name] = value
    return params


class AuthorizingMiddleware:
    def __init__(self, app: WsgiApp, authorizer: Authorizer, account_id: str) -> None:
        self.app = app
        self.authorizer = authorizer
        self.account_id = account_id

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        signed = credential(environ)
        if signed is None:
            return _error(start_response, "s3", 403, "AccessDenied", "Anonymous requests are refused: sign them.")
        access_key, region, signing_name = signed
        service = ACTION_PREFIX.get(signing_name, signing_name)
        if service == "s3":
            return self._s3(environ, start_response, access_key)
        requests = self._api_requests(environ, service, region)
        denial = self.authorizer.check(access_key, requests)
        if denial is not None:
            return _denied(start_response, service, environ, denial)
        return self.app(environ, start_response)

    def _api_requests(self, environ: Environ, service: str, region: str) -> list[AuthRequest]:
        body = _body(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            operation = target.rsplit(".", 1)[-1]
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
        elif "/operation/" in environ.get("PATH_INFO", ""):  # smithy-rpc-v2-cbor: the operation is in the path
            operation, params = environ["PATH_INFO"].rsplit("/", 1)[-1], {}
        elif invocation := _INVOCATIONS.match(environ.get("PATH_INFO", "")):  # sagemaker-runtime's REST call
            operation, params = "InvokeEndpoint", {"EndpointName": invocation["name"]}
        else:
            params = _query_params(body) if body else _query_params(environ.get("QUERY_STRING", "").encode())
            operation = params.get("Action", "")
        # moto's server and mock keep the tags of their own SageMaker resources (the local SageMaker checks its own).
        tags = self.authorizer.store.sagemaker_tags if service == "sagemaker" else no_tags
        return api_requests(Call(service, operation, params, region, self.account_id, tags))

    def _s3(self, environ: Environ, start_response: StartResponse, access_key: str) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        # The raw path: PATH_INFO is already percent-decoded, and a key may hold a literal "%".
        raw = urlsplit(environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ["PATH_INFO"]).path
        path = path_style(environ.get("HTTP_HOST", ""), raw)
        query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", ""), True).items()}
        headers = {
            name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name.startswith("HTTP_")
        }
        body = _body(environ) if method == "POST" and "delete" in query else b""
        if method in _WRITES and key_too_long(path):
            return _error(start_response, "s3", 400, "KeyTooLongError", "Your key is too long")
        requests = s3_requests(method, path, query, headers, body)
        denial = self.authorizer.check(access_key, requests)
        if denial is not None:
            return _denied(start_response, "s3", environ, denial)
        if requests[0].action not in _READS or access_key in self.authorizer.operator_keys:
            return self.app(environ, start_response)
        return self._read(environ, start_response, access_key, split_path(path)[0])

    def _read(self, environ: Environ, start_response: StartResponse, access_key: str, bucket: str) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured[:] = [status, headers, exc_info]
            return lambda _data: None

        body = self.app(environ, capture)
        if captured and captured[0].startswith("404"):
            # AWS's rule: without s3:ListBucket, a missing key is indistinguishable from a forbidden one.
            if not self.authorizer.allows(access_key, AuthRequest("s3:ListBucket", bucket_arn(bucket))):
                getattr(body, "close", lambda: None)()  # moto's 404 answer is replaced, not sent
                return _error(start_response, "s3", 403, "AccessDenied", "Access Denied", environ)
        start_response(*captured[:2])
        return body


def _denied(start_response: StartResponse, service: str, environ: Environ, denial: Denial) -> Iterable[bytes]:
    if denial.caller is None:
        code = {"s3": "InvalidAccessKeyId"}.get(service, "InvalidClientTokenId")
        return _error(start_response, service, 403, code, denial.message, environ)
    code = {"sns": "AuthorizationError"}.get(service, "AccessDenied")
    return _error(start_response, service, 403, code, denial.message, environ)


def _error(
    start_response: StartResponse,
    service: str,
    status: int,
    code: str,
    message: str,
    environ: Environ | None = None,
) -> Iterable[bytes]:
    request_id = str(uuid.uuid4())
    if environ is not None and environ.get("HTTP_X_AMZ_TARGET"):
        # JSON protocols answer 400 with the error's type; botocore reads "__type".
        json_code = "AccessDeniedException" if code == "AccessDenied" else "UnrecognizedClientException"
        payload = json.dumps({"__type": json_code, "message": message}).encode()
        start_response(
            "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)]
        )
        return [payload]
    reason = {400: "Bad Request", 403: "Forbidden"}[status]
    if service == "s3":
        xml = (
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    body = b"" if environ is not None and environ.get("REQUEST_METHOD") == "HEAD" else xml.encode()
    start_response(f"{status} {reason}", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]
