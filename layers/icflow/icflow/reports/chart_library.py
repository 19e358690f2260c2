"""The charting library's JavaScript, inlined into every report so that a page draws its charts with no network.

Vega and Vega-Lite are a build artifact, vendored under vendor/ by `make vendor` (src/icflow_tools/vendor_charts.py)
and not committed. About 780 kB of JavaScript: only the report function imports this module, so only its cold
start reads them, once.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files

# vega-lite's UMD build reads the global `vega`, so vega comes first.
_SCRIPTS = ("vega.min.js", "vega-lite.min.js")
# Inside a <script> element the HTML parser ends the script at the first `</script`, wherever it stands in the
# JavaScript; `<\/` reads the same in a JS string or regular expression, and the parser does not stop on it.
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


@cache
def chart_scripts() -> str:
    """Two inline <script> elements, Vega then Vega-Lite, to put in a page's <head> before its charts' code."""
    return "\n".join(f"<script>{inline_script(_read(name))}</script>" for name in _SCRIPTS)


def chart_library_versions() -> dict[str, str]:
    """The vendored packages' versions, e.g. {"vega": "6.4.0", "vega-lite": "6.5.0"}, for a page to cite."""
    return dict(_versions())


@cache
def _versions() -> dict[str, str]:
    return json.loads(_read("versions.json"))


def inline_script(javascript: str) -> str:
    """javascript made safe to sit between <script> and </script>."""
    return _SCRIPT_END.sub(r"<\\/\1", javascript)


def _read(name: str) -> str:
    path = files(__package__).joinpath("vendor", name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise RuntimeError(
            f"the charting library is not vendored ({name} is missing from icflow/reports/vendor/): "
            "run `make vendor`; it is a build artifact, not committed"
        ) from error
