"""`icflow approve` and `icflow reject` against moto: the run's version in the Model Registry gets the decision and
the note; a run that does not wait for approval, or that the command cannot pick alone, gets the reason and what
to do, and the registry is left as it was."""

from __future__ import annotations

from typing import Any

import pytest

from icflow.core import naming
from icflow.core.state import RunStatus, StateTable
from icflow_tools.cli import main

DATASET = "my pets"
RUN = "0123456789ab"
OTHER_RUN = "ba9876543210"


def _register(aws: Any) -> str:
    """A version of the dataset's group, as icflow registers it under deploy.require_approval."""
    sagemaker = aws.client("sagemaker")
    group = naming.model_package_group_name(DATASET)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "image-classification", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["image/jpeg"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def _run(aws: Any, table: str, run_id: str, status: str, **fields: Any) -> None:
    StateTable(aws.client("dynamodb"), table).create_run(
        DATASET, run_id, status, {"model_name": naming.model_name(DATASET, run_id), **fields}, reason=None
    )


def _approval(aws: Any, arn: str) -> tuple[str, str | None]:
    package = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    return package["ModelApprovalStatus"], package.get("ApprovalDescription")


@pytest.fixture
def waiting(aws: Any, table: str) -> str:
    """The dataset's one run awaiting approval, with its version registered PendingManualApproval."""
    arn = _register(aws)
    _run(aws, table, RUN, RunStatus.AWAITING_APPROVAL.value, model_package_arn=arn)
    _run(aws, table, OTHER_RUN, RunStatus.FAILED.value)
    return arn


def test_approve_sets_the_waiting_runs_version_approved_with_the_note(
    aws: Any, waiting: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approve", "--dataset", DATASET, "--note", "looks right on the holdout", *stack_flags]) == 0

    assert _approval(aws, waiting) == ("Approved", "looks right on the holdout")
    out = capsys.readouterr().out
    group = naming.model_package_group_name(DATASET)
    assert f"approved version 1 of {group} (run {RUN}, model {naming.model_name(DATASET, RUN)})" in out
    assert "icflow deploys it when SageMaker reports the change" in out
    assert f"follow with `icflow status --dataset '{DATASET}'`" in out


def test_reject_by_run_id_sets_the_version_rejected(
    aws: Any, waiting: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reject", "--dataset", DATASET, "--run", RUN, "--note", "too many cats", *stack_flags]) == 0

    assert _approval(aws, waiting) == ("Rejected", "too many cats")
    out = capsys.readouterr().out
    assert f"rejected version 1 of {naming.model_package_group_name(DATASET)}" in out
    assert "icflow ends the run `rejected` when SageMaker reports the change" in out


def test_a_version_decided_already_is_said_so(
    aws: Any, waiting: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    aws.client("sagemaker").update_model_package(ModelPackageArn=waiting, ModelApprovalStatus="Approved")

    assert main(["approve", "--dataset", DATASET, *stack_flags]) == 0

    assert f"version 1 of {naming.model_package_group_name(DATASET)}" in (out := capsys.readouterr().out)
    assert "was approved already" in out


def test_without_run_the_command_needs_exactly_one_waiting_run(
    aws: Any, table: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approve", "--dataset", DATASET, *stack_flags]) == 1
    assert f"dataset '{DATASET}' has no runs" in capsys.readouterr().err

    _run(aws, table, OTHER_RUN, RunStatus.FAILED.value)
    assert main(["reject", "--dataset", DATASET, *stack_flags]) == 1
    err = capsys.readouterr().err
    assert f"icflow reject: error: no run of dataset '{DATASET}' awaits approval; its runs:" in err
    assert OTHER_RUN in err and "failed" in err

    arn = _register(aws)
    _run(aws, table, RUN, RunStatus.AWAITING_APPROVAL.value, model_package_arn=arn)
    _run(aws, table, "cccccccccccc", RunStatus.AWAITING_APPROVAL.value, model_package_arn=arn)
    assert main(["approve", "--dataset", DATASET, *stack_flags]) == 1
    err = capsys.readouterr().err
    assert f"2 runs of dataset '{DATASET}' await approval; give --run RUN_ID" in err
    assert RUN in err and "cccccccccccc" in err and OTHER_RUN not in err

    assert main(["approve", "--dataset", DATASET, "--run", "ffffffffffff", *stack_flags]) == 1
    assert f"dataset '{DATASET}' has no run ffffffffffff; its runs:" in capsys.readouterr().err
    assert _approval(aws, arn) == ("PendingManualApproval", None)


@pytest.mark.parametrize(
    ("status", "command", "said"),
    [
        ("training", "approve", "is training: its model goes to the Model Registry when the job completes"),
        ("rejected", "approve", "ended rejected: below the quality gate\nNothing waits for approval"),
        ("model_ready", "reject", "is model_ready: its model was released and icflow does not take it back"),
    ],
)
def test_a_run_that_does_not_wait_is_refused_with_what_to_do(
    aws: Any,
    table: str,
    stack_flags: list[str],
    capsys: pytest.CaptureFixture[str],
    status: str,
    command: str,
    said: str,
) -> None:
    arn = _register(aws)
    StateTable(aws.client("dynamodb"), table).create_run(
        DATASET, RUN, status, {"model_package_arn": arn}, reason="below the quality gate"
    )

    assert main([command, "--dataset", DATASET, "--run", RUN, *stack_flags]) == 1

    assert f"icflow {command}: error: run {RUN} of '{DATASET}' {said}" in capsys.readouterr().err
    assert _approval(aws, arn) == ("PendingManualApproval", None)


def test_approving_a_released_model_changes_nothing(
    aws: Any, table: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _register(aws)
    _run(aws, table, RUN, RunStatus.MODEL_READY.value, model_package_arn=arn)

    assert main(["approve", "--dataset", DATASET, "--run", RUN, *stack_flags]) == 0

    assert f"run {RUN} of '{DATASET}' is model_ready already" in capsys.readouterr().out
    assert _approval(aws, arn) == ("PendingManualApproval", None)


def test_a_run_without_a_version_or_a_version_sagemaker_lacks_is_refused(
    aws: Any, table: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _run(aws, table, RUN, RunStatus.AWAITING_APPROVAL.value)
    assert main(["approve", "--dataset", DATASET, *stack_flags]) == 1
    assert "records no model package (model_package_arn)" in capsys.readouterr().err

    gone = "arn:aws:sagemaker:us-east-1:123456789012:model-package/icflow-gone/1"
    _run(aws, table, OTHER_RUN, RunStatus.AWAITING_APPROVAL.value, model_package_arn=gone)
    assert main(["reject", "--dataset", DATASET, "--run", OTHER_RUN, *stack_flags]) == 1
    assert f"SageMaker refused to set {gone} to Rejected: ValidationException" in capsys.readouterr().err


def test_a_note_longer_than_sagemaker_keeps_is_refused_before_any_call(
    aws: Any, waiting: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reject", "--dataset", DATASET, "--note", "x" * 1025, *stack_flags]) == 1
    assert "--note is 1025 characters; SageMaker keeps at most 1024" in capsys.readouterr().err
    assert _approval(aws, waiting) == ("PendingManualApproval", None)
