"""The settle queue: each upload under datasets/ leaves a message there, held back for DatasetSettleSeconds, that
asks "has the dataset been quiet since?" when it comes out. Its body is one `SettleCheck`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from icflow.training.upload_events import UploadedObject

# SQS holds a message back for at most 15 minutes (DelaySeconds), which bounds DatasetSettleSeconds.
MAX_DELAY_SECONDS = 900
# How often the queue delivers a check whose evaluation fails before it parks it in the dead-letter queue
# (template.yaml's maxReceiveCount).
MAX_RECEIVES = 5


class SettleCheck(BaseModel):
    """One upload, and when the dataset's item noted it: the check passes when no later upload was noted."""

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)
    etag: str = ""
    sequencer: str = ""
    noted_at: str = Field(min_length=1)

    @classmethod
    def of(cls, upload: UploadedObject, noted_at: str) -> SettleCheck:
        return cls(
            bucket=upload.bucket, key=upload.key, etag=upload.etag, sequencer=upload.sequencer, noted_at=noted_at
        )

    @property
    def upload(self) -> UploadedObject:
        return UploadedObject(self.bucket, self.key, self.etag, self.sequencer)


class SettleQueue:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def hold(self, check: SettleCheck, seconds: int) -> None:
        """Puts the check on the queue, to come out after `seconds` (at most MAX_DELAY_SECONDS)."""
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=check.model_dump_json(),
            DelaySeconds=max(0, min(seconds, MAX_DELAY_SECONDS)),
        )


def is_settle_batch(event: Any) -> bool:
    """Whether the function was given the settle queue's messages (an SQS batch) rather than an upload's S3 event;
    the classic S3 notification has `Records` too, but not from SQS."""
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
