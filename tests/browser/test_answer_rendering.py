"""How the chat page shows answers: sanitised Markdown, and the Wire panel's raw frames."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.browser_tabs import Tabs
from tests.browser.chat_page import ChatPage, scripted_answer, scripted_rule

pytestmark = pytest.mark.timeout(25)

# Records every Content-Security-Policy violation of the page, whatever its source.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_markdown_renders_and_its_payloads_stay_inert(chat: ChatPage, tabs: Tabs) -> None:
    chat.page.add_init_script(RECORD_CSP_VIOLATIONS)
    chat.page.reload()  # the init script runs from the next load on
    chat.expect_connected()
    answer = chat.ask("show me some markdown")
    expect(answer).to_have_attribute("data-state", "done")
    text = answer.get_by_test_id("answer-text")

    expect(text.locator("h1")).to_have_text("Markdown answers")
    expect(text.locator("strong")).to_have_text("bold")
    expect(text.locator("li")).to_have_text(["one", "two"])
    code = text.locator("pre code")
    expect(code).to_have_text("print('<b>kept as code</b>')")
    font = code.evaluate("(node) => getComputedStyle(node).fontFamily")
    assert "monospace" in font, f"code blocks must be monospace, not {font}"

    docs = text.get_by_role("link", name="the docs")
    expect(docs).to_have_attribute("href", "https://example.com/docs")
    expect(docs).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(text.get_by_text("a trap")).not_to_have_attribute("href", re.compile("javascript"))
    # An image becomes a link (no foreign load); raw HTML is shown as text.
    expect(text.get_by_role("link", name="a pixel")).to_be_visible()
    expect(text).to_contain_text("<img src=x onerror=alert(5)>")
    expect(chat.messages.locator("img, script, b")).to_have_count(0)

    tabs.screenshot(chat.page, "markdown-answer")
    assert chat.page.evaluate("() => window.__cspViolations") == []
    assert tabs.dialogs == []


def test_wire_panel_lists_the_frames_with_ids_and_times(chat: ChatPage) -> None:
    expect(chat.by_id("wire")).to_be_hidden()
    chat.by_id("wire-toggle").click()
    expect(chat.by_id("wire")).to_be_visible()
    expect(chat.by_id("wire-toggle")).to_have_attribute("aria-expanded", "true")

    chat.expect_answer(chat.ask("a few lines please"), scripted_answer("lines"))
    frames = chat.by_id("wire-frame")
    expect(frames.last).to_have_attribute("data-event", "ANSWER_END")
    texts = chat.by_id("wire-text").all_inner_texts()
    times = [float(t.strip("+ s")) for t in chat.by_id("wire-time").all_inner_texts()]

    events = [re.search(r"^event: (.+)$", text, re.M) for text in texts]
    names = [match.group(1) for match in events if match]
    assert names[0] == "CONNECTED"
    assert names[1:] == ["ANSWER_START"] + ["ANSWER_CHUNK"] * 3 + ["ANSWER_END"]
    ids = [int(re.findall(r"^id: (\d+)$", text, re.M)[0]) for text in texts]
    assert ids == sorted(set(ids)), f"ids must increase: {ids}"
    # A chunk's data lines, joined, are the scripted part: the frame as it was sent.
    first_chunk = texts[2].split("\n")
    assert first_chunk[2:] == ["data: first line", "data: "]
    # Times count from the question: the answer's frames are in order, none before it.
    answer_times = times[1:]
    assert answer_times == sorted(answer_times)
    assert answer_times[0] >= 0

    chat.by_id("wire-clear").click()
    expect(frames).to_have_count(0)


# Records the distinct texts each [data-testid] below shows, in order, as the page changes.
RECORD_TEXTS = """(testIds) => {
  window.__texts = Object.fromEntries(testIds.map((id) => [id, []]));
  const messages = document.querySelector('[data-testid="messages"]');
  new MutationObserver(() => {
    for (const id of testIds) {
      const node = messages.querySelector(`[data-testid="${id}"]`);
      const seen = window.__texts[id];
      if (node && seen[seen.length - 1] !== node.textContent) seen.push(node.textContent);
    }
  }).observe(messages, { childList: true, subtree: true, characterData: true });
}"""


def test_thinking_and_tool_card_stream_then_the_answer(chat: ChatPage, tabs: Tabs) -> None:
    rule = scripted_rule("weather")
    reasoning, call, text = rule["steps"]
    chat.page.evaluate(RECORD_TEXTS, ["thinking-text", "tool-args"])
    answer = chat.ask("What is the weather in Paris?")

    thinking = answer.get_by_test_id("thinking")
    expect(thinking).to_have_attribute("open", "")  # open while the reasoning streams
    tabs.screenshot(chat.page, "thinking-streaming")
    card = answer.get_by_test_id("tool-card")
    expect(card).to_have_attribute("data-state", "output-available")
    expect(answer).to_have_attribute("data-state", "done")

    expect(answer.get_by_test_id("thinking-text")).to_have_text(reasoning["reasoning"])
    expect(thinking).not_to_have_attribute("open", "")  # folded once the answer moved on
    expect(card.get_by_test_id("tool-name")).to_have_text(call["tool"])
    args = json.loads(card.get_by_test_id("tool-args").inner_text())
    assert args == call["arguments"]
    assert json.loads(card.get_by_test_id("tool-result").inner_text()) == call["output"]
    expect(answer.get_by_test_id("answer-text").locator("strong")).to_have_text("21 °C")
    assert answer.get_by_test_id("answer-text").inner_text() == text["text"].replace("**", "")

    texts = chat.page.evaluate("() => window.__texts")
    assert len(texts["thinking-text"]) >= 3, texts["thinking-text"]
    assert texts["thinking-text"][-1] == reasoning["reasoning"]
    partial_args = texts["tool-args"][:-1]  # the last one is the pretty-printed whole
    assert len(partial_args) >= 3, partial_args
    assert all(
        json.dumps(call["arguments"], separators=(",", ":")).startswith(piece)
        for piece in partial_args
    )
    tabs.screenshot(chat.page, "tool-call-done")

    # A reload shows the same parts again, from the saved transcript.
    chat.page.reload()
    chat.expect_connected()
    restored = chat.answers.first
    expect(restored.get_by_test_id("thinking-text")).to_have_text(reasoning["reasoning"])
    expect(restored.get_by_test_id("tool-card")).to_have_attribute("data-state", "output-available")
    expect(restored.get_by_test_id("answer-text").locator("strong")).to_have_text("21 °C")
