"""Requests no SDK sends: every one gets an HTTP answer with a JSON error body, and the service keeps serving."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from icflow_tools.local_sagemaker import protocol

TARGET = "X-Amz-Target: SageMaker.ListTrainingJobs\r\nContent-Type: application/x-amz-json-1.1\r\n"


def exchange(url: str, raw: bytes, end_of_request: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Sends `raw` on a fresh connection (then half-closes it when `end_of_request`) and reads one answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        if end_of_request:
            sock.shutdown(socket.SHUT_WR)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def post(url: str, headers: str, body: bytes = b"", end_of_request: bool = True) -> tuple[int, dict[str, str], bytes]:
    return exchange(url, f"POST / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body, end_of_request)


def still_serving(url: str) -> bool:
    status, _, body = post(url, TARGET + "Content-Length: 2\r\n", b"{}")
    return status == 200 and "TrainingJobSummaries" in json.loads(body)


@pytest.mark.parametrize("length", ["abc", "-1", "1.5", "+3", " ", "0x10", "\u0661", "99999999999999999999999999"])
def test_a_content_length_that_is_not_a_byte_count_is_refused(service, length):
    status, headers, body = post(service.url, TARGET + f"Content-Length: {length}\r\n", b"{}")

    assert status in (400, 413)
    error = json.loads(body)
    assert error["__type"] in ("SerializationException", "ValidationException")
    assert "Content-Length" in error["message"]
    assert headers["connection"] == "close"
    assert still_serving(service.url)


def test_two_different_content_lengths_are_refused(service):
    status, _, body = post(service.url, TARGET + "Content-Length: 2\r\nContent-Length: 3\r\n", b"{} ")

    assert (status, json.loads(body)["__type"]) == (400, "SerializationException")


def test_a_body_over_the_limit_is_refused_unread_naming_the_limit(service):
    length = protocol.MAX_BODY_BYTES + 1
    status, headers, body = post(service.url, TARGET + f"Content-Length: {length}\r\n", b"{", end_of_request=False)

    assert status == 413
    error = json.loads(body)
    assert error["__type"] == "ValidationException"
    assert f"{protocol.MAX_BODY_BYTES} bytes" in error["message"]
    assert headers["connection"] == "close"
    assert still_serving(service.url)


def test_an_invocation_over_the_limit_is_refused_as_the_runtime_spells_it(service):
    length = protocol.MAX_BODY_BYTES + 1
    status, headers, _ = exchange(
        service.url,
        f"POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode(),
        end_of_request=False,
    )

    assert (status, headers["x-amzn-errortype"]) == (413, "ValidationError")


def test_a_body_shorter_than_its_content_length_is_refused(service):
    status, _, body = post(service.url, TARGET + "Content-Length: 10\r\n", b"{}")

    assert status == 400
    assert "2 of the 10 bytes" in json.loads(body)["message"]


def test_json_nested_deeper_than_the_parser_goes_is_a_validation_exception(service):
    deep = b"[" * 100_000 + b"]" * 100_000
    status, _, body = post(service.url, TARGET + f"Content-Length: {len(deep)}\r\n", deep)

    assert (status, json.loads(body)["__type"]) == (400, "ValidationException")
    assert still_serving(service.url)


def test_the_http_servers_own_refusals_are_json_too(service):
    status, headers, body = exchange(service.url, b"NONSENSE\r\n\r\n")

    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"
    assert headers["content-type"] == "application/json"
    assert still_serving(service.url)


def test_a_client_that_stops_sending_is_answered_after_the_idle_timeout(service, monkeypatch):
    monkeypatch.setattr(protocol, "IDLE_SECONDS", 0.5)
    service.stop()
    service.start()

    status, _, body = post(service.url, TARGET + "Content-Length: 10\r\n", b"{", end_of_request=False)

    assert status == 400
    assert "within 0.5 s" in json.loads(body)["message"]


@pytest.mark.parametrize(
    "body", [b'{"MaxResults": null}', b'{"SortBy": null, "NameContains": null, "NextToken": null}']
)
def test_an_explicit_null_member_is_read_as_not_set(service, body):
    # AWS's JSON protocol reads a null member as absent; botocore never sends one, other clients may.
    status, _, answer = post(service.url, TARGET + f"Content-Length: {len(body)}\r\n", body)
    assert status == 200 and json.loads(answer)["TrainingJobSummaries"] == []
