from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from icflow.batch.manifest import output_key, plan_batches, write_batch_inputs
from icflow.batch.predictions import labeler
from icflow.batch.predictions.labeler import LabelingRequest, label_batch
from icflow.batch.predictions.writers import csv_columns
from icflow.core.class_names import choose_class_names, load_class_names
from icflow.core.images import S3Object
from icflow.core.s3_objects import S3Objects

NAMES = "cat\ndog\nbird\n"


def request_for(plan, helpers, **overrides) -> LabelingRequest:
    fields = dict(
        bucket=helpers.BUCKET,
        dataset=plan.dataset,
        batch_id=plan.batch_id,
        model_name="icflow-pets-model-1",
        transform_job_name="icflow-pets-batch-1",
        class_names=choose_class_names(NAMES, None),
        top_k=2,
    )
    return LabelingRequest(**{**fields, **overrides})


@pytest.fixture
def transformed(s3, helpers):
    """A planned batch of four images plus litter, and the outputs SageMaker would have written for it."""
    uploads = {
        "batch/pets/a.jpg": helpers.JPEG,
        "batch/pets/sub/b.png": helpers.PNG,
        "batch/pets/c d.jpg": helpers.JPEG,
        "batch/pets/broken.jpg": helpers.JPEG,
        "batch/pets/.DS_Store": b"junk",
        "batch/pets/readme.txt": b"hello",
    }
    for key, body in uploads.items():
        helpers.put(s3, key, body)
    [plan] = plan_batches(s3, helpers.BUCKET, [S3Object(key) for key in uploads])
    write_batch_inputs(s3, plan)
    outputs = {
        "a.jpg": helpers.output_body([0.9, 0.05, 0.05]),
        "sub/b.png": helpers.output_body([0.1, 0.6, 0.3]),
        "c d.jpg": helpers.output_body([0.2, 0.1, 0.7]),
        "broken.jpg": helpers.output_body([0.5, 0.5]),  # two classes for a three-class model
    }
    for relative, body in outputs.items():
        helpers.put(s3, output_key(plan.dataset, plan.batch_id, relative), body)
    return plan


def test_predictions_summary_and_labeled_copies(s3, helpers, transformed, tmp_path):
    inputs_before = helpers.snapshot(s3, "batch/")
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = label_batch(
        s3,
        request_for(transformed, helpers, copy_to_labeled=True, job_timings={"TransformStartTime": started}),
        spill_dir=tmp_path,
        max_in_flight=2,
    )
    prefix = f"predictions/pets/{transformed.batch_id}/"

    records = [json.loads(line) for line in helpers.read(s3, prefix + "predictions.jsonl").decode().splitlines()]
    by_uri = {record["image_uri"]: record for record in records}
    uri = f"s3://{helpers.BUCKET}/batch/pets/"
    assert set(by_uri) == {uri + "a.jpg", uri + "sub/b.png", uri + "c d.jpg"}
    assert by_uri[uri + "sub/b.png"] == {
        "image_uri": uri + "sub/b.png",
        "label": "dog",
        "probability": 0.6,
        "class_index": 1,
        "model_name": "icflow-pets-model-1",
        "top_k": [{"label": "dog", "probability": 0.6}, {"label": "bird", "probability": 0.3}],
    }

    rows = list(csv.DictReader(io.StringIO(helpers.read(s3, prefix + "predictions.csv").decode(), newline="")))
    assert [row["image_uri"] for row in rows] == [record["image_uri"] for record in records]
    assert list(rows[0]) == csv_columns(2)

    summary = json.loads(helpers.read(s3, prefix + "summary.json"))
    assert summary == result.summary
    assert summary["count_per_label"] == {"bird": 1, "cat": 1, "dog": 1}
    assert summary["images"] == {
        "submitted": 4,
        "labeled": 3,
        "failed": 1,
        "missing_outputs": 0,
        "skipped": 2,
        "copied_to_labeled": 3,
        "not_copied_to_labeled": 0,
    }
    assert summary["failed"]["count_per_reason"] == {"wrong-length": 1}
    assert summary["failed"]["examples"][0]["image_uri"] == uri + "broken.jpg"
    assert {item["reason"] for item in summary["skipped"]} == {"hidden-or-system-file", "not-jpeg-or-png"}
    assert (summary["model_name"], summary["transform_job_name"]) == ("icflow-pets-model-1", "icflow-pets-batch-1")
    assert summary["timings"]["TransformStartTime"] == "2026-01-02T03:04:05+00:00"
    assert summary["timings"]["labeling_seconds"] >= 0

    assert helpers.read(s3, "labeled/pets/dog/sub/b.png") == helpers.PNG
    assert set(helpers.snapshot(s3, "labeled/")) == {
        "labeled/pets/cat/a.jpg",
        "labeled/pets/dog/sub/b.png",
        "labeled/pets/bird/c d.jpg",
    }
    assert helpers.snapshot(s3, "batch/") == inputs_before
    assert list(tmp_path.iterdir()) == []  # spill files are gone


