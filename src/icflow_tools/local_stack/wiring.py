"""EventBridge rules with the template's own patterns, whose function targets are queues the runner drains.

moto cannot invoke Lambda, but it delivers rule matches to SQS targets; so each (rule, function) pair gets a
queue `<rule>-N-to-function`, and an AsyncPoller hands each message to the function as its event.

moto does not run schedules: a ScheduleTimer (pollers.py) puts the scheduled event on the rule's queue. And
moto matches a rule without an EventPattern against every event on the bus, so a schedule rule gets no
targets in moto and only the timer fills its queue; otherwise every event would invoke the scheduled
function, and one that writes to the bucket would invoke itself without end.

moto's default delivery drops the event's `account` and ignores a target's Input and InputPath; so a queue
(a function's, or one the template names as a target) receives the whole event (the predefined
`<aws.events.event.json>`), and `target_input` applies a function target's Input, InputPath or
InputTransformer as EventBridge would.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from jsonpath_ng.ext import parse as parse_jsonpath
from moto.events.utils import EventTemplateParser

from icflow_tools.local_stack.functions import FunctionSpec, RuleSource
from icflow_tools.local_stack.resources import Target, create_queue

logger = logging.getLogger(__name__)

DELIVERY_SUFFIX = "-to-function"
WHOLE_EVENT = {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"}
# EventBridge's own bookkeeping field, which moto leaves in the event it delivers.
_NOT_IN_AWS_EVENTS = ("ingestion-time",)


def target_input(event: dict[str, Any], options: dict[str, Any]) -> Any:
    """What a target receives for `event`, given its Input, InputPath or InputTransformer (or none)."""
    if "Input" in options:
        return json.loads(options["Input"])
    if "InputPath" in options:
        matches = parse_jsonpath(options["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in options:
        transformer = options["InputTransformer"]
        return EventTemplateParser.parse(transformer["InputTemplate"], transformer.get("InputPathsMap") or {}, event)
    return {key: value for key, value in event.items() if key not in _NOT_IN_AWS_EVENTS}


def put_rule(
    target: Target,
    name: str,
    bus: str,
    pattern: dict[str, Any] | None,
    schedule: str | None,
    enabled: bool,
    targets: list[dict[str, Any]],
    function_targets: list[tuple[str, str, dict[str, Any]]],
) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """Creates the rule and its targets; returns its ARN and (function logical id, queue URL, target options) per
    function target. `function_targets` are (function logical id, target id, Input/InputPath/InputTransformer)."""
    events = target.client("events")
    request: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": "ENABLED" if enabled else "DISABLED"}
    if pattern is not None:
        request["EventPattern"] = json.dumps(pattern)
    if schedule is not None:
        request["ScheduleExpression"] = schedule
    arn = events.put_rule(**request)["RuleArn"]
    delivered = []
    function_queues = []
    for function_id, target_id, options in function_targets:
        queue = create_queue(target, f"{name[: 80 - len(DELIVERY_SUFFIX) - 3]}-{len(delivered)}{DELIVERY_SUFFIX}", {})
        function_queues.append({"Id": target_id, "Arn": queue["Arn"], "InputTransformer": WHOLE_EVENT})
        delivered.append((function_id, queue["QueueUrl"], options))
    if pattern is None:  # a schedule: moto would deliver every event to its targets
        if targets:
            logger.warning(
                "rule %s: targets other than the template's functions are not run on a schedule locally", name
            )
    elif targets or function_queues:
        events.put_targets(Rule=name, EventBusName=bus, Targets=[*targets, *function_queues])
    return arn, delivered


@dataclass(frozen=True)
class WiredRule:
    source: RuleSource
    arn: str
    queue_url: str


def wire_function_rules(target: Target, spec: FunctionSpec) -> list[WiredRule]:
    """The rules of a function's EventBridgeRule and Schedule events, with the queue of each enabled one."""
    wired = []
    for source in spec.rules:
        target_id = f"{spec.logical_id}{source.event_name}Lambda"[:64]  # the target id SAM generates
        arn, delivered = put_rule(
            target,
            source.rule_name,
            source.bus,
            source.pattern,
            source.schedule,
            source.enabled,
            [],
            [(spec.logical_id, target_id, source.target_options)],
        )
        if source.enabled:
            wired.extend(WiredRule(source, arn, url) for _, url, _ in delivered)
    return wired


_RATE = re.compile(r"^rate\((\d+) (minutes?|hours?|days?)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """The period of a rate() expression; None for cron() expressions, which the local stack does not run."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(rule_arn: str, region: str, account_id: str) -> dict[str, Any]:
    """What EventBridge sends a scheduled rule's targets."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
