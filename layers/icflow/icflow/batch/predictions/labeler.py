"""Label every output of a finished transform job, straight from S3, with bounded memory.

Outputs are listed page by page and fetched by a fixed pool of threads; at most `2 * max_in_flight`
outputs are held at a time, and labeled rows go to spill files (Lambda's /tmp) that are uploaded when
all are written. What stays in memory is what summary.json needs: a count per label and per problem.
Inputs are only read, and copied server-side when labeled copies are asked for; never moved or deleted.
"""

from __future__ import annotations

import tempfile
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from icflow.batch.manifest import input_prefix, input_relative, inputs_report_key, read_inputs_report, s3_uri
from icflow.batch.predictions.batch_files import (
    BatchFiles,
    LabelingResult,
    labels_per_prediction,
    refused_by_model,
)
from icflow.batch.predictions.labeled import DEFAULT_TOP_K, ImageError, LabeledPrediction, label_prediction
from icflow.batch.predictions.output import MAX_OUTPUT_BYTES, InvalidOutput, OutputProblem, parse_output
from icflow.batch.predictions.summary import CopyProblem, SummaryBuilder
from icflow.batch.predictions.writers import PredictionWriters
from icflow.core import layout
from icflow.core.class_names import ClassNames
from icflow.core.s3_objects import MAX_CONNECTIONS, missing

# As many requests as the S3 client has connections (icflow.wiring builds it with MAX_CONNECTIONS).
DEFAULT_MAX_IN_FLIGHT = MAX_CONNECTIONS
# S3's own maximum; one page of keys is the most the listing holds at a time.
LIST_PAGE_SIZE = 1000


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

    @property
    def files(self) -> BatchFiles:
        return BatchFiles(self.bucket, self.dataset, self.batch_id, self.copy_to_labeled)


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
    copied = request.files.copy_labeled(s3, relative, prediction)
    if isinstance(copied, CopyProblem):
        return _Labeled(prediction, copy_problem=copied)
    return _Labeled(prediction, copied=copied)


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
    top_k = labels_per_prediction(request.top_k, request.class_names)

    with tempfile.TemporaryDirectory(prefix="icflow-labels-", dir=spill_dir) as spill:
        with PredictionWriters(Path(spill), top_k) as writers:
            _label_outputs(s3, request, writers, summary, max_in_flight)
        request.files.upload_predictions(s3, writers)

    timings = {**request.job_timings, "labeling_started": started_at}
    return request.files.write_summary(s3, summary, timings, time.perf_counter() - started)


def _start_summary(s3: Any, request: LabelingRequest) -> SummaryBuilder:
    """summary.json's builder, with what the batch's inputs report says was submitted and skipped."""
    report = _inputs_report(s3, request)
    summary = SummaryBuilder(
        dataset=request.dataset,
        batch_id=request.batch_id,
        model_name=request.model_name,
        transform_job_name=request.transform_job_name,
        class_names=request.class_names,
        images_submitted=report.get("images"),
        skipped=report.get("skipped", ()),
    )
    for image_uri, error in request.refused:
        summary.add_error(refused_by_model(image_uri, error, batch_went_on=True))
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
