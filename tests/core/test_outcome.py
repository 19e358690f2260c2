from dataclasses import dataclass

from icflow.core.outcome import Outcome


@dataclass(frozen=True)
class Inner(Outcome):
    action: str
    reason: str | None = None


@dataclass(frozen=True)
class Outer(Outcome):
    action: str
    items: tuple[Inner, ...] = ()
    nested: Inner | None = None
    note: str | None = None


@dataclass(frozen=True)
class Carried(Outcome):
    always = ("reason",)

    action: str
    reason: str | None = None


def test_none_fields_are_left_out_and_nested_outcomes_become_plain_json():
    outcome = Outer("done", (Inner("a"), Inner("b", "why")), nested=Inner("c"))
    assert outcome.as_dict() == {
        "action": "done",
        "items": [{"action": "a"}, {"action": "b", "reason": "why"}],
        "nested": {"action": "c"},
    }
    assert list(outcome.as_dict()) == ["action", "items", "nested"]  # field order, as the handlers return it


def test_empty_tuples_stay_and_named_fields_are_carried_even_when_none():
    assert Outer("checked").as_dict() == {"action": "checked", "items": []}
    assert Carried("creating").as_dict() == {"action": "creating", "reason": None}
