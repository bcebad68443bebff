"""Browser-test fixtures: a real ``quart-qa serve`` subprocess and Debian's headless Chromium.

The server and the browser live for one test module (module scope, not session scope, so
Playwright's own event loop is gone before the asyncio tests of other modules run). Each
test gets fresh browser contexts, so tabs never share sessionStorage by accident.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.browser.browser_tabs import REPORTS, TIMEOUT_MS, Tabs, checked_tabs
from tests.browser.chat_page import FAST_CONFIG, ChatPage
from tests.support.apps import IN_CI, ROOT
from tests.support.live_server import QaServer

HERE = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so a fixture can tell that its test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _no_browser(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing browser is a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


def _launch(playwright: Playwright, *extra_args: str) -> Browser:
    if not CHROMIUM.is_file():
        _no_browser(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set QA_CHROMIUM)")
    try:
        return playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
    except PlaywrightError as error:
        _no_browser(f"Chromium at {CHROMIUM} does not start: {error.message}")


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = _launch(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def launch_browser(playwright: Playwright) -> Iterator[Callable[..., Browser]]:
    """Starts Chromium with more command-line flags; each closes with the module."""
    launched: list[Browser] = []

    def launch(*extra_args: str) -> Browser:
        launched.append(_launch(playwright, *extra_args))
        return launched[-1]

    yield launch
    for browser in launched:
        browser.close()


@pytest.fixture(scope="module")
def qa_server(artifacts: Path) -> Iterator[QaServer]:
    """One server for the module; every test uses its own random user id on it."""
    with QaServer(FAST_CONFIG, artifacts) as server:
        yield server


@pytest.fixture
def tabs(browser: Browser, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    with checked_tabs(browser, artifacts, request) as tabs:
        yield tabs


@pytest.fixture
def chat(tabs: Tabs, qa_server: QaServer) -> ChatPage:
    """A connected chat page on the module's server, with its own random user id."""
    page = tabs.chat(qa_server)
    page.open()
    return page
