"""What every labeled batch ends with, whoever labeled it (a transform job's outputs, icflow.batch.predictions.labeler,
or the dataset's endpoint, icflow.batch.predictions.endpoint_labeler): labeled copies, predictions.jsonl and
predictions.csv uploaded, then summary.json, written last so that its presence means the batch is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from icflow.batch.manifest import input_prefix, s3_uri
from icflow.batch.predictions.labeled import ImageError, LabeledPrediction
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
from icflow.core.s3_objects import missing

# predictions.jsonl and .csv go up one multipart part at a time. s3transfer's default sends ten at once, each
# holding about a megabyte of checksummed chunks, so at 100,000 outputs (a 38 MB predictions.jsonl) the upload
# was the labeler's largest allocation, twice the labeling's own; one part keeps it below that, whatever the
# count, and costs little beside the labeling (the benchmark's figures include the upload).
UPLOAD = TransferConfig(max_concurrency=1)
# summary.json's code for an image the model refused (icflow.batch.refused_images, icflow.batch.serving_endpoint).
REFUSED_BY_MODEL = "refused-by-model"


@dataclass(frozen=True)
class LabelingResult:
    summary: dict[str, Any]
    summary_uri: str
    predictions_jsonl_uri: str
    predictions_csv_uri: str


def labels_per_prediction(top_k: int, class_names: ClassNames) -> int:
    """deploy.top_k, at most the number of classes when it is known."""
    return min(top_k, class_names.count) if class_names.count else top_k


def refused_by_model(image_uri: str, error: str, batch_went_on: bool) -> ImageError:
    went_on = "; the batch went on without it" if batch_went_on else ""
    message = (
        f"the model refused the image ({error}){went_on}. Check that it opens, then upload it again to classify it"
    )
    return ImageError(image_uri, REFUSED_BY_MODEL, message)


@dataclass(frozen=True)
class BatchFiles:
    """Where one batch's files go: predictions/<dataset>/<batch>/, and labeled/<dataset>/<label>/ when asked."""

    bucket: str
    dataset: str
    batch_id: str
    copy_to_labeled: bool

    @property
    def prefix(self) -> str:
        return layout.predictions_prefix(self.dataset, self.batch_id)

    def copy_labeled(self, s3: Any, relative: str, prediction: LabeledPrediction) -> bool | CopyProblem:
        """Copies the image, server-side, to labeled/<dataset>/<label>/<relative>: True when copied, False when the
        image is gone since (its prediction stands), else why not. A copy that fails costs that copy only."""
        bucket = self.bucket
        image_key = input_prefix(self.dataset) + relative
        copy_key = layout.labeled_prefix(self.dataset, prediction.label) + relative
        key_bytes = len(copy_key.encode("utf-8"))
        if key_bytes > layout.MAX_KEY_BYTES:
            return CopyProblem(
                prediction.image_uri,
                f"no labeled copy: s3://{bucket}/{copy_key[:80]}... would be {key_bytes} bytes, over S3's "
                f"{layout.MAX_KEY_BYTES}-byte key limit; shorten the class name or the image's path",
            )
        try:
            s3.copy_object(Bucket=bucket, Key=copy_key, CopySource={"Bucket": bucket, "Key": image_key})
        except ClientError as error:
            if missing(s3, bucket, image_key, error):
                return False
            code = error.response.get("Error", {}).get("Code", "Unknown")
            return CopyProblem(
                prediction.image_uri, f"no labeled copy: copying to s3://{bucket}/{copy_key} failed: {code}"
            )
        return True

    def upload_predictions(self, s3: Any, writers: PredictionWriters) -> None:
        for path, content_type in ((writers.jsonl_path, JSONL_CONTENT_TYPE), (writers.csv_path, CSV_CONTENT_TYPE)):
            s3.upload_file(
                str(path), self.bucket, self.prefix + path.name, ExtraArgs={"ContentType": content_type}, Config=UPLOAD
            )

    def write_summary(
        self, s3: Any, summary: SummaryBuilder, timings: Mapping[str, Any], seconds: float
    ) -> LabelingResult:
        """summary.json, last; `timings` are the job's and the labeling's start, to which its pace is added."""
        bucket, prefix = self.bucket, self.prefix
        outputs = {
            "predictions_jsonl": s3_uri(bucket, prefix + PREDICTIONS_JSONL),
            "predictions_csv": s3_uri(bucket, prefix + PREDICTIONS_CSV),
            "labeled": s3_uri(bucket, f"{layout.LABELED}{self.dataset}/") if self.copy_to_labeled else None,
            # Rendered from the batch-labeled event moments after this is written (icflow.reports).
            "report": s3_uri(bucket, layout.batch_report_key(self.dataset, self.batch_id)),
        }
        timings = {
            **timings,
            "labeling_seconds": round(seconds, 3),
            "images_per_second": round((summary.labeled + summary.failed) / seconds, 1) if seconds else None,
        }
        body = summary.dumps(outputs, timings)
        s3.put_object(Bucket=bucket, Key=prefix + SUMMARY_FILE, Body=body, ContentType="application/json")
        return LabelingResult(
            summary=json.loads(body),
            summary_uri=s3_uri(bucket, prefix + SUMMARY_FILE),
            predictions_jsonl_uri=outputs["predictions_jsonl"],
            predictions_csv_uri=outputs["predictions_csv"],
        )
