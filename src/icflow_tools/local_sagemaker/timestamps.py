"""Timestamps: records hold epoch seconds (what JSON 1.1 sends); events carry epoch milliseconds as AWS's do."""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def to_event_form(shape: Shape, value: Any) -> Any:
    """Turn every timestamp member of `value` (shaped as `shape`) into epoch milliseconds."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            name: to_event_form(shape.members[name], item) if name in shape.members else item
            for name, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_event_form(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_event_form(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, (int, float)):
        return int(value * 1000)
    return value
