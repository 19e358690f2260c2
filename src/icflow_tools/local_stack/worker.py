"""One function's execution environment: `python -m icflow_tools.local_stack.worker RESPONSE_FD CODE_DIR HANDLER [LAYER_DIR...]`.

Started with the function's environment, it imports the handler once (the cold start), then reads one JSON
request per line on stdin and answers one JSON line on RESPONSE_FD. stdout and stderr are the function's log,
with Lambda's START/END/REPORT lines around each invocation.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("ICFLOW_LOCAL_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _load(handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, attribute)


def _invoke(function: Any, request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request["request_id"], request["deadline"])
    try:
        result = function(request["event"], context)
        return {"ok": True, "result": json.loads(json.dumps(result))}
    except Exception as error:  # the function's failure is the invocation's answer, as in Lambda
        answer = _error(error)
        print(f"[ERROR] {answer['errorType']}: {answer['errorMessage']}\n{''.join(answer['stackTrace'])}", flush=True)
        return {"ok": False, "error": answer}


def main(argv: list[str]) -> int:
    response_fd, code_dir, handler, *layer_dirs = argv
    responses = os.fdopen(int(response_fd), "w", buffering=1)
    sys.path[:0] = [code_dir, *layer_dirs]
    os.chdir(code_dir)
    started = time.monotonic()
    try:
        function = _load(handler)
    except Exception as error:
        answer = _error(error, "Runtime.ImportModuleError")
        print(f"[ERROR] Runtime.ImportModuleError: Unable to import module '{handler}': {error}", flush=True)
        responses.write(json.dumps({"ready": False, "error": answer}) + "\n")
        return 1
    init_ms = (time.monotonic() - started) * 1000
    responses.write(json.dumps({"ready": True, "init_ms": init_ms}) + "\n")
    first = True
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        began = time.monotonic()
        answer = _invoke(function, request)
        duration = (time.monotonic() - began) * 1000
        max_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        init = f"\tInit Duration: {init_ms:.2f} ms" if first else ""
        print(f"END RequestId: {request_id}", flush=True)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tMemory Size: "
            f"{os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128')} MB\tMax Memory Used: {max_memory_mb} MB{init}",
            flush=True,
        )
        first = False
        responses.write(json.dumps({**answer, "duration_ms": duration}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
