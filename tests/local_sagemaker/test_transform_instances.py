"""How a transform job's objects are shared among its instances: runs of consecutive keys, as even as can be."""

from __future__ import annotations

import pytest

from icflow_tools.local_sagemaker.transform_instances import shares


@pytest.mark.parametrize(
    ("items", "instances", "expected"),
    [
        ("abcde", 2, [["a", "b", "c"], ["d", "e"]]),
        ("abcdef", 3, [["a", "b"], ["c", "d"], ["e", "f"]]),
        ("ab", 3, [["a"], ["b"], []]),  # more instances than objects: the rest stay idle
        ("", 2, [[], []]),
        ("abc", 1, [["a", "b", "c"]]),
    ],
)
def test_shares_are_consecutive_runs_differing_by_at_most_one(items, instances, expected):
    assert shares(list(items), instances) == expected


def test_every_object_goes_to_exactly_one_instance():
    items = list(range(1003))
    runs = shares(items, 7)
    assert [item for run in runs for item in run] == items
    assert max(map(len, runs)) - min(map(len, runs)) <= 1
