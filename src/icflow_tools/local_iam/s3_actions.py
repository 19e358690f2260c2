"""Which IAM actions an S3 REST request needs, on which resources, with which condition keys.

Names follow the Service Authorization Reference, not the API: HeadObject is s3:GetObject, ListObjectsV2 and
HeadBucket are s3:ListBucket, the multipart calls are s3:PutObject, a copy also reads its source, and a
multi-object delete is s3:DeleteObject on each key.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from urllib.parse import unquote

from icflow_tools.local_iam.policy import AuthRequest

MAX_KEY_BYTES = 1024  # S3 refuses longer keys (KeyTooLongError)

# Bucket sub-resources icflow, moto's provisioning and the AWS CLI use: (method, sub-resource) -> action.
_BUCKET: dict[tuple[str, str], str] = {
    ("GET", ""): "s3:ListBucket",
    ("HEAD", ""): "s3:ListBucket",
    ("GET", "list-type"): "s3:ListBucket",
    ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "versioning"): "s3:GetBucketVersioning",
    ("PUT", "versioning"): "s3:PutBucketVersioning",
    ("GET", "encryption"): "s3:GetEncryptionConfiguration",
    ("PUT", "encryption"): "s3:PutEncryptionConfiguration",
    ("GET", "publicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("GET", "notification"): "s3:GetBucketNotification",
    ("PUT", "notification"): "s3:PutBucketNotification",
    ("GET", "policy"): "s3:GetBucketPolicy",
    ("PUT", "policy"): "s3:PutBucketPolicy",
    ("GET", "tagging"): "s3:GetBucketTagging",
    ("PUT", "tagging"): "s3:PutBucketTagging",
    ("PUT", ""): "s3:CreateBucket",
    ("DELETE", ""): "s3:DeleteBucket",
}
_OBJECT: dict[tuple[str, str], str] = {
    ("GET", ""): "s3:GetObject",
    ("HEAD", ""): "s3:GetObject",
    ("GET", "versionId"): "s3:GetObjectVersion",
    ("HEAD", "versionId"): "s3:GetObjectVersion",
    ("GET", "tagging"): "s3:GetObjectTagging",
    ("PUT", "tagging"): "s3:PutObjectTagging",
    ("DELETE", "tagging"): "s3:DeleteObjectTagging",
    ("GET", "uploadId"): "s3:ListMultipartUploadParts",
    ("PUT", ""): "s3:PutObject",
    ("PUT", "uploadId"): "s3:PutObject",  # UploadPart
    ("POST", "uploads"): "s3:PutObject",  # CreateMultipartUpload
    ("POST", "uploadId"): "s3:PutObject",  # CompleteMultipartUpload
    ("DELETE", ""): "s3:DeleteObject",
    ("DELETE", "versionId"): "s3:DeleteObjectVersion",
    ("DELETE", "uploadId"): "s3:AbortMultipartUpload",
    ("POST", "restore"): "s3:RestoreObject",
}
# The sub-resource that names the operation, in the order that decides (a GET with versionId and tagging tags).
_SUBRESOURCES = ("uploads", "uploadId", "tagging", "versionId", "restore", "delete", "list-type", "versions")
# Query parameters that are arguments of an operation, not sub-resources (x-id, X-Amz-* and response-* neither).
_PARAMETERS = frozenset(
    {
        "prefix",
        "delimiter",
        "max-keys",
        "encoding-type",
        "continuation-token",
        "start-after",
        "fetch-owner",
        "marker",
        "partNumber",
        "key-marker",
        "upload-id-marker",
        "version-id-marker",
        "max-uploads",
        "max-parts",
        "part-number-marker",
    }
)


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?::\d+)?$")


def path_style(host: str, path: str) -> str:
    """A virtual-hosted request's path (`bucket.s3.amazonaws.com/key`) as the path-style `/bucket/key`."""
    match = _VIRTUAL_HOST.match(host.lower())
    return f"/{match['bucket']}{path}" if match else path


def split_path(path: str) -> tuple[str, str]:
    """A path-style request's (bucket, key), decoded; ("", "") for the service itself (ListBuckets)."""
    bucket, _, key = path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def _subresource(query: Mapping[str, str], table: Mapping[tuple[str, str], str], method: str) -> str:
    for name in _SUBRESOURCES:
        if name in query and (method, name) in table:
            return name
    # A sub-resource outside the table is named in the action, so that no narrow policy grants it by accident.
    unknown = [name for name in query if name not in _PARAMETERS and not name.lower().startswith(("x-", "response-"))]
    return unknown[0] if unknown else ""


def s3_requests(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes = b""
) -> list[AuthRequest]:
    """`headers` with lower-case names; `body` only matters for a multi-object delete."""
    bucket, key = split_path(path)
    if not bucket:
        return [AuthRequest("s3:ListAllMyBuckets", "*")]
    if not key:
        if method == "POST" and "delete" in query:
            return [AuthRequest("s3:DeleteObject", object_arn(bucket, name)) for name in _deleted_keys(body)]
        sub = _subresource(query, _BUCKET, method)
        action = _BUCKET.get((method, sub), f"s3:{method.title()}Bucket?{sub}")
        context = {}
        if action == "s3:ListBucket":
            context = {f"s3:{name}": query[name] for name in ("prefix", "delimiter", "max-keys") if name in query}
        return [AuthRequest(action, bucket_arn(bucket), context)]
    sub = _subresource(query, _OBJECT, method)
    action = _OBJECT.get((method, sub), f"s3:{method.title()}Object?{sub}")
    requests = [AuthRequest(action, object_arn(bucket, key))]
    source = headers.get("x-amz-copy-source")
    if method == "PUT" and source:
        source_path, _, source_query = unquote(source).partition("?")
        source_bucket, source_key = split_path(source_path)
        read = "s3:GetObjectVersion" if "versionId=" in source_query else "s3:GetObject"
        requests.append(AuthRequest(read, object_arn(source_bucket, source_key)))
    return requests


def key_too_long(path: str) -> bool:
    _, key = split_path(path)
    return len(key.encode("utf-8")) > MAX_KEY_BYTES


def _deleted_keys(body: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return []
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]
