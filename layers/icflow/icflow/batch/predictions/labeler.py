"""Label every output of a finished transform job, straight from S3, with bounded memory.

Outputs are listed page by page and fetched by a fixed pool of threads; at most `2 * max_in_flight`
outputs are held at a time, and labeled rows go to spill files (Lambda's /tmp) that are uploaded when
all are written. What stays in memory is what summary.json needs: a count per label and per problem.
Inputs are only read, and copied server-side when labeled copies are asked for; never moved or deleted.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from icflow.batch.manifest import input_prefix, input_relative, inputs_report_key, read_inputs_report, s3_uri
from icflow.batch.predictions.labeled import DEFAULT_TOP_K, ImageError, LabeledPrediction, label_prediction
from icflow.batch.predictions.output import MAX_OUTPUT_BYTES, InvalidOutput, OutputProblem, parse_output
from icflow.batch.predictions.summary import SUMMARY_FILE, CopyProblem, SummaryBuilder
from icflow.batch.predictions.writers import (
    CSV_CONTENT_TYPE,
    JSONL_CONTENT_TYPE,
    PREDICTIONS_CSV,
    PREDICTIONS_JSONL,
    PredictionWriters,
)
from icflow.core import layout
from icflow.core.class_names import ClassNames
from icflow.core.s3_objects import MAX_CONNECTIONS, missing

# As many requests as the S3 client has connections (icflow.wiring builds it with MAX_CONNECTIONS).
DEFAULT_MAX_IN_FLIGHT = MAX_CONNECTIONS
# S3's own maximum; one page of keys is the most the listing holds at a time.
LIST_PAGE_SIZE = 1000
# S3 refuses keys longer than this (UTF-8 bytes): a long class name and a deep image path can exceed it.
MAX_KEY_BYTES = 1024
# predictions.jsonl and .csv go up one multipart part at a time. s3transfer's default sends ten at once, each
# holding about a megabyte of checksummed chunks, so at 100,000 outputs (a 38 MB predictions.jsonl) the upload
# was the labeler's largest allocation, twice the labeling's own; one part keeps it below that, whatever the
# count, and costs little beside the labeling (the benchmark's figures include the upload).
UPLOAD = TransferConfig(max_concurrency=1)
# summary.json's code for an image the model refused, which the batch went on without (icflow.batch.refused_images).
REFUSED_BY_MODEL = "refused-by-model"


@dataclass(frozen=True)
class LabelingRequest:
    """A Completed transform job of one batch; the model and job names come from DescribeTransformJob."""

    bucket: str
    dataset: str
    batch_id: str
    model_name: str
    transform_job_name: str
    class_names: ClassNames
    top_k: int = DEFAULT_TOP_K
    copy_to_labeled: bool = False
    job_timings: Mapping[str, Any] = field(default_factory=dict)  # e.g. TransformStartTime, TransformEndTime
    # Images an earlier job of the batch failed on, (image URI, SageMaker's error): they have no output.
    refused: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LabelingResult:
    summary: dict[str, Any]
    summary_uri: str
    predictions_jsonl_uri: str
    predictions_csv_uri: str


@dataclass(frozen=True)
class _Labeled:
    result: LabeledPrediction | ImageError
    copied: bool = False
    copy_problem: CopyProblem | None = None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _outputs(s3: Any, request: LabelingRequest) -> Iterator[tuple[str, str]]:
    """(output key, image key relative to batch/<dataset>/) for every output, one listing page at a time."""
    paginator = s3.get_paginator("list_objects_v2")
    prefix = layout.transform_output_prefix(request.dataset, request.batch_id)
    for page in paginator.paginate(Bucket=request.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}):
        for item in page.get("Contents", ()):
            relative = input_relative(request.dataset, request.batch_id, item["Key"])
            if relative is not None:
                yield item["Key"], relative


def _label_one(s3: Any, request: LabelingRequest, output_key: str, relative: str) -> _Labeled:
    image_key = input_prefix(request.dataset) + relative
    image_uri = s3_uri(request.bucket, image_key)
    try:
        response = s3.get_object(Bucket=request.bucket, Key=output_key)
        with response["Body"] as body:
            # One byte past the limit is enough to know the output is too large, without reading it all.
            probabilities = parse_output(body.read(MAX_OUTPUT_BYTES + 1), request.class_names.count)
    except InvalidOutput as problem:
        return _Labeled(ImageError(image_uri, problem.problem.value, str(problem)))
    except ClientError as error:
        message = f"reading s3://{request.bucket}/{output_key} failed: {_error_code(error)}"
        return _Labeled(ImageError(image_uri, OutputProblem.UNREADABLE.value, message))
    prediction = label_prediction(image_uri, probabilities, request.class_names, request.model_name, request.top_k)
    if not request.copy_to_labeled:
        return _Labeled(prediction)
    copy_key = layout.labeled_prefix(request.dataset, prediction.label) + relative
    if len(copy_key.encode("utf-8")) > MAX_KEY_BYTES:
        problem = (
            f"no labeled copy: s3://{request.bucket}/{copy_key[:80]}... would be {len(copy_key.encode('utf-8'))} "
            f"bytes, over S3's {MAX_KEY_BYTES}-byte key limit; shorten the class name or the image's path"
        )
        return _Labeled(prediction, copy_problem=CopyProblem(image_uri, problem))
    try:
        s3.copy_object(Bucket=request.bucket, Key=copy_key, CopySource={"Bucket": request.bucket, "Key": image_key})
    except ClientError as error:
        # The user may have deleted the image since; its prediction still stands.
        if missing(s3, request.bucket, image_key, error):
            return _Labeled(prediction)
        # One copy that fails costs that copy only: the prediction stands and summary.json says why.
        problem = f"no labeled copy: copying to s3://{request.bucket}/{copy_key} failed: {_error_code(error)}"
        return _Labeled(prediction, copy_problem=CopyProblem(image_uri, problem))
    return _Labeled(prediction, copied=True)


def _inputs_report(s3: Any, request: LabelingRequest) -> Mapping[str, Any]:
    try:
        return read_inputs_report(s3, request.bucket, request.dataset, request.batch_id)
    except ClientError as error:
        # A transform icflow did not plan has no report: nothing was skipped and the count is unknown.
        if not missing(s3, request.bucket, inputs_report_key(request.dataset, request.batch_id), error):
            raise
        return {}


def label_batch(
    s3: Any, request: LabelingRequest, spill_dir: Path | None = None, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
) -> LabelingResult:
    """Write predictions.jsonl, predictions.csv and then summary.json under predictions/<dataset>/<batch>/.

    summary.json is written last, so its presence means the batch's predictions are complete. Running
    again overwrites the same keys with the same content.
    """
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    summary = _start_summary(s3, request)
    count = request.class_names.count
    top_k = min(request.top_k, count) if count else request.top_k
    prefix = layout.predictions_prefix(request.dataset, request.batch_id)

    with tempfile.TemporaryDirectory(prefix="icflow-labels-", dir=spill_dir) as spill:
        with PredictionWriters(Path(spill), top_k) as writers:
            _label_outputs(s3, request, writers, summary, max_in_flight)
        _upload_predictions(s3, request, writers, prefix)

    return _write_summary(s3, request, summary, prefix, started_at, time.perf_counter() - started)


def _start_summary(s3: Any, request: LabelingRequest) -> SummaryBuilder:
    """summary.json's builder, with what the batch's inputs report says was submitted and skipped."""
    report = _inputs_report(s3, request)
    summary = SummaryBuilder(
        dataset=request.dataset,
        batch_id=request.batch_id,
        model_name=request.model_name,
        transform_job_name=request.transform_job_name,
        class_names_source=request.class_names.source,
        images_submitted=report.get("images"),
        skipped=report.get("skipped", ()),
    )
    for image_uri, error in request.refused:
        message = f"the model refused the image ({error}); the batch went on without it. Check that it opens"
        summary.add_error(ImageError(image_uri, REFUSED_BY_MODEL, message + ", then upload it again to classify it"))
    return summary


def _label_outputs(
    s3: Any, request: LabelingRequest, writers: PredictionWriters, summary: SummaryBuilder, max_in_flight: int
) -> None:
    """Labels every output on a pool of threads, writing each prediction and counting it in the summary."""
    with ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="icflow-label") as pool:

        def take(future: Future[_Labeled]) -> None:
            labeled = future.result()
            if isinstance(labeled.result, ImageError):
                summary.add_error(labeled.result)
                return
            writers.write(labeled.result)
            summary.add_prediction(labeled.result)
            summary.labeled_copies += labeled.copied
            if labeled.copy_problem is not None:
                summary.add_copy_problem(labeled.copy_problem)

        pending: deque[Future[_Labeled]] = deque()
        for output_key, relative in _outputs(s3, request):
            pending.append(pool.submit(_label_one, s3, request, output_key, relative))
            # Taking results in submission order keeps the files in listing order and bounds memory.
            if len(pending) >= 2 * max_in_flight:
                take(pending.popleft())
        while pending:
            take(pending.popleft())


def _upload_predictions(s3: Any, request: LabelingRequest, writers: PredictionWriters, prefix: str) -> None:
    for path, name, content_type in (
        (writers.jsonl_path, PREDICTIONS_JSONL, JSONL_CONTENT_TYPE),
        (writers.csv_path, PREDICTIONS_CSV, CSV_CONTENT_TYPE),
    ):
        s3.upload_file(str(path), request.bucket, prefix + name, ExtraArgs={"ContentType": content_type}, Config=UPLOAD)


def _write_summary(
    s3: Any, request: LabelingRequest, summary: SummaryBuilder, prefix: str, started_at: datetime, seconds: float
) -> LabelingResult:
    outputs = {
        "predictions_jsonl": s3_uri(request.bucket, prefix + PREDICTIONS_JSONL),
        "predictions_csv": s3_uri(request.bucket, prefix + PREDICTIONS_CSV),
        "labeled": s3_uri(request.bucket, f"{layout.LABELED}{request.dataset}/") if request.copy_to_labeled else None,
    }
    timings = {
        **request.job_timings,
        "labeling_started": started_at,
        "labeling_seconds": round(seconds, 3),
        "images_per_second": round((summary.labeled + summary.failed) / seconds, 1) if seconds else None,
    }
    body = summary.dumps(outputs, timings)
    s3.put_object(Bucket=request.bucket, Key=prefix + SUMMARY_FILE, Body=body, ContentType="application/json")
    return LabelingResult(
        summary=json.loads(body),
        summary_uri=s3_uri(request.bucket, prefix + SUMMARY_FILE),
        predictions_jsonl_uri=outputs["predictions_jsonl"],
        predictions_csv_uri=outputs["predictions_csv"],
    )
