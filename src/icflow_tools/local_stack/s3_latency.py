"""S3's per-request latency, put back in front of moto's server, which answers from memory.

S3 starts answering each request after a first-byte latency of tens of milliseconds (CloudWatch's
FirstByteLatency), so code that reads many small objects one after another is slow in AWS and fast on moto.
This WSGI middleware delays every S3 request at the server by a seeded uniform draw from a range (e.g. 20-50
ms) before moto answers it. moto's server runs each request on its own thread and the delay is a sleep on
that thread, so concurrent requests are delayed side by side, as S3 delays them, not one after another.
Requests to other services pass undelayed: the latency is S3's.

    latency = S3Latency(S3LatencyRange(0.020, 0.050), seed=7)
    MotoServer(host, 0, latency)  # or, behind the authorizer: lambda app: latency(AuthorizingMiddleware(app, ...))
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from icflow_tools.local_iam.middleware import Environ, StartResponse, WsgiApp, credential


@dataclass(frozen=True)
class S3LatencyRange:
    """The delay of each S3 request, drawn uniformly between low and high seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(
                f"S3 latency range {self.low}-{self.high} s is not a range: give 0 <= low <= high, "
                "e.g. 0.020-0.050 for 20-50 ms"
            )


class S3Latency:
    """A MotoServer middleware: delays each S3 request (SigV4 signing name `s3`) before moto answers it, and
    counts the delays it injected."""

    def __init__(self, latency: S3LatencyRange, seed: int = 0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.latency = latency
        self._sleep = sleep
        self._random = random.Random(seed)
        # Guards the draws and the counters, not the sleep: requests wait side by side.
        self._lock = threading.Lock()
        self.delayed_requests = 0
        self.delayed_seconds = 0.0

    def __call__(self, app: WsgiApp) -> WsgiApp:
        def delayed(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            signed = credential(environ)
            if signed is not None and signed[2] == "s3":
                self._sleep(self._draw())
            return app(environ, start_response)

        return delayed

    def _draw(self) -> float:
        with self._lock:
            delay = self._random.uniform(self.latency.low, self.latency.high)
            self.delayed_requests += 1
            self.delayed_seconds += delay
        return delay
