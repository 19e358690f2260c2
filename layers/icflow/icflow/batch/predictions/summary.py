"""summary.json of a batch: count per label, what was skipped or failed and why, model, job, timings.

Its size is bounded by the number of classes and problem kinds, not by the number of images: per-image
failures are counted per reason and only the first MAX_ERROR_EXAMPLES are listed. The skipped objects
are listed in full; their number is bounded by the batch size the collector allows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from icflow.batch.predictions.labeled import ImageError, LabeledPrediction
from icflow.core.class_names import ClassNames

SUMMARY_FILE = "summary.json"
MAX_ERROR_EXAMPLES = 1000


def _json_default(value: Any) -> str:
    # DescribeTransformJob hands timings over as datetimes.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class CopyProblem:
    """A labeled image whose copy to labeled/ failed: its prediction stands."""

    image_uri: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"image_uri": self.image_uri, "reason": self.reason}


@dataclass
class SummaryBuilder:
    dataset: str
    batch_id: str
    model_name: str
    transform_job_name: str | None  # None when the dataset's endpoint labeled the batch
    class_names: ClassNames
    endpoint_name: str | None = None  # the endpoint that labeled the batch instead of a transform job
    images_submitted: int | None = None  # how many the manifest held, when known
    skipped: Sequence[Mapping[str, str]] = ()
    labels: Counter[str] = field(default_factory=Counter)
    errors_per_reason: Counter[str] = field(default_factory=Counter)
    error_examples: list[ImageError] = field(default_factory=list)
    labeled_copies: int = 0
    copy_problems: int = 0
    copy_problem_examples: list[CopyProblem] = field(default_factory=list)

    def add_prediction(self, prediction: LabeledPrediction) -> None:
        self.labels[prediction.label] += 1

    def add_error(self, error: ImageError) -> None:
        self.errors_per_reason[error.reason] += 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(error)

    def add_copy_problem(self, problem: CopyProblem) -> None:
        self.copy_problems += 1
        if len(self.copy_problem_examples) < MAX_ERROR_EXAMPLES:
            self.copy_problem_examples.append(problem)

    @property
    def labeled(self) -> int:
        return sum(self.labels.values())

    @property
    def failed(self) -> int:
        return sum(self.errors_per_reason.values())

    def to_json(self, outputs: Mapping[str, str | None], timings: Mapping[str, Any]) -> dict[str, Any]:
        missing = None if self.images_submitted is None else self.images_submitted - self.labeled - self.failed
        return {
            "dataset": self.dataset,
            "batch_id": self.batch_id,
            "model_name": self.model_name,
            "transform_job_name": self.transform_job_name,
            # Which path labeled the batch: a small batch goes to the dataset's endpoint, others to transform jobs.
            "labeled_by": (
                {"endpoint": self.endpoint_name} if self.endpoint_name else {"transform_job": self.transform_job_name}
            ),
            "class_names_source": self.class_names.source,
            # The names by class index the batch was labeled with (empty: only indexes known), for its report.
            "class_names": list(self.class_names.names),
            "images": {
                "submitted": self.images_submitted,
                "labeled": self.labeled,
                "failed": self.failed,
                # Submitted images without an output file; 0 for a Completed job.
                "missing_outputs": missing,
                "skipped": len(self.skipped),
                "copied_to_labeled": self.labeled_copies,
                "not_copied_to_labeled": self.copy_problems,
            },
            "count_per_label": dict(sorted(self.labels.items(), key=lambda item: (-item[1], item[0]))),
            "skipped": list(self.skipped),
            "failed": {
                "count_per_reason": dict(sorted(self.errors_per_reason.items())),
                "examples": [error.to_json() for error in self.error_examples],
                "examples_truncated": self.failed > len(self.error_examples),
            },
            "copies_failed": {
                "examples": [problem.to_json() for problem in self.copy_problem_examples],
                "examples_truncated": self.copy_problems > len(self.copy_problem_examples),
            },
            "outputs": dict(outputs),
            "timings": dict(timings),
        }

    def dumps(self, outputs: Mapping[str, str | None], timings: Mapping[str, Any]) -> bytes:
        return json.dumps(self.to_json(outputs, timings), indent=1, ensure_ascii=False, default=_json_default).encode()
