"""The demo's copies of the report pages the stack renders: a run's when its model is ready, a batch's when it is
labeled, each one self-contained HTML object under reports/ in the data bucket.

A page is waited for as a user would (HEAD on its key until it is there), copied under the demo's outputs,
and never a reason for the demo to fail: one that does not come is named with what the stack shows about why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

# The template's function that renders the pages (template.yaml), fed by the model-ready and batch-labeled events.
REPORTS_FUNCTION = "ReportsFunction"
# It renders a page within a minute of its event on a busy 2-core machine; twice that before giving up on one.
REPORT_WAIT_SECONDS = 120.0
# What the local stack's function logs say of a failed or timed-out invocation, as Lambda's do.
_FAILURE_MARKS = ("[ERROR] ", "Task timed out after")
_NOT_THERE = ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True)
class ReportPage:
    name: str  # "run" or "batch <batch_id>": DemoReport.reports' key
    key: str  # in the data bucket
    local: Path  # where the copy goes


class ReportPages:
    """Copies pages from the data bucket once they are rendered, or says why one is missing.

    `functions` is the local stack's state file entry of the same name: which functions the stack runs and
    where each one logs."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        functions: Mapping[str, Mapping[str, Any]],
        poll_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._functions = functions
        self._poll_seconds = poll_seconds
        self._clock = clock

    def copy(self, page: ReportPage, deadline: float) -> str | None:
        """Waits until `deadline` (of `clock`) for the page and copies it; None when copied, else why it is not."""
        if REPORTS_FUNCTION not in self._functions:
            return f"the stack has no {REPORTS_FUNCTION} to render it (template.yaml)"
        while True:
            try:
                self._s3.head_object(Bucket=self._bucket, Key=page.key)
                break
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                if code not in _NOT_THERE:
                    return f"reading s3://{self._bucket}/{page.key} failed: {code}"
            if self._clock() >= deadline:
                return f"s3://{self._bucket}/{page.key} did not appear in time; {self._renderer_news()}"
            time.sleep(self._poll_seconds)
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=page.key)["Body"].read()
            page.local.parent.mkdir(parents=True, exist_ok=True)
            page.local.write_bytes(body)
        except (ClientError, OSError) as error:
            return f"copying s3://{self._bucket}/{page.key} to {page.local} failed: {error}"
        return None

    def _renderer_news(self) -> str:
        """The reports function's last failure in its log, or where to look when it logged none."""
        log = Path(self._functions[REPORTS_FUNCTION]["log_file"])
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            return f"{REPORTS_FUNCTION} has not logged anything ({log})"
        failures = [line.strip() for line in lines if any(mark in line for mark in _FAILURE_MARKS)]
        if failures:
            return f"{REPORTS_FUNCTION} failed: {failures[-1]} (its log: {log})"
        return f"{REPORTS_FUNCTION} logged no failure; its log: {log}"
