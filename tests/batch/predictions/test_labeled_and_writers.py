from __future__ import annotations

import csv
import json

from icflow.batch.predictions.labeled import label_prediction, top_indices
from icflow.batch.predictions.writers import CSV_BASE_COLUMNS, PredictionWriters, csv_columns
from icflow.core.class_names import choose_class_names

NAMES = choose_class_names('cat\ndog\nbird, "tweety"\n', None)


def test_top_indices_best_first_ties_to_the_lower_index():
    assert top_indices([0.1, 0.4, 0.1, 0.4], 3) == [1, 3, 0]
    assert top_indices([0.2, 0.8], 5) == [1, 0]


def test_label_prediction_names_the_best_class_and_the_runners_up():
    prediction = label_prediction("s3://b/batch/d/x.jpg", [0.2, 0.1, 0.7], NAMES, "model-1", top_k=2)
    assert (prediction.label, prediction.class_index, prediction.probability) == ('bird, "tweety"', 2, 0.7)
    assert [(r.label, r.probability) for r in prediction.top_k] == [('bird, "tweety"', 0.7), ("cat", 0.2)]
    assert prediction.model_name == "model-1"


def test_without_names_the_label_is_the_class_index():
    prediction = label_prediction("s3://b/x.jpg", [0.2, 0.8], choose_class_names(None, None), "m", top_k=1)
    assert (prediction.label, prediction.class_index) == ("1", 1)


def test_csv_columns_are_the_documented_set():
    assert csv_columns(2) == [
        "image_uri",
        "label",
        "probability",
        "class_index",
        "model_name",
        "top1_label",
        "top1_probability",
        "top2_label",
        "top2_probability",
    ]


def test_jsonl_and_csv_hold_the_same_rows(tmp_path):
    predictions = [
        label_prediction("s3://b/batch/d/a, b.jpg", [0.2, 0.1, 0.7], NAMES, "m", top_k=3),
        label_prediction('s3://b/batch/d/"quoted"\u00e9.png', [0.5, 0.25, 0.25], NAMES, "m", top_k=3),
    ]
    with PredictionWriters(tmp_path, top_k=3) as writers:
        for prediction in predictions:
            writers.write(prediction)
    assert writers.rows == 2

    records = [json.loads(line) for line in writers.jsonl_path.read_text(encoding="utf-8").splitlines()]
    with writers.csv_path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert records == [prediction.to_json() for prediction in predictions]
    assert len(rows) == len(records)
    for record, row in zip(records, rows):
        assert list(row) == csv_columns(3)
        assert {column: row[column] for column in CSV_BASE_COLUMNS} == {
            column: str(record[column]) for column in CSV_BASE_COLUMNS
        }
        for rank, ranked in enumerate(record["top_k"], start=1):
            assert row[f"top{rank}_label"] == ranked["label"]
            assert float(row[f"top{rank}_probability"]) == ranked["probability"]


def test_fewer_classes_than_k_leaves_the_extra_columns_empty(tmp_path):
    names = choose_class_names("cat\ndog\n", None)
    with PredictionWriters(tmp_path, top_k=3) as writers:
        writers.write(label_prediction("s3://b/a.jpg", [0.3, 0.7], names, "m", top_k=3))
    with writers.csv_path.open(encoding="utf-8", newline="") as file:
        row = next(csv.DictReader(file))
    assert (row["top2_label"], row["top3_label"], row["top3_probability"]) == ("cat", "", "")
