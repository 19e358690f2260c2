"""The service's resources: one record per resource, held as the Describe* answer it produces.

Records are only changed under the store's lock and handed out as deep copies, so job threads and request
threads never see a half-made change.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from icflow_tools.local_sagemaker.errors import ValidationException

TRAINING_JOB = "training-job"
TUNING_JOB = "hyper-parameter-tuning-job"
TRANSFORM_JOB = "transform-job"
MODEL = "model"
ENDPOINT_CONFIG = "endpoint-config"
ENDPOINT = "endpoint"
MODEL_PACKAGE_GROUP = "model-package-group"
MODEL_PACKAGE = "model-package"  # versioned packages, by "<group>/<version>"
KINDS = (TRAINING_JOB, TUNING_JOB, TRANSFORM_JOB, MODEL, ENDPOINT_CONFIG, ENDPOINT, MODEL_PACKAGE_GROUP, MODEL_PACKAGE)

Record = dict[str, Any]


@dataclass(frozen=True)
class Account:
    region: str
    account_id: str

    def arn(self, kind: str, name: str) -> str:
        # SageMaker lower-cases the name in ARNs, which is also why names are unique regardless of case.
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{name.lower()}"


class Store:
    def __init__(self, account: Account) -> None:
        self.account = account
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
        self._tags: dict[str, dict[str, str]] = {}

    def insert(
        self,
        kind: str,
        name: str,
        record: Record,
        tags: list[dict[str, str]] | None,
        duplicate: Callable[[], Exception],
    ) -> Record:
        with self._lock:
            if name.lower() in self._records[kind]:
                raise duplicate()
            self._records[kind][name.lower()] = record
            self._tags[self.account.arn(kind, name)] = {tag["Key"]: tag["Value"] for tag in tags or []}
            return copy.deepcopy(record)

    def get(self, kind: str, name: str) -> Record | None:
        with self._lock:
            record = self._records[kind].get(name.lower())
            return copy.deepcopy(record) if record is not None else None

    def update(self, kind: str, name: str, change: Callable[[Record], None]) -> Record:
        """Apply `change` to the live record (stamping LastModifiedTime where it has one); returns the new state."""
        with self._lock:
            record = self._records[kind][name.lower()]
            change(record)
            if "LastModifiedTime" in record:
                record["LastModifiedTime"] = time.time()
            return copy.deepcopy(record)

    def delete(self, kind: str, name: str) -> None:
        with self._lock:
            self._records[kind].pop(name.lower(), None)
            self._tags.pop(self.account.arn(kind, name), None)

    def all(self, kind: str) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self._records[kind].values()))

    def count(self, kind: str, predicate: Callable[[Record], bool]) -> int:
        with self._lock:
            return sum(1 for record in self._records[kind].values() if predicate(record))

    def tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            if arn not in self._tags:
                raise ValidationException(f"Resource {arn} not found.")
            return dict(self._tags[arn])

    def resource_tags(self, arn: str) -> dict[str, str]:
        """For IAM's aws:ResourceTag conditions: {} for a resource that does not exist (yet)."""
        with self._lock:
            return dict(self._tags.get(arn, {}))

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        with self._lock:
            if arn not in self._tags:
                raise ValidationException(f"Resource {arn} not found.")
            self._tags[arn].update({tag["Key"]: tag["Value"] for tag in tags})

    def locked(self) -> threading.RLock:
        """For check-then-insert sequences that must be atomic (the running-jobs limit)."""
        return self._lock
