"""Credentials as the local stack hands them around: STS's answer as the AWS_* variables a process reads, and a
boto3 session signing with such variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def credential_variables(sts_credentials: Mapping[str, Any]) -> dict[str, str]:
    """AssumeRole's `Credentials` as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN."""
    return dict(
        zip(
            CREDENTIAL_VARIABLES, (sts_credentials[name] for name in ("AccessKeyId", "SecretAccessKey", "SessionToken"))
        )
    )


def session_with(variables: Mapping[str, str], region: str) -> boto3.Session:
    """A session signing with those variables, whatever the process's own environment holds."""
    return boto3.Session(
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=variables["AWS_SESSION_TOKEN"],
        region_name=region,
    )
