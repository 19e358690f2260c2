"""The browser harness (tests/support/browser.py) sees a chart the vendored library drew, and sees a page fail."""

from __future__ import annotations

import json
from pathlib import Path

from icflow.reports.chart_library import chart_scripts
from support.browser import BrowserPage, open_page

EPOCHS = [{"epoch": epoch, "accuracy": accuracy} for epoch, accuracy in enumerate([0.42, 0.61, 0.74, 0.8, 0.83], 1)]
SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"name": "epochs", "values": EPOCHS},
    "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "epoch", "type": "quantitative"},
        "y": {"field": "accuracy", "type": "quantitative"},
    },
}
# The way a report draws: Vega-Lite compiles to Vega, and the view is kept where a test can read its data.
DRAW = """
const view = new vega.View(vega.parse(vegaLite.compile(%s).spec), {renderer: 'svg', container: '#chart', hover: true});
view.runAsync().then(() => { window.icflowCharts = {accuracy: view}; });
"""


def _page(tmp_path: Path, body_script: str) -> Path:
    page = tmp_path / "page.html"
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{chart_scripts()}</head>'
        f'<body><div id="chart"></div><script>{body_script}</script></body></html>',
        encoding="utf-8",
    )
    return page


def test_a_vega_lite_chart_draws_one_point_per_row_with_no_error(tmp_path: Path) -> None:
    with open_page(_page(tmp_path, DRAW % json.dumps(SPEC))) as browser:
        browser.page.wait_for_function("window.icflowCharts !== undefined")
        rows = browser.page.evaluate("window.icflowCharts.accuracy.data('epochs')")
        points = browser.page.locator("#chart svg g.mark-symbol path").count()
        browser.screenshot("browser-harness-chart")
        assert browser.problems == []
    assert [row["accuracy"] for row in rows] == [row["accuracy"] for row in EPOCHS]
    assert points == len(EPOCHS)


def test_a_script_error_is_a_problem(browser_page: BrowserPage, tmp_path: Path) -> None:
    browser_page.open(_page(tmp_path, "window.noSuchFunction();"))
    assert len(browser_page.problems) == 1
    assert "noSuchFunction" in browser_page.problems[0]


def test_a_request_to_the_network_is_blocked_and_a_problem(browser_page: BrowserPage, tmp_path: Path) -> None:
    page = _page(tmp_path, "document.body.append(Object.assign(new Image(), {src: 'https://example.com/x.png'}));")
    with browser_page.page.expect_event("requestfailed"):
        browser_page.open(page)
    assert any("request failed: https://example.com/x.png" in problem for problem in browser_page.problems)
