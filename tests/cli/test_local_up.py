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


@pytest.mark.parametrize("milliseconds", [["50", "20"], ["-1", "20"], ["nan", "20"], ["20", "inf"]])
def test_an_s3_latency_that_is_not_a_range_stops_the_start(
    milliseconds: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["local", "up", "--template", str(TEMPLATE), "--s3-latency-ms", *milliseconds])

    assert code == 1
    assert "is not a range of milliseconds: give LOW then HIGH" in capsys.readouterr().err


def test_with_an_s3_latency_every_s3_request_waits_and_other_services_do_not(tmp_path: Path) -> None:
    from icflow_tools.local_stack.s3_latency import S3LatencyRange
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    (tmp_path / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
    )
    options = StackOptions(
        template=tmp_path / "template.yaml",
        work_dir=tmp_path / ".icflow",
        state_file=tmp_path / ".icflow" / "local.json",
        sagemaker=False,
        s3_latency=S3LatencyRange(0.001, 0.002),
    )
    with LocalStack(options) as stack:
        bucket = stack.state()["resources"]["Bucket"]["Ref"]
        before = stack.s3_latency.delayed_requests
        s3 = stack.client("s3")
        s3.put_object(Bucket=bucket, Key="a", Body=b"x")
        s3.get_object(Bucket=bucket, Key="a")
        stack.client("sts").get_caller_identity()

        # The put and the get, behind the authorizer: not the STS call.
        assert stack.s3_latency.delayed_requests - before == 2
