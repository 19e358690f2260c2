"""Listing and reading the data bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# The S3 client's connection pool, and so how many requests the labeler keeps in flight: each holds one, and
# botocore's default pool of 10 would make the rest wait.
MAX_CONNECTIONS = 16


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str  # without the quotes S3 puts around it
    size: int


class S3Objects:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    def list(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["ETag"].strip('"'), item["Size"]))
        return found

    def read_text(self, key: str) -> str | None:
        """The object's text, or None when there is no such object."""
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return body.read().decode("utf-8")
