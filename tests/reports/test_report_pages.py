"""Pages drawn in headless Chromium from data the other tests do not reach: a tuning run with top-k accuracy and
its trials, and a batch whose labels and names are hostile to HTML and JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from icflow.reports.batch_page import batch_page
from icflow.reports.batch_report import BatchReportData, GalleryImage, GroundTruth
from icflow.reports.epoch_metrics import EpochMetrics
from icflow.reports.run_page import run_page
from icflow.reports.run_report import run_report_data
from icflow.reports.thumbnails import Thumbnail, thumbnail
from support.browser import BrowserPage
from support.report_pages import check_batch_page, check_run_page

START = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
HOSTILE = ['"><script>window.pwned=1</script>', "O'Brien & <Söhne>", "猫 </script>", "`${1+1}`"]


def test_a_tuning_run_draws_top_k_accuracy_and_every_trial(browser_page: BrowserPage, tmp_path: Path) -> None:
    epochs = [
        EpochMetrics(
            e,
            {
                "train:accuracy": 0.5 + e / 10,
                "validation:accuracy": 0.4 + e / 10,
                "train:top_k_accuracy_3": 0.8,
                "validation:top_k_accuracy_3": 0.7,
                "epoch_seconds": 2.0,
            },
        )
        for e in range(4)
    ]
    trials = [
        {
            "TrainingJobName": f"t-{i}",
            "TrainingJobStatus": "Completed" if i != 2 else "Failed",
            "TunedHyperParameters": {"learning_rate": str(10**-i), "optimizer": ["sgd", "adam"][i % 2]},
            **(
                {
                    "FinalHyperParameterTuningJobObjectiveMetric": {
                        "MetricName": "validation:accuracy",
                        "Value": 0.5 + i / 20,
                    }
                }
                if i != 2
                else {"FailureReason": HOSTILE[0]}
            ),
            "TrainingStartTime": START,
            "TrainingEndTime": START + timedelta(minutes=5),
        }
        for i in range(5)
    ]
    tuning = {
        "HyperParameterTuningJobName": "icflow-x-r",
        "BestTrainingJob": {"TrainingJobName": "t-4"},
        "HyperParameterTuningJobConfig": {"HyperParameterTuningJobObjective": {"MetricName": "validation:accuracy"}},
    }
    run = {
        "run_id": "r",
        "kind": "tuning",
        "job_name": "icflow-x-r",
        "min_validation_accuracy": 0.5,
        "dataset_summary": {"class_counts": {"train": {"0": 3, "1": 4}}, "class_names": HOSTILE[1:3]},
    }
    job = {
        "TrainingJobName": "t-4",
        "HyperParameters": {"top_k": "3", HOSTILE[3]: HOSTILE[0]},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
        "BillableTimeInSeconds": 300,
    }
    path = tmp_path / "tuning.html"
    path.write_text(run_page(run_report_data(HOSTILE[0], run, job, epochs, {}, tuning, trials)), encoding="utf-8")

    check_run_page(browser_page, path, epochs=4, screenshot="tuning-run-report")
    scored = browser_page.page.evaluate("window.icflowCharts.trials.data('trials')")
    assert sorted(row["trial"] for row in scored) == ["t-0", "t-1", "t-3", "t-4"]  # t-2 failed: listed, not plotted
    assert browser_page.page.evaluate("window.pwned") is None


def test_hostile_labels_and_names_are_text_and_a_missing_thumbnail_says_why(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    labels = HOSTILE[:2]
    images = tuple(
        GalleryImage(
            f"s3://b/batch/d/{labels[i % 2]}/{name}",
            f"batch/d/{labels[i % 2]}/{name}",
            f"{labels[i % 2]}/{name}",
            labels[(i + 1) % 3 % 2],
            0.5 + i / 10,
            ((labels[(i + 1) % 3 % 2], 0.5 + i / 10),),
            labels[i % 2],
        )
        for i, name in enumerate([HOSTILE[2], HOSTILE[3], "ok.png"])
    )
    truth = GroundTruth(tuple(labels), ((1, 1), (1, 0)), 3, 1, 1 / 3, 0, (images[0], images[1]))
    data = BatchReportData(
        "d",
        "b1",
        HOSTILE[0],
        {"transform_job": HOSTILE[1]},
        images,
        {labels[0]: 2, labels[1]: 1},
        ((HOSTILE[2], HOSTILE[0]),),
        (),
        {},
        truth,
    )
    pixel = thumbnail(Path(__file__).with_name("test_report_pages.py").read_bytes())  # not an image: a problem
    good = Thumbnail("data:image/gif;base64,R0lGODlhAQABAAAAACw=", 1, 1, None)
    thumbs = {images[0].key: good, images[1].key: good, images[2].key: good}
    path = tmp_path / "batch.html"
    path.write_text(batch_page(data, thumbs), encoding="utf-8")

    check_batch_page(browser_page, path, images=3, in_class_folders=3, screenshot="hostile-batch-report")
    assert browser_page.page.evaluate("window.pwned") is None
    assert browser_page.page.locator("text=" + HOSTILE[1]).count() >= 1
    assert pixel.data_uri is None and pixel.problem
    path.write_text(batch_page(data, {images[0].key: pixel}), encoding="utf-8")
    browser_page.open(path)
    assert browser_page.page.locator("#gallery .noimage").first.inner_text() == pixel.problem
