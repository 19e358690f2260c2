"""The lines of the text files beside a .rec (.idx, .lst), decoded as UTF-8, numbered for messages.

These files come from users' tools (im2rec, editors, spreadsheets), so a byte that is not UTF-8 is bad
input like a malformed line: it becomes an IcflowError naming the file and the line, never a
UnicodeDecodeError from deep inside a reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from icflow.core.errors import IcflowError


def numbered_lines(source: Iterable[str | bytes], name: str, remedy: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, text) of each line of `source`: bytes lines, or a text stream; `remedy` ends the
    message of a line that is not UTF-8."""
    lines = iter(source)
    number = 0
    while True:
        number += 1
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            # A text stream decodes ahead of the line it returns, so the bad byte is here or a little further.
            raise IcflowError(
                f"{name} is not UTF-8 text at or after line {number} ({error.reason}); {remedy}"
            ) from None
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise IcflowError(
                    f"{name} line {number} is not UTF-8 text (byte 0x{line[error.start]:02x} at column "
                    f"{error.start + 1}); {remedy}"
                ) from None
        yield number, line


# A line quoted in a message is cut to this many characters: a file without line breaks is one line, and the
# message ends up in a run's status, a notification and a DynamoDB item of at most 400 KB.
QUOTED_CHARACTERS = 60


def quoted(text: str) -> str:
    """`text` as a message quotes it, cut to QUOTED_CHARACTERS."""
    if len(text) <= QUOTED_CHARACTERS:
        return repr(text)
    return f"{text[:QUOTED_CHARACTERS]!r}... ({len(text)} characters)"
