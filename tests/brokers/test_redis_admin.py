"""The admin API over the Redis broker: scripts, use counts and the journal of every node.

Two apps share one Redis (and one key prefix), as two nodes behind a load balancer do; the
last test runs two real ``quart-qa serve`` processes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from quart import Quart

from quart_qa.brokers.redis.rule_store import given_at
from quart_qa.settings.admin import AdminSettings
from quart_qa.settings.answer_parsing import rules_from_list
from quart_qa.settings.config import Settings
from quart_qa.web.state import get_state
from tests.support.apps import fast_settings, running_app, with_redis
from tests.support.live_server import live_server
from tests.support.redis_server import RedisServer
from tests.support.sse_reader import open_stream

TIMEOUT = 10.0
TOML_TEXT = "from the toml"


def node_settings(redis: RedisServer, prefix: str) -> Settings:
    settings = replace(
        fast_settings(),
        admin=AdminSettings(enabled=True),
        answers=rules_from_list(
            [{"match": "^once$", "times": 1, "text": "the toml once"}, {"text": TOML_TEXT}]
        ),
    )
    return with_redis(settings, redis.url, prefix)


@pytest.fixture
async def nodes(shared_redis: RedisServer) -> AsyncIterator[tuple[Quart, Quart]]:
    settings = node_settings(shared_redis, f"adm{uuid.uuid4().hex[:10]}")
    async with running_app(settings) as node_a, running_app(settings) as node_b:
        yield node_a, node_b


def chat(question: str = "hello") -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": question}]}


async def answer_of(node: Quart, question: str = "hello", **headers: str) -> str:
    async with asyncio.timeout(TIMEOUT):
        response = await node.test_client().post(
            "/v1/chat/completions", json=chat(question), headers=headers
        )
        body = await response.get_json()
    assert response.status_code == 200, body
    text: str = body["choices"][0]["message"]["content"]
    return text


async def admin(node: Quart, method: str, path: str, **kwargs: Any) -> Any:
    response = await node.test_client().open(f"/_qa{path}", method=method, **kwargs)
    assert response.status_code == 200, await response.get_data()
    return await response.get_json()


async def test_rules_are_shared_only_with_the_admin_api_on(shared_redis: RedisServer) -> None:
    shared = node_settings(shared_redis, f"adm{uuid.uuid4().hex[:10]}")
    alone = replace(shared, admin=AdminSettings())
    async with running_app(shared) as with_admin, running_app(alone) as without:
        assert get_state(with_admin).rules.shared
        assert not get_state(without).rules.shared  # no Redis round trip to choose a rule
        assert await answer_of(without) == TOML_TEXT


async def test_a_script_set_on_one_node_answers_on_the_other_at_once(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    assert await answer_of(node_b) == TOML_TEXT
    await admin(node_a, "PUT", "/script", json={"answers": [{"text": "scripted on a"}]})
    assert await answer_of(node_b) == "scripted on a"
    assert (await admin(node_b, "GET", "/script"))["script"] == ["default: 3 part(s)"]
    await admin(node_b, "POST", "/script", json={"answers": [{"match": "x", "text": "added"}]})
    assert await answer_of(node_a, "x") == "added"
    assert await answer_of(node_a, "y") == "scripted on a"
    await admin(node_b, "DELETE", "/script")
    assert await answer_of(node_a) == TOML_TEXT


async def test_scoped_scripts_follow_their_requests_to_any_node(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    for node, name in ((node_a, "t1"), (node_b, "t2")):
        script = {"answers": [{"text": f"only {name}"}], "scope": {"scenario": name}}
        await admin(node, "POST", "/script", json=script)
    for_u1 = {"answers": [{"text": "only u1"}], "scope": {"user": "u1"}}
    await admin(node_a, "POST", "/script", json=for_u1)
    assert await answer_of(node_b, **{"X-QA-Scenario": "t1"}) == "only t1"
    assert await answer_of(node_a, **{"X-QA-Scenario": "t2"}) == "only t2"
    assert await answer_of(node_b) == TOML_TEXT

    async def chat_page_answer(user: str) -> str:
        client = node_b.test_client()
        async with open_stream(client, user) as stream:
            await client.post(f"/qa/ask/{user}", json={"question": "q"})
            events = await stream.answer()
        return "".join(event.data for event in events if event.event == "ANSWER_CHUNK")

    assert await chat_page_answer("u1") == "only u1"
    assert await chat_page_answer("u2") == TOML_TEXT
    cleared = await admin(node_b, "DELETE", "/script?scenario=t1")
    assert sorted(item["scope"] for item in cleared["scoped"]) == [
        "header x-qa-scenario=t2",
        "user u1",
    ]
    assert await answer_of(node_a, **{"X-QA-Scenario": "t1"}) == TOML_TEXT


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer in miniature: each request goes to the next node."""

    def __init__(self, *nodes: Quart) -> None:
        self._next = itertools.cycle(
            [(node, httpx2.ASGITransport(app=node)) for node in nodes]  # type: ignore[arg-type]
        )
        self.served: list[Quart] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        node, transport = next(self._next)
        self.served.append(node)
        return await transport.handle_async_request(request)


