"""The CLI's deploy-path commands against moto in this process, with the stack named by --table/--bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"
TABLE = "icflow-runs"
BUCKET = "icflow-data-example"
ROLE = "arn:aws:iam::123456789012:role/icflow-SageMakerExecutionRole-EXAMPLE"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    # No local stack's state file is found from here.
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("dynamodb").create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


@pytest.fixture
def table() -> str:
    return TABLE


@pytest.fixture
def role_arn() -> str:
    return ROLE


@pytest.fixture
def stack_flags() -> list[str]:
    return ["--table", TABLE, "--bucket", BUCKET, "--region", REGION]
