"""Request validation against botocore's service model, answered as SageMaker answers it.

SageMaker reports every broken constraint in one ValidationException ("2 validation errors detected: Value
'x' at 'trainingJobName' failed to satisfy constraint: ..."); the member paths are lowerCamelCase.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from icflow_tools.local_sagemaker.errors import ValidationException


@functools.cache
def _pattern(expression: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expression)
    except re.error:
        return None  # a Java-only construct (\p{L}, ...): botocore's patterns are Java regexes


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return "null" if value is None else str(value)


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    def fail(constraint: str) -> None:
        problems.append(f"Value {_describe(value)} at '{path}' failed to satisfy constraint: {constraint}")

    kind = shape.type_name
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return fail("Member must be a structure")
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
                )
        for name, member_value in value.items():
            if name in shape.members and member_value is not None:
                _check(shape.members[name], member_value, _join(path, name), problems)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return fail("Member must be a list")
        _check_length(len(value), meta, fail)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}.{index + 1}.member", problems)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return fail("Member must be a map")
        _check_length(len(value), meta, fail)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.{key}.key", problems)
            _check(shape.value, item, f"{path}.{key}.value", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            return fail("Member must be a string")
        if shape.enum and value not in shape.enum:
            return fail(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        _check_length(len(value), meta, fail)
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.fullmatch(value):
            fail(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return fail("Member must be an integer")
        if "min" in meta and value < meta["min"]:
            fail(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"Member must have value less than or equal to {meta['max']}")
        return
    if kind in ("float", "double") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return fail("Member must be a number")
    if kind == "boolean" and not isinstance(value, bool):
        return fail("Member must be a boolean")
    if kind == "timestamp" and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
        return fail("Member must be a timestamp")


def _check_length(length: int, meta: dict[str, Any], fail: Any) -> None:
    if "min" in meta and length < meta["min"]:
        fail(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        fail(f"Member must have length less than or equal to {meta['max']}")


def _join(path: str, name: str) -> str:
    return f"{path}.{_path_name(name)}" if path else _path_name(name)


def without_nulls(value: Any) -> Any:
    """The request with every null member left out, as AWS's JSON protocol reads an explicit null: not set."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def validate_request(shape: StructureShape | None, params: Any) -> None:
    if shape is None:
        return
    if not isinstance(params, dict):
        raise ValidationException("The request body must be a JSON object.")
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(problems))
