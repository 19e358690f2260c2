"""A training job's accuracy per epoch, from the log lines SageMaker sends to CloudWatch Logs.

SageMaker writes what the algorithm prints to `/aws/sagemaker/TrainingJobs`, one stream per instance named
`<job>/algo-<instance number>-<epoch seconds of the start>`; a job resumed on new instances (managed spot) gets new
streams. Every instance of a distributed training prints its own epochs, so only `algo-1`'s are read. The local
SageMaker writes the same group and streams.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from icflow.reports.epoch_metrics import MAX_EPOCHS, EpochMetrics, epochs_from_log

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# An epoch prints three to five lines that match (top-k adds two); a resumed job repeats some. Past this many
# lines the log is not one job's epochs, and reading on would only cost the function time.
MAX_LINES = 10 * MAX_EPOCHS
# Terms with characters other than letters and digits are quoted in a filter pattern (CloudWatch Logs' syntax).
EPOCH_LINES = '"Epoch["'


def first_instance_prefix(job_name: str) -> str:
    return f"{job_name}/algo-1-"


class TrainingLogs:
    """The log of a training job, as SageMaker writes it to CloudWatch Logs."""

    def __init__(self, logs_client: Any) -> None:
        self._logs = logs_client

    def epochs(self, job_name: str) -> list[EpochMetrics]:
        """The job's metrics per epoch, sorted by epoch; [] when it logged none (or no job ever logged)."""
        prefix = first_instance_prefix(job_name)
        try:
            pages = self._logs.get_paginator("filter_log_events").paginate(
                logGroupName=TRAINING_LOG_GROUP,
                logStreamNamePrefix=prefix,
                filterPattern=EPOCH_LINES,
                PaginationConfig={"MaxItems": MAX_LINES},
            )
            # The stream is checked again: a CloudWatch Logs that ignores the prefix (moto does) would otherwise
            # mix in every job's epochs.
            events = [
                event
                for page in pages
                for event in page.get("events", [])
                if event.get("logStreamName", "").startswith(prefix)
            ]
        except ClientError as error:
            # No log group yet: no training job of the account ever logged.
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return []
        # In the order they were printed, across a resumed job's streams, so that a repeated epoch's last values win.
        events.sort(key=lambda event: event.get("timestamp", 0))
        return epochs_from_log(event.get("message", "") for event in events)
