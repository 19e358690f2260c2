"""From a collected group of `batch/<dataset>/...` uploads to a transform manifest and its skip report.

SageMaker's ManifestFile is a JSON array: `[{"prefix": "s3://bucket/some/prefix/"}, "relative/key", ...]`
(TransformS3DataSource in the SageMaker API reference). Each input's output lands at
`<S3OutputPath>/<key relative to the prefix>.out` (TransformOutput.S3OutputPath); `output_key` and
`input_relative` are the one place that relation is written, both ways.

A batch is identified by what it holds, so a redelivered group gets the same id, the same manifest and
the same transform job name, and starting it again means "already started".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from icflow.batch.transform_resources import TransformResources
from icflow.core import layout
from icflow.core.errors import IcflowError
from icflow.core.images import S3Object, SkipReason, check_objects
from icflow.core.transform_payload import MAX_PAYLOAD_MB

MANIFEST_FILE = "manifest.json"
# Beside the manifest: what the batch left out and why, read again when its predictions are written.
INPUTS_REPORT_FILE = "inputs.json"
OUTPUT_SUFFIX = ".out"
BATCH_ID_HEX_DIGITS = 20
IMAGE_CONTENT_TYPE = "application/x-image"


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: SkipReason

    def to_json(self, bucket: str) -> dict[str, str]:
        return {"uri": s3_uri(bucket, self.key), "reason": self.reason.value, "message": self.reason.message}


@dataclass(frozen=True)
class BatchPlan:
    """One dataset's share of a collected group: the images to transform and the objects left out."""

    bucket: str
    dataset: str
    batch_id: str
    relative_keys: tuple[str, ...]  # below batch/<dataset>/, sorted
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def input_prefix_uri(self) -> str:
        return s3_uri(self.bucket, input_prefix(self.dataset))

    @property
    def manifest_key(self) -> str:
        return layout.transform_input_prefix(self.dataset, self.batch_id) + MANIFEST_FILE

    @property
    def inputs_report_key(self) -> str:
        return inputs_report_key(self.dataset, self.batch_id)

    @property
    def manifest_uri(self) -> str:
        return s3_uri(self.bucket, self.manifest_key)

    @property
    def output_uri(self) -> str:
        """S3OutputPath for the transform job; under a prefix no trigger watches."""
        return s3_uri(self.bucket, layout.transform_output_prefix(self.dataset, self.batch_id))

    def manifest(self) -> list[Any]:
        return [{"prefix": self.input_prefix_uri}, *self.relative_keys]

    def transform_job_request(
        self,
        job_name: str,
        model_name: str,
        resources: TransformResources,
        manifest_uri: str | None = None,
    ) -> dict[str, Any]:
        """CreateTransformJob arguments: the manifest's images, one per record, as the algorithm takes them, each
        image an object of its own so that SageMaker spreads them over the instances; `manifest_uri` for a part
        of the batch (icflow.batch.starter.BatchStarter.go_on_without)."""
        request: dict[str, Any] = {
            "TransformJobName": job_name,
            "ModelName": model_name,
            "BatchStrategy": "SingleRecord",
            "MaxPayloadInMB": MAX_PAYLOAD_MB,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest_uri or self.manifest_uri}
                },
                "ContentType": IMAGE_CONTENT_TYPE,
                "SplitType": "None",
                "CompressionType": "None",
            },
            "TransformOutput": {"S3OutputPath": self.output_uri},
            "TransformResources": {"InstanceType": resources.instance_type, "InstanceCount": resources.instance_count},
        }
        if resources.max_concurrent_transforms is not None:
            request["MaxConcurrentTransforms"] = resources.max_concurrent_transforms
        return request

    def inputs_report(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "batch_id": self.batch_id,
            "images": len(self.relative_keys),
            "skipped": [item.to_json(self.bucket) for item in self.skipped],
        }


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def input_prefix(dataset: str) -> str:
    return f"{layout.BATCH}{dataset}/"


def inputs_report_key(dataset: str, batch_id: str) -> str:
    return layout.transform_input_prefix(dataset, batch_id) + INPUTS_REPORT_FILE


