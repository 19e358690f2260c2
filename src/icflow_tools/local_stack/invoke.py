"""One invocation of one function, like `sam local invoke` without Docker: against the local stack (its state
file holds each function's environment) or against the deployed stack in AWS (the deployed function's
environment, read with lambda:GetFunctionConfiguration)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError
from icflow_tools.local_stack.environment import lambda_environment
from icflow_tools.local_stack.functions import FunctionSpec, layer_dir
from icflow_tools.local_stack.process import FunctionProcess, Invocation
from icflow_tools.local_stack.state import read_state
from icflow_tools.local_stack.template import SERVERLESS_FUNCTION, function_properties, load_template


@dataclass(frozen=True)
class Prepared:
    spec: FunctionSpec
    environment: dict[str, str]
    log_path: Path


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2.0).close()
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError):
        return False
    return True


def prepare_local(state_file: Path, logical_id: str) -> Prepared:
    state = read_state(state_file)
    functions = state["functions"]
    if logical_id not in functions:
        raise IcflowError(f"the local stack has no function {logical_id}; it has {', '.join(sorted(functions))}")
    if not _reachable(state["endpoint_url"]):
        raise IcflowError(
            f"the local stack of {state_file} does not answer on {state['endpoint_url']}: "
            "start it with `icflow local up`"
        )
    function = functions[logical_id]
    spec = FunctionSpec(
        logical_id=logical_id,
        name=function["name"],
        arn=function["arn"],
        code_dir=Path(function["code_dir"]),
        handler=function["handler"],
        timeout_seconds=function["timeout_seconds"],
        memory_mb=function["memory_mb"],
        environment={},
        layer_dirs=tuple(Path(path) for path in function["layer_dirs"]),
    )
    return Prepared(spec, dict(function["environment"]), Path(function["log_file"]))


def _template_code(template_path: Path, logical_id: str) -> tuple[Path, str, tuple[Path, ...]]:
    """CodeUri, Handler and the template's own layers of a function, which run from this checkout."""
    from icflow_tools.local_stack.intrinsics import Resolver

    template = load_template(template_path)
    resources = template["Resources"]
    if resources.get(logical_id, {}).get("Type") != SERVERLESS_FUNCTION:
        names = sorted(lid for lid, res in resources.items() if res.get("Type") == SERVERLESS_FUNCTION)
        raise IcflowError(f"{template_path} has no function {logical_id}; it has {', '.join(names)}")
    props = function_properties(template, logical_id)
    root = template_path.resolve().parent

    def no_resources(name: str, attribute: str | None) -> Any:
        raise IcflowError(f"{logical_id}: CodeUri and Handler must not refer to {name}")

    resolver = Resolver({}, {}, {}, {}, no_resources)
    layers = tuple(
        layer_dir(root, resources[layer["Ref"]], resolver)
        for layer in props.get("Layers") or []
        if isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in resources
    )
    return (root / str(props["CodeUri"])).resolve(), str(props.get("Handler", "")), layers


def prepare_aws(template_path: Path, logical_id: str, stack_name: str, work_dir: Path) -> Prepared:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session()
    if session.get_credentials() is None:
        raise IcflowError(
            "no --local-state given and no AWS credentials found: start the local stack with "
            "`icflow local up` and pass --local-state .icflow/local.json, or configure AWS credentials"
        )
    code_dir, handler, layers = _template_code(template_path, logical_id)
    try:
        physical = session.client("cloudformation").describe_stack_resource(
            StackName=stack_name, LogicalResourceId=logical_id
        )["StackResourceDetail"]["PhysicalResourceId"]
        config = session.client("lambda").get_function_configuration(FunctionName=physical)
    except (BotoCoreError, ClientError) as error:
        raise IcflowError(
            f"cannot read {logical_id} of stack {stack_name} in AWS ({error}); deploy it with "
            "`sam deploy`, or give --stack-name"
        ) from error
    region = session.region_name or config["FunctionArn"].split(":")[3]
    spec = FunctionSpec(
        logical_id=logical_id,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        code_dir=code_dir,
        handler=handler,
        timeout_seconds=config["Timeout"],
        memory_mb=config["MemorySize"],
        environment={},
        layer_dirs=layers,
    )
    # The caller's own environment carries their credentials (profile, SSO, keys); the function's variables and
    # Lambda's reserved ones go on top.
    environment = {
        **os.environ,
        **config.get("Environment", {}).get("Variables", {}),
        **lambda_environment(spec.name, spec.arn, handler, str(code_dir), spec.memory_mb, region),
    }
    return Prepared(spec, environment, work_dir / "logs" / f"{logical_id}.aws.log")


def invoke_once(prepared: Prepared, event: Any) -> tuple[Invocation, str]:
    """Runs the function once in a fresh process; returns the invocation and the log lines it wrote."""
    prepared.log_path.parent.mkdir(parents=True, exist_ok=True)
    start = prepared.log_path.stat().st_size if prepared.log_path.exists() else 0
    process = FunctionProcess(prepared.spec, prepared.environment, prepared.log_path)
    try:
        invocation = process.invoke(event)
    finally:
        process.stop()
    with prepared.log_path.open("rb") as log:
        log.seek(start)
        return invocation, log.read().decode(errors="replace")
