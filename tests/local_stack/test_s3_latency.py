"""S3Latency delays each S3 request at moto's server by a seeded draw, side by side for concurrent requests."""

from __future__ import annotations

import random
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from icflow_tools.local_stack.moto_server import MotoServer
from icflow_tools.local_stack.s3_latency import S3Latency, S3LatencyRange

BUCKET = "latency"
KEYS = [f"outputs/{i}.out" for i in range(8)]
S3_LATENCY = S3LatencyRange(0.020, 0.050)


def client(url: str, service: str = "s3", pool: int = 10) -> object:
    # One attempt: a request the middleware breaks must fail the test, not be retried into a pass.
    config = Config(max_pool_connections=pool, retries={"total_max_attempts": 1})
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture(scope="module")
def plain_url() -> Iterator[str]:
    """moto's server without latency, holding the objects; moto's backends are per process, so every server
    started in this process serves the same bucket."""
    server = MotoServer("127.0.0.1", 0).start()
    s3 = client(server.url)
    s3.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"prediction": [1.0]}')
    yield server.url
    server.stop()


@pytest.fixture
def delayed_server(plain_url: str) -> Iterator[Callable[[S3Latency], str]]:
    servers: list[MotoServer] = []

    def start(latency: S3Latency) -> str:
        servers.append(MotoServer("127.0.0.1", 0, latency).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def test_concurrent_requests_are_delayed_side_by_side_not_one_after_another(delayed_server):
    # Each delay waits until every request is inside its delay: only requests delayed at the same time pass.
    everyone_delayed = threading.Barrier(len(KEYS))
    drawn: list[float] = []

    def sleep(delay: float) -> None:
        drawn.append(delay)
        everyone_delayed.wait(timeout=30)

    latency = S3Latency(S3_LATENCY, seed=7, sleep=sleep)
    s3 = client(delayed_server(latency), pool=len(KEYS))
    with ThreadPoolExecutor(max_workers=len(KEYS)) as pool:
        bodies = list(pool.map(lambda key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), KEYS))

    assert bodies == [b'{"prediction": [1.0]}'] * len(KEYS)
    assert latency.delayed_requests == len(KEYS)
    assert all(S3_LATENCY.low <= delay <= S3_LATENCY.high for delay in drawn)
    seeded = random.Random(7)
    assert sorted(drawn) == sorted(seeded.uniform(S3_LATENCY.low, S3_LATENCY.high) for _ in KEYS)


def test_a_request_takes_at_least_its_seeded_delay(delayed_server):
    latency = S3Latency(S3LatencyRange(0.050, 0.150), seed=3)
    s3 = client(delayed_server(latency))
    draws = random.Random(3)
    expected = [draws.uniform(0.050, 0.150) for _ in range(3)]
    for key, delay in zip(KEYS, expected, strict=False):
        started = time.perf_counter()
        s3.get_object(Bucket=BUCKET, Key=key)
        assert time.perf_counter() - started >= delay
    assert latency.delayed_requests == 3
    assert latency.delayed_seconds == pytest.approx(sum(expected))


def test_requests_to_other_services_and_unsigned_requests_pass_undelayed(delayed_server):
    def sleep(delay: float) -> None:
        raise AssertionError(f"a request that is not S3's was delayed {delay:.3f} s")

    latency = S3Latency(S3_LATENCY, sleep=sleep)
    url = delayed_server(latency)
    assert client(url, "sts").get_caller_identity()["Account"]
    with urllib.request.urlopen(f"{url}/moto-api/data.json") as answer:
        assert answer.status == 200
    assert latency.delayed_requests == 0


def test_a_range_that_is_not_one_says_what_to_give():
    with pytest.raises(ValueError, match=r"0\.05-0\.02 s is not a range: give 0 <= low <= high"):
        S3LatencyRange(0.05, 0.02)
    with pytest.raises(ValueError, match="not a range"):
        S3LatencyRange(-0.01, 0.02)
