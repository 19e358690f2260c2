"""The lines of the text files beside a .rec (.idx, .lst), decoded as UTF-8, numbered for messages.

These files come from users' tools (im2rec, editors, spreadsheets), so a byte that is not UTF-8 is bad
input like a malformed line: it becomes an IcflowError naming the file and the line, never a
UnicodeDecodeError from deep inside a reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from icflow.core.errors import IcflowError

# Longer than any .idx line and any .lst line (an index, up to 4,096 labels, a 1,024-byte S3 key): a file that
# runs on without a line break is not one, and reading it as one line would hold all of it in memory.
MAX_LINE_BYTES = 1 << 16


def lines_of(chunks: Iterable[bytes], name: str) -> Iterator[bytes]:
    """The lines of a stream read in chunks (an S3 body's iter_chunks), split as bytes.splitlines splits them,
    holding at most one line and one chunk; a line longer than MAX_LINE_BYTES is an IcflowError naming it."""
    pending = b""
    number = 0
    for chunk in chunks:
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines else b""
        for line in lines:
            number += 1
            yield line
        if len(pending) > MAX_LINE_BYTES:
            raise IcflowError(
                f"{name} line {number + 1} runs past {MAX_LINE_BYTES} bytes without a line break; .idx and .lst "
                "lines are far shorter: check that it is the right file, saved as text"
            )
    if pending:
        yield pending


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
