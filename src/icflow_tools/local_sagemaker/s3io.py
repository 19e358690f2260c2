"""S3 input and output for jobs: channels in, model tarballs and transform outputs out, checkpoints both ways.

Failure messages copy the shape of SageMaker's own (they become FailureReason after a `ClientError: ` prefix).
Whoever writes to the bucket names the files a job downloads, so every local path is built by `inside`.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from icflow_tools.local_sagemaker.errors import JobFailure


@dataclass(frozen=True)
class S3Access:
    """How another process reaches S3 as a job does: the endpoint, the region and the credentials (AWS_*
    variables; None: that process's own). A client does not cross a process boundary; this does."""

    endpoint_url: str | None
    region: str
    credentials: Mapping[str, str] | None

    def client(self) -> Any:
        if self.credentials is None:
            session = boto3.Session(region_name=self.region)
        else:
            session = boto3.Session(
                aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=self.credentials.get("AWS_SESSION_TOKEN") or None,
                region_name=self.region,
            )
        return session.client("s3", endpoint_url=self.endpoint_url)


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    relative: str  # path below the input prefix, which names the local file and the transform output

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise JobFailure(f"ClientError: {uri} is not an S3 URI (expected s3://bucket/key).")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(part.strip("/") for part in parts)])


def _relative(key: str, prefix: str) -> str:
    # Keys are named relative to the prefix's folder, so "in/img" matches "in/img1.png" as "img1.png".
    folder = prefix[: prefix.rfind("/") + 1]
    return key[len(folder) :]


def list_prefix(s3: Any, uri: str) -> list[S3Object]:
    bucket, prefix = split_uri(uri)
    objects: list[S3Object] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    objects.append(S3Object(bucket, item["Key"], _relative(item["Key"], prefix)))
    except ClientError as error:
        raise JobFailure(f'ClientError: Cannot list S3 URL "{uri}": {error.response["Error"]["Message"]}') from error
    if not objects:
        raise JobFailure(
            f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that '
            f"the bucket exists in the selected region, that objects exist under that S3 prefix."
        )
    return objects


def read_manifest(s3: Any, uri: str) -> list[S3Object]:
    """A ManifestFile: `[{"prefix": "s3://b/p/"}, "relative/key", ...]`."""
    try:
        entries = json.loads(read_bytes(s3, uri))
        prefix = entries[0]["prefix"]
        relatives = entries[1:]
        if not all(isinstance(item, str) for item in relatives):
            raise TypeError("entries after the prefix must be strings")
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise JobFailure(
            f'ClientError: The manifest file {uri} is not a JSON list [{{"prefix": "s3://..."}}, "key", ...]: {error}'
        ) from error
    bucket, key_prefix = split_uri(prefix)
    return [S3Object(bucket, key_prefix + relative, relative) for relative in relatives]


def objects_for(s3: Any, data_type: str, uri: str) -> list[S3Object]:
    if data_type == "ManifestFile":
        return read_manifest(s3, uri)
    if data_type == "S3Prefix":
        return list_prefix(s3, uri)
    raise JobFailure(
        f"ClientError: S3DataType {data_type} is not supported by the local SageMaker; use S3Prefix or ManifestFile."
    )


def read_bytes(s3: Any, uri: str) -> bytes:
    bucket, key = split_uri(uri)
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise JobFailure(f"ClientError: Cannot read {uri}: {error.response['Error']['Message']}") from error


def inside(folder: Path, relative: str, what: str) -> Path:
    """`folder/relative`, or a JobFailure naming `what` when `relative` would leave the folder or name no file:
    an absolute path ("train//abs" below "train/"), a `..` or `.` segment, an empty one, a NUL byte."""
    parts = relative.split("/")
    if "\x00" in relative or any(part in ("", ".", "..") for part in parts):
        raise JobFailure(
            f"ClientError: {what} names no file inside the job's folder: {relative!r} must be a relative path "
            "whose segments are neither empty, '.' nor '..'; rename it and start the job again."
        )
    return folder.joinpath(*parts)


def download(s3: Any, objects: list[S3Object], folder: Path) -> None:
    # Every target is checked before the first download, so a hostile key fails the job before it writes anything.
    targets = [inside(folder, item.relative, f"The S3 object {item.uri}") for item in objects]
    for item, target in zip(objects, targets, strict=True):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(item.bucket, item.key, str(target))
        except ClientError as error:
            raise JobFailure(f"ClientError: Cannot download {item.uri}: {error}") from error
        except OSError as error:  # a name too long for this file system, a key that is also a "folder", ...
            raise JobFailure(f"ClientError: Cannot write {item.uri} to {target}: {error}") from error


def upload_bytes(s3: Any, uri: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    bucket, key = split_uri(uri)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except ClientError as error:
        raise JobFailure(f"ClientError: Cannot write {uri}: {error.response['Error']['Message']}") from error


def upload_file(s3: Any, path: Path, uri: str) -> None:
    bucket, key = split_uri(uri)
    try:
        s3.upload_file(str(path), bucket, key)
    except (ClientError, S3UploadFailedError) as error:
        raise JobFailure(f"ClientError: Cannot upload to {uri}: {error}") from error


def upload_folder(s3: Any, folder: Path, uri: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        upload_file(s3, path, join_uri(uri, path.relative_to(folder).as_posix()))


def tar_folder(folder: Path, tarball: Path) -> None:
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(folder.iterdir()):
            archive.add(path, arcname=path.name)


def untar(tarball: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(folder, filter="data")
