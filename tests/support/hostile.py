"""The contract every parser of outside input keeps, for property-based tests (Hypothesis).

A parser given anything returns a valid result or raises IcflowError with a reason; never another exception,
never unbounded time or memory. `parses_or_explains` checks all three at once: the bounds are guards against
a hang or a blow-up (an allocation sized by a value in the input, say), not speed targets, so they are wide.
"""

from __future__ import annotations

import json
import signal
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from icflow.core.errors import IcflowError

T = TypeVar("T")

# Generated inputs are small (kilobytes); what a parser may allocate for one is bounded well above that.
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024
TIME_LIMIT_SECONDS = 10

# One profile for every property: no per-example deadline (the machine is shared and noisy: the time guard
# above catches hangs instead), and examples enough to find what the hand-written cases missed.
settings.register_profile(
    "icflow",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("icflow")


class Unbounded(AssertionError):
    """A parser took more time or memory than any input of its size warrants."""


@contextmanager
def bounded(seconds: int = TIME_LIMIT_SECONDS, memory_bytes: int = MEMORY_LIMIT_BYTES) -> Iterator[None]:
    """Fails the test when the block runs longer than `seconds` or its allocations peak above `memory_bytes`."""

    def timeout(signum: int, frame: Any) -> None:
        raise Unbounded(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
        if peak > memory_bytes:
            raise Unbounded(f"allocated {peak} bytes at peak, over {memory_bytes}")
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def parses_or_explains(parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | IcflowError:
    """Runs `parse` within the bounds: its result, or the IcflowError it raised, whose reason is not empty.
    Any other exception propagates and fails the property."""
    with bounded():
        try:
            return parse(*args, **kwargs)
        except IcflowError as error:
            assert str(error).strip(), "an IcflowError must carry a reason"
            return error


def field_paths(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a JSON document, the document's own (()) first."""
    found = [path]
    if isinstance(document, dict):
        found += [p for key, item in document.items() for p in field_paths(item, (*path, key))]
    elif isinstance(document, list):
        found += [p for index, item in enumerate(document) for p in field_paths(item, (*path, index))]
    return found


def with_values(document: Any, replacements: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """A copy of a JSON document with the value at each path replaced (the whole document for ()); a path whose
    parent an earlier replacement removed is passed over."""
    for path, value in replacements:
        if not path:
            document = value
            continue
        copy = json.loads(json.dumps(document))
        target = copy
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
        document = copy
    return document


def documents_like(document: Any, values: SearchStrategy[Any], max_replaced: int) -> SearchStrategy[Any]:
    """`document` with one to `max_replaced` of its values (or itself) replaced by drawings of `values`."""
    replacement = st.tuples(st.sampled_from(field_paths(document)), values)
    return st.lists(replacement, min_size=1, max_size=max_replaced).map(lambda pairs: with_values(document, pairs))
