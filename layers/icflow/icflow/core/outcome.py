"""The base of every use case's typed outcome: `as_dict` is what a handler returns and logs."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar


class Outcome:
    """Mixed into a frozen dataclass. None fields are left out (except those named in `always`), nested outcomes
    become dicts and tuples lists, so the handler's JSON carries only what happened."""

    always: ClassVar[tuple[str, ...]] = ()

    def as_dict(self) -> dict[str, Any]:
        values = ((field.name, getattr(self, field.name)) for field in fields(self))  # type: ignore[arg-type]
        return {name: _plain(value) for name, value in values if value is not None or name in self.always}


def _plain(value: Any) -> Any:
    if isinstance(value, Outcome):
        return value.as_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value
