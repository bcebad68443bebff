"""Browser tabs for one test, checked at the end for uncaught errors and dialogs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page

from tests.browser.chat_page import ChatPage
from tests.support.live_server import QaServer

# Every Playwright wait and expect, unless a test says otherwise: a guard, not a measure (an
# expectation returns as soon as it holds), long enough for Chromium on a loaded 2-core machine.
TIMEOUT_MS = 15_000
DESKTOP = {"width": 1024, "height": 720}
# Each phase's report, kept on the test item (by conftest.py) so that a fixture can tell that
# its test failed.
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


class Tabs:
    """Opens browser tabs for one test and checks, at the end, that none misbehaved."""

    def __init__(self, browser: Browser, artifacts: Path, test_name: str) -> None:
        self._browser = browser
        self._artifacts = artifacts
        self._name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self._contexts: list[BrowserContext] = []
        self._pages: list[Page] = []
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []

    def new_context(self, **options: Any) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = self._browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        self._contexts.append(context)
        return context

    def new_page(self, context: BrowserContext | None = None, **options: Any) -> Page:
        page = (context or self.new_context(**options)).new_page()
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self._pages.append(page)
        return page

    def chat(
        self, server: QaServer, context: BrowserContext | None = None, **options: Any
    ) -> ChatPage:
        return ChatPage(self.new_page(context, **options), server.url)

    def screenshot(self, page: Page, name: str) -> Path:
        path = self._artifacts / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    def close(self, failed: bool) -> None:
        for index, page in enumerate(self._pages):
            if failed and not page.is_closed():
                page.screenshot(path=str(self._artifacts / f"FAILED-{self._name}-{index}.png"))
        for context in self._contexts:
            context.close()

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@contextlib.contextmanager
def checked_tabs(
    browser: Browser, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Tabs]:
    """Tabs of ``browser`` for the requesting test; afterwards, no uncaught error, no dialog."""
    tabs = Tabs(browser, artifacts, request.node.name)
    yield tabs
    reports = request.node.stash.get(REPORTS, {})
    tabs.close(failed=any(report.failed for report in reports.values()))
    assert not tabs.page_errors, f"uncaught errors in the page: {tabs.page_errors}"
    assert not tabs.dialogs, f"the page opened dialogs: {tabs.dialogs}"
