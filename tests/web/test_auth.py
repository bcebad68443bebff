"""``[auth]``: session tokens, and who may connect, ask and cancel in each mode."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from quart.typing import TestClientProtocol as Client
from quart.wrappers import Response

from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings, load_settings, settings_from_mapping
from quart_qa.settings.errors import ConfigError
from quart_qa.web.auth import (
    TOKEN_SALT,
    check_user_access,
    issue_token,
    new_user_id,
    token_user,
)
from quart_qa.web.errors import ApiError
from quart_qa.web.routes import USER_ID_PATTERN
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream

SECRET = "test-secret-0123456789"
TOKEN_AUTH = AuthSettings(mode="token", secret=SECRET, token_ttl=60)


def token_settings(auth: AuthSettings = TOKEN_AUTH) -> Settings:
    return replace(fast_settings(), auth=auth)


@pytest.fixture
def settings() -> Settings:
    return token_settings()


def expired_token(user_id: str, auth: AuthSettings = TOKEN_AUTH) -> str:
    """A token signed with the right secret, issued longer than ``token_ttl`` ago."""

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - auth.token_ttl - 10)

    return URLSafeTimedSerializer(auth.secret, salt=TOKEN_SALT, signer=Backdated).dumps(user_id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_session(client: Client) -> tuple[str, str]:
    response = await client.post("/qa/session")
    assert response.status_code == 200
    body = await response.get_json()
    return body["user_id"], body["token"]


async def error_of(response: Response) -> str:
    assert response.headers["Content-Type"] == "application/json"
    body = await response.get_json()
    assert set(body) == {"error", "message"}
    assert body["message"]
    code: str = body["error"]
    return code


# --- the session endpoint ---


async def test_session_issues_a_random_id_and_a_token(client: Client) -> None:
    response = await client.post("/qa/session")
    assert response.status_code == 200
    body = await response.get_json()
    assert set(body) == {"user_id", "token", "expires_in"}
    assert USER_ID_PATTERN.fullmatch(body["user_id"])
    assert body["user_id"].startswith("user_")
    assert body["expires_in"] == 60
    assert token_user(TOKEN_AUTH, body["token"]) == body["user_id"]
    other, _ = await new_session(client)
    assert other != body["user_id"]


async def test_session_with_a_valid_token_renews_it_for_the_same_user(client: Client) -> None:
    user_id, token = await new_session(client)
    response = await client.post("/qa/session", headers=bearer(token))
    body = await response.get_json()
    assert response.status_code == 200
    assert body["user_id"] == user_id
    assert token_user(TOKEN_AUTH, body["token"]) == user_id


@pytest.mark.parametrize(
    ("token", "code"),
    [("garbage", "invalid_token"), (expired_token("user_x"), "token_expired")],
    ids=["garbage", "expired"],  # the same names in every process (pytest-xdist)
)
async def test_session_with_a_bad_token_is_refused(client: Client, token: str, code: str) -> None:
    response = await client.post("/qa/session", headers=bearer(token))
    assert response.status_code == 401
    assert await error_of(response) == code


async def test_session_in_mode_none_has_no_token(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        response = await app.test_client().post("/qa/session")
        body = await response.get_json()
    assert response.status_code == 200
    assert body["token"] is None
    assert body["expires_in"] is None
    assert USER_ID_PATTERN.fullmatch(body["user_id"])


def test_new_user_ids_fit_the_pattern_and_differ() -> None:
    ids = {new_user_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(USER_ID_PATTERN.fullmatch(user_id) and len(user_id) == 17 for user_id in ids)


# --- connect, ask and cancel refuse a bad token ---


async def call(client: Client, action: str, user_id: str, token: str | None, via: str) -> Response:
    """One connect, ask or cancel request, with ``token`` in a header or the query string."""
    path = f"/qa/{action}/{user_id}"
    headers: dict[str, str] = {}
    if token is not None and via == "header":
        headers = bearer(token)
    elif token is not None:
        path += f"?token={token}"
    if action == "connect":
        return await client.get(path, headers=headers)
    if action == "ask":
        return await client.post(path, headers=headers, json={"question": "q"})
    return await client.post(path, headers=headers)


def bad_tokens(user_id: str) -> dict[str, tuple[str | None, int, str]]:
    """name → (token, status, code) for ``user_id``."""
    good = issue_token(TOKEN_AUTH, user_id)
    other_secret = replace(TOKEN_AUTH, secret="another-secret-9876543210")
    return {
        "missing": (None, 401, "missing_token"),
        "empty": ("", 401, "missing_token"),
        "garbage": ("not-a-token", 401, "invalid_token"),
        "tampered": (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), 401, "invalid_token"),
        "other_secret": (issue_token(other_secret, user_id), 401, "invalid_token"),
        "expired": (expired_token(user_id), 401, "token_expired"),
        "other_user": (issue_token(TOKEN_AUTH, "user_other"), 403, "wrong_user"),
    }


@pytest.mark.parametrize("action", ["connect", "ask", "cancel"])
@pytest.mark.parametrize("via", ["header", "query"])
@pytest.mark.parametrize("case", list(bad_tokens("user_me")))
async def test_bad_tokens_are_refused(client: Client, action: str, via: str, case: str) -> None:
    token, status, code = bad_tokens("user_me")[case]
    response = await call(client, action, "user_me", token, via)
    assert response.status_code == status
    assert await error_of(response) == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert "WWW-Authenticate" not in response.headers


async def test_expired_token_names_the_way_out(client: Client) -> None:
    response = await client.post("/qa/cancel/user_me", headers=bearer(expired_token("user_me")))
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="quart-qa", error="invalid_token"'
    assert "POST /qa/session" in (await response.get_json())["message"]


async def test_a_refused_ask_reaches_no_stream(client: Client) -> None:
    user_id, token = await new_session(client)
    async with open_stream(client, f"{user_id}?token={token}") as stream:
        thief = issue_token(TOKEN_AUTH, "user_thief")
        refused = await client.post(
            f"/qa/ask/{user_id}", json={"question": "q"}, headers=bearer(thief)
        )
        assert refused.status_code == 403
        await client.post(f"/qa/ask/{user_id}", json={"question": "mine"}, headers=bearer(token))
        events = await stream.answer()
    assert events[0].event == "ANSWER_START"
    assert events[0].data.endswith("mine")


async def test_auth_is_checked_before_the_body(client: Client) -> None:
    response = await client.post("/qa/ask/user_me", data="not json")
    assert response.status_code == 401
    assert await error_of(response) == "missing_token"


# --- the right token works end to end ---


async def test_right_token_connects_and_asks(client: Client) -> None:
    user_id, token = await new_session(client)
    async with open_stream(client, f"{user_id}?token={token}") as stream:
        response = await client.post(
            f"/qa/ask/{user_id}", json={"question": "什么是SSE"}, headers=bearer(token)
        )
        assert response.status_code == 202
        events = await stream.answer()
        assert [event.event for event in events][0::6] == ["ANSWER_START", "ANSWER_END"]


async def test_right_token_cancels(make_app: AppFactory) -> None:
    slow = replace(token_settings(), stream=replace(fast_settings().stream, chunk_delay=30))
    async with make_app(slow) as app:
        client = app.test_client()
        user_id, token = await new_session(client)
        async with open_stream(client, user_id, headers=bearer(token)) as stream:
            lower = {"Authorization": f"bearer {token}"}  # the scheme is case-insensitive
            await client.post(f"/qa/ask/{user_id}", json={"question": "q"}, headers=lower)
            await stream.until("ANSWER_CHUNK")  # the next chunk is 30 s away: no race
            cancelled = await client.post(f"/qa/cancel/{user_id}", headers=bearer(token))
            assert cancelled.status_code == 200
            assert (await stream.answer())[-1].event == "ANSWER_CANCELLED"


async def test_header_wins_over_query(client: Client) -> None:
    user_id, token = await new_session(client)
    response = await client.post(f"/qa/cancel/{user_id}?token=garbage", headers=bearer(token))
    assert response.status_code == 404  # authorised; nothing is running
    assert await error_of(response) == "nothing_running"


async def test_user_id_is_checked_before_the_token(client: Client) -> None:
    response = await client.post("/qa/cancel/bad%20id")
    assert response.status_code == 400
    assert await error_of(response) == "invalid_user_id"


# --- mode none is the seed's behaviour ---


async def test_mode_none_needs_no_token_and_ignores_one(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        async with open_stream(client, "user_abc?token=whatever") as stream:
            response = await client.post(
                "/qa/ask/user_abc", json={"question": "q"}, headers=bearer("junk")
            )
            assert response.status_code == 202
            assert (await stream.answer())[-1].event == "ANSWER_END"


def test_check_user_access_in_mode_none_accepts_anything() -> None:
    check_user_access(AuthSettings(), "user_abc", None)
    check_user_access(AuthSettings(), "user_abc", "junk")


def test_check_user_access_in_token_mode() -> None:
    check_user_access(TOKEN_AUTH, "u1", issue_token(TOKEN_AUTH, "u1"))
    with pytest.raises(ApiError) as caught:
        check_user_access(TOKEN_AUTH, "u2", issue_token(TOKEN_AUTH, "u1"))
    assert (caught.value.status, caught.value.code) == (403, "wrong_user")


def test_tokens_expire_after_token_ttl() -> None:
    short = replace(TOKEN_AUTH, token_ttl=1)
    with pytest.raises(ApiError, match="expired"):
        token_user(short, expired_token("u1", short))


# --- configuration ---


def test_auth_defaults_to_none() -> None:
    assert Settings().auth == AuthSettings(mode="none", secret="", token_ttl=3600)


def test_token_mode_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "auth.toml"
    path.write_text(
        f'[auth]\nmode = "token"\nsecret = "{SECRET}"\ntoken_ttl = 900\n', encoding="utf-8"
    )
    auth = load_settings(path).auth
    assert auth == AuthSettings(mode="token", secret=SECRET, token_ttl=900.0)
    assert SECRET not in repr(auth)


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('[auth]\nmode = "token"', "auth.secret", "at least 16 characters"),
        ('[auth]\nmode = "token"\nsecret = "short"', "auth.secret", "at least 16 characters"),
        ('[auth]\nmode = "jwt"', "auth.mode", "must be one of"),
        ("[auth]\ntoken_ttl = 0", "auth.token_ttl", "must be >= 1"),
        ('[auth]\ntoken_ttl = "1h"', "auth.token_ttl", "must be a number"),
        ("[auth]\nsecret = 12345678901234567", "auth.secret", "must be a string"),
        ('[auth]\nsecrets = "x"', "auth.secrets", "unknown key"),
    ],
)
def test_bad_auth_config(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: ")
    assert problem in message
    assert "\n" not in message


def test_short_secret_is_fine_in_mode_none() -> None:
    settings = settings_from_mapping({"auth": {"secret": "x"}})
    assert settings.auth.mode == "none"
