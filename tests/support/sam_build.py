"""Where `sam build` writes (`make sam-build`), and its template, for tests/build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".aws-sam" / "build"


def built_template() -> dict[str, Any]:
    path = BUILD / "template.yaml"
    if not path.exists():
        pytest.fail("no .aws-sam/build: run `make sam-build` (part of `make test`) before tests/build")
    # sam build writes intrinsics in their long form ({"Ref": ...}), which plain YAML reads.
    return yaml.safe_load(path.read_text())


def layer_python(template: dict[str, Any]) -> Path:
    """The built layer's python/ folder, what Lambda puts on sys.path from /opt/python."""
    return BUILD / template["Resources"]["IcflowLayer"]["Properties"]["ContentUri"] / "python"
