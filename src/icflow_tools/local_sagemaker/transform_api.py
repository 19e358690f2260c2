"""CreateTransformJob, DescribeTransformJob, StopTransformJob, ListTransformJobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from icflow_tools.local_sagemaker import listing
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.endpoints import EndpointRuntime
from icflow_tools.local_sagemaker.errors import ResourceInUse, ValidationException
from icflow_tools.local_sagemaker.events import TRANSFORM_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.store import MODEL, TRANSFORM_JOB, Record
from icflow_tools.local_sagemaker.transform import TransformJob

COPIED_FIELDS = (
    "ModelName",
    "MaxConcurrentTransforms",
    "ModelClientConfig",
    "MaxPayloadInMB",
    "BatchStrategy",
    "Environment",
    "TransformInput",
    "TransformOutput",
    "DataCaptureConfig",
    "TransformResources",
    "DataProcessing",
    "ExperimentConfig",
)
SUMMARY_FIELDS = (
    "TransformJobName",
    "TransformJobArn",
    "CreationTime",
    "TransformEndTime",
    "LastModifiedTime",
    "TransformJobStatus",
    "FailureReason",
)


def _get(ctx: ServiceContext, name: str) -> Record:
    record = ctx.store.get(TRANSFORM_JOB, name)
    if record is None:
        raise ValidationException(f"Could not find requested job with name {name}")
    return record


def operations(runtime: EndpointRuntime) -> dict[str, Callable[[ServiceContext, dict[str, Any]], dict[str, Any]]]:
    def create_transform_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TransformJobName"]
        if ctx.store.get(MODEL, params["ModelName"]) is None:
            raise ValidationException(f'Could not find model "{ctx.store.account.arn(MODEL, params["ModelName"])}".')
        now = time.time()
        record = {
            "TransformJobName": name,
            "TransformJobArn": ctx.store.account.arn(TRANSFORM_JOB, name),
            "TransformJobStatus": "InProgress",
            **{field: params[field] for field in COPIED_FIELDS if field in params},
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        with ctx.store.locked():
            ctx.check_job_limit()
            stored = ctx.store.insert(
                TRANSFORM_JOB,
                name,
                record,
                params.get("Tags"),
                lambda: ResourceInUse(
                    f"Job name must be unique within an AWS account and region, "
                    f"and a job with this name already exists ({record['TransformJobArn']})"
                ),
            )
        ctx.publisher.publish(
            TRANSFORM_JOB_STATE_CHANGE,
            "DescribeTransformJob",
            stored["TransformJobArn"],
            stored,
            ctx.store.tags(stored["TransformJobArn"]),
        )
        ctx.start(TRANSFORM_JOB, name, lambda control: TransformJob(ctx, runtime.loader, name, control).run())
        return {"TransformJobArn": stored["TransformJobArn"]}

    def describe_transform_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        return _get(ctx, params["TransformJobName"])

    def stop_transform_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        record = _get(ctx, params["TransformJobName"])
        control = ctx.control(TRANSFORM_JOB, record["TransformJobName"])
        if record["TransformJobStatus"] == "InProgress" and control is not None:
            updated = ctx.store.update(
                TRANSFORM_JOB, record["TransformJobName"], lambda r: r.update(TransformJobStatus="Stopping")
            )
            ctx.publisher.publish(
                TRANSFORM_JOB_STATE_CHANGE,
                "DescribeTransformJob",
                updated["TransformJobArn"],
                updated,
                ctx.store.tags(updated["TransformJobArn"]),
            )
            control.request_stop("Stopped")
        return {}

    def list_transform_jobs(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        items, token = listing.page(
            ctx.store.all(TRANSFORM_JOB),
            params,
            "TransformJobName",
            "TransformJobStatus",
            lambda r: listing.pick(r, SUMMARY_FIELDS),
        )
        return listing.answer("TransformJobSummaries", items, token)

    return {
        "CreateTransformJob": create_transform_job,
        "DescribeTransformJob": describe_transform_job,
        "StopTransformJob": stop_transform_job,
        "ListTransformJobs": list_transform_jobs,
    }
