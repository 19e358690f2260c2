"""What the runner needs to know of each AWS::Serverless::Function: code, handler, limits, environment, events."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError
from icflow_tools.local_stack.intrinsics import Resolver
from icflow_tools.local_stack.resources import Target
from icflow_tools.local_stack.template import function_properties

# What a rule target may say about the input it receives (otherwise: the whole event).
TARGET_INPUT_OPTIONS = ("Input", "InputPath", "InputTransformer")

logger = logging.getLogger(__name__)

RULE_EVENT_TYPES = ("EventBridgeRule", "CloudWatchEvent", "Schedule")
DEFAULT_TIMEOUT_SECONDS = 3  # Lambda's defaults, which SAM keeps
DEFAULT_MEMORY_MB = 128
DEFAULT_ASYNC_RETRIES = 2
SQS_BATCH_WITHOUT_WINDOW = 10  # larger SQS batches need a batching window of at least 1 s


@dataclass(frozen=True)
class RuleSource:
    """An EventBridge rule whose target is the function (invoked asynchronously, one event per invocation):
    an event pattern, or a schedule expression (SAM's Schedule events)."""

    event_name: str
    rule_name: str
    bus: str
    pattern: dict[str, Any] | None
    schedule: str | None = None
    target_options: dict[str, Any] = field(default_factory=dict)  # Input, InputPath, InputTransformer
    enabled: bool = True


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping: batches of messages, invoked synchronously."""

    event_name: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...] = ()
    rules: tuple[RuleSource, ...] = ()
    queues: tuple[QueueSource, ...] = ()
    async_retries: int = DEFAULT_ASYNC_RETRIES
    dead_letter_arn: str | None = None
    role_arn: str = ""  # the execution role, whose credentials the function's calls are signed with


def function_names(target: Target, logical_id: str) -> dict[str, str]:
    name = target.physical_name(logical_id, 64)
    return {"Ref": name, "Arn": target.arn("lambda", f"function:{name}")}


def rule_names(target: Target, logical_id: str, event_name: str, bus: str) -> dict[str, str]:
    """The rule SAM generates for an EventBridgeRule event, with its logical id `<Function><Event>`."""
    name = target.physical_name(f"{logical_id}{event_name}", 64)
    resource = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
    return {"Ref": name, "Arn": target.arn("events", resource)}


def implicit_rules(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """`<Function><Event>` logical id -> (function, event) for every rule SAM would generate."""
    rules = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
                if event.get("Type") in RULE_EVENT_TYPES:
                    rules[f"{logical_id}{event_name}"] = (logical_id, event_name)
    return rules


def _layer_dirs(layers: list[Any], layer_paths: dict[str, Path], logical_id: str) -> tuple[Path, ...]:
    dirs = []
    for arn in layers:
        if arn in layer_paths:
            dirs.append(layer_paths[arn])
        else:
            # A published layer (Powertools', say): its packages come from the tooling's own environment.
            logger.info("%s: layer %s is not in the template; its packages come from this Python", logical_id, arn)
    return tuple(dirs)


def _rule_source(target: Target, logical_id: str, event_name: str, props: dict[str, Any]) -> RuleSource:
    bus = props.get("EventBusName", "default")
    options = {key: props[key] for key in TARGET_INPUT_OPTIONS if key in props}
    return RuleSource(
        event_name=event_name,
        rule_name=rule_names(target, logical_id, event_name, bus)["Ref"],
        bus=bus,
        pattern=props.get("Pattern"),
        schedule=props.get("Schedule"),
        target_options=options,
        enabled=props.get("State", "ENABLED") == "ENABLED" and props.get("Enabled", True) not in (False, "false"),
    )


def queue_source(event_name: str, props: dict[str, Any]) -> QueueSource:
    batch_size = int(props.get("BatchSize", 10))
    window = float(props.get("MaximumBatchingWindowInSeconds", 0))
    if batch_size > SQS_BATCH_WITHOUT_WINDOW and window < 1:
        raise IcflowError(
            f"SQS event {event_name}: BatchSize {batch_size} needs MaximumBatchingWindowInSeconds of at least 1 "
            f"(Lambda refuses {window:g}); set a window, or a batch size of at most {SQS_BATCH_WITHOUT_WINDOW}"
        )
    return QueueSource(
        event_name=event_name,
        queue_arn=props["Queue"],
        batch_size=batch_size,
        batching_window_seconds=window,
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        enabled=props.get("Enabled", True) not in (False, "false"),
    )


def build_function(
    template: dict[str, Any],
    logical_id: str,
    resolver: Resolver,
    target: Target,
    root: Path,
    layer_paths: dict[str, Path],
    role_arn: str,
) -> FunctionSpec:
    props = function_properties(template, logical_id)
    runtime = resolver.text(props.get("Runtime", ""))
    if not runtime.startswith("python"):
        raise IcflowError(f"{logical_id} runs on {runtime or 'no runtime'}; the local stack runs Python functions only")
    code_uri = resolver.resolve(props.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise IcflowError(f"{logical_id}: CodeUri must be a folder of this repository to run locally, not {code_uri!r}")
    code_dir = (root / code_uri).resolve()
    if not code_dir.is_dir():
        raise IcflowError(f"{logical_id}: CodeUri {code_uri} is not a folder under {root}")
    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    rules, queues = [], []
    for event_name, event in (props.get("Events") or {}).items():
        event_type = event.get("Type")
        event_props = resolver.resolve(event.get("Properties") or {})
        if event_type in RULE_EVENT_TYPES:
            rules.append(_rule_source(target, logical_id, event_name, event_props))
        elif event_type == "SQS":
            queues.append(queue_source(event_name, event_props))
        else:
            logger.warning(
                "%s: event %s of type %s is not wired locally; use `icflow invoke` to run it",
                logical_id,
                event_name,
                event_type,
            )
    invoke_config = resolver.resolve(props.get("EventInvokeConfig") or {})
    dead_letter = resolver.resolve(props.get("DeadLetterQueue") or {})
    on_failure = invoke_config.get("DestinationConfig", {}).get("OnFailure", {})
    dead_letter_arn = dead_letter.get("TargetArn") or on_failure.get("Destination")
    if dead_letter_arn and ":sqs:" not in dead_letter_arn:
        logger.warning("%s: only SQS dead-letter destinations are used locally, not %s", logical_id, dead_letter_arn)
        dead_letter_arn = None
    names = function_names(target, logical_id)
    return FunctionSpec(
        logical_id=logical_id,
        name=names["Ref"],
        arn=names["Arn"],
        code_dir=code_dir,
        handler=resolver.text(props.get("Handler", "")),
        timeout_seconds=int(resolver.text(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
        memory_mb=int(resolver.text(props.get("MemorySize", DEFAULT_MEMORY_MB))),
        environment={name: resolver.text(value) for name, value in variables.items()},
        layer_dirs=_layer_dirs(resolver.resolve(props.get("Layers") or []), layer_paths, logical_id),
        rules=tuple(rules),
        queues=tuple(queues),
        async_retries=int(invoke_config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
        dead_letter_arn=dead_letter_arn,
        role_arn=role_arn,
    )


def layer_dir(root: Path, resource: dict[str, Any], resolver: Resolver) -> Path:
    """Where a layer's Python packages are: ContentUri itself when SAM builds it (BuildMethod python*, or
    makefile, whose layers/icflow/Makefile ships the folder's packages under python/ as the python builder
    does), else its python/ folder, as Lambda unpacks a layer zip to /opt/python."""
    props = resource.get("Properties") or {}
    content = resolver.resolve(props.get("ContentUri") or props.get("Content"))
    if not isinstance(content, str):
        raise IcflowError(f"a layer's ContentUri must be a folder of this repository to run locally, not {content!r}")
    folder = (root / content).resolve()
    method = str((resource.get("Metadata") or {}).get("BuildMethod", ""))
    built = method.startswith("python") or method == "makefile"
    return folder if built else folder / "python"
