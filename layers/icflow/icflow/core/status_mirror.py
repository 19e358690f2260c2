"""`status/<dataset>/latest.json`: the dataset's latest state for users who only use S3."""

from __future__ import annotations

import json
from typing import Any

from icflow.core import layout

_TABLE_KEYS = ("pk", "sk")


class StatusMirror:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def write(self, dataset: str, state: dict[str, Any]) -> None:
        """Writes a run-state item as users read it: without the table's keys."""
        public = {key: value for key, value in state.items() if key not in _TABLE_KEYS}
        self._s3.put_object(
            Bucket=self._bucket,
            Key=layout.latest_status_key(dataset),
            Body=json.dumps(public, indent=2, sort_keys=True, default=str).encode("utf-8"),
            ContentType="application/json",
        )
