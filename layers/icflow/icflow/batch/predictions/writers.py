"""predictions.jsonl and predictions.csv, written one row at a time to spill files.

Both files hold the same rows in the same order. A JSONL record is LabeledPrediction.to_json(); a CSV
row flattens it: the CSV_BASE_COLUMNS, then for rank r = 1..k the columns `top<r>_label` and
`top<r>_probability` (empty when the model has fewer than k classes). `csv_columns(k)` is that header.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import TracebackType
from typing import Any

from icflow.batch.predictions.labeled import LabeledPrediction

PREDICTIONS_JSONL = "predictions.jsonl"
PREDICTIONS_CSV = "predictions.csv"
JSONL_CONTENT_TYPE = "application/x-ndjson"
CSV_CONTENT_TYPE = "text/csv"

CSV_BASE_COLUMNS = ("image_uri", "label", "probability", "class_index", "model_name")


def csv_columns(top_k: int) -> list[str]:
    ranks = [(f"top{rank}_label", f"top{rank}_probability") for rank in range(1, top_k + 1)]
    return [*CSV_BASE_COLUMNS, *(column for pair in ranks for column in pair)]


def csv_row(record: dict[str, Any], top_k: int) -> list[Any]:
    """A predictions.jsonl record as a predictions.csv row under csv_columns(top_k)."""
    row = [record[column] for column in CSV_BASE_COLUMNS]
    for rank in range(top_k):
        ranked = record["top_k"][rank] if rank < len(record["top_k"]) else {"label": "", "probability": ""}
        row += [ranked["label"], ranked["probability"]]
    return row


class PredictionWriters:
    """Streams rows to `<directory>/predictions.jsonl` and `<directory>/predictions.csv`."""

    def __init__(self, directory: Path, top_k: int) -> None:
        self.top_k = top_k
        self.jsonl_path = directory / PREDICTIONS_JSONL
        self.csv_path = directory / PREDICTIONS_CSV
        self._jsonl = self.jsonl_path.open("w", encoding="utf-8")
        # newline="" lets the csv module write its own \r\n and keep newlines inside quoted cells intact.
        self._csv_file = self.csv_path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(csv_columns(top_k))
        self.rows = 0

    def write(self, prediction: LabeledPrediction) -> None:
        record = prediction.to_json()
        self._jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._csv.writerow(csv_row(record, self.top_k))
        self.rows += 1

    def close(self) -> None:
        self._jsonl.close()
        self._csv_file.close()

    def __enter__(self) -> PredictionWriters:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
