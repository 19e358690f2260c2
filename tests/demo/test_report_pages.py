"""The demo's copies of the report pages, against moto's S3: copied once rendered, and when a page does not come,
the demo goes on with a line saying which one and why (no function to render it, its failure, or its log)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from icflow.core import layout
from icflow_tools.demo import report_pages
from icflow_tools.demo.flow import DemoReport, TrainedRun
from icflow_tools.demo.report import render_report
from icflow_tools.demo.report_pages import REPORTS_FUNCTION, ReportPage, ReportPages

BUCKET = "icflow-data-example"
PAGE = b"<!doctype html><title>run report</title>"


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """A second passes at each poll; sleeping takes no time."""
    ticks = itertools.count()
    monkeypatch.setattr(report_pages.time, "sleep", lambda seconds: None)
    return map(float, ticks)


def _page(tmp_path: Path, name: str = "run") -> ReportPage:
    return ReportPage(name, layout.run_report_key("digits", "3f2a9c41d0b7"), tmp_path / "reports" / "run.html")


def _functions(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return {REPORTS_FUNCTION: {"log_file": str(tmp_path / "logs" / f"{REPORTS_FUNCTION}.log")}}


def test_a_rendered_page_is_copied(s3: Any, tmp_path: Path) -> None:
    page = _page(tmp_path)
    s3.put_object(Bucket=BUCKET, Key=page.key, Body=PAGE)

    assert ReportPages(s3, BUCKET, _functions(tmp_path), 0.0).copy(page, deadline=float("inf")) is None
    assert page.local.read_bytes() == PAGE


def test_the_copy_waits_for_the_page_to_be_rendered(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Iterator[float]
) -> None:
    page = _page(tmp_path)
    polls: list[float] = []

    def render_on_third_poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            s3.put_object(Bucket=BUCKET, Key=page.key, Body=PAGE)

    monkeypatch.setattr(report_pages.time, "sleep", render_on_third_poll)
    pages = ReportPages(s3, BUCKET, _functions(tmp_path), 0.5, clock=lambda: next(clock))

    assert pages.copy(page, deadline=10.0) is None
    assert polls == [0.5, 0.5, 0.5] and page.local.read_bytes() == PAGE


def test_without_a_reports_function_the_page_is_missing_at_once(s3: Any, tmp_path: Path) -> None:
    def never(*_: Any) -> float:
        raise AssertionError("waited for a page nothing renders")

    why = ReportPages(s3, BUCKET, {}, 0.5, clock=never).copy(_page(tmp_path), deadline=float("inf"))

    assert why == f"the stack has no {REPORTS_FUNCTION} to render it (template.yaml)"
    assert not _page(tmp_path).local.exists()


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (
            "START RequestId: 1 Version: $LATEST\n[ERROR] KeyError: 'run_id'\n  File \"app.py\", line 3\nEND RequestId: 1\n"
            "[ERROR] ValueError: no epochs in the job's log\n",
            f"{REPORTS_FUNCTION} failed: [ERROR] ValueError: no epochs in the job's log",
        ),
        ("2026-01-01T00:00:00Z 2 Task timed out after 900.00 seconds\n", "Task timed out after 900.00 seconds"),
        ('{"level":"INFO","message":"rendered"}\n', f"{REPORTS_FUNCTION} logged no failure; its log:"),
        (None, f"{REPORTS_FUNCTION} has not logged anything"),
    ],
)
def test_a_page_that_never_comes_is_named_with_the_functions_last_failure(
    s3: Any, tmp_path: Path, clock: Iterator[float], log: str | None, expected: str
) -> None:
    functions = _functions(tmp_path)
    if log is not None:
        log_file = Path(functions[REPORTS_FUNCTION]["log_file"])
        log_file.parent.mkdir()
        log_file.write_text(log)
    page = _page(tmp_path)

    why = ReportPages(s3, BUCKET, functions, 0.5, clock=lambda: next(clock)).copy(page, deadline=5.0)

    assert why is not None and f"s3://{BUCKET}/{page.key} did not appear in time" in why and expected in why
    assert not page.local.exists()


def test_a_refused_read_ends_the_wait_with_its_code(s3: Any, tmp_path: Path) -> None:
    def refused(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://example", 403, {}, None), {"Error": {"Code": "403", "Message": "Forbidden"}}

    s3.meta.events.register("before-call.s3.HeadObject", refused)
    page = _page(tmp_path)

    why = ReportPages(s3, BUCKET, _functions(tmp_path), 0.5).copy(page, deadline=float("inf"))

    assert why == f"reading s3://{BUCKET}/{page.key} failed: 403"


def test_the_closing_report_shows_both_ways_and_lists_the_pages_and_the_missing_ones(tmp_path: Path) -> None:
    folders = TrainedRun(
        "digits", "job", "icflow-digits-3f2a", {"validation:accuracy": 0.971}, {"train": 540, "validation": 140}, 2
    )
    recordio = TrainedRun(
        "digits-recordio", "job", "icflow-digits-recordio-9e1b", {}, {"train": 544, "validation": 136}, 0
    )
    report = DemoReport(
        runs=[folders, recordio],
        training_jobs=1,
        accuracy=0.97,
        reports={"run digits": tmp_path / "run-3f2a.html", "batch a1B2": tmp_path / "batch-a1B2.html"},
        missing_reports={"batch c3D4": "the stack has no ReportsFunction to render it (template.yaml)"},
    )
    state = {
        "outputs": {"DataBucketName": BUCKET, "RunsTableName": "runs"},
        "logs_dir": "logs",
        "sagemaker_work_dir": "sagemaker",
    }

    lines = render_report(report, 1.0, 2.0, state).splitlines()

    assert (
        "  digits: 540 training and 140 validation images, 2 left out; validation:accuracy 0.971; "
        "model icflow-digits-3f2a"
    ) in lines
    assert (
        "  digits-recordio: 544 training and 136 validation images; no validation:accuracy; "
        "model icflow-digits-recordio-9e1b"
    ) in lines
    assert "  training jobs of digits after the repeated upload: 1" in lines
    assert f"    Run digits report: {tmp_path / 'run-3f2a.html'}" in lines
    assert f"    Batch a1B2 report: {tmp_path / 'batch-a1B2.html'}" in lines
    assert any(line.startswith("    Batch c3D4 report: missing: the stack has no ReportsFunction") for line in lines)
