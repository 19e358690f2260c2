"""The state file: the running local stack's connection details and functions, as JSON (default .icflow/local.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError

DEFAULT_WORK_DIR = Path(".icflow")
DEFAULT_STATE_FILE = DEFAULT_WORK_DIR / "local.json"


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Written whole or not at all: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise IcflowError(f"{path} does not exist: start the local stack with `icflow local up` first") from error
    except (OSError, ValueError) as error:
        raise IcflowError(f"cannot read the local stack's state file {path}: {error}") from error
    if not isinstance(state, dict) or "functions" not in state or "endpoint_url" not in state:
        raise IcflowError(f"{path} is not a state file written by `icflow local up`")
    return state
