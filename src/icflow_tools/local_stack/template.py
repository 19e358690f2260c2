"""template.yaml as data: CloudFormation's short-form tags become their long forms, SAM's Globals are merged."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from icflow.core.errors import IcflowError

SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (!Ref, !GetAtt, !Sub, ...) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    try:
        template = yaml.load(path.read_text(), Loader=_CloudFormationLoader)
    except (OSError, yaml.YAMLError) as error:
        raise IcflowError(f"cannot read the template {path}: {error}; pass a SAM template.yaml") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise IcflowError(f"{path} has no Resources section; pass a SAM template.yaml")
    return template


def _merge_globals(globals_: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """SAM's rules: maps merge (the resource wins), lists concatenate (globals first), scalars are overridden."""
    merged = copy.deepcopy(globals_)
    for name, value in properties.items():
        current = merged.get(name)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[name] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[name] = current + value
        else:
            merged[name] = value
    return merged


def _is_intrinsic(value: dict[str, Any]) -> bool:
    if len(value) != 1:
        return False
    name = next(iter(value))
    return name in ("Ref", "Condition") or name.startswith("Fn::")


def function_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's Globals.Function applied, as SAM applies them."""
    resource = template["Resources"][logical_id]
    globals_ = template.get("Globals", {}).get("Function", {})
    return _merge_globals(globals_, resource.get("Properties") or {})
