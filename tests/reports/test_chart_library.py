"""chart_library inlines the vendored Vega and Vega-Lite, in the order the browser needs them, or says how to vendor
them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from icflow.reports import chart_library
from icflow.reports.chart_library import chart_library_versions, chart_scripts, inline_script


@pytest.fixture
def uncached() -> Iterator[None]:
    chart_library.chart_scripts.cache_clear()
    chart_library._versions.cache_clear()
    yield
    chart_library.chart_scripts.cache_clear()
    chart_library._versions.cache_clear()


def test_vega_comes_before_vega_lite_each_in_one_script_element() -> None:
    scripts = chart_scripts()
    opened = [match.start() for match in re.finditer(r"<script>", scripts)]
    closed = [match.start() for match in re.finditer(r"</script", scripts, re.IGNORECASE)]
    assert len(opened) == len(closed) == 2
    assert opened[0] < closed[0] < opened[1] < closed[1]
    assert ").vega={}" in scripts[opened[0] : closed[0]]
    assert ").vegaLite={}" in scripts[opened[1] : closed[1]]


def test_the_versions_are_the_vendored_ones() -> None:
    assert chart_library_versions() == {"vega": "6.4.0", "vega-lite": "6.5.0"}


def test_a_script_end_inside_the_javascript_cannot_end_the_element() -> None:
    safe = inline_script('const tag = "</script>"; const other = "</SCRIPT >";')
    assert re.search(r"</script", safe, re.IGNORECASE) is None
    assert safe == 'const tag = "<\\/script>"; const other = "<\\/SCRIPT >";'


def test_without_the_vendor_folder_the_error_says_to_run_make_vendor(
    uncached: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(chart_library, "files", lambda package: tmp_path)
    with pytest.raises(RuntimeError, match="run `make vendor`"):
        chart_scripts()
    with pytest.raises(RuntimeError, match="run `make vendor`"):
        chart_library_versions()
