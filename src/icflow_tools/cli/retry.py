"""`icflow retry DATASET [--batch ID]`: start again a run whose job never started, or a failed or stopped batch.

What the messages advise ("upload the same images again") without uploading anything: the command replays the
upload events of the run's or batch's own objects through the function that handles them, so the same rules
decide (the batch keeps its id and gets a new transform job name; the run keeps its id) and nothing in S3 is
written or changed. Against the local stack the function runs with the environment the stack gives it; with
--stack, it runs from this checkout with the deployed function's environment and your credentials, as
`icflow invoke` does.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError
from icflow_tools.cli.stack_resources import StackResources, add_stack_arguments, resolve

UPLOAD_FUNCTION = "DatasetUploadFunction"
BATCH_FUNCTION = "BatchCollectFunction"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retry",
        help="start again a run whose job never started, or a failed or stopped batch",
        description="Replays the upload events of the dataset's latest run (or of --batch ID) through the function "
        "that handles uploads, as uploading the same files again would, without writing to S3. A run is started "
        "again only if its job never ran (a refusal such as a quota of 0, a start cut off); a run whose job ran "
        "needs a change of pipeline.json or of the data.",
    )
    parser.add_argument("dataset", help="the dataset, as its folder is named under datasets/ and batch/")
    parser.add_argument("--batch", metavar="BATCH_ID", help="retry this batch (see `icflow status`) instead of the run")
    parser.add_argument(
        "--template", default="template.yaml", help="the SAM template, with --stack (default: template.yaml)"
    )
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Replay:
    """The event that tries the run or batch again, and the function it goes to."""

    function: str
    event: dict[str, Any]
    objects: int


def _object_created(bucket: str, key: str, head: dict[str, Any], region: str) -> dict[str, Any]:
    """S3's EventBridge "Object Created" event for an object as it is now, with a sequencer of its own, as a new
    write has, so that the upload function takes it for an upload and not for a duplicate delivery. The account
    is a stand-in: the functions read neither it nor the requester."""
    from icflow_tools.s3_object_events import object_created_event

    return object_created_event(bucket, key, head["ContentLength"], head["ETag"], region, "000000000000")


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    from icflow.core.s3_objects import missing

    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if missing(s3, bucket, key, error):
            return None
        raise


def replay_run(store: Any, s3: Any, bucket: str, dataset: str, region: str) -> Replay:
    """The upload event that starts the dataset's latest run again; IcflowError when there is nothing to retry."""
    from icflow.core import layout
    from icflow.core.state import DATASET_SK, RunStatus

    head = store.get_item(dataset, DATASET_SK) or {}
    run = store.get_run(dataset, head["latest_run_id"]) if head.get("latest_run_id") else None
    if run is None:
        raise IcflowError(f"dataset {dataset} has no run to retry; `icflow status --dataset {dataset!r}` shows it")
    run_id, status, reason = run["run_id"], run["status"], run.get("reason", "")
    started = {RunStatus.TRAINING.value, RunStatus.TUNING.value}
    if status not in (RunStatus.REJECTED.value, RunStatus.FAILED.value):
        raise IcflowError(f"run {run_id} of {dataset} is {status}: there is nothing to retry")
    if not run.get("kind"):
        raise IcflowError(
            f"run {run_id} of {dataset} was rejected for its files: {reason} Fix them and upload again; "
            "the same files would be rejected the same way"
        )
    if any(change["status"] in started for change in run.get("history", [])):
        raise IcflowError(
            f"run {run_id} of {dataset}: its job ran and the run ended {status}: {reason} The same data and "
            f"{layout.PIPELINE_FILE} would end the same way: change them and upload, which is a new run"
        )
    # Any object of the dataset makes the upload function evaluate the whole dataset; pipeline.json if any.
    for key in (layout.pipeline_key(dataset), *_keys(s3, bucket, layout.dataset_prefix(dataset))):
        found = _head(s3, bucket, key)
        if found is not None:
            return Replay(UPLOAD_FUNCTION, _object_created(bucket, key, found, region), 1)
    raise IcflowError(f"nothing is left under {layout.dataset_prefix(dataset)}: upload the dataset again")


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"MaxItems": 1})
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def replay_batch(store: Any, s3: Any, bucket: str, dataset: str, batch_id: str, region: str) -> Replay:
    """The batch queue's messages for every object of the batch (its images and what was skipped), as one group,
    so that it gets the same batch id; IcflowError when there is nothing to retry."""
    from icflow.batch.manifest import input_prefix, inputs_report_key
    from icflow.core.state import BATCH_ENDED_UNLABELED, batch_sk

    batch = store.get_item(dataset, batch_sk(batch_id))
    if batch is None:
        raise IcflowError(
            f"dataset {dataset} has no batch {batch_id}; `icflow status --dataset {dataset!r}` lists them"
        )
    if batch["status"] not in BATCH_ENDED_UNLABELED:
        raise IcflowError(
            f"batch {batch_id} of {dataset} is {batch['status']}: only a failed or stopped batch is retried"
        )
    manifest_key = batch["manifest_uri"].removeprefix(f"s3://{bucket}/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    report = json.loads(s3.get_object(Bucket=bucket, Key=inputs_report_key(dataset, batch_id))["Body"].read())
    keys = [input_prefix(dataset) + relative for relative in manifest[1:]]
    keys += [item["uri"].removeprefix(f"s3://{bucket}/") for item in report["skipped"]]
    records, gone = [], []
    for index, key in enumerate(keys):
        found = _head(s3, bucket, key)
        if found is None:
            gone.append(key)
            continue
        body = json.dumps(_object_created(bucket, key, found, region))
        records.append(
            {
                "messageId": f"retry-{index}",
                "receiptHandle": f"retry-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": region,
            }
        )
    if gone:
        shown = ", ".join(gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
        raise IcflowError(
            f"batch {batch_id} of {dataset}: {shown} no longer exist, so the batch cannot be retried as it was; "
            f"upload the images to classify under {input_prefix(dataset)} again, which makes a new batch"
        )
    return Replay(BATCH_FUNCTION, {"Records": records}, len(records))


def _prepared(args: argparse.Namespace, function: str) -> Any:
    from icflow_tools.local_stack.invoke import prepare_aws, prepare_local

    if args.stack:
        return prepare_aws(Path(args.template), function, args.stack, Path(".icflow"))
    if args.state_file.exists():
        return prepare_local(args.state_file, function)
    raise IcflowError("no stack to retry in: give --stack NAME, or start the local stack (`icflow local up`)")


def _replay(args: argparse.Namespace, resources: StackResources) -> Replay:
    from icflow.core.state import StateTable

    if not resources.bucket:
        raise IcflowError("no data bucket: give --stack NAME, or start the local stack")
    store = StateTable(resources.client("dynamodb"), resources.require_table())
    s3 = resources.client("s3")
    region = s3.meta.region_name
    if args.batch:
        return replay_batch(store, s3, resources.bucket, args.dataset, args.batch, region)
    return replay_run(store, s3, resources.bucket, args.dataset, region)


def run(args: argparse.Namespace) -> int:
    import sys

    from icflow.core.state import StateTable
    from icflow_tools.cli.status import render
    from icflow_tools.local_stack.invoke import invoke_once

    resources = resolve(args)
    replay = _replay(args, resources)
    invocation, log = invoke_once(_prepared(args, replay.function), replay.event)
    if not invocation.ok:
        sys.stderr.write(log)
        raise IcflowError(f"{replay.function} failed: {json.dumps(invocation.as_dict())}")
    print(f"replayed {replay.objects} upload(s) through {replay.function}; the dataset now:")
    print(render(args.dataset, StateTable(resources.client("dynamodb"), resources.require_table()).query(args.dataset)))
    return 0
