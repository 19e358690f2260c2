"""`icflow report` against moto: the page the stack rendered, downloaded and opened; and, when there is none,
what the run-state table says about why."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.awsrequest import AWSResponse

from icflow.core import layout
from icflow.core.state import RUNNING, BatchStatus, RunStatus, StateTable, batch_sk
from icflow_tools.cli import main
from icflow_tools.cli.stack_resources import StackResources

RUN_ID = "3f2a9c41d0b7"
PAGE = b"<!doctype html><title>run report</title><p>accuracy per epoch"


@pytest.fixture
def bucket(stack_flags: list[str]) -> str:
    return stack_flags[stack_flags.index("--bucket") + 1]


@pytest.fixture
def runs(aws: Any, table: str) -> StateTable:
    return StateTable(aws.client("dynamodb"), table)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of the state table one second after the previous one, so that "last labeled" is certain."""
    seconds = itertools.count()

    def now_iso() -> str:
        second = next(seconds)
        return f"2026-01-01T00:{second // 60:02d}:{second % 60:02d}.000+00:00"

    monkeypatch.setattr("icflow.core.state.now_iso", now_iso)


def _model_ready(runs: StateTable, dataset: str, run_id: str = RUN_ID) -> None:
    runs.create_run(dataset, run_id, RunStatus.TRAINING.value, {"job_name": f"icflow-{run_id}"})
    runs.transition(dataset, run_id, RunStatus.MODEL_READY.value, RUNNING)
    runs.update_dataset(dataset, {"status": "model_ready", "current_model_run_id": run_id})


def _batch(runs: StateTable, dataset: str, batch_id: str, status: str, reason: str | None = None) -> None:
    runs.create_item(
        dataset, batch_sk(batch_id), "batch", BatchStatus.TRANSFORMING.value, {"batch_id": batch_id, "images": 3}
    )
    if status != BatchStatus.TRANSFORMING.value:
        runs.transition_item(dataset, batch_sk(batch_id), status, (BatchStatus.TRANSFORMING.value,), reason=reason)


def _put(aws: Any, bucket: str, key: str, body: bytes = PAGE) -> None:
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html")


