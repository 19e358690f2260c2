"""A function's worker process, kept warm between invocations like a Lambda execution environment.

Each function runs in a process of its own: the environment is the function's (os.environ is per process),
its handler module (`app`, in every function) and the layer's module state (cached settings, clients,
Powertools' cold-start flag) are its own, and a timeout can end it as Lambda ends a sandbox.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from icflow_tools.local_stack.functions import FunctionSpec

# A cold start imports boto3 and Powertools; on a busy 2-core machine (a training job beside it) that takes seconds.
INIT_TIMEOUT_SECONDS = 60.0


@dataclass
class Invocation:
    ok: bool
    request_id: str
    result: Any = None
    error: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return self.result if self.ok else self.error


class FunctionProcess:
    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log_path: Path) -> None:
        self.spec = spec
        self.environment = environment
        self.log_path = log_path
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._responses: IO[bytes] | None = None
        self._buffer = b""
        self.invocations = 0

    def _log(self, line: str) -> None:
        with self.log_path.open("a") as log:
            log.write(line + "\n")

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "icflow_tools.local_stack.worker",
                    str(write_fd),
                    str(self.spec.code_dir),
                    self.spec.handler,
                    *map(str, self.spec.layer_dirs),
                ],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment,
                pass_fds=(write_fd,),
                cwd=self.spec.code_dir,
            )
        os.close(write_fd)
        self._responses = os.fdopen(read_fd, "rb", buffering=0)
        self._buffer = b""
        ready = self._read(time.monotonic() + INIT_TIMEOUT_SECONDS)
        if ready is None or not ready.get("ready"):
            error = (ready or {}).get("error") or {
                "errorType": "Runtime.InitError",
                "errorMessage": "the function did not start in time",
            }
            self.stop()
            raise WorkerInitError(error)

    def _read(self, deadline: float) -> dict[str, Any] | None:
        """The worker's next answer line, or None when it exits or the deadline passes."""
        responses = self._responses
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or responses is None:
                return None
            try:  # stop() from another thread closes the pipe under us: the invocation is over
                readable, _, _ = select.select([responses], [], [], remaining)
                chunk = os.read(responses.fileno(), 65536) if readable else b""
            except (OSError, ValueError):
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def invoke(self, event: Any, request_id: str | None = None) -> Invocation:
        """Runs the handler once; at most one invocation at a time per process, as in one Lambda sandbox."""
        request_id = request_id or str(uuid.uuid4())
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                try:
                    self._spawn()
                except WorkerInitError as error:
                    return Invocation(False, request_id, error=error.error)
            process = self._process
            assert process is not None and process.stdin is not None
            timeout = self.spec.timeout_seconds
            request = {"request_id": request_id, "event": event, "deadline": time.time() + timeout}
            try:
                process.stdin.write((json.dumps(request) + "\n").encode())
                process.stdin.flush()
            except BrokenPipeError:
                self.stop()
                return Invocation(
                    False,
                    request_id,
                    error={"errorType": "Runtime.ExitError", "errorMessage": "the function's process exited"},
                )
            answer = self._read(time.monotonic() + timeout)
            self.invocations += 1
            if answer is None:
                exited = process.poll() is not None
                self.stop(timeout=0.0)
                if exited:
                    message = f"RequestId: {request_id} Error: Runtime exited"
                    return Invocation(
                        False, request_id, error={"errorType": "Runtime.ExitError", "errorMessage": message}
                    )
                message = f"Task timed out after {timeout:.2f} seconds"
                self._log(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} {message}")
                return Invocation(False, request_id, error={"errorType": "Sandbox.Timedout", "errorMessage": message})
            return Invocation(
                answer["ok"],
                request_id,
                answer.get("result"),
                answer.get("error") or {},
                answer.get("duration_ms", 0.0),
            )

    def start(self) -> None:
        """Starts the process ahead of the first event (the cold start happens at `icflow local up`)."""
        with self._lock:
            if self._process is None:
                self._spawn()

    def stop(self, timeout: float = 5.0) -> None:
        """Closes stdin so the worker ends after its current invocation; kills it after `timeout` seconds."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5.0)
        if self._responses is not None:
            self._responses.close()
            self._responses = None


class WorkerInitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", ""))
        self.error = error
