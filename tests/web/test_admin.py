"""The admin API: scripts set at run time, the journal, and who may use them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from quart_qa.settings.admin import AdminSettings
from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings, settings_from_mapping
from quart_qa.settings.errors import ConfigError
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream

ALL_BACKENDS = True  # with Redis, scripts and the journal live in Redis
ADMIN_TOKEN = "admin-token-0123456789"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


def admin_settings(**admin: Any) -> Settings:
    return replace(fast_settings(), admin=AdminSettings(enabled=True, **admin))


async def test_admin_api_is_404_unless_enabled(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        for path in ("/_qa/script", "/_qa/journal"):
            assert (await client.get(path)).status_code == 404


async def test_admin_token_is_required_when_set_and_in_token_mode(make_app: AppFactory) -> None:
    auth = AuthSettings(mode="token", secret="s" * 32)
    settings = replace(admin_settings(token=ADMIN_TOKEN), auth=auth)
    async with make_app(settings) as app:
        client = app.test_client()
        refused = await client.get("/_qa/script")
        assert refused.status_code == 401
        assert (await refused.get_json())["error"] == "admin_token_required"
        wrong = await client.get("/_qa/script", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = await client.get("/_qa/script", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert good.status_code == 200


async def test_a_bad_script_gets_the_tomls_one_line_error_as_400(make_app: AppFactory) -> None:
    bad = [{"match": "(", "text": "x"}, {"text": "y"}]
    with pytest.raises(ConfigError) as from_toml:
        settings_from_mapping({"answers": bad}, source="script")
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        response = await client.put("/_qa/script", json={"answers": bad})
        assert response.status_code == 400
        body = await response.get_json()
        assert body == {"error": "invalid_script", "message": str(from_toml.value)}
        no_default = await client.put(
            "/_qa/script", json={"answers": [{"match": "a", "text": "x"}]}
        )
        assert "no default rule" in (await no_default.get_json())["message"]
        toml = await client.put(
            "/_qa/script",
            data='[[answers]]\ntext = "from toml"\n',
            headers={"Content-Type": "application/toml"},
        )
        assert (await toml.get_json())["script"] == ["default: 2 part(s)"]


async def test_scripted_answers_reach_the_chat_page_and_reset_restores_the_toml(
    make_app: AppFactory,
) -> None:
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        script = {"answers": [{"times": 1, "text": "scripted once"}]}
        assert (await client.post("/_qa/script", json=script)).status_code == 200
        async with open_stream(client, "u1") as stream:
            texts = []
            for _ in range(2):
                await client.post("/qa/ask/u1", json={"question": "q"})
                answer = await stream.answer()
                texts.append("".join(e.data for e in answer if e.event == "ANSWER_CHUNK"))
        assert texts[0] == "scripted once"
        assert texts[1].startswith("这是对您问题的回答。")  # the seed's answer again
        state = await (await client.delete("/_qa/script")).get_json()
        assert state["script"] is None
        assert state["scoped"] == []


async def test_adding_rules_leaves_a_spent_rule_spent(make_app: AppFactory) -> None:
    """``POST /_qa/script`` puts rules ahead: the counts of the rules in force go on."""
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:

            async def answer(question: str) -> str:
                await client.post("/qa/ask/u1", json={"question": question})
                events = await stream.answer()
                return "".join(e.data for e in events if e.event == "ANSWER_CHUNK")

            once = {"answers": [{"times": 1, "text": "scripted once"}]}
            assert (await client.post("/_qa/script", json=once)).status_code == 200
            assert await answer("q") == "scripted once"
            ahead = {"answers": [{"match": "other", "times": 1, "text": "added"}]}
            assert (await client.post("/_qa/script", json=ahead)).status_code == 200
            assert (await answer("q")).startswith("这是对您问题的回答。")  # still spent
            assert await answer("other") == "added"
            assert (await answer("other")).startswith("这是对您问题的回答。")


async def test_the_journal_records_what_arrived_and_what_was_sent(make_app: AppFactory) -> None:
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        await client.post("/_qa/script", json={"answers": [{"match": "hello", "text": "Hi!"}]})
        async with open_stream(client, "u1") as stream:
            await client.post("/qa/ask/u1", json={"question": "hello?"})
            await stream.answer()
        headers = {"Authorization": "Bearer sk-secret-key-1234", "X-QA-Scenario": "t7"}
        for _ in range(3):
            await client.post(
                "/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers
            )
        entries = (await (await client.get("/_qa/journal")).get_json())["entries"]
        ask = next(entry for entry in entries if entry["path"] == "/qa/ask/u1")
        assert ask["dialect"] == "chat"
        assert ask["user"] == "u1"
        assert ask["body"] == {"question": "hello?"}
        assert ask["status"] == 202
        assert ask["rule"] == "script answers[0]"
        calls = (
            await (
                await client.get("/_qa/journal?path=/v1/chat/completions&scenario=t7")
            ).get_json()
        )["entries"]
        assert len(calls) == 3
        third = calls[2]
        assert third["body"] == {**CHAT, "stream": True}
        assert third["dialect"] == "openai"
        assert third["status"] == 200
        assert third["key"] == "sk-s…34"  # never the whole key
        assert third["frames"][-1].endswith("data: [DONE]\n\n")  # body chunks as sent
        assert any('"content":"Hi"' in frame for frame in third["frames"])
        assert third["client_left"] is False
        assert third["done"] is True
        since = await client.get(f"/_qa/journal?since={calls[1]['id']}")
        assert [entry["id"] for entry in (await since.get_json())["entries"]] == [third["id"]]
        assert (await (await client.get("/_qa/journal?since=x")).get_json())["error"] == (
            "invalid_query"
        )
        assert (await (await client.delete("/_qa/journal")).get_json())["cleared"] >= 5
        assert (await (await client.get("/_qa/journal")).get_json())["entries"] == []


async def test_the_journal_feed_streams_each_entry_as_it_ends(make_app: AppFactory) -> None:
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        async with client.request("/_qa/journal/feed") as feed:
            await feed.send_complete()
            assert b"journal feed" in await feed.receive()
            await client.post("/v1/chat/completions", json=CHAT)
            async with asyncio.timeout(5):
                frame = await feed.receive()
            await feed.disconnect()
        data = frame.decode().split("data: ", 1)[1].split("\n", 1)[0]
        entry = json.loads(data)
        assert entry["path"] == "/v1/chat/completions"
        assert entry["status"] == 200


async def test_scripts_scoped_by_user_never_cross(make_app: AppFactory) -> None:
    async with make_app(admin_settings()) as app:
        client = app.test_client()
        for user in ("u1", "u2"):
            script = {"answers": [{"text": f"only for {user}"}], "scope": {"user": user}}
            assert (await client.post("/_qa/script", json=script)).status_code == 200

        async def answers_of(user: str) -> set[str]:
            texts = set()
            async with open_stream(client, user) as stream:
                for _ in range(3):
                    await client.post(f"/qa/ask/{user}", json={"question": "q"})
                    events = await stream.answer()
                    texts.add("".join(e.data for e in events if e.event == "ANSWER_CHUNK"))
            return texts

        one, two = await asyncio.gather(answers_of("u1"), answers_of("u2"))
        assert one == {"only for u1"}
        assert two == {"only for u2"}
        cleared = await client.delete("/_qa/script?user=u1")
        assert [s["scope"] for s in (await cleared.get_json())["scoped"]] == ["user u2"]


async def test_the_admin_api_is_in_the_openapi_document_when_enabled(make_app: AppFactory) -> None:
    async with make_app(admin_settings()) as app:
        spec = await (await app.test_client().get("/openapi.json")).get_json()
    assert {"get", "put", "post", "delete"} <= set(spec["paths"]["/_qa/script"])
    assert "get" in spec["paths"]["/_qa/journal"]
