"""Uploads under a folder icflow cannot use as a dataset (icflow.core.layout.dataset_name_problem). Such a name
has no status/<dataset>/ of its own, so the rule goes to layout.UNUSABLE_NAME_STATUS (the latest such upload)
and to the notification topic."""

from __future__ import annotations

from icflow.core import layout
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.s3_objects import S3Objects
from icflow.core.state import now_iso


class UnusableNames:
    def __init__(self, objects: S3Objects, notifier: Notifier) -> None:
        self._objects = objects
        self._notifier = notifier

    def report(self, error: layout.UnusableKey) -> None:
        status = {
            "status": "rejected",
            "folder": error.folder,
            "key": error.key,
            "reason": str(error),
            "updated_at": now_iso(),
        }
        self._objects.write_json(layout.UNUSABLE_NAME_STATUS, status, indent=2)
        self._notifier.notify(
            "icflow: dataset folder name rejected",
            f"Nothing was started for {error.folder}.\n\n{error}\n\n"
            f"This is also in {layout.UNUSABLE_NAME_STATUS}, which names the latest such upload.",
            "",
        )
        logger.warning("dataset folder name rejected", extra={"key": error.key, "reason": str(error)})
