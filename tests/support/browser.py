"""Headless Chromium for tests of the pages icflow writes (the reports): the distribution's chromium, driven by
Playwright.

A report must stand alone: it opens from disk or from a presigned URL, with no network. So every request other
than file: and data: is blocked, and recorded as a failed request; with each console error and uncaught exception
it lands in `BrowserPage.problems`, which a test asserts empty. `make browser` installs Debian's chromium;
Playwright's own browser downloads (`playwright install`) are never used.

    with open_page(tmp_path / "report.html") as browser:
        browser.page.wait_for_function("window.icflowCharts !== undefined")
        assert browser.problems == []
        browser.screenshot("run-report")

or, in any test folder, the `browser_page` fixture (tests/conftest.py): a page not yet opened,
`browser_page.open(path)`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Request, Route, sync_playwright

REPO = Path(__file__).resolve().parents[2]
# Kept after the run (CI uploads them; .icflow/ is not committed).
ARTIFACTS = REPO / ".icflow" / "test-artifacts"
CHROMIUM_ARGS = (
    "--headless",
    # Containers and CI runners give no user namespaces for chromium's sandbox; the pages are icflow's own.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No update checks, component downloads or sync: the only requests are the page's own.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
_LOCAL_SCHEMES = ("file:", "data:")


@dataclass
class BrowserPage:
    """One tab of a fresh headless Chromium, and what went wrong in it so far."""

    page: Page
    # Console errors, uncaught exceptions, failed or blocked requests, a crash: each one line.
    problems: list[str] = field(default_factory=list)

    def open(self, path_or_url: Path | str) -> None:
        """Loads a file (a Path or a file: URL) and waits for its load event."""
        url = path_or_url.resolve().as_uri() if isinstance(path_or_url, Path) else path_or_url
        self.page.goto(url, wait_until="load")

    def screenshot(self, name: str) -> Path:
        """The whole page as .icflow/test-artifacts/<name>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


@contextmanager
def browser_session() -> Iterator[BrowserPage]:
    """A fresh Chromium (its own temporary profile) with one blank tab, closed on exit."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make browser` (`make test` does), which installs Debian's package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", _local_only)
            page = context.new_page()
            session = BrowserPage(page)
            _record_problems(page, session.problems)
            yield session
        finally:
            browser.close()


@contextmanager
def open_page(path_or_url: Path | str) -> Iterator[BrowserPage]:
    """A fresh Chromium with path_or_url loaded."""
    with browser_session() as session:
        session.open(path_or_url)
        yield session


def _local_only(route: Route) -> None:
    # An aborted request fires `requestfailed` (net::ERR_BLOCKED_BY_CLIENT), so it is recorded with the others.
    if route.request.url.startswith(_LOCAL_SCHEMES):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _record_problems(page: Page, problems: list[str]) -> None:
    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def page_error(error: Error) -> None:
        problems.append(f"uncaught exception: {error.message}")

    def request_failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("console", console)
    page.on("pageerror", page_error)
    page.on("requestfailed", request_failed)
    page.on("crash", lambda _: problems.append("the page crashed"))
