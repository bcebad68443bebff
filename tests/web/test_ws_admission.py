"""Who may open ``/qa/ws/<user_id>``, and how the server ends a socket: close codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quart_qa.settings.config import Settings
from quart_qa.settings.cors import CorsSettings
from quart_qa.web import ws_session
from quart_qa.web.auth import issue_token
from quart_qa.web.state import get_state
from tests.support.apps import fast_settings, running_app
from tests.support.socket_reader import Message, open_socket
from tests.web.test_auth import TOKEN_AUTH, bad_tokens, bearer, token_settings


async def test_a_token_in_the_url_opens_the_stream() -> None:
    async with running_app(token_settings()) as app:
        token = issue_token(TOKEN_AUTH, "user_me")
        async with open_socket(app.test_client(), "user_me", query=f"token={token}") as socket:
            await socket.send({"type": "ask", "question": "q"})
            assert (await socket.answer())[-1]["event"] == "ANSWER_END"


async def test_a_token_in_the_header_opens_the_stream() -> None:
    async with running_app(token_settings()) as app:
        headers = bearer(issue_token(TOKEN_AUTH, "user_me"))
        async with open_socket(app.test_client(), "user_me", headers=headers) as socket:
            await socket.send({"type": "cancel"})
            assert (await socket.reply())["error"] == "nothing_running"


async def test_a_token_in_the_first_message_opens_the_stream() -> None:
    async with running_app(token_settings()) as app:
        client = app.test_client()
        async with open_socket(client, "user_me", expect_connected=False) as socket:
            await socket.send({"type": "auth", "token": issue_token(TOKEN_AUTH, "user_me")})
            assert (await socket.next())["event"] == "CONNECTED"
            await socket.send({"type": "ask", "question": "q"})
            assert (await socket.answer())[-1]["event"] == "ANSWER_END"


@pytest.mark.parametrize("via", ["query", "message"])
async def test_bad_tokens_close_the_socket(via: str) -> None:
    async with running_app(token_settings()) as app:
        client = app.test_client()
        for token, status, code in bad_tokens("user_me").values():
            if via == "query" and not token:
                continue  # no token in the URL: the socket waits for the first message
            query = f"token={token}" if via == "query" else ""
            async with open_socket(client, "user_me", query=query, expect_connected=False) as ws:
                if via == "message":
                    await ws.send({"type": "auth", "token": token or ""})
                messages, close_code = await ws.closed()
            assert [(item["error"], item["status"]) for item in messages] == [(code, status)]
            assert close_code == 4000 + status


async def refusal(
    settings: Settings, user_id: str = "user_me", first: Message | None = None
) -> tuple[list[str], int]:
    """The error codes a socket gets (after sending ``first``) and the code it is closed with."""
    async with (
        running_app(settings) as app,
        open_socket(app.test_client(), user_id, expect_connected=False) as socket,
    ):
        if first is not None:
            await socket.send(first)
        messages, code = await socket.closed()
    return [item["error"] for item in messages], code


async def test_a_first_message_that_is_no_auth_closes_the_socket() -> None:
    first = {"type": "ask", "question": "let me in"}
    assert await refusal(token_settings(), first=first) == (["missing_token"], 4401)


async def test_no_token_in_time_closes_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_session, "AUTH_TIMEOUT", 0.05)
    assert await refusal(token_settings()) == (["missing_token"], 4401)


async def test_an_invalid_user_id_closes_the_socket() -> None:
    assert await refusal(fast_settings(), "bad.id") == (["invalid_user_id"], 4400)


@pytest.mark.parametrize(
    ("allowed", "origin", "admitted"),
    [
        ((), None, True),  # not a browser
        ((), "http://localhost", True),  # the page's own origin
        ((), "https://evil.example", False),
        (("https://app.example",), "https://app.example", True),
        (("https://app.example",), "https://evil.example", False),
        (("*",), "https://anyone.example", True),
    ],
)
async def test_pages_of_other_origins_need_cors(
    allowed: tuple[str, ...], origin: str | None, admitted: bool
) -> None:
    settings = replace(fast_settings(), cors=CorsSettings(allow_origins=allowed))
    headers = {"Origin": origin} if origin else {}
    async with running_app(settings) as app:
        client = app.test_client()
        async with open_socket(client, "u1", headers=headers, expect_connected=False) as socket:
            first = await socket.next()
            if admitted:
                assert first["event"] == "CONNECTED"
            else:
                assert (first["error"], first["status"]) == ("origin_not_allowed", 403)
                assert (await socket.closed())[1] == 4403


async def test_shutdown_says_goodbye_then_closes_with_1001() -> None:
    async with (
        running_app(fast_settings()) as app,
        open_socket(app.test_client(), "u1") as socket,
    ):
        await get_state(app).shut_down()
        messages, code = await socket.closed()
    assert [item["event"] for item in messages] == ["SERVER_SHUTDOWN"]
    assert code == 1001


async def test_a_socket_refused_while_draining_closes_with_4503() -> None:
    async with running_app(fast_settings()) as app:
        await get_state(app).shut_down()
        async with open_socket(app.test_client(), "u1", expect_connected=False) as socket:
            messages, code = await socket.closed()
    assert [item["error"] for item in messages] == ["shutting_down"]
    assert code == 4503


async def test_stream_lifetime_closes_with_1000() -> None:
    async with (
        running_app(fast_settings(timeout=0.1)) as app,
        open_socket(app.test_client(), "u1") as socket,
    ):
        messages, code = await socket.closed()
    assert messages == []
    assert code == 1000
