"""CreateHyperParameterTuningJob, Describe..., Stop..., List..., ListTrainingJobsForHyperParameterTuningJob."""

from __future__ import annotations

import time
from typing import Any

from icflow_tools.local_sagemaker import listing, strategies, tuning
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import ResourceInUse, ResourceNotFound, ValidationException
from icflow_tools.local_sagemaker.events import TUNING_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.store import TUNING_JOB, Record
from icflow_tools.local_sagemaker.training_api import check_definition

SUMMARY_FIELDS = (
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobArn",
    "HyperParameterTuningJobStatus",
    "CreationTime",
    "HyperParameterTuningEndTime",
    "LastModifiedTime",
    "TrainingJobStatusCounters",
    "ObjectiveStatusCounters",
)


def _get(ctx: ServiceContext, name: str) -> Record:
    record = ctx.store.get(TUNING_JOB, name)
    if record is None:
        raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
    return record


def _publish(ctx: ServiceContext, record: Record) -> None:
    ctx.publisher.publish(
        TUNING_JOB_STATE_CHANGE,
        "DescribeHyperParameterTuningJob",
        record["HyperParameterTuningJobArn"],
        record,
        ctx.store.tags(record["HyperParameterTuningJobArn"]),
    )


def create_tuning_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    definition = params.get("TrainingJobDefinition")
    if not definition:
        raise ValidationException(
            "TrainingJobDefinition must be specified (the local SageMaker does not support TrainingJobDefinitions)."
        )
    check_definition(definition)
    config = params["HyperParameterTuningJobConfig"]
    strategies.check_config(config, definition.get("StaticHyperParameters", {}))
    name = params["HyperParameterTuningJobName"]
    now = time.time()
    record: Record = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": ctx.store.account.arn(TUNING_JOB, name),
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
        "HyperParameterTuningJobStatus": "InProgress",
        "CreationTime": now,
        "LastModifiedTime": now,
        **tuning.counters({}, []),
        **({"WarmStartConfig": params["WarmStartConfig"]} if "WarmStartConfig" in params else {}),
    }
    with ctx.store.locked():
        ctx.check_job_limit()
        stored = ctx.store.insert(
            TUNING_JOB,
            name,
            record,
            params.get("Tags"),
            lambda: ResourceInUse(
                f"Hyperparameter tuning job names must be unique within an AWS "
                f"account and region, and a job with this name already exists "
                f"({record['HyperParameterTuningJobArn']})"
            ),
        )
    _publish(ctx, stored)
    ctx.start(TUNING_JOB, name, lambda control: tuning.TuningJob(ctx, name, control).run())
    return {"HyperParameterTuningJobArn": stored["HyperParameterTuningJobArn"]}


def describe_tuning_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    return _get(ctx, params["HyperParameterTuningJobName"])


def stop_tuning_job(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    record = _get(ctx, params["HyperParameterTuningJobName"])
    control = ctx.control(TUNING_JOB, record["HyperParameterTuningJobName"])
    if record["HyperParameterTuningJobStatus"] != "InProgress" or control is None:
        raise ValidationException(
            f"The hyperparameter tuning job is in status {record['HyperParameterTuningJobStatus']} "
            "and cannot be stopped."
        )
    updated = ctx.store.update(
        TUNING_JOB, record["HyperParameterTuningJobName"], lambda r: r.update(HyperParameterTuningJobStatus="Stopping")
    )
    _publish(ctx, updated)
    control.request_stop("Stopped")
    return {}


def list_tuning_jobs(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    def summary(record: Record) -> Record:
        return {
            **listing.pick(record, SUMMARY_FIELDS),
            "Strategy": record["HyperParameterTuningJobConfig"]["Strategy"],
            "ResourceLimits": record["HyperParameterTuningJobConfig"].get("ResourceLimits", {}),
        }

    items, token = listing.page(
        ctx.store.all(TUNING_JOB),
        params,
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
        summary,
        default_order="Ascending",
    )
    return listing.answer("HyperParameterTuningJobSummaries", items, token)


def list_trials(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    record = _get(ctx, params["HyperParameterTuningJobName"])
    summaries = [tuning.trial_summary(record, trial) for trial in tuning.trials(ctx, record)]
    sort_by = params.get("SortBy", "Name")
    if sort_by == "FinalObjectiveMetricValue":
        # As documented: jobs without an objective value are left out when sorting by it.
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    items, token = listing.page(
        summaries,
        {**params, "SortBy": sort_by},
        "TrainingJobName",
        "TrainingJobStatus",
        lambda s: s,
        {"FinalObjectiveMetricValue": lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]},
        default_order="Ascending",
    )
    return listing.answer("TrainingJobSummaries", items, token)


OPERATIONS = {
    "CreateHyperParameterTuningJob": create_tuning_job,
    "DescribeHyperParameterTuningJob": describe_tuning_job,
    "StopHyperParameterTuningJob": stop_tuning_job,
    "ListHyperParameterTuningJobs": list_tuning_jobs,
    "ListTrainingJobsForHyperParameterTuningJob": list_trials,
}
