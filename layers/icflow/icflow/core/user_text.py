"""The text files users write (pipeline.json, classes.txt): UTF-8, with or without a BOM, one rule for both.

Editors on Windows save UTF-8 with a BOM, or UTF-16 ("Unicode" in Notepad), or a legacy code page such as
Windows-1252; only the first is UTF-8 text, and the others are refused with the encoding to save in rather
than misread (a Latin-1 "café" read as UTF-8 would not even decode).
"""

from __future__ import annotations

import codecs

from icflow.core.errors import IcflowError

_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_user_text(data: bytes, name: str) -> str:
    """`data` as text, without a leading UTF-8 BOM; raises IcflowError naming the file, what it found and
    what to do when it is not UTF-8."""
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise IcflowError(f"{name} is {encoding} text; save it as UTF-8 (with or without BOM)")
    # NUL is valid UTF-8 but never in a text file: UTF-16 or UTF-32 without a BOM, whose ASCII would decode.
    nul = data.find(b"\x00")
    if nul >= 0:
        raise IcflowError(
            f"{name} has a NUL byte at offset {nul}, so it is UTF-16 or UTF-32 without a BOM, or not text; "
            "save it as UTF-8 (with or without BOM)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IcflowError(
            f"{name} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} is not UTF-8, "
            "perhaps Latin-1 or Windows-1252; save it as UTF-8 (with or without BOM)"
        ) from None
