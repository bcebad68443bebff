"""The chat page as the tests see it: its ``data-testid`` hooks and a few steps."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

FAST_CONFIG = Path(__file__).with_name("fast.toml")

# Records every distinct text of the newest answer bubble, so a test can prove the bubble
# grew in steps without racing the stream.
_RECORD_ANSWER_TEXTS = """() => {
  window.__answerTexts = [];
  const messages = document.querySelector('[data-testid="messages"]');
  new MutationObserver(() => {
    const texts = messages.querySelectorAll('[data-testid="answer-text"]');
    if (texts.length === 0) return;
    const text = texts[texts.length - 1].innerText;
    const seen = window.__answerTexts;
    if (seen[seen.length - 1] !== text) seen.push(text);
  }).observe(messages, { childList: true, subtree: true, characterData: true });
}"""


def scripted_answer(match: str | None) -> str:
    """The full text fast.toml scripts for the rule with this ``match`` (None: the default)."""
    with FAST_CONFIG.open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)
    for rule in config["answers"]:
        if rule.get("match") == match:
            return str(rule["text"]) if "text" in rule else "".join(rule["parts"])
    raise KeyError(f"fast.toml has no [[answers]] rule with match = {match!r}")


def scripted_rule(match: str) -> dict[str, Any]:
    """fast.toml's rule with this ``match``, as written there."""
    with FAST_CONFIG.open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)
    rule: dict[str, Any] = next(rule for rule in config["answers"] if rule.get("match") == match)
    return rule


def scripted_error(match: str) -> str:
    with FAST_CONFIG.open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)
    return next(str(rule["error"]) for rule in config["answers"] if rule.get("match") == match)


# Records every data-state the newest answer bubble takes, however briefly.
_RECORD_ANSWER_STATES = """() => {
  window.__answerStates = [];
  const messages = document.querySelector('[data-testid="messages"]');
  const note = () => {
    const answers = messages.querySelectorAll('[data-testid="answer"]');
    if (answers.length === 0) return;
    const state = answers[answers.length - 1].dataset.state;
    const seen = window.__answerStates;
    if (seen[seen.length - 1] !== state) seen.push(state);
  };
  new MutationObserver(note).observe(messages, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["data-state"],
  });
}"""


class ChatPage:
    """One tab showing ``static/index.html`` served by a real server."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def by_id(self, test_id: str) -> Locator:
        return self.page.get_by_test_id(test_id)

    @property
    def status(self) -> Locator:
        return self.by_id("status")

    @property
    def question(self) -> Locator:
        return self.by_id("question")

    @property
    def send(self) -> Locator:
        return self.by_id("send")

    @property
    def stop(self) -> Locator:
        return self.by_id("stop")

    @property
    def messages(self) -> Locator:
        return self.by_id("messages")

    @property
    def answers(self) -> Locator:
        return self.by_id("answer")

    @property
    def user_messages(self) -> Locator:
        return self.by_id("user-message")

    def open(self, user: str | None = None, transport: str | None = None) -> None:
        """Load the page (optionally on a given stream and transport); wait until connected."""
        params = {"user": user, "transport": transport}
        query = "&".join(f"{name}={value}" for name, value in params.items() if value is not None)
        self.page.goto(f"{self.base_url}/{'?' if query else ''}{query}")
        self.expect_connected()

    def expect_connected(self) -> None:
        expect(self.status).to_have_attribute("data-state", "connected")
        expect(self.status).to_have_text("Connected")

    def ask(self, question: str) -> Locator:
        """Type and send a question; the answer bubble it will fill."""
        index = self.answers.count()
        self.question.fill(question)
        expect(self.send).to_be_enabled()
        self.send.click()
        expect(self.answers).to_have_count(index + 1)
        return self.answers.nth(index)

    def expect_answer(self, answer: Locator, text: str) -> None:
        """The answer finished normally with exactly ``text`` (newlines and all)."""
        expect(answer).to_have_attribute("data-state", "done")
        assert answer.get_by_test_id("answer-text").inner_text() == text
        expect(self.send).to_be_visible()
        expect(self.stop).to_be_hidden()

    def record_answer_texts(self) -> None:
        self.page.evaluate(_RECORD_ANSWER_TEXTS)

    def record_answer_states(self) -> None:
        self.page.evaluate(_RECORD_ANSWER_STATES)

    def recorded_answer_states(self) -> list[str]:
        states: list[str] = self.page.evaluate("() => window.__answerStates")
        return states

    def recorded_answer_texts(self) -> list[str]:
        texts: list[str] = self.page.evaluate("() => window.__answerTexts")
        return texts

    def user_id(self) -> str:
        return self.by_id("user-id").inner_text()
