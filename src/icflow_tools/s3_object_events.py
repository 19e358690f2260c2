"""S3's EventBridge events for an object, shaped as AWS sends them: for the local stack's S3 (every write) and for
`icflow retry` (a write replayed). No moto here: `icflow retry` against AWS needs none.
"""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

# S3's sequencers order the writes of a key; icflow also tells a write from a duplicate delivery by them (a new
# upload after a refusal is tried again), so they stay unique across restarts of the local stack and replays.
_sequence = itertools.count(time.time_ns())


def object_detail(
    bucket: str, key: str, reason: str, requester: str, object_fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `detail` of S3's "Object Created" or "Object Deleted" event; `object_fields` such as size, etag and
    version-id go beside the key and the write's new sequencer."""
    # S3 URL-encodes the key form-style, as in its classic notifications ("a b+c" -> "a+b%2Bc"), keeping "/"
    # so that rules can match key prefixes; Powertools' S3EventBridgeNotificationObject.key decodes it so.
    obj = {"key": quote_plus(key, safe="/"), **(object_fields or {}), "sequencer": f"{next(_sequence):016X}"}
    return {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": requester,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }


def object_created_event(bucket: str, key: str, size: int, etag: str, region: str, account: str) -> dict[str, Any]:
    """The whole EventBridge event of a PutObject of `key`, as a rule delivers it to its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": object_detail(bucket, key, "PutObject", account, {"size": size, "etag": etag.strip('"')}),
    }
