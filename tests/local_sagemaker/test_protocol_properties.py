"""Property: whatever bytes reach the local SageMaker's port, it answers a well-formed HTTP response (2xx, or
4xx with a JSON error body), within the time bound, and keeps serving. Never a dropped connection, a 500 or a hang.

The requests are raw (a socket, not boto3): headers, Content-Length, bodies of arbitrary bytes, deep JSON, and
real operations' members given wrong types.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icflow_tools.local_sagemaker import LocalSageMaker
from support.hostile import parses_or_explains

# Operations that start nothing (a valid CreateTrainingJob would start a job; random members never are valid).
OPERATIONS = [
    "ListTrainingJobs",
    "DescribeTrainingJob",
    "StopTrainingJob",
    "CreateTrainingJob",
    "ListModels",
    "CreateModel",
    "DeleteModel",
    "ListTags",
    "AddTags",
    "ListTransformJobs",
    "ListEndpoints",
    "DescribeEndpoint",
    "ListHyperParameterTuningJobs",
]
TARGETS = st.one_of(
    st.sampled_from([f"SageMaker.{name}" for name in OPERATIONS]),
    st.sampled_from(["SageMaker.CreateNotebookInstance", "SageMaker.", "Other.ListModels", ""]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
)
PATHS = st.one_of(
    st.sampled_from(["/", "/ping", "/endpoints/e/invocations", "/endpoints/%2e%2e/invocations", "/_icflow/faults"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30).map(lambda tail: "/" + tail),
)
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(
        [1e20, -1e20, 2**63, -(2**63), 10**40, "1e20", "-1", "9" * 40, "0001-01-01", "9999-12-31T23:59:59"]
    ),
    st.text(max_size=40),
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
LISTING_MEMBERS = [
    "NextToken",
    "MaxResults",
    "SortBy",
    "SortOrder",
    "NameContains",
    "StatusEquals",
    "CreationTimeAfter",
    "CreationTimeBefore",
    "LastModifiedTimeAfter",
    "LastModifiedTimeBefore",
]
NAMED_MEMBERS = ["TrainingJobName", "ModelName", "EndpointName", "ResourceArn", "Tags", "RoleArn", "PrimaryContainer"]


def _deep(depth: int, opener: bytes) -> bytes:
    closer = {b"[": b"]", b'{"a":': b"}"}[opener]
    return opener * depth + (b"1" if opener != b"[" else b"") + closer * depth


BODIES = st.one_of(
    st.binary(max_size=2000),
    st.builds(_deep, st.integers(1, 200_000), st.sampled_from([b"[", b'{"a":'])),
    st.dictionaries(st.sampled_from(LISTING_MEMBERS + NAMED_MEMBERS), HOSTILE_VALUES, max_size=5).map(
        lambda members: json.dumps(members).encode()
    ),
    HOSTILE_VALUES.map(lambda value: json.dumps(value).encode()),
    st.just(b'{"faults": [{"kind": "nope"}]}'),
)
CONTENT_LENGTHS = st.one_of(
    st.just("exact"),
    st.just("absent"),
    st.just("short"),  # announces more than is sent
    st.sampled_from(["abc", "-1", "1.5", "+3", "", " ", "0x10", "\u0661", "9" * 30, "7340033"]),
    st.text(max_size=10).filter(lambda text: "\r" not in text and "\n" not in text),
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # No events and no jobs: the property is about the wire, and no generated request starts a job.
    service = LocalSageMaker(work_dir=tmp_path_factory.mktemp("protocol"), event_bus_name=None, region="us-east-1")
    service.start()
    try:
        yield service.url
    finally:
        service.stop(timeout=5)


def exchange(url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=8) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the service may refuse and close before a large request is sent; its answer is still read
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def request(method: str, path: str, headers: dict[str, str], body: bytes, length: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length == "exact":
        lines.append(f"Content-Length: {len(body)}")
    elif length == "short":
        lines.append(f"Content-Length: {len(body) + 5}")
    elif length != "absent":
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + body


def assert_well_answered(status: int, headers: dict[str, str], body: bytes) -> None:
    assert 200 <= status < 300 or 400 <= status < 500, (status, body[:300])
    if status >= 400:
        error = json.loads(body)
        assert isinstance(error, dict) and error.get("message"), body[:300]
        assert error.get("__type") or headers.get("x-amzn-errortype"), (headers, body[:300])


def still_serving(url: str) -> None:
    status, _, body = exchange(
        url,
        request("POST", "/", {"X-Amz-Target": "SageMaker.ListModels"}, b"{}", "exact"),
    )
    assert status == 200 and "Models" in json.loads(body)


@given(
    method=st.sampled_from(["POST", "POST", "POST", "GET", "DELETE"]),
    path=PATHS,
    target=st.none() | TARGETS,
    content_type=st.sampled_from([None, "application/x-amz-json-1.1", "image/png", "text/plain; charset=x"]),
    body=BODIES,
    length=CONTENT_LENGTHS,
)
def test_every_request_gets_a_well_formed_answer_and_the_service_keeps_serving(
    url, method, path, target, content_type, body, length
):
    headers = {name: value for name, value in (("X-Amz-Target", target), ("Content-Type", content_type)) if value}

    status, answer_headers, answer = parses_or_explains(exchange, url, request(method, path, headers, body, length))

    assert_well_answered(status, answer_headers, answer)
    still_serving(url)


@given(operation=st.sampled_from(OPERATIONS), members=st.dictionaries(st.text(max_size=30), HOSTILE_VALUES, max_size=6))
def test_a_real_operation_given_any_members_answers_200_or_a_4xx_json_error(url, operation, members):
    body = json.dumps(members).encode()
    raw = request("POST", "/", {"X-Amz-Target": f"SageMaker.{operation}"}, body, "exact")

    assert_well_answered(*parses_or_explains(exchange, url, raw))
