"""``[cors]``: same-origin only by default; listed origins get headers and preflights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from quart.testing.connections import TestHTTPConnection as HTTPConnection
from quart.typing import TestClientProtocol as Client
from quart.wrappers import Response

from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings, load_settings
from quart_qa.settings.cors import CorsSettings
from quart_qa.settings.errors import ConfigError
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream

PAGE = "https://chat.example.com"
STRANGER = "https://evil.example.net"


def cors_settings(*origins: str, auth: AuthSettings | None = None) -> Settings:
    settings = replace(fast_settings(), cors=CorsSettings(allow_origins=origins))
    return replace(settings, auth=auth) if auth is not None else settings


async def preflight(client: Client, path: str, origin: str, headers: str) -> Response:
    return await client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def cors_headers(response: Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-")}


@pytest.mark.parametrize("origin", [PAGE, STRANGER])
async def test_default_is_same_origin_only(client: Client, origin: str) -> None:
    asked = await client.post("/qa/cancel/u1", headers={"Origin": origin})
    checked = await preflight(client, "/qa/ask/u1", origin, "content-type")
    page = await client.get("/", headers={"Origin": origin})
    for response in (asked, checked, page):
        assert cors_headers(response) == {}


async def test_listed_origin_gets_headers_on_answers_and_errors(make_app: AppFactory) -> None:
    async with make_app(cors_settings(PAGE)) as app:
        client = app.test_client()
        ok = await client.post("/qa/session", headers={"Origin": PAGE})
        error = await client.post("/qa/cancel/u1", headers={"Origin": PAGE})
        async with open_stream(client, "u1", headers={"Origin": PAGE}) as stream:
            assert isinstance(stream.connection, HTTPConnection)
            stream_headers = stream.connection.headers
    for headers in (ok.headers, error.headers, stream_headers):
        assert headers is not None
        assert headers["Access-Control-Allow-Origin"] == PAGE
        assert "Origin" in headers["Vary"]
    assert error.status_code == 404
    assert "WWW-Authenticate" in error.headers["Access-Control-Expose-Headers"]


async def test_other_origins_get_no_headers(make_app: AppFactory) -> None:
    async with make_app(cors_settings(PAGE)) as app:
        client = app.test_client()
        response = await client.post("/qa/cancel/u1", headers={"Origin": STRANGER})
        checked = await preflight(client, "/qa/ask/u1", STRANGER, "content-type")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in checked.headers
    assert "Origin" in response.headers["Vary"]  # caches must not share the answers


async def test_preflight_allows_json_and_the_bearer_token(make_app: AppFactory) -> None:
    auth = AuthSettings(mode="token", secret="0123456789abcdef")
    async with make_app(cors_settings(PAGE, auth=auth)) as app:
        response = await preflight(
            app.test_client(), "/qa/ask/u1", PAGE, "authorization, content-type"
        )
    # A preflight carries no credentials, so token mode must not answer it with 401.
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert allowed == {"authorization", "content-type"}
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


async def test_wildcard_allows_any_origin(make_app: AppFactory) -> None:
    async with make_app(cors_settings("*")) as app:
        response = await app.test_client().post("/qa/session", headers={"Origin": STRANGER})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_allow_origins_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(f'[cors]\nallow_origins = ["{PAGE}", "http://localhost:3000"]\n')
    assert load_settings(path).cors.allow_origins == (PAGE, "http://localhost:3000")
    assert Settings().cors.allow_origins == ()


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (f'[cors]\nallow_origins = "{PAGE}"', "cors.allow_origins", "must be a list"),
        ("[cors]\nallow_origins = [1]", "cors.allow_origins[0]", "must be a string"),
        ('[cors]\nallow_origins = ["chat.example.com"]', "cors.allow_origins[0]", "origin like"),
        (f'[cors]\nallow_origins = ["{PAGE}/"]', "cors.allow_origins[0]", "trailing slash"),
        ("[cors]\nallow_origin = []", "cors.allow_origin", "unknown key"),
    ],
)
def test_bad_cors_config(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {where}: ")
    assert problem in str(caught.value)
