"""The one reader of JSON request bodies, for every route of the local SageMaker (the API's and the faults').

Python's json parses nesting up to its recursion limit and raises RecursionError past it; a body parsed just under
that limit still overflows whatever walks it recursively afterwards (the request's validation, the faults' shapes).
No request of SageMaker's API nests more than about ten levels, so deeper bodies are refused as they are read.
"""

from __future__ import annotations

import json
from typing import Any

MAX_NESTING = 64


class UnreadableJson(ValueError):
    """The body is not JSON, or nests deeper than MAX_NESTING; the message says which."""


def read_json(body: bytes, empty: bytes) -> Any:
    """The parsed body, `empty` standing in for no body at all."""
    try:
        value = json.loads(body or empty)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:  # json.JSONDecodeError, and bytes that are not UTF-8
        raise UnreadableJson(f"The request body is not valid JSON: {error}") from None
    if _nesting(value) > MAX_NESTING:
        raise _too_deep()
    return value


def _too_deep() -> UnreadableJson:
    return UnreadableJson(
        f"The request body nests JSON more than {MAX_NESTING} levels deep; SageMaker's requests nest a few levels."
    )


def _nesting(value: Any) -> int:
    """How deep lists and objects nest in a parsed JSON value, walked without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
