"""Which images a failed transform job's model refused, so that the rest of the batch can go on without them.

SageMaker fails a whole transform job when the algorithm answers one record with an error, and says which in the
job's data log (CloudWatch Logs, `/aws/sagemaker/TransformJobs`, stream `<job>/<instance>/data-log`), one line per
refused object: `<time>:[sagemaker logs]: <bucket>/<key>: ClientError: 400`. Its FailureReason usually says only
"See job logs", though it may name the object too (`... for s3://<bucket>/<key>: 400 ...`, as the local
SageMaker's does). Both are read; an image named by neither is not guessed at.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
# One refused image costs a line; past this many the job is not one bad image but a wrong model or input.
MAX_REFUSED = 100
_DATA_LOG = re.compile(r"\[sagemaker logs\]: (?P<path>.+?): (?P<error>ClientError: .*)")
_FAILURE_REASON = re.compile(r" for s3://(?P<path>.+?): (?P<error>[45]\d\d\b.*)")


def refused_in_data_log(lines: list[str]) -> dict[str, str]:
    """s3 URI -> the error, for every object the data log lines name as refused."""
    refused: dict[str, str] = {}
    for line in lines:
        found = _DATA_LOG.search(line)
        if found and found["path"] != "":
            refused.setdefault(f"s3://{found['path'].removeprefix('s3://')}", found["error"].strip())
    return refused


def refused_in_failure_reason(reason: str | None) -> dict[str, str]:
    found = _FAILURE_REASON.search(reason or "")
    return {f"s3://{found['path']}": f"ClientError: {found['error'].strip()}"} if found else {}


class TransformLogs:
    """The data log of a transform job, as SageMaker writes it to CloudWatch Logs."""

    def __init__(self, logs_client: Any) -> None:
        self._logs = logs_client

    def refused(self, job_name: str, failure_reason: str | None) -> dict[str, str]:
        """s3 URI -> error for the objects the job's model refused, at most MAX_REFUSED + 1 of them."""
        lines: list[str] = []
        try:
            pages = self._logs.get_paginator("filter_log_events").paginate(
                logGroupName=TRANSFORM_LOG_GROUP,
                logStreamNamePrefix=f"{job_name}/",
                filterPattern='"ClientError"',
                PaginationConfig={"MaxItems": 10 * MAX_REFUSED},
            )
            lines = [event["message"] for page in pages for event in page.get("events", [])]
        except ClientError as error:
            # No log group yet (no job of the account ever logged): the failure reason is all there is.
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        refused = {**refused_in_failure_reason(failure_reason), **refused_in_data_log(lines)}
        return dict(list(refused.items())[: MAX_REFUSED + 1])
