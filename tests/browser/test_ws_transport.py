"""The chat page over a WebSocket (``?transport=ws``) in headless Chromium, beside an SSE tab."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Request, WebSocket, expect

from tests.browser.browser_tabs import Tabs
from tests.browser.chat_page import scripted_answer
from tests.support.live_server import QaServer

pytestmark = pytest.mark.timeout(25)


class SocketTab:
    """A chat page on ``?transport=ws``, with the sockets it opened and its /qa/ requests."""

    def __init__(self, tabs: Tabs, qa_server: QaServer, user_id: str) -> None:
        self.chat = tabs.chat(qa_server)
        self.sockets: list[str] = []
        self.requests: list[str] = []
        self.chat.page.on("websocket", self._socket_opened)
        self.chat.page.on("request", self._requested)
        self.chat.open(user_id, transport="ws")

    def _socket_opened(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)

    def _requested(self, request: Request) -> None:
        path = "/" + request.url.split("/", 3)[-1]
        if path.startswith("/qa/"):
            self.requests.append(path)


def new_user() -> str:
    return f"ws_{uuid.uuid4().hex[:12]}"


def test_socket_tab_and_sse_tab_show_the_same_answer(tabs: Tabs, qa_server: QaServer) -> None:
    user = new_user()
    over_socket = SocketTab(tabs, qa_server, user)
    over_sse = tabs.chat(qa_server)
    over_sse.open(user)

    answer = over_socket.chat.ask("Hello over a socket")
    final = scripted_answer(None)
    over_socket.chat.expect_answer(answer, final)
    beside = over_sse.answers.last
    over_sse.expect_answer(beside, final)
    rendered = [
        chat.answers.last.get_by_test_id("answer-text").inner_html()
        for chat in (over_socket.chat, over_sse)
    ]
    assert rendered[0] == rendered[1]

    assert over_socket.sockets == [f"ws://127.0.0.1:{qa_server.port}/qa/ws/{user}"]
    # The question went over the socket: no HTTP ask, no EventSource.
    assert [path for path in over_socket.requests if not path.startswith("/qa/session")] == []


def test_stop_over_the_socket_cancels_the_answer(tabs: Tabs, qa_server: QaServer) -> None:
    chat = SocketTab(tabs, qa_server, new_user()).chat
    answer = chat.ask("a slow answer, please")
    expect(answer.get_by_test_id("answer-text")).not_to_be_empty()
    chat.stop.click()
    expect(answer).to_have_attribute("data-state", "cancelled")
    expect(chat.send).to_be_visible()
    chat.expect_answer(chat.ask("and now a normal one"), scripted_answer(None))


def test_rejected_question_over_the_socket_is_explained(tabs: Tabs, qa_server: QaServer) -> None:
    chat = SocketTab(tabs, qa_server, new_user()).chat
    answer = chat.ask("x" * 201)  # fast.toml: limits.max_question_chars = 200
    expect(answer).to_have_attribute("data-state", "rejected")
    expect(answer.get_by_test_id("answer-note")).to_contain_text("413 question_too_long")


def test_reload_mid_answer_resumes_over_the_socket(tabs: Tabs, qa_server: QaServer) -> None:
    tab = SocketTab(tabs, qa_server, new_user())
    chat = tab.chat
    answer = chat.ask("a slow answer to reload in the middle of")
    text = answer.get_by_test_id("answer-text")
    expect(text).not_to_be_empty()
    before = text.inner_text()
    chat.page.reload()
    chat.expect_connected()
    # The new socket resumes after the last event the page showed (?last_event_id=).
    assert "?last_event_id=" in tab.sockets[-1]
    expect(answer).to_have_attribute("data-state", "streaming")
    expect(text).not_to_have_text(before)
    assert text.inner_text().startswith(before)
    assert scripted_answer("slow").startswith(text.inner_text())
    chat.stop.click()
    expect(answer).to_have_attribute("data-state", "cancelled")
