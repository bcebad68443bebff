"""Ten tabs of one origin, each holding an event stream, against quart-qa serving TLS.

Over HTTP/2 every stream shares one connection and every tab gets its answer. Over HTTP/1.1
(the same server; Chromium started with --disable-http2) the browser's six connections per
origin are held by six streams, and the seventh tab cannot even load the page until one closes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.browser_tabs import Tabs, checked_tabs
from tests.browser.chat_page import FAST_CONFIG, ChatPage, scripted_answer
from tests.support.live_server import QaServer
from tests.support.tls import TlsFiles

pytestmark = pytest.mark.timeout(90)

TABS = 10
HTTP1_CONNECTIONS_PER_ORIGIN = 6  # Chromium's limit (every browser has one like it)
BLOCKED_WINDOW_MS = 2_000  # how long the seventh tab is watched not loading
LOAD_TIMEOUT_MS = 20_000  # ten tabs loading at once on a busy machine
PROTOCOLS = """() => performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'))
    .map((entry) => entry.nextHopProtocol)"""


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles, artifacts: Path) -> Iterator[QaServer]:
    """quart-qa given a certificate on the command line: HTTPS, with HTTP/2 offered by ALPN."""
    options = ["--certfile", str(tls_files.cert), "--keyfile", str(tls_files.key)]
    with QaServer(FAST_CONFIG, artifacts, options=options, scheme="https") as server:
        yield server


def trusting(tls_files: TlsFiles) -> str:
    """The Chromium flag that trusts the test server's key, and no other."""
    return f"--ignore-certificate-errors-spki-list={tls_files.spki}"


@pytest.fixture(scope="module")
def h2_browser(launch_browser: Callable[..., Browser], tls_files: TlsFiles) -> Browser:
    return launch_browser(trusting(tls_files))


@pytest.fixture(scope="module")
def h1_browser(launch_browser: Callable[..., Browser], tls_files: TlsFiles) -> Browser:
    return launch_browser(trusting(tls_files), "--disable-http2")


def open_chats(tabs: Tabs, server: QaServer, count: int) -> list[ChatPage]:
    """``count`` tabs of one browser context, one after the other, each connected to its own
    stream before the next opens."""
    context = tabs.new_context()
    chats = []
    for _ in range(count):
        chat = ChatPage(tabs.new_page(context), server.url)
        chat.open()
        chats.append(chat)
    return chats


def open_chats_at_once(tabs: Tabs, server: QaServer, count: int) -> list[ChatPage]:
    """``count`` tabs of one browser context, all loading at once, then each connected."""
    context = tabs.new_context()
    chats = [ChatPage(tabs.new_page(context), server.url) for _ in range(count)]
    for chat in chats:
        chat.page.goto(f"{server.url}/", wait_until="commit")
    for chat in chats:
        expect(chat.status).to_have_attribute("data-state", "connected", timeout=LOAD_TIMEOUT_MS)
    return chats


def protocols(chat: ChatPage) -> set[str]:
    """The protocols the page and every resource it loaded went over."""
    return set(chat.page.evaluate(PROTOCOLS))


def test_ten_tabs_of_one_origin_each_stream_an_answer_over_http2(
    h2_browser: Browser, tls_server: QaServer, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    with checked_tabs(h2_browser, artifacts, request) as tabs:
        chats = open_chats_at_once(tabs, tls_server, TABS)  # ten streams open at once
        answers = [chat.ask(f"A question from tab {index}") for index, chat in enumerate(chats)]
        for chat, answer in zip(chats, answers, strict=True):
            chat.expect_answer(answer, scripted_answer(None))
            assert protocols(chat) == {"h2"}


def test_over_http1_the_seventh_tab_waits_until_a_stream_closes(
    h1_browser: Browser, tls_server: QaServer, artifacts: Path, request: pytest.FixtureRequest
) -> None:
    with checked_tabs(h1_browser, artifacts, request) as tabs:
        chats = open_chats(tabs, tls_server, HTTP1_CONNECTIONS_PER_ORIGIN)
        assert all(protocols(chat) == {"http/1.1"} for chat in chats)
        seventh = ChatPage(tabs.new_page(chats[0].page.context), tls_server.url)
        with pytest.raises(PlaywrightTimeoutError):
            seventh.page.goto(f"{tls_server.url}/", wait_until="commit", timeout=BLOCKED_WINDOW_MS)
        chats[0].page.close()  # frees one of the six connections: the waiting load goes on
        seventh.expect_connected()
        assert protocols(seventh) == {"http/1.1"}
