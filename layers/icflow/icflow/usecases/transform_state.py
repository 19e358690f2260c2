"""An icflow transform job reached a final state: label its outputs, or record and tell why not.

The job's model, output path and timings come from DescribeTransformJob; the output path names the
dataset and batch. The batch item moves from transforming once, so a repeated event does nothing; a
retry after a crash mid-labeling writes the same keys again with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from icflow import layout, naming
from icflow.adapters.notifier import Notifier
from icflow.adapters.run_store import RunStore
from icflow.adapters.s3_objects import S3Objects
from icflow.adapters.sagemaker_deploy import SageMakerDeploy
from icflow.batch_manifest import parse_output_uri
from icflow.class_names import load_class_names
from icflow.errors import IcflowError
from icflow.events.sagemaker_state import COMPLETED, FINAL_STATES
from icflow.observability import logger, metrics
from icflow.predictions.labeler import DEFAULT_MAX_IN_FLIGHT, LabelingRequest, label_batch
from icflow.settings import Settings, current_settings
from icflow.usecases.deploy_status import BatchStatus, batch_sk
from icflow.usecases.start_batch import BatchStarter, read_pipeline_config

_ENDED_AS = {"Failed": BatchStatus.FAILED, "Stopped": BatchStatus.STOPPED}
# Both are reached only from a transform that icflow started.
_IN_FLIGHT = (BatchStatus.TRANSFORMING.value,)


@dataclass(frozen=True)
class TransformChange:
    job_name: str
    status: str
    failure_reason: str | None


class HandleTransformState:
    def __init__(
        self, settings: Settings, s3_client: Any, runs: RunStore, deploy: SageMakerDeploy, notifier: Notifier
    ) -> None:
        self._settings = settings
        self._s3 = s3_client
        self._runs = runs
        self._deploy = deploy
        self._notifier = notifier
        self._objects = S3Objects(s3_client, settings.data_bucket)
        self._starter = BatchStarter(settings.data_bucket, self._objects, runs, deploy, notifier)

    def __call__(self, change: TransformChange) -> dict[str, Any]:
        if not naming.is_icflow_name(change.job_name):
            return {"action": "ignored", "reason": f"{change.job_name} is not an icflow transform job"}
        if change.status not in FINAL_STATES:
            return {"action": "ignored", "reason": f"{change.job_name} is {change.status}, not final"}
        job = self._deploy.transform_job(change.job_name)
        try:
            bucket, dataset, batch_id = parse_output_uri(job.output_uri)
        except IcflowError as error:
            return {"action": "ignored", "reason": str(error)}
        logger.set_correlation_id(batch_id)
        batch = self._runs.get_item(dataset, batch_sk(batch_id))
        if bucket != self._settings.data_bucket or batch is None or batch.get("transform_job_name") != change.job_name:
            return {"action": "ignored", "dataset": dataset, "batch_id": batch_id, "reason": "no such batch in this stack"}
        if batch["status"] not in _IN_FLIGHT:
            return {"action": "duplicate", "dataset": dataset, "batch_id": batch_id, "reason": f"batch is already {batch['status']}"}
        if job.status != COMPLETED:
            reason = f"{change.job_name}: {job.failure_reason or change.failure_reason or 'the transform job was ' + job.status.lower()}"
            return self._ended(dataset, batch_id, _ENDED_AS.get(job.status, BatchStatus.FAILED), reason)
        try:
            config = read_pipeline_config(self._objects, dataset)
            names = load_class_names(self._s3, bucket, dataset, config.class_names)
        except IcflowError as error:
            return self._starter.fail(dataset, batch_id, _IN_FLIGHT, f"labeling {change.job_name}'s outputs: {error}")
        result = label_batch(
            self._s3,
            LabelingRequest(
                bucket=bucket,
                dataset=dataset,
                batch_id=batch_id,
                model_name=job.model_name,
                transform_job_name=job.name,
                class_names=names,
                top_k=config.deploy.top_k,
                copy_to_labeled=config.deploy.copy_labeled_images,
                job_timings=job.timings,
            ),
        )
        images = result.summary["images"]
        item = self._runs.transition_item(
            dataset,
            batch_sk(batch_id),
            BatchStatus.LABELED.value,
            _IN_FLIGHT,
            fields={
                "labeled": images["labeled"],
                "failed_images": images["failed"],
                "summary_uri": result.summary_uri,
                "predictions_uri": result.predictions_jsonl_uri,
                "count_per_label": result.summary["count_per_label"],
            },
        )
        if item is None:
            return {"action": "duplicate", "dataset": dataset, "batch_id": batch_id, "reason": "another delivery labeled it"}
        metrics.add_metric(name="ImagesLabeled", unit=MetricUnit.Count, value=images["labeled"])
        prefix = layout.predictions_prefix(dataset, batch_id)
        self._notifier.notify(
            f"icflow: batch {batch_id} of {dataset} labeled",
            f"{images['labeled']} images of dataset {dataset} were labeled by model {job.model_name} "
            f"({images['failed']} failed, {images['skipped']} skipped as not images).\n"
            f"Predictions: s3://{bucket}/{prefix} (predictions.csv, predictions.jsonl, summary.json).",
            dataset,
        )
        return {"action": "labeled", "dataset": dataset, "batch_id": batch_id, "labeled": images["labeled"],
                "summary_uri": result.summary_uri}

    def _ended(self, dataset: str, batch_id: str, status: BatchStatus, reason: str) -> dict[str, Any]:
        if status is BatchStatus.FAILED:
            return self._starter.fail(dataset, batch_id, _IN_FLIGHT, reason)
        item = self._runs.transition_item(dataset, batch_sk(batch_id), status.value, _IN_FLIGHT, reason=reason)
        if item is not None:
            self._notifier.notify(f"icflow: batch {batch_id} of {dataset} {status.value}", reason, dataset)
        return {"action": status.value, "dataset": dataset, "batch_id": batch_id, "reason": reason}


def build_handle_transform_state(settings: Settings, session: boto3.Session | None = None) -> HandleTransformState:
    session = session or boto3.Session()
    # The labeler's threads each hold a connection; botocore's default pool of 10 would make them wait.
    s3 = session.client("s3", config=Config(max_pool_connections=DEFAULT_MAX_IN_FLIGHT))
    return HandleTransformState(
        settings=settings,
        s3_client=s3,
        runs=RunStore(session.client("dynamodb"), settings.runs_table),
        deploy=SageMakerDeploy(session.client("sagemaker")),
        notifier=Notifier(session.client("sns"), settings.notifications_topic_arn),
    )


@cache
def handle_transform_state_from_environment() -> HandleTransformState:
    """The function's use case, built once per execution environment."""
    return build_handle_transform_state(current_settings())
