"""CloudFormation's intrinsic functions, resolved against parameters, conditions and local resources.

Resource attributes come from a callback, so a reference can create the resource it names on first use:
that is how creation follows the template's own dependency order.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from icflow.core.errors import IcflowError

ACCOUNT_ID = "123456789012"  # moto's default account, which the local SageMaker uses too


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

AttributeLookup = Callable[[str, str | None], Any]  # (logical id, attribute or None for Ref) -> value

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _check_number(name: str, text: str, spec: Mapping[str, Any]) -> None:
    """CloudFormation's checks of a Number parameter: a number, within MinValue and MaxValue."""
    try:
        number = float(text)
    except ValueError:
        raise IcflowError(f"template parameter {name}={text!r} is not a number") from None
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise IcflowError(
            f"template parameter {name}={text} is outside {low if low is not None else '-inf'}.."
            f"{high if high is not None else 'inf'}"
        )


def parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Each parameter's value: the override, else the default; lists for CommaDelimitedList, strings otherwise."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise IcflowError(
            f"unknown template parameter(s) {', '.join(unknown)}; the template declares {', '.join(declared)}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise IcflowError(f"template parameter {name} has no default: give it with --parameter {name}=VALUE")
        text = _scalar_text(value)
        allowed = spec.get("AllowedValues")
        if allowed is not None and text not in [_scalar_text(item) for item in allowed]:
            raise IcflowError(f"template parameter {name}={text!r} is not one of {allowed}")
        if spec.get("Type") == "Number":
            _check_number(name, text, spec)
        values[name] = [item.strip() for item in text.split(",")] if spec.get("Type") == "CommaDelimitedList" else text
    return values


def _scalar_text(value: Any) -> str:
    """A YAML scalar as CloudFormation sees it: booleans lower case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_scalar_text(item) for item in value)
    return str(value)


class Resolver:
    def __init__(
        self,
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        conditions: Mapping[str, Any],
        mappings: Mapping[str, Any],
        attribute: AttributeLookup,
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._conditions = conditions
        self._mappings = mappings
        self._attribute = attribute
        self._condition_values: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self._conditions:
                raise IcflowError(f"the template uses condition {name}, which its Conditions section does not declare")
            self._condition_values[name] = bool(self.resolve(self._conditions[name]))
        return self._condition_values[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if name.startswith("Fn::"):
                return self._function(name[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def text(self, value: Any) -> str:
        """A resolved value as an environment variable holds it."""
        return _scalar_text(self.resolve(value))

    def _ref(self, name: str) -> Any:
        if name in self._parameters:
            return self._parameters[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        return self._attribute(name, None)

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._attribute(logical_id, self.resolve(attribute))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = (self.resolve(item) for item in argument)
            return _scalar_text(left) == _scalar_text(right)
        if name == "Not":
            return not self.resolve(argument[0])
        if name == "And":
            return all(self.resolve(item) for item in argument)
        if name == "Or":
            return any(self.resolve(item) for item in argument)
        if name == "Join":
            delimiter, items = argument
            return delimiter.join(_scalar_text(item) for item in self.resolve(items))
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            delimiter, text = argument
            return self.text(text).split(delimiter)
        if name == "FindInMap":
            map_name, top, second = (self.resolve(item) for item in argument)
            try:
                return self._mappings[map_name][top][second]
            except KeyError as error:
                raise IcflowError(f"Fn::FindInMap: Mappings has no {map_name}.{top}.{second}") from error
        if name == "Base64":
            return base64.b64encode(self.text(argument).encode()).decode()
        if name == "GetAZs":
            region = self._pseudo["AWS::Region"]
            return [f"{region}{zone}" for zone in "abc"]
        if name == "ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        raise IcflowError(f"Fn::{name} is not supported by the local stack; resolve it in the template another way")

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(variables[name])
            if "." in name and name not in self._pseudo:
                logical_id, attribute = name.split(".", 1)
                return _scalar_text(self._attribute(logical_id, attribute))
            return _scalar_text(self._ref(name))

        return _SUB_VARIABLE.sub(replace, template)
