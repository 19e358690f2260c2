"""A moto bucket's small files with real magic bytes, for the tests of what reads images and transform outputs."""

from __future__ import annotations

import json
from typing import Any

BUCKET = "icflow-test-data"
# Enough of each format for its signature; the layer never decodes images, it only sniffs them.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64 + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def output_body(probabilities: list[float]) -> bytes:
    return json.dumps({"prediction": probabilities}).encode()


def read(s3: Any, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def snapshot(s3: Any, prefix: str) -> dict[str, str]:
    """Key -> ETag of everything under a prefix, to show inputs were left as they were."""
    paginator = s3.get_paginator("list_objects_v2")
    return {
        item["Key"]: item["ETag"]
        for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix)
        for item in page.get("Contents", ())
    }
