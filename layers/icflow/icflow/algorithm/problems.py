"""One error that lists every problem found in a piece of input, so users fix everything in one go."""

from __future__ import annotations

from collections.abc import Sequence

from icflow.core.errors import IcflowError


class InvalidInput(IcflowError):
    """Bad input with one or more problems; each problem names the field, the value and what is allowed."""

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"{subject}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(heading + "".join(f"\n- {problem}" for problem in self.problems))
