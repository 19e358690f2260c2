"""The Tracer, and with it the X-Ray SDK, only where traces are sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from aws_lambda_powertools import Tracer

from icflow.core.observability import tracing_enabled

ENVIRONMENTS = [
    {},
    {"LAMBDA_TASK_ROOT": "/var/task"},
    {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
    {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"},
    {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"},
    {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
    {"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"},
    {"POWERTOOLS_TRACE_DISABLED": "false"},
]
VARIABLES = sorted({name for environment in ENVIRONMENTS for name in environment})


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_tracing_is_on_exactly_where_powertools_would_send_traces(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled(environment) is not bool(Tracer._is_tracer_disabled())


_PROBE = """
import json, sys
from icflow.core.observability import tracer

@tracer.capture_lambda_handler
def handler(event, context):
    return event

print(json.dumps({"tracer": type(tracer).__name__, "wrapped": hasattr(handler, "__wrapped__"),
                  "xray": "aws_xray_sdk" in sys.modules}))
"""


def _probe(**variables: str) -> dict[str, object]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in VARIABLES and not name.startswith(("AWS_XRAY", "_X_AMZN"))
    }
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**environment, **variables}, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


def test_where_tracing_is_off_the_xray_sdk_is_never_imported() -> None:
    assert _probe(LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true") == {
        "tracer": "Untraced",
        "wrapped": False,
        "xray": False,
    }


def test_in_lambda_the_handler_is_traced() -> None:
    assert _probe(LAMBDA_TASK_ROOT="/var/task") == {"tracer": "Tracer", "wrapped": True, "xray": True}