def output_key(dataset: str, batch_id: str, relative: str) -> str:
    """Where SageMaker writes the output of batch/<dataset>/<relative>."""
    return f"{layout.transform_output_prefix(dataset, batch_id)}{relative}{OUTPUT_SUFFIX}"


def input_relative(dataset: str, batch_id: str, key: str) -> str | None:
    """The inverse of output_key; None for keys under the output prefix that are not outputs."""
    prefix = layout.transform_output_prefix(dataset, batch_id)
    if not key.startswith(prefix) or not key.endswith(OUTPUT_SUFFIX) or len(key) <= len(prefix) + len(OUTPUT_SUFFIX):
        return None
    return key[len(prefix) : -len(OUTPUT_SUFFIX)]


def parse_output_uri(uri: str) -> tuple[str, str, str]:
    """(bucket, dataset, batch_id) from a transform job's S3OutputPath that icflow chose."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    parts = key.rstrip("/").split("/")
    if not uri.startswith("s3://") or len(parts) != 3 or f"{parts[0]}/" != layout.TRANSFORM_OUTPUT:
        raise IcflowError(f"{uri} is not an icflow transform output path ({layout.TRANSFORM_OUTPUT}<dataset>/<batch>/)")
    return bucket, parts[1], parts[2]


def batch_id(bucket: str, dataset: str, objects: Iterable[S3Object]) -> str:
    """Deterministic id of a group: the same objects (key, ETag, size) in any order give the same id. The
    bucket counts, as in a run id: another stack's batch of the same files gets another transform job name."""
    digest = hashlib.sha256("\0".join((bucket, dataset)).encode())
    for obj in sorted(set(objects), key=lambda obj: obj.key):
        size = "" if obj.size is None else str(obj.size)
        digest.update("\0".join(("", obj.key, obj.etag, size)).encode())
    return digest.hexdigest()[:BATCH_ID_HEX_DIGITS]


def group_by_dataset(objects: Iterable[S3Object]) -> dict[str, list[S3Object]]:
    """The group's objects by dataset, each key once (S3 delivers events at least once); other keys dropped,
    among them those under a folder that cannot be a dataset (CollectBatch rejects those)."""
    latest: dict[str, tuple[str, S3Object]] = {}
    for obj in objects:
        try:
            parsed = layout.parse_batch_key(obj.key)
        except layout.UnusableKey:
            continue
        if parsed is not None:
            latest[obj.key] = (parsed.dataset, obj)
    groups: dict[str, list[S3Object]] = {}
    for key in sorted(latest):
        dataset, obj = latest[key]
        groups.setdefault(dataset, []).append(obj)
    return groups


def plan_batches(s3: Any, bucket: str, objects: Iterable[S3Object], max_workers: int = 8) -> list[BatchPlan]:
    """One plan per dataset in the group, every object either in the manifest or skipped with its reason."""
    plans = []
    for dataset, members in group_by_dataset(objects).items():
        relative_keys: list[str] = []
        skipped: list[Skipped] = []
        for obj, reason in check_objects(s3, bucket, members, max_workers=max_workers):
            if reason is None:
                relative_keys.append(obj.key[len(input_prefix(dataset)) :])
            else:
                skipped.append(Skipped(obj.key, reason))
        plans.append(
            BatchPlan(bucket, dataset, batch_id(bucket, dataset, members), tuple(relative_keys), tuple(skipped))
        )
    return plans


def write_batch_inputs(s3: Any, plan: BatchPlan) -> None:
    """Put the inputs report, and the manifest when there is anything to transform."""
    if plan.relative_keys:
        s3.put_object(
            Bucket=plan.bucket,
            Key=plan.manifest_key,
            Body=json.dumps(plan.manifest()).encode(),
            ContentType="application/json",
        )
    s3.put_object(
        Bucket=plan.bucket,
        Key=plan.inputs_report_key,
        Body=json.dumps(plan.inputs_report(), indent=1).encode(),
        ContentType="application/json",
    )


def read_inputs_report(s3: Any, bucket: str, dataset: str, batch_id: str) -> dict[str, Any]:
    response = s3.get_object(Bucket=bucket, Key=inputs_report_key(dataset, batch_id))
    with response["Body"] as body:
        return json.loads(body.read())
