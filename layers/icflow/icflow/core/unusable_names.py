"""Uploads under a folder icflow cannot use as a dataset (icflow.core.layout.dataset_name_problem). Such a name
has no status/<dataset>/ of its own, so the rule goes to layout.UNUSABLE_NAME_STATUS (the latest such upload)
and to the notification topic."""

from __future__ import annotations

import json
from typing import Any

from icflow.core import layout
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.state import now_iso


class UnusableNames:
    def __init__(self, s3_client: Any, bucket: str, notifier: Notifier) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._notifier = notifier

    def report(self, error: layout.UnusableKey) -> None:
        status = {
            "status": "rejected",
            "folder": error.folder,
            "key": error.key,
            "reason": str(error),
            "updated_at": now_iso(),
        }
        self._s3.put_object(
            Bucket=self._bucket,
            Key=layout.UNUSABLE_NAME_STATUS,
            Body=json.dumps(status, indent=2, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
        self._notifier.notify(
            "icflow: dataset folder name rejected",
            f"Nothing was started for {error.folder}.\n\n{error}\n\n"
            f"This is also in {layout.UNUSABLE_NAME_STATUS}, which names the latest such upload.",
            "",
        )
        logger.warning("dataset folder name rejected", extra={"key": error.key, "reason": str(error)})