def test_without_run_or_batch_the_current_models_run_report_is_downloaded(
    aws: Any, runs: StateTable, bucket: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _model_ready(runs, "pets", "0ldrun000000")
    _model_ready(runs, "pets")
    _put(aws, bucket, layout.run_report_key("pets", RUN_ID))

    assert main(["report", "--dataset", "pets", *stack_flags]) == 0

    path = Path(".icflow/reports/pets/runs") / RUN_ID / "index.html"
    assert path.read_bytes() == PAGE
    out = capsys.readouterr().out
    assert str(path) in out and f"s3://{bucket}/reports/pets/runs/{RUN_ID}/index.html" in out


def test_a_named_run_keeps_the_dataset_name_as_spelled_under_the_output_folder(
    aws: Any, runs: StateTable, bucket: str, stack_flags: list[str], tmp_path: Path
) -> None:
    dataset = "Mes chats & chiens (été)"
    _put(aws, bucket, layout.run_report_key(dataset, "0ldrun000000"), b"older run")

    assert main(["report", "--dataset", dataset, "--run", "0ldrun000000", "--output", "pages", *stack_flags]) == 0

    assert (tmp_path / "pages" / dataset / "runs" / "0ldrun000000" / "index.html").read_bytes() == b"older run"


def test_url_prints_a_presigned_url_that_opens_the_page_without_credentials(
    aws: Any, runs: StateTable, bucket: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _model_ready(runs, "pets")
    _put(aws, bucket, layout.run_report_key("pets", RUN_ID))

    assert main(["report", "--dataset", "pets", "--url", "--expires", "600", *stack_flags]) == 0

    url = capsys.readouterr().out.strip()
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path.endswith(f"/reports/pets/runs/{RUN_ID}/index.html")
    # Signed for 600 s, by whichever signature version botocore presigns S3 with (X-Amz-Expires, or an Expires time).
    signed = query.get("X-Amz-Signature") or query.get("Signature")
    expires = query["X-Amz-Expires"] == ["600"] if "X-Amz-Expires" in query else int(query["Expires"][0]) > time.time()
    assert signed and expires
    assert not (tmp_path / ".icflow").exists()  # nothing downloaded

    err = _error(["report", "--dataset", "pets", "--url", "--expires", "0", *stack_flags], capsys)
    assert "lasts 1 to 604800 seconds" in err
    err = _error(["report", "--dataset", "pets", "--run", "000000000000", "--url", *stack_flags], capsys)
    assert "has no run 000000000000" in err


def test_latest_is_the_batch_labeled_last(
    aws: Any, runs: StateTable, bucket: str, stack_flags: list[str], clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.create_item("pets", batch_sk("first"), "batch", BatchStatus.TRANSFORMING.value, {"batch_id": "first"})
    runs.create_item("pets", batch_sk("second"), "batch", BatchStatus.TRANSFORMING.value, {"batch_id": "second"})
    runs.transition_item("pets", batch_sk("second"), BatchStatus.LABELED.value, (BatchStatus.TRANSFORMING.value,))
    # Created first, labeled last.
    runs.transition_item("pets", batch_sk("first"), BatchStatus.LABELED.value, (BatchStatus.TRANSFORMING.value,))
    runs.create_item("pets", batch_sk("third"), "batch", BatchStatus.PENDING.value, {"batch_id": "third"})
    for batch_id in ("first", "second"):
        _put(aws, bucket, layout.batch_report_key("pets", batch_id), batch_id.encode())

    assert main(["report", "--dataset", "pets", "--batch", "latest", *stack_flags]) == 0
    assert Path(".icflow/reports/pets/batches/first/index.html").read_bytes() == b"first"

    assert main(["report", "--dataset", "pets", "--batch", "second", *stack_flags]) == 0
    assert Path(".icflow/reports/pets/batches/second/index.html").read_bytes() == b"second"
    assert "s3://" in capsys.readouterr().out


def test_open_hands_the_file_uri_to_the_browser_and_survives_having_none(
    aws: Any,
    runs: StateTable,
    bucket: str,
    stack_flags: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _model_ready(runs, "pets")
    _put(aws, bucket, layout.run_report_key("pets", RUN_ID))
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda uri: opened.append(uri) or True)

    assert main(["report", "--dataset", "pets", "--open", *stack_flags]) == 0
    assert opened == [(tmp_path / ".icflow/reports/pets/runs" / RUN_ID / "index.html").as_uri()]
    assert "opened in the web browser" in capsys.readouterr().out

    monkeypatch.setattr("webbrowser.open", lambda uri: False)
    assert main(["report", "--dataset", "pets", "--open", *stack_flags]) == 0
    assert "no web browser could be opened here" in capsys.readouterr().out

    def no_browser(uri: str) -> bool:
        import webbrowser

        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr("webbrowser.open", no_browser)
    assert main(["report", "--dataset", "pets", "--open", *stack_flags]) == 0
    assert "no web browser could be opened here" in capsys.readouterr().out


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_no_such_dataset_lists_those_there_are(
    runs: StateTable, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs.update_dataset("pets", {"status": "waiting"})

    err = _error(["report", "--dataset", "Pets", *stack_flags], capsys)
    assert "no dataset 'Pets'" in err and "datasets: 'pets'" in err

    err = _error(["report", "--dataset", "Pets", "--run", RUN_ID, *stack_flags], capsys)
    assert "no dataset 'Pets'" in err


def test_no_model_yet_says_when_the_report_comes_and_shows_the_status(
    runs: StateTable, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs.create_run("pets", RUN_ID, RunStatus.TRAINING.value, {"job_name": f"icflow-pets-{RUN_ID}"})
    runs.update_dataset("pets", {"status": "training", "latest_run_id": RUN_ID})

    err = _error(["report", "--dataset", "pets", *stack_flags], capsys)
    assert "has no model yet" in err and "when the run's model is ready" in err
    assert "pets: training" in err and f"icflow-pets-{RUN_ID}" in err

    err = _error(["report", "--dataset", "pets", "--batch", "latest", *stack_flags], capsys)
    assert "no labeled batch yet" in err


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (RunStatus.MODEL_READY.value, None, "within a minute of the model-ready event"),
        (RunStatus.TRAINING.value, None, "still training: its report appears when it ends"),
        (RunStatus.FAILED.value, "AlgorithmError: out of memory", "AlgorithmError: out of memory"),
        (RunStatus.REJECTED.value, "below the quality gate", "within a minute of the run-ended event"),
    ],
)
def test_a_missing_run_report_says_why_from_the_runs_status(
    runs: StateTable,
    stack_flags: list[str],
    capsys: pytest.CaptureFixture[str],
    status: str,
    reason: str | None,
    expected: str,
) -> None:
    runs.create_run("pets", RUN_ID, RunStatus.TRAINING.value, {})
    if status != RunStatus.TRAINING.value:
        # A run whose job ran has its page asked for when it ends (report_uri); one ended before has none.
        job_ran = status != RunStatus.FAILED.value
        fields = {"report_uri": f"s3://bucket/{layout.run_report_key('pets', RUN_ID)}"} if job_ran else None
        runs.transition("pets", RUN_ID, status, RUNNING, fields=fields, reason=reason)

    err = _error(["report", "--dataset", "pets", "--run", RUN_ID, *stack_flags], capsys)
    assert expected in err
    if status == RunStatus.FAILED.value:
        assert "has no report" in err and "icflow status --dataset pets" in err

    err = _error(["report", "--dataset", "pets", "--run", "000000000000", *stack_flags], capsys)
    assert "has no run 000000000000" in err and "icflow status" in err


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (BatchStatus.LABELED.value, "within a minute of the batch-labeled event"),
        (BatchStatus.TRANSFORMING.value, "appears once it is labeled"),
        (BatchStatus.FAILED.value, "Only a labeled batch has a report"),
    ],
)
def test_a_missing_batch_report_says_why_from_the_batchs_status(
    runs: StateTable, stack_flags: list[str], capsys: pytest.CaptureFixture[str], status: str, expected: str
) -> None:
    reason = "ClientError: no such model" if status == BatchStatus.FAILED.value else None
    _batch(runs, "pets", "b1", status, reason)

    err = _error(["report", "--dataset", "pets", "--batch", "b1", *stack_flags], capsys)
    assert expected in err
    if status == BatchStatus.LABELED.value:
        assert "reports/pets/batches/b1/index.html does not exist" in err
    else:
        assert f"is {status}" in err and "icflow status --dataset pets" in err
    if reason:
        assert reason in err

    err = _error(["report", "--dataset", "pets", "--batch", "b2", *stack_flags], capsys)
    assert "has no batch b2" in err


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_a_refusal_is_named_access_denied(
    aws: Any,
    runs: StateTable,
    bucket: str,
    stack_flags: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    service: str,
) -> None:
    _model_ready(runs, "pets")
    _put(aws, bucket, layout.run_report_key("pets", RUN_ID))
    original = StackResources.client
    code = {"s3": "AccessDenied", "dynamodb": "AccessDeniedException"}[service]

    def refused(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://example", 403, {}, None), {
            "Error": {"Code": code, "Message": "not authorized"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    def client_for(self: StackResources, name: str) -> Any:
        client = original(self, name)
        if name == service:
            client.meta.events.register(f"before-call.{service}.{'GetObject' if service == 's3' else 'Query'}", refused)
        return client

    monkeypatch.setattr(StackResources, "client", client_for)

    err = _error(["report", "--dataset", "pets", *stack_flags], capsys)
    assert f"access denied ({code})" in err and "not authorized" in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--dataset", ".."), ("--dataset", "a/b"), ("--run", ".."), ("--batch", "../x")]
)
def test_nothing_is_written_outside_the_output_folder(
    aws: Any, stack_flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    dataset, which = (value, []) if flag == "--dataset" else ("pets", [flag, value])

    err = _error(["report", "--dataset", dataset, *which, "--output", "pages", *stack_flags], capsys)
    assert "no such dataset" in err or "is not a" in err
    assert not (tmp_path / "pages").exists()
