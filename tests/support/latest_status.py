"""A dataset's status/<dataset>/latest.json as a user reads it from the bucket, for tests that wait on it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from icflow.core import layout


def latest_status(s3: Any, bucket: str, dataset: str) -> dict[str, Any]:
    """The dataset's latest.json; {} until icflow has written one."""
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=layout.latest_status_key(dataset))["Body"].read())
    except ClientError:
        return {}
