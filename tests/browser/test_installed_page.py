"""quart-qa installed from its wheel (not editable), run away from any checkout: it serves the
chat page and answers from a shipped config named on the command line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.browser_tabs import Tabs
from tests.support.apps import ROOT
from tests.support.live_server import QaServer
from tests.support.wheel import InstalledWheel

pytestmark = pytest.mark.timeout(180)  # the wheel is built once a session, maybe here

ANSWER_TIMEOUT_MS = 15_000  # english-demo paces its answers like a real model


def english_demo_answer(topic: str) -> str:
    """The text english-demo scripts for questions about ``topic``."""
    with (ROOT / "config" / "english-demo.toml").open("rb") as file:
        rules = tomllib.load(file)["answers"]
    return next(str(rule["text"]) for rule in rules if topic in rule.get("match", ""))


def test_the_installed_page_answers_from_a_shipped_config(
    installed_wheel: InstalledWheel, tabs: Tabs, artifacts: Path, tmp_path: Path
) -> None:
    program = [str(installed_wheel.quart_qa)]
    with QaServer("english-demo", artifacts, program=program, cwd=tmp_path) as server:
        for path in sorted((ROOT / "static").glob("**/*.*")):
            name = path.relative_to(ROOT / "static").as_posix()
            response = httpx.get(f"{server.url}/static/{name}", timeout=10)
            assert response.status_code == 200, name
            assert response.content == path.read_bytes(), name
        chat = tabs.chat(server)
        chat.open()
        answer = chat.ask("Will it rain tomorrow?")
        expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
        chat.expect_answer(answer, english_demo_answer("weather"))
    # The config came from the installed package, by name.
    assert f"{installed_wheel.site_packages}/quart_qa/settings/shipped_configs/" in (
        server.log_tail()
    )
