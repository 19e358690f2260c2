"""`icflow invoke` against a running local stack: the sample events in events/, through the template's functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from icflow_tools.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_invoke_runs_a_function_with_a_sample_event(local_stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    event = REPO / "events" / "s3_object_created_train.json"
    status = main(
        ["invoke", "DatasetUploadFunction", "-e", str(event), "--local-state", str(local_stack.options.state_file)]
    )
    captured = capsys.readouterr()
    assert status == 0
    # The sample event names another bucket: the function answers, and leaves it alone, saying why.
    (outcome,) = json.loads(captured.out)["outcomes"]
    assert outcome["action"] == "ignored" and "not in this stack's bucket icflow-databucket" in outcome["reason"]
    assert "START RequestId" in captured.err and "REPORT RequestId" in captured.err


def test_invoke_reports_a_failing_function(
    local_stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "not-a-state-change.json"
    event.write_text(json.dumps({"detail-type": "something else", "detail": {}}))
    status = main(
        ["invoke", "TrainingStateFunction", "-e", str(event), "--local-state", str(local_stack.options.state_file)]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert json.loads(captured.out)["errorType"] == "ValidationError"


def test_invoke_names_unknown_functions(local_stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "invoke",
            "NoSuchFunction",
            "-e",
            str(REPO / "events" / "s3_put_classic.json"),
            "--local-state",
            str(local_stack.options.state_file),
        ]
    )
    assert status == 1
    assert "has no function NoSuchFunction" in capsys.readouterr().err


def test_invoke_without_a_running_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "invoke",
            "DatasetUploadFunction",
            "-e",
            str(REPO / "events" / "s3_put_classic.json"),
            "--local-state",
            str(tmp_path / "local.json"),
        ]
    )
    assert status == 1
    assert "icflow local up" in capsys.readouterr().err
