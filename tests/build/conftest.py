"""Runs the handlers `sam build` produced, as Lambda would, against a moto server.

Each invocation is a fresh interpreter started without site-packages (`-S`): it sees only the function's
build folder and the layer's `python/` folder, plus what the Lambda runtime itself provides (boto3 and what
it imports, `icflow_tools.lambda_runtime`) and the host builds of the layer's native extensions, because the
layer carries arm64 ones for Lambda. So a module missing from the layer or a handler that does not import
fails here, not in the cloud. The host's Python is not the runtime's, so the shipped python3.13 bytecode is
not used here; benchmarks/cold_start.py runs it under 3.13.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from icflow_tools.lambda_runtime import RUNTIME_PROVIDED
from support.sam_build import BUILD, REPO, built_template, layer_python

EVENTS = REPO / "events"
INVOKE_TIMEOUT_SECONDS = 120

_RUNNER = """
import json, sys
handler_module, event_file, result_file, layer = sys.argv[1:5]
module = __import__(handler_module)
import icflow
assert icflow.__file__.startswith(layer), f"icflow imported from {icflow.__file__}, not from the layer"

class Context:
    function_name = "icflow-build-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:icflow-build-test"
    memory_limit_in_mb = 512
    aws_request_id = "11111111-1111-1111-1111-111111111111"
    log_group_name = "/aws/lambda/icflow-build-test"
    log_stream_name = "build-test"

    def get_remaining_time_in_millis(self):
        return 60_000

with open(event_file) as source:
    event = json.load(source)
result = module.lambda_handler(event, Context())
with open(result_file, "w") as sink:
    json.dump(result, sink)
"""


def sample_environment() -> dict[str, str]:
    return dict(json.loads((EVENTS / "env.json").read_text())["Parameters"])


def _host_overlay(layer: Path, folder: Path) -> Path:
    """Host builds of the runtime-provided and native packages, to be found before the layer's."""
    site = Path(sysconfig.get_paths()["purelib"])
    native = {path.relative_to(layer).parts[0] for path in layer.rglob("*.so")}
    folder.mkdir()
    for name in sorted(native):
        (folder / name).symlink_to(site / name, target_is_directory=True)
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name}, which the Lambda runtime provides, is not installed here"
        # A package links its folder, a single-file module (six) its file.
        source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        (folder / source.name).symlink_to(source)
    return folder


@dataclass
class BuiltStack:
    template: dict[str, Any]
    environment: dict[str, str]
    endpoint: str
    overlay: Path
    tmp: Path

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.environment["AWS_REGION"]
        )

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        properties = self.template["Resources"][function]["Properties"]
        code = BUILD / properties["CodeUri"]
        layer = layer_python(self.template)
        handler_module = properties.get("Handler") or self.template["Globals"]["Function"]["Handler"]
        event_file = self.tmp / f"event-{function}.json"
        result_file = self.tmp / f"result-{function}.json"
        event_file.write_text(json.dumps(event))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(code), str(self.overlay), str(layer)]),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": function,
            # Lambda cannot write bytecode beside the code either; and the build output stays as built.
            "PYTHONDONTWRITEBYTECODE": "1",
            # Lambda sets both region variables; boto3 reads this one.
            "AWS_DEFAULT_REGION": self.environment["AWS_REGION"],
            **self.environment,
        }
        completed = subprocess.run(
            [
                sys.executable,
                "-S",
                "-c",
                _RUNNER,
                handler_module.split(".")[0],
                str(event_file),
                str(result_file),
                str(layer),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=INVOKE_TIMEOUT_SECONDS,
            cwd=self.tmp,
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
        return json.loads(result_file.read_text())


def _provision(template: dict[str, Any], environment: dict[str, str], stack: BuiltStack) -> None:
    """The data resources of the built template, with the key schemas it declares."""
    resources = template["Resources"]
    stack.client("s3").create_bucket(Bucket=environment["DATA_BUCKET"])
    dynamodb = stack.client("dynamodb")
    for logical_id, variable in (("RunsTable", "RUNS_TABLE"), ("IdempotencyTable", "IDEMPOTENCY_TABLE")):
        table = resources[logical_id]["Properties"]
        dynamodb.create_table(
            TableName=environment[variable],
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
        )
    stack.client("sns").create_topic(Name=environment["NOTIFICATIONS_TOPIC_ARN"].rsplit(":", 1)[1])


def _reset(endpoint: str) -> None:
    # moto keeps its state per process, not per server: every test starts from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()


@pytest.fixture
def built_stack(tmp_path: Path) -> Iterator[BuiltStack]:
    template = built_template()
    environment = sample_environment()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(timeout=30)
    assert not starter.is_alive(), "moto server did not start within 30 s"
    host, port = server.get_host_and_port()
    stack = BuiltStack(
        template,
        environment,
        f"http://{host}:{port}",
        _host_overlay(layer_python(template), tmp_path / "host"),
        tmp_path,
    )
    try:
        _reset(stack.endpoint)
        _provision(template, environment, stack)
        yield stack
    finally:
        _reset(stack.endpoint)
        server.stop()


@pytest.fixture
def sample_event() -> Any:
    return lambda name: json.loads((EVENTS / name).read_text())
