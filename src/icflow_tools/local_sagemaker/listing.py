"""The List* operations' common request members: filters, sorting and NextToken paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from icflow_tools.local_sagemaker.errors import ValidationException
from icflow_tools.local_sagemaker.store import Record

DEFAULT_MAX_RESULTS = 10


def page(
    records: list[Record],
    params: dict[str, Any],
    name_field: str,
    status_field: str | None,
    summary: Callable[[Record], Record],
    sort_keys: dict[str, Callable[[Record], Any]] | None = None,
    default_order: str = "Descending",
) -> tuple[list[Record], str | None]:
    """Filter, sort and cut `records` as the request asks; returns the summaries and the next token.

    `default_order` is the operation's documented SortOrder default (Ascending for the job lists)."""
    selected = [record for record in records if _matches(record, params, name_field, status_field)]
    keys: dict[str, Callable[[Record], Any]] = {
        "Name": lambda r: r[name_field],
        "CreationTime": lambda r: r["CreationTime"],
        **({"Status": lambda r: r[status_field]} if status_field else {}),
        **(sort_keys or {}),
    }
    sort_by = params.get("SortBy", "CreationTime")
    if sort_by not in keys:
        raise ValidationException(f"SortBy {sort_by} is not supported by this operation; use one of {', '.join(keys)}.")
    selected.sort(key=keys[sort_by], reverse=params.get("SortOrder", default_order) == "Descending")
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise ValidationException("Invalid pagination token: pass the NextToken of the previous answer.") from None
    size = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    chunk = selected[start : start + size]
    token = str(start + size) if start + size < len(selected) else None
    return [summary(record) for record in chunk], token


def _matches(record: Record, params: dict[str, Any], name_field: str, status_field: str | None) -> bool:
    if "NameContains" in params and params["NameContains"].lower() not in record[name_field].lower():
        return False
    if status_field and "StatusEquals" in params and record.get(status_field) != params["StatusEquals"]:
        return False
    for member, field, after in (
        ("CreationTimeAfter", "CreationTime", True),
        ("CreationTimeBefore", "CreationTime", False),
        ("LastModifiedTimeAfter", "LastModifiedTime", True),
        ("LastModifiedTimeBefore", "LastModifiedTime", False),
    ):
        if member in params:
            value = record.get(field, record["CreationTime"])
            limit = _epoch(params[member])
            if (after and value <= limit) or (not after and value >= limit):
                return False
    return True


def _epoch(value: Any) -> float:
    """A request timestamp: boto3 sends epoch seconds; other clients may send ISO 8601."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValidationException(f"{value!r} is not a timestamp (epoch seconds or ISO 8601).") from None


def pick(record: Record, fields: tuple[str, ...]) -> Record:
    return {field: record[field] for field in fields if field in record}


def answer(key: str, items: list[Record], token: str | None) -> dict[str, Any]:
    return {key: items, **({"NextToken": token} if token else {})}
