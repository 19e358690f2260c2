"""The tools `make test` installs in venvs of their own (mxnet, the AWS CLI v1), found where the Makefile puts them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def reference_tool(variable: str, default: str, what: str) -> Path:
    """$`variable` (the Makefile sets it), else `default` below the repository; the test fails saying how to get
    the tool when it is missing. `what` names the tool and how to stand in for it."""
    configured = os.environ.get(variable)
    tool = Path(configured) if configured else Path(default)
    if not tool.is_absolute():
        tool = REPOSITORY / tool
    if not tool.exists():
        pytest.fail(
            f"{tool} does not exist; run `make test`, which builds {Path(default).parts[0]} (or set {variable} to "
            f"{what})",
            pytrace=False,
        )
    return tool
