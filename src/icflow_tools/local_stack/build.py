"""The template's resources, created in moto in the order their references need, and its functions' specs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError
from icflow_tools.local_stack import resources
from icflow_tools.local_stack.functions import (
    TARGET_INPUT_OPTIONS,
    FunctionSpec,
    build_function,
    function_names,
    implicit_rules,
    layer_dir,
    rule_names,
)
from icflow_tools.local_stack.intrinsics import Resolver, parameter_values
from icflow_tools.local_stack.resources import Attributes, Target
from icflow_tools.local_stack.roles import sam_roles
from icflow_tools.local_stack.template import SERVERLESS_FUNCTION

logger = logging.getLogger(__name__)

LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
RULE_TYPE = "AWS::Events::Rule"


@dataclass(frozen=True)
class RuleDelivery:
    """A rule target that is one of the template's functions: EventBridge -> this queue -> the function."""

    function_logical_id: str
    rule_name: str
    queue_url: str
    target_options: dict[str, Any]


@dataclass
class BuiltStack:
    target: Target
    parameters: dict[str, Any]
    attributes: dict[str, Attributes]
    types: dict[str, str]
    functions: dict[str, FunctionSpec]
    outputs: dict[str, Any]
    deliveries: list[RuleDelivery] = field(default_factory=list)


class StackBuilder:
    def __init__(self, template: dict[str, Any], root: Path, target: Target, overrides: dict[str, str]) -> None:
        self.template = template
        self.root = root
        self.target = target
        self.parameters = parameter_values(template.get("Parameters") or {}, overrides)
        # The functions' roles are SAM's: the template's resources plus the roles its translation adds.
        self.sam_roles = sam_roles(template, self.parameters, target.region, target.account_id)
        self.resources: dict[str, Any] = {**template["Resources"], **self.sam_roles.generated}
        pseudo = {
            "AWS::Region": target.region,
            "AWS::AccountId": target.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": target.stack_name,
            "AWS::StackId": target.arn("cloudformation", f"stack/{target.stack_name}/local"),
            "AWS::NotificationARNs": [],
        }
        self.resolver = Resolver(
            self.parameters, pseudo, template.get("Conditions") or {}, template.get("Mappings") or {}, self.attribute
        )
        self.attributes: dict[str, Attributes] = {}
        self._creating: list[str] = []
        self._implicit_rules = implicit_rules(template)
        self._layer_paths: dict[str, Path] = {}
        self.deliveries: list[RuleDelivery] = []

    def attribute(self, logical_id: str, name: str | None) -> Any:
        self.ensure(logical_id)
        return resources.attribute(self.attributes[logical_id], logical_id, name)

    def included(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.resolver.condition(condition)

    def ensure(self, logical_id: str) -> None:
        if logical_id in self.attributes:
            return
        if logical_id in self._implicit_rules:
            function_id, event_name = self._implicit_rules[logical_id]
            bus = (self.resources[function_id]["Properties"]["Events"][event_name].get("Properties") or {}).get(
                "EventBusName", "default"
            )
            self.attributes[logical_id] = rule_names(self.target, function_id, event_name, self.resolver.text(bus))
            return
        if logical_id not in self.resources:
            raise IcflowError(f"the template refers to {logical_id}, which is neither a resource nor a parameter")
        if not self.included(logical_id):
            raise IcflowError(f"the template refers to {logical_id}, whose condition is false with these parameters")
        if logical_id in self._creating:
            cycle = " -> ".join([*self._creating[self._creating.index(logical_id) :], logical_id])
            raise IcflowError(f"circular references in the template: {cycle}")
        self._creating.append(logical_id)
        try:
            self.attributes[logical_id] = self._create(logical_id, self.resources[logical_id])
        finally:
            self._creating.pop()

    def _create(self, logical_id: str, resource: dict[str, Any]) -> Attributes:
        resource_type = resource.get("Type", "")
        if resource_type == SERVERLESS_FUNCTION:
            # Names are all a reference needs; the function's own properties are resolved once all resources exist.
            return function_names(self.target, logical_id)
        if resource_type in LAYER_TYPES:
            arn = self.target.arn("lambda", f"layer:{self.target.physical_name(logical_id, 64)}:1")
            self._layer_paths[arn] = layer_dir(self.root, resource, self.resolver)
            return {"Ref": arn, "LayerVersionArn": arn}
        if resource_type == RULE_TYPE:
            return self._rule(logical_id, self.resolver.resolve(resource.get("Properties") or {}))
        creator = resources.CREATORS.get(resource_type)
        if creator is None:
            return resources.placeholder(self.target, logical_id, resource_type)
        attributes = creator(self.target, logical_id, self.resolver.resolve(resource.get("Properties") or {}))
        logger.info("created %s (%s): %s", logical_id, resource_type, attributes["Ref"])
        return attributes

    def _rule(self, logical_id: str, props: dict[str, Any]) -> Attributes:
        """A rule declared as AWS::Events::Rule: targets that are the template's functions go through a queue."""
        from icflow_tools.local_stack.wiring import WHOLE_EVENT, put_rule

        name = props.get("Name") or self.target.physical_name(logical_id, 64)
        function_arns = {
            function_names(self.target, lid)["Arn"]: lid
            for lid, res in self.resources.items()
            if res.get("Type") == SERVERLESS_FUNCTION
        }
        targets, deliveries = [], []
        for target in props.get("Targets", []):
            function_id = function_arns.get(target["Arn"])
            options = {k: target[k] for k in TARGET_INPUT_OPTIONS if k in target}
            if function_id is None:
                # moto's default delivery drops the event's `account`; AWS sends the whole event.
                targets.append(target if options else {**target, "InputTransformer": WHOLE_EVENT})
            else:
                deliveries.append((function_id, target["Id"], options))
        bus = props.get("EventBusName", "default")
        arn, delivered = put_rule(
            self.target,
            name,
            bus,
            props.get("EventPattern"),
            props.get("ScheduleExpression"),
            props.get("State", "ENABLED") == "ENABLED",
            targets,
            deliveries,
        )
        self.deliveries.extend(RuleDelivery(function_id, name, url, options) for function_id, url, options in delivered)
        return {"Ref": name, "Arn": arn}

    def build(self) -> BuiltStack:
        for logical_id in self.resources:
            if self.included(logical_id):
                self.ensure(logical_id)
        functions = {
            logical_id: build_function(
                self.template,
                logical_id,
                self.resolver,
                self.target,
                self.root,
                self._layer_paths,
                self.resolver.text(self.sam_roles.function_roles[logical_id]),
            )
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == SERVERLESS_FUNCTION and self.included(logical_id)
        }
        outputs = {
            name: self.resolver.resolve(output["Value"])
            for name, output in (self.template.get("Outputs") or {}).items()
            if output.get("Condition") is None or self.resolver.condition(output["Condition"])
        }
        types = {
            logical_id: resource.get("Type", "")
            for logical_id, resource in self.resources.items()
            if logical_id in self.attributes
        }
        return BuiltStack(self.target, self.parameters, self.attributes, types, functions, outputs, self.deliveries)


def describe(built: BuiltStack) -> dict[str, Any]:
    """The resources as the state file lists them: type and every attribute, by logical id."""
    return {
        logical_id: {"Type": built.types.get(logical_id, "AWS::Events::Rule"), **attributes}
        for logical_id, attributes in built.attributes.items()
    }
