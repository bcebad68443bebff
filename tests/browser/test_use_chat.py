"""A real ``useChat`` page (React and @ai-sdk/react from npm, bundled by esbuild when this
module starts) in Chromium, against the AI SDK endpoint of a real ``quart-qa serve``.

The bundle and its HTML are served from the server's own origin (Playwright route
fulfilment), as a Next.js page would be served next to its ``/api/chat`` route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Route, expect

from quart_qa.settings.answers import AnswerRule, Conversation, choose_rule
from quart_qa.settings.config import load_settings
from tests.browser.browser_tabs import Tabs
from tests.support.apps import ROOT
from tests.support.live_server import QaServer
from tests.support.node import run_node

pytestmark = pytest.mark.timeout(40)

CONFIG = ROOT / "tests" / "support" / "frontends.toml"
RULES = load_settings(CONFIG).answers
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>useChat</title></head>
<body><div id="root"></div><script type="module" src="/usechat.js"></script></body></html>"""


def rule_for(question: str, tool_result: str | None = None) -> AnswerRule:
    return choose_rule(RULES, Conversation(question=question, tool_result=tool_result))


def answer_text(rule: AnswerRule) -> str:
    return next(step.text for step in rule.steps if step.kind == "text")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """tests/node/usechat/app.jsx bundled by esbuild into one ES module."""
    outfile = tmp_path_factory.mktemp("usechat") / "usechat.js"
    run_node("build_usechat.mjs", str(outfile), timeout=60)
    return outfile.read_bytes()


@pytest.fixture(scope="module")
def qa_server(artifacts: Path) -> Iterator[QaServer]:
    """This module's server runs the front-end script."""
    with QaServer(CONFIG, artifacts) as server:
        yield server


@pytest.fixture
def chat_page(tabs: Tabs, qa_server: QaServer, bundle: bytes) -> Page:
    page = tabs.new_page()

    def serve(route: Route) -> None:
        if route.request.url.endswith("/usechat.js"):
            route.fulfill(status=200, content_type="text/javascript", body=bundle)
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE)

    page.route(f"{qa_server.url}/usechat.*", serve)
    page.goto(f"{qa_server.url}/usechat.html")
    expect(page.get_by_test_id("status")).to_have_text("ready")
    return page


def send(page: Page, question: str) -> None:
    page.get_by_test_id("input").fill(question)
    page.get_by_test_id("send").click()


def test_a_question_streams_into_the_use_chat_page(chat_page: Page, tabs: Tabs) -> None:
    question = "What is the weather in Paris?"
    rule = rule_for(question)
    tool = next(step for step in rule.steps if step.kind == "tool_call")
    send(chat_page, question)

    assistant = chat_page.get_by_test_id("message-assistant")
    expect(assistant.get_by_test_id("text")).to_have_text(answer_text(rule))
    expect(chat_page.get_by_test_id("status")).to_have_text("ready")
    expect(assistant.get_by_test_id("reasoning")).to_have_text(
        next(step.text for step in rule.steps if step.kind == "reasoning")
    )
    card = assistant.get_by_test_id("tool")
    expect(card).to_have_attribute("data-state", "output-available")
    assert json.loads(card.get_by_test_id("tool-output").inner_text()) == json.loads(
        tool.output or "null"
    )
    tabs.screenshot(chat_page, "use-chat-answer")


def test_a_client_tool_round_trip_in_the_use_chat_page(chat_page: Page) -> None:
    question = "Where am I?"
    posts: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/chat"):
            posts.append(request.post_data or "")

    chat_page.on("request", record)
    send(chat_page, question)

    assistant = chat_page.get_by_test_id("message-assistant")
    card = assistant.get_by_test_id("tool")
    expect(card).to_have_attribute("data-state", "output-available")
    output = card.get_by_test_id("tool-output").inner_text()
    assert json.loads(output)["ran"] == "in the browser"
    texts = assistant.get_by_test_id("text")
    follow_up = answer_text(rule_for(question, tool_result="get_location"))
    expect(texts).to_have_text(
        [answer_text(rule_for(question)), follow_up.replace("{tool_result}", output)]
    )
    expect(chat_page.get_by_test_id("status")).to_have_text("ready")
    assert len(posts) == 2, "the tool's output went back in a second request"
    second = json.loads(posts[1])
    assert second["messages"][-1]["role"] == "assistant"
