"""The report function on the moto stack, through its handler and under its role: a labeled batch's event, as
LabeledBatches publishes it, becomes the batch's page; a model-ready event the run's page, with the epochs of the
job's log. Each page is then drawn in headless Chromium (support.report_pages)."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends
from PIL import Image

from icflow.algorithm.image_uris import image_uri
from icflow.batch.manifest import output_key
from icflow.batch.transform_state import TransformChange, build_handle_transform_state
from icflow.core import layout, naming
from icflow.core.batch_labeled import BATCH_LABELED_DETAIL_TYPE, BATCH_LABELED_SOURCE
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.run_ended import RunEndedDetail
from icflow.core.state import StateTable
from icflow.reports.training_logs import TRAINING_LOG_GROUP
from support.batches import collect, give_model, transform_jobs_created_once
from support.browser import BrowserPage
from support.report_pages import check_batch_page, check_run_page

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "my pets <b>"  # a name a page must escape
RUN_ID = "3f2a9c41d0b7"


@pytest.fixture(autouse=True)
def _transform_jobs_are_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    transform_jobs_created_once(monkeypatch)


def _image(color: tuple[int, int, int], fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, fmt)
    return out.getvalue()


def _delivered(stack: Stack, detail: ModelReadyDetail | RunEndedDetail) -> dict[str, Any]:
    """The event EventBridge delivers for `detail`, as IcflowEvents publishes it."""
    return {
        "version": "0",
        "id": "1",
        "source": detail.source,
        "detail-type": detail.detail_type,
        "account": DEFAULT_ACCOUNT_ID,
        "time": "2026-12-05T10:00:00Z",
        "region": stack.settings.region,
        "resources": [],
        "detail": detail.model_dump(mode="json"),
    }


def _page(stack: Stack, key: str) -> str:
    answer = stack.client("s3").get_object(Bucket=stack.bucket, Key=key)
    assert answer["ContentType"] == "text/html; charset=utf-8"
    return answer["Body"].read().decode("utf-8")


def _specs(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="icflow-chart-specs">(.*?)</script>', page, re.S)
    assert found, "the page carries no chart specs"
    return json.loads(found.group(1))


def test_a_labeled_batch_in_class_folders_gets_a_page_with_its_confusion_matrix(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, browser_page: BrowserPage, tmp_path: Path
) -> None:
    give_model(stack, DATASET, RUN_ID)
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=b"cat\ndog\n")
    files = {
        "cat/a.jpg": _image((200, 80, 40)),
        "cat/deep/b.png": _image((190, 90, 50), "PNG"),
        "dog/c.jpg": _image((40, 80, 200)),
        "loose.jpg": _image((90, 90, 90)),
        "notes.txt": b"not an image",
    }
    batch = collect(stack, handler_of, lambda_context, DATASET, files)
    outputs = {"cat/a.jpg": [0.9, 0.1], "cat/deep/b.png": [0.3, 0.7], "dog/c.jpg": [0.2, 0.8], "loose.jpg": [0.6, 0.4]}
    for relative, prediction in outputs.items():
        key = output_key(DATASET, batch["batch_id"], relative)
        s3.put_object(Bucket=stack.bucket, Key=key, Body=json.dumps({"prediction": prediction}).encode())
    queue = stack.events_queue(BATCH_LABELED_SOURCE, BATCH_LABELED_DETAIL_TYPE)
    job = batch["transform_job_name"]
    assert build_handle_transform_state(stack.adapters())(TransformChange(job, "Completed", None)).action == "labeled"

    (event,) = stack.received_events(queue)
    # moto's delivery leaves out the envelope's account; EventBridge always sends it.
    outcome = handler_of("reports")({"account": DEFAULT_ACCOUNT_ID, **event}, lambda_context)

    key = layout.batch_report_key(DATASET, batch["batch_id"])
    assert outcome == {
        "action": "rendered",
        "dataset": DATASET,
        "report_uri": f"s3://{stack.bucket}/{key}",
        "bytes": len(_page(stack, key).encode()),
    }
    page = _page(stack, key)
    assert "my pets &lt;b&gt;" in page and "my pets <b>" not in page  # the name as text, never as markup
    # One figure per labeled image in the gallery, lowest confidence first, each with its thumbnail.
    gallery = page.split('<section id="gallery">')[1].split("</section>")[0]
    names = re.findall(r'<span class="muted">([^<]+)</span></figcaption>', gallery)
    assert names == ["loose.jpg", "cat/deep/b.png", "dog/c.jpg", "cat/a.jpg"]
    assert re.findall(r'<figure data-label="(\w+)"', gallery) == ["cat", "dog", "dog", "cat"]
    assert gallery.count('<img src="data:image/jpeg;base64,') == 4
    specs = _specs(page)
    confusion = specs["confusion"]["data"]["values"]
    assert sum(cell["images"] for cell in confusion) == 3  # the images in class folders
    assert {(c["true"], c["predicted"]): c["images"] for c in confusion} == {
        ("cat", "cat"): 1,
        ("cat", "dog"): 1,
        ("dog", "cat"): 0,
        ("dog", "dog"): 1,
    }
    assert {row["label"]: row["images"] for row in specs["labels"]["data"]["values"]} == {"dog": 2, "cat": 2}
    assert "66.7%" in page  # accuracy: 2 of 3
    assert "notes.txt" in page  # skipped, and why
    # summary.json links the page.
    summary = json.loads(
        s3.get_object(Bucket=stack.bucket, Key=layout.predictions_prefix(DATASET, batch["batch_id"]) + "summary.json")[
            "Body"
        ].read()
    )
    assert summary["outputs"]["report"] == f"s3://{stack.bucket}/{key}"
    (tmp_path / "batch.html").write_text(page, encoding="utf-8")
    check_batch_page(
        browser_page, tmp_path / "batch.html", images=4, in_class_folders=3, screenshot="moto-batch-report"
    )


def _training_job(stack: Stack, name: str, spot: bool) -> None:
    stack.client("sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": image_uri(stack.settings.region), "TrainingInputMode": "File"},
        RoleArn=stack.settings.sagemaker_role_arn,
        HyperParameters={"epochs": "3", "num_classes": "2", "num_training_samples": "40"},
        OutputDataConfig={"S3OutputPath": f"s3://{stack.bucket}/{layout.artifacts_prefix(DATASET)}"},
        ResourceConfig={"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        EnableManagedSpotTraining=spot,
    )
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region].training_jobs[name]
    job.final_metric_data_list = [{"MetricName": "validation:accuracy", "Value": 0.8, "Timestamp": job.creation_time}]


def _log(stack: Stack, job_name: str, lines: list[str]) -> None:
    logs = stack.client("logs")
    logs.create_log_group(logGroupName=TRAINING_LOG_GROUP)
    stream = f"{job_name}/algo-1-1733400000"
    logs.create_log_stream(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream)
    # CloudWatch Logs refuses events older than 14 days: these are now's.
    now = int(time.time() * 1000)
    events = [{"timestamp": now + index, "message": line} for index, line in enumerate(lines)]
    logs.put_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream, logEvents=events)


def test_a_ready_model_gets_a_run_page_with_accuracy_per_epoch_from_the_job_log(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, browser_page: BrowserPage, tmp_path: Path
) -> None:
    job_name = naming.training_job_name(DATASET, RUN_ID)
    _training_job(stack, job_name, spot=True)
    _log(
        stack,
        job_name,
        [
            line
            for epoch, train, val in ((0, 0.5, 0.45), (1, 0.7, 0.8), (2, 0.9, 0.75))
            for line in (f"Epoch[{epoch}] Train-accuracy={train}", f"Epoch[{epoch}] Validation-accuracy={val}")
        ],
    )
    state = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    state.create_run(
        DATASET,
        RUN_ID,
        "training",
        {
            "kind": "training",
            "job_name": job_name,
            "input_format": "recordio",
            "min_validation_accuracy": 0.7,
            "inferred_hyperparameters": ["num_classes", "num_training_samples"],
            "dataset_summary": {
                "records": {"train": 40, "validation": 8},
                "class_counts": {"train": {"0": 20, "1": 20}, "validation": {"0": 4, "1": 4}},
                "class_names": ["cat", "dog"],
            },
        },
    )
    model = naming.model_name(DATASET, RUN_ID)
    event = _delivered(
        stack,
        ModelReadyDetail(
            stack=stack.settings.stack_name,
            dataset=DATASET,
            run_id=RUN_ID,
            model_name=model,
            job_name=job_name,
            model_data_url=f"s3://{stack.bucket}/artifacts/x/model.tar.gz",
            metrics={"validation:accuracy": 0.8},
        ),
    )

    outcome = handler_of("reports")(event, lambda_context)

    key = layout.run_report_key(DATASET, RUN_ID)
    assert outcome["action"] == "rendered" and outcome["report_uri"] == f"s3://{stack.bucket}/{key}"
    page = _page(stack, key)
    specs = _specs(page)
    assert [row["epoch"] for row in specs["accuracy"]["data"]["values"]] == [0, 1, 2]
    gate, best = specs["accuracy"]["layer"][1], specs["accuracy"]["layer"][2]
    assert gate["data"]["values"][0]["gate"] == 0.7
    assert best["data"]["values"][0]["epoch"] == 1  # the highest validation accuracy
    assert {row["class"]: row["images"] for row in specs["classes"]["data"]["values"] if row["channel"] == "train"} == {
        "0: cat": 20,
        "1: dog": 20,
    }
    assert page.count("inferred by icflow") == 2
    assert model in page and "ml.g4dn.xlarge" in page
    (tmp_path / "run.html").write_text(page, encoding="utf-8")
    check_run_page(browser_page, tmp_path / "run.html", epochs=3, screenshot="moto-run-report")


def test_a_run_below_the_quality_gate_gets_a_page_saying_why_with_its_epochs(
    stack: Stack, handler_of: Callable[[str], Any], lambda_context: Any, browser_page: BrowserPage, tmp_path: Path
) -> None:
    job_name = naming.training_job_name(DATASET, RUN_ID)
    _training_job(stack, job_name, spot=False)
    _log(stack, job_name, [f"Epoch[{epoch}] Validation-accuracy=0.{epoch + 3}" for epoch in range(2)])
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).create_run(
        DATASET, RUN_ID, "training", {"kind": "training", "job_name": job_name, "min_validation_accuracy": 0.9}
    )
    reason = f"{job_name}: validation:accuracy 0.8000 is below the quality gate 0.9; no model was created"
    event = _delivered(
        stack,
        RunEndedDetail(
            stack=stack.settings.stack_name,
            dataset=DATASET,
            run_id=RUN_ID,
            status="rejected",
            reason=reason,
            job_name=job_name,
            training_job=job_name,
        ),
    )

    assert handler_of("reports")(event, lambda_context)["action"] == "rendered"

    page = _page(stack, layout.run_report_key(DATASET, RUN_ID))
    assert "No model: run rejected" in page and "below the quality gate 0.9" in page
    assert _specs(page)["accuracy"]["layer"][1]["data"]["values"][0]["gate"] == 0.9
    (tmp_path / "rejected.html").write_text(page, encoding="utf-8")
    check_run_page(browser_page, tmp_path / "rejected.html", epochs=2, screenshot="moto-rejected-run-report")
