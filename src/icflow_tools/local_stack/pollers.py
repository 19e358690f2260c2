"""Threads that drain queues into functions: EventBridge rule targets (asynchronous invocations, with
Lambda's retries and dead-letter queue) and SQS event sources (batches, as the event source mapping sends them)."""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from icflow_tools.local_stack.functions import QueueSource
from icflow_tools.local_stack.process import FunctionProcess, Invocation
from icflow_tools.local_stack.wiring import scheduled_event, target_input

logger = logging.getLogger(__name__)

POLL_SECONDS = 1  # every receive is a short long-poll, so a stop takes effect within about a second
# Lambda waits about 1 and 2 minutes between asynchronous retries; locally a failure should show up fast.
ASYNC_RETRY_DELAYS_SECONDS = (1.0, 2.0)


class Poller(ABC):
    def __init__(self, name: str, sqs: Any, queue_url: str, function: FunctionProcess, stop: threading.Event) -> None:
        self.name = name
        self._sqs = sqs
        self.queue_url = queue_url
        self.function = function
        self._stop = stop
        self.thread = threading.Thread(target=self._loop, name=f"poller:{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a broken poll must not end the stack; the next poll tries again
                if self._stop.is_set():
                    return
                logger.exception("%s: polling %s failed", self.name, self.queue_url)
                self._stop.wait(POLL_SECONDS)

    @abstractmethod
    def poll_once(self) -> None:
        """One receive (and the invocations it leads to)."""

    def _receive(self, count: int, wait: float) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=max(0, int(wait)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return answer.get("Messages", [])


class AsyncPoller(Poller):
    """A rule's target queue: each message is one event, invoked asynchronously."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        function: FunctionProcess,
        stop: threading.Event,
        retries: int,
        dead_letter_url: str | None,
        target_options: dict[str, Any],
        dead_letter_sqs: Any = None,
    ) -> None:
        """`dead_letter_sqs` sends to the dead-letter queue: Lambda does it as the function's role."""
        super().__init__(name, sqs, queue_url, function, stop)
        self._target_options = target_options
        self._retries = retries
        self._dead_letter_url = dead_letter_url
        self._dead_letter_sqs = dead_letter_sqs or sqs

    def poll_once(self) -> None:
        for message in self._receive(10, POLL_SECONDS):
            # Lambda owns an asynchronous event once it accepts it: the queue forgets it at once.
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.deliver(target_input(json.loads(message["Body"]), self._target_options))

    def deliver(self, event: Any) -> Invocation:
        attempt = 0
        while True:
            invocation = self.function.invoke(event)
            self._record(invocation)
            if invocation.ok or attempt >= self._retries or self._stop.is_set():
                break
            delay = ASYNC_RETRY_DELAYS_SECONDS[min(attempt, len(ASYNC_RETRY_DELAYS_SECONDS) - 1)]
            attempt += 1
            if self._stop.wait(delay):
                break
        if not invocation.ok and self._dead_letter_url:
            self._dead_letter_sqs.send_message(
                QueueUrl=self._dead_letter_url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": invocation.request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": invocation.error.get("errorMessage", "")[:256] or "error",
                    },
                },
            )
        return invocation

    def _record(self, invocation: Invocation) -> None:
        if invocation.ok:
            logger.info("%s: %s ok in %.0f ms", self.name, invocation.request_id, invocation.duration_ms)
        else:
            logger.warning(
                "%s: %s failed: %s: %s",
                self.name,
                invocation.request_id,
                invocation.error.get("errorType"),
                invocation.error.get("errorMessage"),
            )


def sqs_records(messages: Sequence[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event an SQS event source mapping sends: Lambda's record shape for each message."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueuePoller(Poller):
    """An SQS event source: batches of up to BatchSize messages, gathered for at most the batching window."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        function: FunctionProcess,
        stop: threading.Event,
        source: QueueSource,
        region: str,
    ) -> None:
        super().__init__(name, sqs, queue_url, function, stop)
        self.source = source
        self._region = region

    def poll_once(self) -> None:
        batch = self._receive(self.source.batch_size, POLL_SECONDS)
        deadline = time.monotonic() + self.source.batching_window_seconds
        while batch and len(batch) < self.source.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            batch += self._receive(self.source.batch_size - len(batch), min(remaining, POLL_SECONDS))
        if not batch:
            return
        invocation = self.function.invoke(sqs_records(batch, self.source.queue_arn, self._region))
        if not invocation.ok:
            # The messages come back after their visibility timeout; the queue's redrive policy ends the loop.
            logger.warning("%s: batch of %d failed: %s", self.name, len(batch), invocation.error.get("errorMessage"))
            return
        failed = set()
        if self.source.report_batch_item_failures and isinstance(invocation.result, dict):
            failed = {item.get("itemIdentifier") for item in invocation.result.get("batchItemFailures") or []}
        for message in batch:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        logger.info("%s: batch of %d ok (%d reported failed)", self.name, len(batch), len(failed))


class ScheduleTimer:
    """A rate() schedule: after each period, the scheduled event goes to the rule's queue, as EventBridge sends it."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        period_seconds: float,
        rule_arn: str,
        region: str,
        account_id: str,
        stop: threading.Event,
    ) -> None:
        self.name = name
        self._sqs = sqs
        self._queue_url = queue_url
        self._period = period_seconds
        self._rule_arn = rule_arn
        self._region = region
        self._account_id = account_id
        self._stop = stop
        self.thread = threading.Thread(target=self._loop, name=f"schedule:{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self._sqs.send_message(
                    QueueUrl=self._queue_url,
                    MessageBody=json.dumps(scheduled_event(self._rule_arn, self._region, self._account_id)),
                )
            except Exception:  # the next period tries again, as a missed schedule does in EventBridge
                logger.exception("%s: could not send the scheduled event", self.name)
