"""The seed's own page, unchanged, still works against this server (the compatibility floor).

seed-page.html is a byte-for-byte copy of the original demo page. Playwright serves it at
``<server>/seed.html`` (route fulfilment), so it runs same-origin with the real server and
its relative ``/qa/...`` URLs reach it exactly as they would if the server hosted the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Route, expect

from tests.browser.browser_tabs import Tabs
from tests.browser.chat_page import scripted_answer, scripted_rule
from tests.support.live_server import QaServer

pytestmark = pytest.mark.timeout(20)

SEED_PAGE = Path(__file__).with_name("seed-page.html")


def open_seed_page(tabs: Tabs, qa_server: QaServer) -> Locator:
    """The seed page, served from the server's origin; its output area."""
    page = tabs.new_page()
    seed_url = f"{qa_server.url}/seed.html"

    def serve_seed(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=SEED_PAGE.read_bytes()
        )

    page.route(seed_url, serve_seed)
    page.goto(seed_url)
    return page.locator("#output")


def test_seed_page_completes_a_question_and_answer(tabs: Tabs, qa_server: QaServer) -> None:
    output = open_seed_page(tabs, qa_server)
    page = output.page
    expect(output.locator(".system-message").first).to_contain_text("[系统] 连接已建立")

    page.locator("#questionInput").fill("你好")
    page.get_by_role("button", name="发送问题").click()

    expect(output.locator(".message").last).to_have_text("[AI] 回答结束")
    expect(output.locator(".user-message")).to_have_text(["[我] 你好"])
    expect(output.locator(".ai-message")).to_have_text(["[AI] 开始回答问题: 你好"])
    expect(output).to_contain_text('"answer_id"')  # the 202 body, shown as the seed does
    chunks = [
        text.removeprefix("[AI] ") for text in output.locator(".chunk-message").all_text_contents()
    ]
    assert "".join(chunks) == scripted_answer(None)
    assert len(chunks) > 1, "one line per chunk, as the seed shows them"
    expect(output).not_to_contain_text("连接错误")


def test_seed_page_ignores_reasoning_and_tool_events(tabs: Tabs, qa_server: QaServer) -> None:
    """An answer with thinking and a tool call: the seed page shows its text and its end only."""
    output = open_seed_page(tabs, qa_server)
    expect(output.locator(".system-message").first).to_contain_text("[系统] 连接已建立")
    output.page.locator("#questionInput").fill("weather?")
    output.page.get_by_role("button", name="发送问题").click()

    expect(output.locator(".message").last).to_have_text("[AI] 回答结束")
    chunks = [
        text.removeprefix("[AI] ") for text in output.locator(".chunk-message").all_text_contents()
    ]
    (text_step,) = (step for step in scripted_rule("weather")["steps"] if "text" in step)
    assert "".join(chunks) == text_step["text"]
    expect(output).not_to_contain_text("get_weather")