def test_outputs_beyond_one_listing_page_are_all_labeled(s3, helpers, tmp_path, monkeypatch):
    monkeypatch.setattr(labeler, "LIST_PAGE_SIZE", 10)
    count = 123
    for i in range(count):
        body = helpers.output_body([0.3, 0.7] if i % 2 else [0.6, 0.4])
        helpers.put(s3, output_key("big", "b1", f"img/{i:05d}.jpg"), body)
    request = LabelingRequest(helpers.BUCKET, "big", "b1", "m", "j", choose_class_names(None, ["even", "odd"]))
    summary = label_batch(s3, request, spill_dir=tmp_path, max_in_flight=8).summary
    assert summary["images"]["labeled"] == count
    assert summary["count_per_label"] == {"even": (count + 1) // 2, "odd": count // 2}
    assert summary["images"]["submitted"] is None  # no inputs report: a transform icflow did not plan
    lines = helpers.read(s3, "predictions/big/b1/predictions.jsonl").decode().splitlines()
    assert [json.loads(line)["image_uri"] for line in lines] == [
        f"s3://{helpers.BUCKET}/batch/big/img/{i:05d}.jpg" for i in range(count)
    ]


def test_missing_outputs_are_counted(s3, helpers, transformed, tmp_path):
    s3.delete_object(Bucket=helpers.BUCKET, Key=output_key("pets", transformed.batch_id, "a.jpg"))
    summary = label_batch(s3, request_for(transformed, helpers), spill_dir=tmp_path).summary
    assert summary["images"]["missing_outputs"] == 1
    assert summary["images"]["copied_to_labeled"] == 0
    assert helpers.snapshot(s3, "labeled/") == {}


def test_index_labels_when_the_dataset_has_no_names(s3, helpers, transformed, tmp_path):
    class_names = load_class_names(S3Objects(s3, helpers.BUCKET), "pets", None)
    summary = label_batch(s3, request_for(transformed, helpers, class_names=class_names), spill_dir=tmp_path).summary
    # Without names any length is accepted, so the two-class output is labeled too.
    assert summary["count_per_label"] == {"0": 2, "1": 1, "2": 1}
    assert summary["class_names_source"] == "class index"


def test_running_again_gives_the_same_files(s3, helpers, transformed, tmp_path):
    request = request_for(transformed, helpers)
    label_batch(s3, request, spill_dir=tmp_path)
    prefix = f"predictions/pets/{transformed.batch_id}/"
    first = helpers.read(s3, prefix + "predictions.csv")
    label_batch(s3, request, spill_dir=tmp_path)
    assert helpers.read(s3, prefix + "predictions.csv") == first


def test_a_batch_that_was_all_skipped_still_gets_a_summary(s3, helpers, tmp_path):
    helpers.put(s3, "batch/pets/.DS_Store", b"junk")
    helpers.put(s3, "batch/pets/list.txt", b"a, b")
    [plan] = plan_batches(s3, helpers.BUCKET, [S3Object("batch/pets/.DS_Store"), S3Object("batch/pets/list.txt")])
    write_batch_inputs(s3, plan)
    summary = label_batch(s3, request_for(plan, helpers, transform_job_name=""), spill_dir=tmp_path).summary
    assert summary["images"]["submitted"] == 0 and summary["images"]["skipped"] == 2
    assert summary["count_per_label"] == {}
    csv_text = helpers.read(s3, f"predictions/pets/{plan.batch_id}/predictions.csv").decode()
    assert csv_text.splitlines() == [",".join(csv_columns(2))]


def test_a_copy_that_fails_costs_that_copy_only(s3, helpers, transformed, tmp_path):
    # A class name of 1,100 characters makes a labeled/ key over S3's 1,024-byte limit.
    long_name = "c" * 1100
    names = choose_class_names(f"{long_name}\ndog\nbird\n", None)
    result = label_batch(
        s3, request_for(transformed, helpers, copy_to_labeled=True, class_names=names), spill_dir=tmp_path
    )

    summary = result.summary
    assert summary["images"]["labeled"] == 3
    assert (summary["images"]["copied_to_labeled"], summary["images"]["not_copied_to_labeled"]) == (2, 1)
    (problem,) = summary["copies_failed"]["examples"]
    assert problem["image_uri"] == f"s3://{helpers.BUCKET}/batch/pets/a.jpg"
    assert "over S3's 1024-byte key limit" in problem["reason"] and "shorten the class name" in problem["reason"]
    assert set(helpers.snapshot(s3, "labeled/")) == {"labeled/pets/dog/sub/b.png", "labeled/pets/bird/c d.jpg"}


def test_a_refused_copy_is_listed_and_the_others_are_made(s3, helpers, transformed, tmp_path, monkeypatch):
    original = s3.copy_object

    def copy_object(**request):
        if request["Key"].endswith("a.jpg"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "CopyObject")
        return original(**request)

    monkeypatch.setattr(s3, "copy_object", copy_object)
    summary = label_batch(s3, request_for(transformed, helpers, copy_to_labeled=True), spill_dir=tmp_path).summary

    assert summary["images"]["labeled"] == 3 and summary["images"]["not_copied_to_labeled"] == 1
    assert "failed: AccessDenied" in summary["copies_failed"]["examples"][0]["reason"]
    assert len(helpers.snapshot(s3, "labeled/")) == 2
