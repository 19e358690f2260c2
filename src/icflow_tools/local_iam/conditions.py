"""IAM condition operators, as the policy language defines them.

A key absent from the request makes a positive operator false and a negated one (StringNotEquals, ArnNotLike,
...) true; `...IfExists` is true when the key is absent; `ForAnyValue:` / `ForAllValues:` compare sets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from icflow.core.errors import IcflowError

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]  # condition keys, lower-case, as IAM compares them


@cache
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` matches any run of characters, `?` any one character; everything else literally."""
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _arn_like(pattern: str, value: str) -> bool:
    # Each of an ARN's six colon-separated parts is matched on its own: a wildcard never spans a colon.
    expected, actual = pattern.split(":", 5), value.split(":", 5)
    return len(expected) == len(actual) and all(wildcard(e).match(a) for e, a in zip(expected, actual))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # compares false with everything, as a non-number does in IAM


Compare = Callable[[str, str], bool]  # (policy value, request value) -> match

_POSITIVE: dict[str, Compare] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
    "StringLike": lambda expected, actual: wildcard(expected).match(actual) is not None,
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
    "NumericEquals": lambda expected, actual: _number(actual) == _number(expected),
    "NumericLessThan": lambda expected, actual: _number(actual) < _number(expected),
    "NumericLessThanEquals": lambda expected, actual: _number(actual) <= _number(expected),
    "NumericGreaterThan": lambda expected, actual: _number(actual) > _number(expected),
    "NumericGreaterThanEquals": lambda expected, actual: _number(actual) >= _number(expected),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return ["true" if item is True else "false" if item is False else str(item) for item in items]


def _key_holds(operator: str, expected: list[str], actual: list[str] | None) -> bool:
    """One key of one operator: true when any expected value matches (all of them, for a negated operator)."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    negated = name in _NEGATED
    compare = _POSITIVE.get(_NEGATED.get(name, name))
    if compare is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise IcflowError(f"condition operator {operator} is not supported by the local IAM evaluator")
    if actual is None:
        return if_exists or negated or qualifier == "ForAllValues"

    def matches(value: str) -> bool:
        return any(compare(pattern, value) for pattern in expected)

    if qualifier == "ForAllValues":
        hit = all(matches(value) for value in actual)
    else:  # ForAnyValue, and a single-valued key
        hit = any(matches(value) for value in actual)
    return not hit if negated else hit


def conditions_hold(block: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """A statement's Condition: every operator, and every key under it, must hold."""
    for operator, keys in block.items():
        for key, expected in keys.items():
            value = context.get(key.lower())
            actual = None if value is None else [value] if isinstance(value, str) else list(value)
            if not _key_holds(operator, _values(expected), actual):
                return False
    return True
