"""What a report page must show when a real browser draws it (support.browser): no error on the console, every
chart drawn, each id once, and the figures the page's data promises. Used on the demo's own pages (tests/local_stack/test_demo.py)
and on pages rendered from moto (tests/reports/test_report_pages.py); each page is kept as a screenshot."""

from __future__ import annotations

from pathlib import Path

from support.browser import BrowserPage


def _drawn(browser: BrowserPage, path: Path) -> None:
    browser.open(path)
    browser.page.wait_for_function("document.body.dataset.charts !== 'drawing'")
    assert browser.page.evaluate("document.body.dataset.charts") == "ready", browser.problems
    assert browser.problems == [], browser.problems
    ids = browser.page.evaluate("Array.from(document.querySelectorAll('[id]'), (element) => element.id)")
    assert len(ids) == len(set(ids)), f"ids used twice: {sorted({i for i in ids if ids.count(i) > 1})}"


def check_run_page(browser: BrowserPage, path: Path, epochs: int, screenshot: str, examples: int = 0) -> None:
    """The accuracy chart has one point per epoch of each series it draws, and one row per epoch of its data; the
    classes show `examples` training images in all."""
    _drawn(browser, path)
    assert browser.page.locator("#dataset .thumbs img").count() == examples
    rows = browser.page.evaluate("window.icflowCharts.accuracy.data('epochs')")
    assert [row["epoch"] for row in rows] == list(range(epochs))
    series = {name for row in rows for name in row if name != "epoch"}
    # Vega draws a line's points as a symbol mark; the best epoch's diamond is one symbol more.
    symbols = browser.page.locator("#chart-accuracy g.mark-symbol.role-mark path").count()
    assert symbols == epochs * len(series) + 1, (symbols, series)
    browser.screenshot(screenshot)
    assert browser.problems == [], browser.problems


def check_batch_page(browser: BrowserPage, path: Path, images: int, in_class_folders: int, screenshot: str) -> None:
    """One thumbnail per image in the gallery; the confusion matrix sums to the images in class folders; the label
    filter shows exactly the images of the label chosen."""
    _drawn(browser, path)
    page = browser.page
    assert page.locator("#gallery figure").count() == images
    assert page.locator("#gallery figure img").count() == images
    if in_class_folders:
        cells = page.evaluate("window.icflowCharts.confusion.data('confusion')")
        assert sum(cell["images"] for cell in cells) == in_class_folders
    labels = page.evaluate("window.icflowCharts.labels.data('labels')")
    label, count = labels[0]["label"], labels[0]["images"]
    page.select_option("#label-filter", label)
    assert page.locator("#gallery figure:not([hidden])").count() == count
    assert page.locator("#shown").inner_text() == str(count)
    page.select_option("#label-filter", "")
    browser.screenshot(screenshot)
    assert browser.problems == [], browser.problems
