"""The error raised for files that are not, or no longer, valid RecordIO."""

from __future__ import annotations

from icflow.core.errors import IcflowError


class RecordIOError(IcflowError):
    """A .rec file (or payload) is corrupt, truncated or not RecordIO; `offset` is where in the file, if known."""

    def __init__(self, reason: str, offset: int | None = None, file: str | None = None) -> None:
        where = "" if offset is None else f" (at byte offset {offset})"
        super().__init__(f"{file}: {reason}{where}" if file else f"{reason}{where}")
        self.reason = reason
        self.offset = offset
        self.file = file

    def in_file(self, file: str) -> RecordIOError:
        """The same error, naming the file it was found in."""
        return RecordIOError(self.reason, self.offset, file)
