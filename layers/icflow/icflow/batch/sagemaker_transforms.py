"""The SageMaker calls of the batch path: starting a transform job and reading how it ended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from icflow.core.sagemaker_answers import already_exists, gone, tag_list


@dataclass(frozen=True)
class TransformJob:
    name: str
    status: str
    model_name: str
    output_uri: str
    failure_reason: str | None
    timings: dict[str, datetime]
    manifest_uri: str = ""  # the ManifestFile it read: the batch's, or a part of it (BatchStarter.go_on_without)


class SageMakerTransforms:
    def __init__(self, sagemaker_client: Any, stack_tags: Mapping[str, str]) -> None:
        """`stack_tags` go on every transform job started here (icflow.core.ownership)."""
        self._sagemaker = sagemaker_client
        self._stack_tags = stack_tags

    def create_transform_job(self, request: dict[str, Any], tags: dict[str, str]) -> bool:
        try:
            self._sagemaker.create_transform_job(**request, Tags=tag_list(tags, self._stack_tags))
        except ClientError as error:
            if already_exists(error):
                return False
            raise
        return True

    def find_transform_job(self, name: str) -> TransformJob | None:
        """The job, or None when SageMaker has no such job."""
        try:
            return self.transform_job(name)
        except ClientError as error:
            if gone(error):
                return None
            raise

    def transform_job(self, name: str) -> TransformJob:
        job = self._sagemaker.describe_transform_job(TransformJobName=name)
        timings = {key: job[key] for key in ("CreationTime", "TransformStartTime", "TransformEndTime") if key in job}
        return TransformJob(
            name=name,
            status=job["TransformJobStatus"],
            model_name=job["ModelName"],
            output_uri=job["TransformOutput"]["S3OutputPath"],
            failure_reason=job.get("FailureReason"),
            timings=timings,
            manifest_uri=job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"],
        )
