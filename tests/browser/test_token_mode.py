"""The chat page against a server in ``auth.mode = "token"``: it gets, uses and keeps a token."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Request, expect

from quart_qa.settings.auth import AuthSettings
from quart_qa.web.auth import token_user
from tests.browser.browser_tabs import Tabs
from tests.browser.chat_page import FAST_CONFIG, ChatPage, scripted_answer
from tests.support.live_server import QaServer

pytestmark = pytest.mark.timeout(25)

SECRET = "browser-test-secret-0123"
AUTH = AuthSettings(mode="token", secret=SECRET)
SERVER_ID = re.compile(r"user_[A-Za-z0-9_-]{12}")
SESSION_KEY = "quart-qa.session"


@pytest.fixture(scope="module")
def qa_server(artifacts: Path) -> Iterator[QaServer]:
    """The module's server: the browser tests' fast config, in token mode."""
    config = artifacts / "token-mode.toml"
    text = FAST_CONFIG.read_text(encoding="utf-8")
    config.write_text(f'{text}\n[auth]\nmode = "token"\nsecret = "{SECRET}"\n', encoding="utf-8")
    with QaServer(config, artifacts) as server:
        yield server


def stored_session(chat: ChatPage) -> dict[str, str]:
    raw: str = chat.page.evaluate(f"() => sessionStorage.getItem({SESSION_KEY!r})")
    session: dict[str, str] = json.loads(raw)
    return session


def test_page_uses_its_token_for_connect_and_ask(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server)
    requests: list[Request] = []
    chat.page.on("request", lambda request: requests.append(request))
    chat.open()

    user_id = chat.user_id()
    assert SERVER_ID.fullmatch(user_id), user_id
    session = stored_session(chat)
    assert session["user_id"] == user_id
    assert token_user(AUTH, session["token"]) == user_id

    chat.expect_answer(chat.ask("hello with a token"), scripted_answer(None))

    connect = next(r for r in requests if f"/qa/connect/{user_id}" in r.url)
    assert f"token={session['token']}" in connect.url
    ask = next(r for r in requests if r.url.endswith(f"/qa/ask/{user_id}"))
    assert ask.headers["authorization"] == f"Bearer {session['token']}"
    assert "token=" not in ask.url


def test_reload_keeps_the_user_and_renews_the_token(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server)
    chat.open()
    before = chat.user_id()
    chat.page.reload()
    chat.expect_connected()
    assert chat.user_id() == before
    assert stored_session(chat)["user_id"] == before
    chat.expect_answer(chat.ask("still me?"), scripted_answer(None))


def test_a_bad_stored_token_gets_a_fresh_session(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server)
    chat.open()
    before = chat.user_id()
    stale = json.dumps({"user_id": before, "token": "not-a-token"})
    chat.page.evaluate(f"() => sessionStorage.setItem({SESSION_KEY!r}, {stale!r})")
    chat.page.reload()
    chat.expect_connected()
    assert chat.user_id() != before
    chat.expect_answer(chat.ask("new session"), scripted_answer(None))


def test_user_parameter_cannot_pick_someone_elses_stream(tabs: Tabs, qa_server: QaServer) -> None:
    owner = tabs.chat(qa_server)
    owner.open()
    intruder = tabs.chat(qa_server)
    intruder.open(user=owner.user_id())
    assert intruder.user_id() != owner.user_id()
    answer = owner.ask("private question")
    owner.expect_answer(answer, scripted_answer(None))
    expect(intruder.answers).to_have_count(0)


def test_page_over_a_websocket_sends_its_token(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server)
    sockets: list[str] = []
    chat.page.on("websocket", lambda socket: sockets.append(socket.url))
    chat.open(transport="ws")
    session = stored_session(chat)
    chat.expect_answer(chat.ask("hello over a socket"), scripted_answer(None))
    [url] = sockets
    assert url.startswith(f"ws://127.0.0.1:{qa_server.port}/qa/ws/{session['user_id']}?")
    assert f"token={session['token']}" in url
