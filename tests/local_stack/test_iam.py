"""The local stack enforces template.yaml's own roles: trim one statement from a copy of the template and the
function that needed it fails, naming the denied action and resource."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from icflow.core import layout

REPO = Path(__file__).resolve().parents[2]


def trimmed_template(root: Path, function: str, sid: str) -> Path:
    """A copy of template.yaml, next to the real functions and layer, without one statement of one function."""
    text = (REPO / "template.yaml").read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- Sid: {sid}" and _owner(lines, i) == function)
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip()) > indent or not lines[end].strip()):
        end += 1
    copy = root / "template.yaml"
    copy.write_text("".join(lines[:start] + lines[end:]))
    for folder in ("functions", "layers"):
        (root / folder).symlink_to(REPO / folder)
    return copy


def _owner(lines: list[str], index: int) -> str:
    """The top-level resource a line belongs to (two-space indented names under Resources)."""
    for line in reversed(lines[:index]):
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            return line.strip().rstrip(":")
    return ""


@pytest.mark.slow
def test_a_function_whose_policy_lacks_a_statement_fails_naming_the_denied_call(
    tmp_path: Path, wait: Callable[..., Any], tiny_dataset: dict[str, bytes]
) -> None:
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    template = trimmed_template(tmp_path, "DatasetUploadFunction", "ReadDatasets")
    upload_function = template.read_text().split("  DatasetUploadFunction:")[1].split("  TrainingStateFunction:")[0]
    assert "ReadDatasets" not in upload_function and "ReadDatasets" in (REPO / "template.yaml").read_text()
    options = StackOptions(
        template=template,
        work_dir=tmp_path / ".icflow",
        state_file=tmp_path / ".icflow" / "local.json",
        # moto's backends are the process's: names apart from the folder's own stack.
        stack_name="trimmed",
        sagemaker=False,
        # Decided a second after the last upload, rather than the template's minute.
        parameters={"DatasetSettleSeconds": "1"},
    )
    with LocalStack(options) as stack:
        bucket = stack.state()["outputs"]["DataBucketName"]
        # A dataset ready to train: the function reads its pipeline.json, which the trimmed role may not.
        for relative, body in tiny_dataset.items():
            stack.client("s3").put_object(Bucket=bucket, Key=f"{layout.dataset_prefix('denied')}{relative}", Body=body)
        key = f"{layout.dataset_prefix('denied')}pipeline.json"
        denial = wait(lambda: stack.authorizer.denials, 60, "the trimmed function's read being denied")[0]
        log = Path(stack.state()["functions"]["DatasetUploadFunction"]["log_file"])
        logged = wait(lambda: "AccessDenied" in log.read_text() and log.read_text(), 30, "the denial in its log")
    assert denial.caller is not None and denial.caller.session == "trimmed-DatasetUploadFunction"
    assert (denial.request.action, denial.request.resource) == ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")
    assert "trimmed-DatasetUploadFunction is not authorized to perform: s3:GetObject on resource:" in logged
