"""Hot reload with a real ``quart-qa serve`` process: file edits and SIGHUP."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.support.live_server import live_server

RULES = """
[stream]
chunk_delay = 0
heartbeat = 0

[[answers]]
text = "{text}"
"""
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def save(path: Path, text: str) -> None:
    """Save as editors do: write a new file, then rename it over the old one."""
    draft = path.with_suffix(".draft")
    draft.write_text(text, encoding="utf-8")
    draft.replace(path)


async def answer(client: httpx.AsyncClient) -> str:
    reply = await client.post("/v1/chat/completions", json=BODY)
    content: str = reply.json()["choices"][0]["message"]["content"]
    return content


async def config_after(client: httpx.AsyncClient, at: float | None) -> dict[str, Any]:
    """``/healthz``'s ``config`` once a reload newer than ``at`` happened (polled)."""
    while True:
        config: dict[str, Any] = (await client.get("/healthz")).json()["config"]
        if config["at"] is not None and config["at"] != at:
            return config
        await asyncio.sleep(0.05)  # the server has no event to wait on: poll


async def test_edits_and_sighup_reload_the_rules_a_broken_edit_keeps_them(
    tmp_path: Path,
) -> None:
    config = tmp_path / "rules.toml"
    config.write_text(RULES.format(text="before the edit"), encoding="utf-8")
    with live_server(config) as server:
        async with asyncio.timeout(30), httpx.AsyncClient(base_url=server.url) as client:
            assert await answer(client) == "before the edit"
            save(config, RULES.format(text="after the edit"))
            reloaded = await config_after(client, None)
            assert reloaded["error"] is None
            assert await answer(client) == "after the edit"

            save(config, "[[answers]]\nparts = []\n")
            broken = await config_after(client, reloaded["at"])
            assert broken["error"] == (
                f"{config}: answers[0].parts: must be a non-empty list of strings"
            )
            assert await answer(client) == "after the edit"  # the old rules stay

            save(config, RULES.format(text="fixed by hand"))
            fixed = await config_after(client, broken["at"])
            server.process.send_signal(signal.SIGHUP)  # reloads the same file once more
            again = await config_after(client, fixed["at"])
            assert again["error"] is None
            assert again["reloads"] > fixed["reloads"]
            assert await answer(client) == "fixed by hand"
    assert "config reload failed, the rules in force stay" in server.output()
