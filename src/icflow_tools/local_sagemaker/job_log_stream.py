"""A training job's log lines in CloudWatch Logs, where SageMaker puts them, so that one reader serves AWS and here.

SageMaker sends what the algorithm prints to the log group `/aws/sagemaker/TrainingJobs`, one stream per instance
named `<job>/algo-<n>-<epoch seconds of the start>`; the local SageMaker trains on one instance, `algo-1`. Lines
are buffered and put in batches (at each epoch end and status change, and whenever a batch is full), so training
does not wait on a call per line. CloudWatch Logs is a copy: job.log stays the job's own record, and a failure to
put lines is noted there and never fails the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from icflow.reports.training_logs import TRAINING_LOG_GROUP

# PutLogEvents' limits: 10,000 events and 1,048,576 bytes a call (messages in UTF-8 plus 26 bytes each), in
# chronological order, spanning at most 24 hours; an event at most 256 KB (1 MB in newer regions: the lower holds).
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000 - 1

# A logs endpoint that is down costs a training a few seconds at most, not botocore's default retries and timeouts;
# after this many failed flushes in a row the job stops trying, rather than paying them at every epoch.
LOGS_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 2})
MAX_FAILED_FLUSHES = 3

LogEvent = dict[str, Any]  # {"timestamp": ms, "message": str}, as PutLogEvents takes it


def stream_name(job_name: str, start_time: float) -> str:
    return f"{job_name}/algo-1-{int(start_time)}"


def event_messages(text: str) -> list[str]:
    """The events one logged text makes: one per line, as SageMaker ships stdout (CloudWatch refuses an empty
    message), each cut to the size an event may have."""
    return [_cut(line) for line in text.splitlines() if line.strip()]


def _cut(message: str) -> str:
    data = message.encode("utf-8")
    return message if len(data) <= MAX_MESSAGE_BYTES else data[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")


def _size(event: LogEvent) -> int:
    return len(event["message"].encode("utf-8")) + EVENT_OVERHEAD_BYTES


def batches(events: list[LogEvent]) -> Iterator[list[LogEvent]]:
    """Chronological events in order, cut into batches PutLogEvents accepts."""
    batch: list[LogEvent] = []
    size = 0
    for event in events:
        full = len(batch) >= MAX_BATCH_EVENTS or size + _size(event) > MAX_BATCH_BYTES
        if batch and (full or event["timestamp"] - batch[0]["timestamp"] > MAX_BATCH_SPAN_MS):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += _size(event)
    if batch:
        yield batch


class JobLogStream:
    """One job's stream: add() is cheap and keeps order; flush() puts what was added, in batches."""

    def __init__(self, logs: Any, stream: str, on_failure: Callable[[str], None]) -> None:
        """`on_failure` receives a line saying what was not delivered (for job.log; it must not log here)."""
        self._logs = logs
        self.stream = stream
        self._on_failure = on_failure
        self._pending: list[LogEvent] = []
        self._pending_bytes = 0
        self._last_timestamp = 0
        self._created = False
        self._failed_flushes = 0
        self._buffer_lock = threading.Lock()
        # Held through a whole flush: two flushes at once would put their batches out of order.
        self._flush_lock = threading.Lock()

    def add(self, text: str) -> None:
        if self._failed_flushes >= MAX_FAILED_FLUSHES:
            return
        with self._buffer_lock:
            # Never earlier than the last line, should the clock step back: a batch must be chronological.
            now = max(self._last_timestamp, int(time.time() * 1000))
            self._last_timestamp = now
            for message in event_messages(text):
                event = {"timestamp": now, "message": message}
                self._pending.append(event)
                self._pending_bytes += _size(event)
            full = len(self._pending) >= MAX_BATCH_EVENTS or self._pending_bytes >= MAX_BATCH_BYTES
        if full:
            self.flush()

    def flush(self) -> None:
        with self._flush_lock:
            with self._buffer_lock:
                events, self._pending, self._pending_bytes = self._pending, [], 0
            if not events:
                return
            try:
                self._create()
                for batch in batches(events):
                    self._logs.put_log_events(
                        logGroupName=TRAINING_LOG_GROUP, logStreamName=self.stream, logEvents=batch
                    )
                    events = events[len(batch) :]
                self._failed_flushes = 0
            except Exception as error:  # whatever the copy's failure, the job goes on: job.log has every line
                self._failed_flushes += 1
                giving_up = (
                    "; giving up: the job's next lines stay in job.log only"
                    if self._failed_flushes >= MAX_FAILED_FLUSHES
                    else ""
                )
                self._on_failure(
                    f"[local-sagemaker] CloudWatch Logs: {len(events)} lines not put to "
                    f"{TRAINING_LOG_GROUP} {self.stream}: {error}{giving_up}"
                )

    def _create(self) -> None:
        if self._created:
            return
        for create, params in (
            (self._logs.create_log_group, {"logGroupName": TRAINING_LOG_GROUP}),
            (self._logs.create_log_stream, {"logGroupName": TRAINING_LOG_GROUP, "logStreamName": self.stream}),
        ):
            try:
                create(**params)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise
        self._created = True
