"""The one Logger, Tracer and Metrics of every function; service name and namespace come from the
POWERTOOLS_* variables the template sets in Globals.

Powertools' Tracer imports the X-Ray SDK even where it is disabled (it builds its provider first), and with it
wrapt, asyncio and botocore's client machinery, for nothing. So the Tracer is built only where traces are sent;
elsewhere (tests, the local stack, `sam local`) handlers get `Untraced`, whose decorator leaves them as they are."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

Handler = TypeVar("Handler", bound=Callable[..., Any])

# The only calls icflow makes are AWS APIs: patching botocore alone traces them, without importing the other
# libraries the X-Ray SDK can patch to find whether they are installed.
TRACED_MODULES = ("botocore",)


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """Powertools' own rule (`Tracer(disabled=None)`): traces are sent from Lambda (LAMBDA_TASK_ROOT) unless
    POWERTOOLS_TRACE_DISABLED says otherwise, never from `sam local` or Chalice's local server."""
    if resolve_truthy_env_var_choice(env=environ.get(constants.TRACER_DISABLED_ENV, "false")):
        return False
    in_lambda = bool(environ.get(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(environ.get(constants.SAM_LOCAL_ENV) or environ.get(constants.CHALICE_LOCAL_ENV))
    return in_lambda and not emulated


class Untraced:
    """The Tracer's decorator where no trace is sent: the handler as it is."""

    def capture_lambda_handler(self, lambda_handler: Handler) -> Handler:
        return lambda_handler


logger = Logger()
tracer: Tracer | Untraced = Tracer(patch_modules=TRACED_MODULES) if tracing_enabled(os.environ) else Untraced()
metrics = Metrics()
