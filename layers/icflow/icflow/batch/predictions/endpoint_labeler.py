"""Label a small batch's images by the dataset's realtime endpoint and write the same predictions.jsonl,
predictions.csv and summary.json as a transform job's labeling (icflow.batch.predictions.labeler).

Each image is read from batch/<dataset>/ and sent to InvokeEndpoint, `max_in_flight` at a time. Nothing is
written until every image has its answer: an endpoint that fails on one image (EndpointFailed), or takes
longer than the budget, stops the labeling and leaves no output behind, so the caller's transform job writes
the batch's outputs as if the endpoint had never been tried. An image the model refuses, or whose answer is not
a prediction, is a failed image in summary.json, as on the transform path. The batch is bounded by
deploy.realtime.batch_max_images, so its predictions are held in memory until written.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from icflow.batch.manifest import input_prefix, s3_uri
from icflow.batch.predictions.batch_files import (
    REFUSED_BY_MODEL,
    BatchFiles,
    LabelingResult,
    labels_per_prediction,
    refused_by_model,
)
from icflow.batch.predictions.labeled import DEFAULT_TOP_K, ImageError, LabeledPrediction, label_prediction
from icflow.batch.predictions.output import InvalidOutput, parse_output
from icflow.batch.predictions.summary import CopyProblem, SummaryBuilder
from icflow.batch.predictions.writers import PredictionWriters
from icflow.batch.refused_images import MAX_REFUSED
from icflow.batch.serving_endpoint import MAX_IN_FLIGHT, EndpointFailed, ImageRefused, ServingEndpoint
from icflow.core.class_names import ClassNames
from icflow.core.s3_objects import missing

# summary.json's code for an image deleted between its collection and its labeling.
MISSING_IMAGE = "missing"


@dataclass(frozen=True)
class EndpointLabelingRequest:
    bucket: str
    dataset: str
    batch_id: str
    model_name: str  # the model the endpoint serves: the dataset's current one
    endpoint_name: str
    class_names: ClassNames
    relative_keys: Sequence[str]  # the images, below batch/<dataset>/
    budget_seconds: float  # past this, the endpoint is too slow for the batch: EndpointFailed
    skipped: Sequence[dict[str, str]] = ()  # the batch's inputs report's objects left out
    top_k: int = DEFAULT_TOP_K
    copy_to_labeled: bool = False

    @property
    def files(self) -> BatchFiles:
        return BatchFiles(self.bucket, self.dataset, self.batch_id, self.copy_to_labeled)


def label_by_endpoint(
    s3: Any,
    endpoint: ServingEndpoint,
    request: EndpointLabelingRequest,
    spill_dir: Path | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
) -> LabelingResult:
    """Labels every image, then writes predictions.jsonl, predictions.csv and, last, summary.json; raises
    EndpointFailed (nothing written) when the endpoint cannot label the whole batch."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    results = _classify_all(s3, endpoint, request, max_in_flight)
    refused = sum(isinstance(result, ImageError) and result.reason == REFUSED_BY_MODEL for result in results)
    if refused > MAX_REFUSED:
        # As on the transform path: this many refusals are a wrong model, not a few bad images.
        raise EndpointFailed(f"the model refused {refused} of {len(results)} images")
    summary = SummaryBuilder(
        dataset=request.dataset,
        batch_id=request.batch_id,
        model_name=request.model_name,
        transform_job_name=None,
        class_names=request.class_names,
        endpoint_name=request.endpoint_name,
        images_submitted=len(request.relative_keys),
        skipped=request.skipped,
    )
    top_k = labels_per_prediction(request.top_k, request.class_names)
    with tempfile.TemporaryDirectory(prefix="icflow-labels-", dir=spill_dir) as spill:
        with PredictionWriters(Path(spill), top_k) as writers:
            for result in results:
                if isinstance(result, ImageError):
                    summary.add_error(result)
                else:
                    writers.write(result)
                    summary.add_prediction(result)
        if request.copy_to_labeled:
            _copy_labeled(s3, request, results, summary, max_in_flight)
        request.files.upload_predictions(s3, writers)
    timings = {"labeling_started": started_at}
    return request.files.write_summary(s3, summary, timings, time.perf_counter() - started)


def _classify_all(
    s3: Any, endpoint: ServingEndpoint, request: EndpointLabelingRequest, max_in_flight: int
) -> list[LabeledPrediction | ImageError]:
    """One result per image, in the batch's order; the first EndpointFailed stops the rest."""
    deadline = time.monotonic() + request.budget_seconds
    stop = threading.Event()

    def classify(relative: str) -> LabeledPrediction | ImageError:
        if stop.is_set():
            raise EndpointFailed("stopped: another image failed")
        if time.monotonic() > deadline:
            stop.set()
            raise EndpointFailed(f"the endpoint had not labeled the batch after {request.budget_seconds:g} s")
        try:
            return _classify_one(s3, endpoint, request, relative)
        except BaseException:
            # The batch goes to a transform job: the images not yet sent are not sent.
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="icflow-invoke")
    futures: list[Future[LabeledPrediction | ImageError]] = [
        pool.submit(classify, relative) for relative in request.relative_keys
    ]
    try:
        return [future.result() for future in futures]
    finally:
        # On a failure those in flight end on their own, and the rest are cancelled.
        pool.shutdown(wait=True, cancel_futures=True)


def _classify_one(
    s3: Any, endpoint: ServingEndpoint, request: EndpointLabelingRequest, relative: str
) -> LabeledPrediction | ImageError:
    image_key = input_prefix(request.dataset) + relative
    image_uri = s3_uri(request.bucket, image_key)
    try:
        with s3.get_object(Bucket=request.bucket, Key=image_key)["Body"] as body:
            image = body.read()
    except ClientError as error:
        if not missing(s3, request.bucket, image_key, error):
            raise
        return ImageError(image_uri, MISSING_IMAGE, "the image was deleted before it was labeled; upload it again")
    try:
        answer = endpoint.classify(request.endpoint_name, image)
    except ImageRefused as refusal:
        return refused_by_model(image_uri, str(refusal), batch_went_on=False)
    try:
        # The endpoint answers the list a transform output holds as {"prediction": [...]}: one parser for both.
        probabilities = parse_output(b'{"prediction": ' + answer + b"}", request.class_names.count)
    except InvalidOutput as problem:
        return ImageError(image_uri, problem.problem.value, str(problem))
    return label_prediction(image_uri, probabilities, request.class_names, request.model_name, request.top_k)


def _copy_labeled(
    s3: Any,
    request: EndpointLabelingRequest,
    results: list[LabeledPrediction | ImageError],
    summary: SummaryBuilder,
    max_in_flight: int,
) -> None:
    """Copies each labeled image to labeled/<dataset>/<label>/, server-side, as the transform path's labeling
    does; a copy that fails costs that copy only, and summary.json says why."""
    labeled = [
        (relative, result)
        for relative, result in zip(request.relative_keys, results, strict=True)
        if isinstance(result, LabeledPrediction)
    ]
    relatives, predictions = [relative for relative, _ in labeled], [result for _, result in labeled]
    copy = partial(request.files.copy_labeled, s3)
    with ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="icflow-copy") as pool:
        for copied in pool.map(copy, relatives, predictions):
            if isinstance(copied, CopyProblem):
                summary.add_copy_problem(copied)
            else:
                summary.labeled_copies += copied
