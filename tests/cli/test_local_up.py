"""`icflow local up --faults`: faults the local SageMaker cannot inject are refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from icflow_tools.cli import main

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_a_fault_of_the_wrong_shape_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["local", "up", "--faults", '{"faults": [{"refuse": "CreateTrainingJob"}]}'])
    assert exit_.value.code == 2
    assert 'a refusal needs an "error"' in capsys.readouterr().err


def test_a_fault_on_an_operation_the_local_sagemaker_lacks_stops_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `local up` owns its process: keep its SIGTERM handler out of pytest's.
    monkeypatch.setattr("signal.signal", lambda *_: None)
    faults = '{"faults": [{"refuse": "CreateAutoMLJob", "error": "ThrottlingException"}]}'
    code = main(
        ["local", "up", "--port", "0", "--sagemaker-port", "0", "--work-dir", str(tmp_path)]
        + ["--template", str(TEMPLATE), "--faults", faults]
    )
    assert code == 1
    assert "--faults: the local SageMaker does not implement CreateAutoMLJob" in capsys.readouterr().err
