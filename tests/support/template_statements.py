"""The statements of template.yaml's function policies, as the template writes them (before SAM expands them):
what the tests of who-may-do-what read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class Statement(NamedTuple):
    function: str  # the function's logical id
    actions: list[str]
    resources: list[Any]  # strings and intrinsics (Fn::Sub, Fn::GetAtt, Ref)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements(template: dict[str, Any], *functions: str) -> Iterator[Statement]:
    """Every statement of the named functions' policies (of every function when none is named)."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function" or (functions and logical_id not in functions):
            continue
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                yield Statement(logical_id, as_list(statement["Action"]), as_list(statement["Resource"]))
