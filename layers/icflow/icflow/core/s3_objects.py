"""Listing and reading the data bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# What S3 answers for a key that does not exist: 404 NoSuchKey to a caller with s3:ListBucket on the bucket,
# 403 AccessDenied to one without (or with a grant scoped to prefixes), so that a key's existence never leaks.
_NOT_FOUND = ("NoSuchKey", "404")
_FORBIDDEN = ("AccessDenied", "403")

# The S3 client's connection pool, and so how many requests the labeler keeps in flight: each holds one, and
# botocore's default pool of 10 would make the rest wait.
MAX_CONNECTIONS = 16


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str  # without the quotes S3 puts around it
    size: int


def missing(s3: Any, bucket: str, key: str, error: ClientError) -> bool:
    """Whether a read of `key` failed because there is no such object. A 403 is settled with a listing of the
    key itself, which a prefix-scoped s3:ListBucket allows; a 403 on an object that exists is a real refusal."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _NOT_FOUND:
        return True
    if code not in _FORBIDDEN:
        return False
    try:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except ClientError:
        return False  # not allowed to look either: the original refusal stands
    return not any(item["Key"] == key for item in listing.get("Contents", []))


class S3Objects:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    def list(self, prefix: str) -> list[StoredObject]:
        return list(self.walk(prefix))

    def walk(self, prefix: str) -> Iterator[StoredObject]:
        """The objects under `prefix` in S3's order, a listing page at a time: memory stays one page's."""
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"], item["ETag"].strip('"'), item["Size"])

    def write_json(self, key: str, value: Any, indent: int | None = None) -> None:
        body = json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8")
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def read_optional(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if missing(self._s3, self.bucket, key, error):
                return None
            raise
        with response["Body"] as body:
            return body.read()