async def test_a_429_on_one_node_then_the_sdks_retry_succeeds_on_the_other(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    fault = {"fault": {"kind": "rate_limit", "retry_after": 0.1}, "times": 1}
    await admin(node_a, "POST", "/script", json={"answers": [fault]})
    balancer = RoundRobin(node_a, node_b)
    http = httpx2.AsyncClient(transport=balancer, base_url="http://qa")  # the openai SDK's httpx
    async with asyncio.timeout(TIMEOUT), http:
        client = AsyncOpenAI(base_url="http://qa/v1", api_key="k", http_client=http, max_retries=1)
        completion = await client.chat.completions.create(**chat())
    assert completion.choices[0].message.content == TOML_TEXT
    assert balancer.served == [node_a, node_b]
    entries = (await admin(node_b, "GET", "/journal"))["entries"]
    assert [entry["status"] for entry in entries] == [429, 200]
    assert entries[0]["rule"] == "script answers[0] (1/1)"


async def test_a_sequence_steps_on_across_nodes(nodes: tuple[Quart, Quart]) -> None:
    node_a, node_b = nodes
    rule = {"match": "step", "sequence": [{"text": "one"}, {"text": "two"}, {"text": "three"}]}
    await admin(node_b, "POST", "/script", json={"answers": [rule]})
    answers = [await answer_of(node, "step") for node in (node_a, node_b, node_a, node_b)]
    assert answers == ["one", "two", "three", TOML_TEXT]


async def test_rules_added_on_one_node_leave_the_counts_in_force_on_both(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    assert await answer_of(node_a, "once") == "the toml once"
    first = {"answers": [{"match": "step", "sequence": [{"text": "one"}, {"text": "two"}]}]}
    await admin(node_b, "POST", "/script", json=first)  # ahead of the TOML: its count goes on
    assert await answer_of(node_a, "once") == TOML_TEXT
    assert await answer_of(node_b, "step") == "one"
    await admin(node_a, "POST", "/script", json={"answers": [{"match": "x", "text": "x"}]})
    assert await answer_of(node_b, "step") == "two"
    assert await answer_of(node_a, "step") == TOML_TEXT
    assert await answer_of(node_b, "once") == TOML_TEXT


async def test_reset_on_one_node_restores_the_toml_and_its_counts_on_both(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    assert await answer_of(node_a, "once") == "the toml once"  # nodes with one TOML share counts
    assert await answer_of(node_b, "once") == TOML_TEXT
    await admin(node_a, "PUT", "/script", json={"answers": [{"text": "scripted"}]})
    assert await answer_of(node_b) == "scripted"
    assert await admin(node_b, "POST", "/reset") == {"cleared": 3}
    assert await answer_of(node_a) == TOML_TEXT
    assert await answer_of(node_b, "once") == "the toml once"
    assert (await admin(node_a, "GET", "/script"))["script"] is None


async def test_the_journal_of_any_node_shows_every_nodes_requests(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    await answer_of(node_b, "first", **{"X-QA-Scenario": "s1"})
    await answer_of(node_a, "second")
    client = node_b.test_client()
    async with asyncio.timeout(TIMEOUT):
        streamed = await client.post("/v1/chat/completions", json={**chat("third"), "stream": True})
        await streamed.get_data()
    entries = (await admin(node_a, "GET", "/journal"))["entries"]
    assert [entry["id"] for entry in entries] == sorted(entry["id"] for entry in entries)
    assert [entry["body"]["messages"][0]["content"] for entry in entries] == [
        "first",
        "second",
        "third",
    ]
    assert all(entry["done"] and entry["rule"] == "config answers[1]" for entry in entries)
    assert any("data: [DONE]" in frame for frame in entries[2]["frames"])
    since = (await admin(node_b, "GET", f"/journal?since={entries[0]['id']}"))["entries"]
    assert [entry["id"] for entry in since] == [entries[1]["id"], entries[2]["id"]]
    scenario = (await admin(node_a, "GET", "/journal?scenario=s1"))["entries"]
    assert [entry["scenario"] for entry in scenario] == ["s1"]
    newest = (await admin(node_a, "GET", "/journal?limit=1&path=/v1/chat/completions"))["entries"]
    assert [entry["id"] for entry in newest] == [entries[2]["id"]]
    assert await admin(node_b, "DELETE", "/journal") == {"cleared": 3}
    assert (await admin(node_a, "GET", "/journal"))["entries"] == []


async def test_the_feed_on_one_node_streams_entries_finished_on_the_other(
    nodes: tuple[Quart, Quart],
) -> None:
    node_a, node_b = nodes
    async with node_a.test_client().request("/_qa/journal/feed") as feed:
        await feed.send_complete()
        async with asyncio.timeout(TIMEOUT):
            assert b"journal feed" in await feed.receive()
            await answer_of(node_b, "seen from a")
            frame = await feed.receive()
        await feed.disconnect()
    lines = frame.decode().splitlines()
    assert "event: entry" in lines
    entry = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
    assert entry["body"]["messages"][0]["content"] == "seen from a"
    assert f"id: {entry['id']}" in lines


async def test_admin_answers_503_while_redis_is_away_and_answers_go_on(
    own_redis: RedisServer,
) -> None:
    async with running_app(node_settings(own_redis, "away")) as node:
        await admin(node, "PUT", "/script", json={"answers": [{"text": "last known"}]})
        own_redis.stop()
        client = node.test_client()
        for method, path in (("GET", "/script"), ("PUT", "/script"), ("GET", "/journal")):
            response = await client.open(
                f"/_qa{path}", method=method, json={"answers": [{"text": "x"}]}
            )
            assert response.status_code == 503
            assert (await response.get_json())["error"] == "broker_unavailable"
        assert await answer_of(node) == "last known"


async def until_blank(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The lines of the next SSE event (blank lines before it skipped)."""
    started = False
    async for line in lines:
        if line:
            started = True
            yield line
        elif started:
            return


PROCESS_CONFIG = """
[stream]
chunk_delay = 0.01
heartbeat = 0

[broker]
backend = "redis"
url = "{url}"
prefix = "{prefix}"

[admin]
enabled = true

[[answers]]
text = "from the file"
"""


async def test_two_server_processes_share_scripts_counts_and_journal(
    tmp_path: Path, shared_redis: RedisServer
) -> None:
    config = tmp_path / "admin.toml"
    prefix = f"p{uuid.uuid4().hex[:10]}"
    config.write_text(PROCESS_CONFIG.format(url=shared_redis.url, prefix=prefix), "utf-8")
    with live_server(config) as node_a, live_server(config) as node_b:
        async with (
            asyncio.timeout(TIMEOUT),
            httpx.AsyncClient(base_url=node_a.url) as on_a,
            httpx.AsyncClient(base_url=node_b.url) as on_b,
        ):
            fault = {"fault": {"kind": "rate_limit", "retry_after": 2}, "times": 1}
            script = {"answers": [fault, {"text": "scripted on a"}]}
            assert (await on_a.put("/_qa/script", json=script)).status_code == 200
            sdk_a = AsyncOpenAI(base_url=f"{node_a.url}/v1", api_key="k", max_retries=0)
            sdk_b = AsyncOpenAI(base_url=f"{node_b.url}/v1", api_key="k", max_retries=0)
            async with sdk_a, sdk_b:
                with pytest.raises(openai.RateLimitError) as refused:
                    await sdk_a.chat.completions.create(**chat())
                assert refused.value.response.headers["retry-after"] == "2"
                completion = await sdk_b.chat.completions.create(**chat())
            assert completion.choices[0].message.content == "scripted on a"

            async with on_a.stream("GET", "/_qa/journal/feed") as feed:
                lines = feed.aiter_lines()
                assert await anext(lines) == ": journal feed"
                streamed = await on_b.post(
                    "/v1/chat/completions", json={**chat("streamed"), "stream": True}
                )
                assert streamed.text.rstrip().endswith("data: [DONE]")
                # Read to its end on b, so already in the journal that a shows.
                entries = (await on_a.get("/_qa/journal")).json()["entries"]
                event = [line async for line in until_blank(lines)]
            assert [entry["status"] for entry in entries] == [429, 200, 200]
            assert entries[-1]["done"]
            assert entries[-1]["body"]["messages"][0]["content"] == "streamed"
            assert any("[DONE]" in frame for frame in entries[-1]["frames"])
            assert event[0] == "event: entry"
            assert event[1] == f"id: {entries[-1]['id']}"
            assert json.loads(event[2].removeprefix("data: "))["rule"] == "script answers[1]"
            assert (await on_b.post("/_qa/reset")).json() == {"cleared": 3}
            assert (await on_a.get("/_qa/journal")).json()["entries"] == []
            plain = await on_a.post("/v1/chat/completions", json=chat())
            assert plain.json()["choices"][0]["message"]["content"] == "from the file"


def test_the_store_reads_when_each_rule_was_given_newest_run_first() -> None:
    assert given_at("5", 3) == (5, 5, 5)
    assert given_at("9:2,5", 5) == (9, 9, 5, 5, 5)
    assert given_at("12:1,9:2,5", 4) == (12, 9, 9, 5)
