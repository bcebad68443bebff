"""The chat page (static/) in headless Chromium against a real ``quart-qa serve``."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Request, Route, expect

from tests.browser.browser_tabs import Tabs
from tests.browser.chat_page import ChatPage, scripted_answer, scripted_error
from tests.support.live_server import QaServer

pytestmark = pytest.mark.timeout(25)

XSS_QUESTION = "<img src=x onerror=alert(1)>"
STRICT_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"


def shared_user() -> str:
    return f"shared_{uuid.uuid4().hex[:12]}"


def test_answer_streams_into_one_growing_bubble(chat: ChatPage, tabs: Tabs) -> None:
    final = scripted_answer("How do Server-Sent Events work")
    chat.record_answer_texts()
    answer = chat.ask("How do Server-Sent Events work?")

    # Between ANSWER_START and the first chunk: a typing indicator and a stop button.
    expect(answer.get_by_test_id("typing")).to_be_visible()
    expect(chat.stop).to_be_visible()
    expect(chat.send).to_be_hidden()

    expect(answer.get_by_test_id("answer-text")).not_to_be_empty()
    expect(answer).to_have_attribute("data-state", "streaming")
    expect(answer.get_by_test_id("typing")).to_be_hidden()
    tabs.screenshot(chat.page, "answer-streaming")

    chat.expect_answer(answer, final)
    tabs.screenshot(chat.page, "answer-done")
    expect(chat.user_messages).to_have_count(1)
    expect(chat.user_messages).to_have_text("How do Server-Sent Events work?")
    expect(chat.answers).to_have_count(1)

    texts = chat.recorded_answer_texts()
    partial = [text for text in texts if text and text != final]
    assert len(partial) >= 2, f"expected at least two partial states, saw {texts!r}"
    assert all(final.startswith(text) for text in partial), texts
    assert partial == sorted(partial, key=len), f"the bubble must only grow: {texts!r}"


def test_newlines_in_answers_are_kept(chat: ChatPage) -> None:
    answer = chat.ask("a few lines please")
    chat.expect_answer(answer, scripted_answer("lines"))
    rendered = answer.get_by_test_id("answer-text").inner_text()
    assert rendered.splitlines() == ["first line", "second line", "", "after a blank line"]


def test_html_in_questions_and_answers_is_text(chat: ChatPage, tabs: Tabs) -> None:
    answer = chat.ask(XSS_QUESTION)
    chat.expect_answer(answer, scripted_answer("onerror"))
    expect(chat.user_messages.last).to_have_text(XSS_QUESTION)
    expect(chat.messages.locator("img, script, b")).to_have_count(0)
    assert tabs.dialogs == []


def test_error_event_shows_inside_the_answer(chat: ChatPage) -> None:
    answer = chat.ask("make it fail")
    expect(answer).to_have_attribute("data-state", "error")
    expect(answer.get_by_test_id("answer-note")).to_have_text(f"Error: {scripted_error('fail')}")
    expect(answer.get_by_test_id("answer-text")).to_have_text("Half an answer, then the model")
    expect(chat.send).to_be_visible()


def test_stop_ends_the_answer_and_the_next_question_works(chat: ChatPage) -> None:
    full = scripted_answer("slow")
    answer = chat.ask("a slow answer, please")
    expect(answer.get_by_test_id("answer-text")).not_to_be_empty()

    chat.stop.click()
    expect(answer).to_have_attribute("data-state", "cancelled")
    expect(answer.get_by_test_id("answer-note")).to_contain_text("Stopped")
    expect(answer.get_by_test_id("typing")).to_be_hidden()
    stopped_at = answer.get_by_test_id("answer-text").inner_text()
    assert stopped_at, "the answer was stopped before its first chunk"
    assert full.startswith(stopped_at)
    assert len(stopped_at) < len(full), "the answer was not stopped early"

    expect(chat.send).to_be_visible()
    expect(chat.stop).to_be_hidden()
    following = chat.ask("and now a normal one")
    chat.expect_answer(following, scripted_answer(None))
    # No chunk of the stopped answer arrived after it was stopped.
    assert answer.get_by_test_id("answer-text").inner_text() == stopped_at


def test_escape_stops_the_answer(chat: ChatPage) -> None:
    answer = chat.ask("slow again")
    expect(answer.get_by_test_id("answer-text")).not_to_be_empty()
    chat.question.press("Escape")
    expect(answer).to_have_attribute("data-state", "cancelled")


def test_rejected_question_is_explained_and_kept(chat: ChatPage) -> None:
    too_long = "x" * 201  # fast.toml: limits.max_question_chars = 200
    answer = chat.ask(too_long)
    expect(answer).to_have_attribute("data-state", "rejected")
    note = answer.get_by_test_id("answer-note")
    expect(note).to_contain_text("too long")
    expect(note).to_contain_text("413 question_too_long")
    expect(chat.question).to_have_value(too_long)
    expect(chat.send).to_be_enabled()


def test_clear_empties_the_conversation(chat: ChatPage, tabs: Tabs) -> None:
    question = "How do Server-Sent Events work?"
    chat.expect_answer(chat.ask(question), scripted_answer("How do Server-Sent Events work"))
    chat.expect_answer(chat.ask("Can an answer keep its lines?"), scripted_answer("lines"))
    tabs.screenshot(chat.page, "conversation")
    chat.by_id("clear").click()
    expect(chat.user_messages).to_have_count(0)
    expect(chat.answers).to_have_count(0)
    expect(chat.messages).to_be_empty()
    chat.expect_connected()
    chat.expect_answer(chat.ask("one more"), scripted_answer(None))
    expect(chat.user_messages).to_have_count(1)


def test_reconnect_opens_a_new_stream(chat: ChatPage) -> None:
    def is_connect(request: Request) -> bool:
        return f"/qa/connect/{chat.user_id()}" in request.url

    with chat.page.expect_request(is_connect):
        chat.by_id("reconnect").click()
    chat.expect_connected()
    chat.expect_answer(chat.ask("still there?"), scripted_answer(None))


def test_keyboard_alone_works(chat: ChatPage) -> None:
    expect(chat.send).to_be_disabled()
    chat.question.fill("   ")
    expect(chat.send).to_be_disabled()
    chat.question.fill("")

    chat.question.press_sequentially("line one")
    chat.question.press("Shift+Enter")
    chat.question.press_sequentially("line two")
    expect(chat.question).to_have_value("line one\nline two")
    expect(chat.send).to_be_enabled()
    chat.question.press("Enter")

    expect(chat.user_messages).to_have_count(1)
    assert chat.user_messages.first.inner_text().splitlines() == ["line one", "line two"]
    expect(chat.question).to_have_value("")
    expect(chat.question).to_be_focused()
    chat.expect_answer(chat.answers.first, scripted_answer(None))


def test_controls_have_accessible_names(chat: ChatPage) -> None:
    page = chat.page
    expect(page.get_by_role("log", name="Conversation")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("textbox", name="Your question")).to_be_visible()
    expect(page.get_by_role("button", name="Send question")).to_be_visible()
    expect(page.get_by_role("button", name="Reconnect")).to_be_visible()
    expect(page.get_by_role("button", name="Clear")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()


def test_reload_keeps_the_stream_and_the_conversation(chat: ChatPage) -> None:
    generated = chat.user_id()
    assert re.fullmatch(r"user_[a-z0-9]{9}", generated)
    chat.expect_answer(chat.ask("remember me"), scripted_answer(None))
    chat.page.reload()
    chat.expect_connected()
    assert chat.user_id() == generated
    expect(chat.user_messages).to_have_text(["remember me"])
    chat.expect_answer(chat.answers.first, scripted_answer(None))
    chat.expect_answer(chat.ask("and after the reload?"), scripted_answer(None))


def test_reload_mid_answer_continues_the_same_bubble(chat: ChatPage) -> None:
    answer = chat.ask("a slow answer to reload in the middle of")
    text = answer.get_by_test_id("answer-text")
    expect(text).not_to_be_empty()
    before = text.inner_text()
    chat.page.reload()
    chat.expect_connected()
    # The page resumes the stream after the last event it showed (?last_event_id=).
    expect(answer).to_have_attribute("data-state", "streaming")
    expect(text).not_to_have_text(before)
    assert text.inner_text().startswith(before)
    assert scripted_answer("slow").startswith(text.inner_text())
    expect(chat.answers).to_have_count(1)
    expect(chat.user_messages).to_have_count(1)
    chat.stop.click()
    expect(answer).to_have_attribute("data-state", "cancelled")


def test_user_in_the_url_sets_the_stream(chat: ChatPage) -> None:
    chat.open(user="chosen-id_42")
    assert chat.user_id() == "chosen-id_42"
    expect(chat.answers).to_have_count(0)  # another stream: another conversation
    chat.expect_answer(chat.ask("hi"), scripted_answer(None))


def test_invalid_user_in_the_url_is_ignored_and_said(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server)
    chat.open(user="not%20valid!")
    expect(chat.by_id("notice")).to_contain_text("Ignored ?user=not valid!")
    assert re.fullmatch(r"user_[a-z0-9]{9}", chat.user_id())


def test_two_tabs_of_one_user_both_show_the_answer(tabs: Tabs, qa_server: QaServer) -> None:
    user = shared_user()
    context = tabs.new_context()
    asking, watching = tabs.chat(qa_server, context), tabs.chat(qa_server, context)
    asking.open(user=user)
    watching.open(user=user)

    final = scripted_answer(None)
    asking.expect_answer(asking.ask("seen in two tabs?"), final)
    watching.expect_answer(watching.answers.first, final)
    expect(watching.user_messages).to_have_count(0)
    expect(watching.by_id("notice")).to_contain_text("seen in two tabs?")


def test_page_runs_under_a_strict_content_security_policy(tabs: Tabs, qa_server: QaServer) -> None:
    """No inline script or style and no foreign origin: a deployment can send a strict CSP."""
    chat = tabs.chat(qa_server)
    violations: list[str] = []
    chat.page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    def with_csp(route: Route) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    chat.page.route(f"{qa_server.url}/", with_csp)
    chat.open()
    chat.expect_answer(chat.ask("does it run?"), scripted_answer(None))
    assert violations == []


def test_phone_width_and_dark_scheme(tabs: Tabs, qa_server: QaServer) -> None:
    chat = tabs.chat(qa_server, viewport={"width": 360, "height": 740}, color_scheme="dark")
    chat.open()
    answer = chat.ask("A long question that has to wrap on a narrow phone screen " * 2)
    chat.expect_answer(answer, scripted_answer(None))
    overflow = chat.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0, f"horizontal scrolling at 360 px: {overflow}px too wide"
    for test_id in ("status", "reconnect", "clear", "question", "send"):
        expect(chat.by_id(test_id)).to_be_in_viewport()
    background = chat.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert _luminance(background) < 0.2, f"dark scheme background is {background}"
    tabs.screenshot(chat.page, "phone-dark")


def test_light_scheme_is_light(chat: ChatPage) -> None:
    background = chat.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert _luminance(background) > 0.8, f"light scheme background is {background}"


def test_page_retries_a_refused_stream_by_itself(tabs: Tabs, qa_server: QaServer) -> None:
    """A non-200 answer makes EventSource give up for good; the page then retries itself."""
    chat = tabs.chat(qa_server)
    connect = re.compile(r"/qa/connect/")

    def refuse(route: Route) -> None:
        route.fulfill(status=503, json={"error": "unavailable", "message": "try again later"})

    chat.page.route(connect, refuse)
    chat.page.goto(f"{qa_server.url}/")
    expect(chat.status).to_have_attribute("data-state", "reconnecting")
    expect(chat.status).to_have_text(re.compile(r"Reconnecting \(attempt \d+\)…"))
    chat.page.unroute(connect, refuse)
    chat.expect_connected()  # the next try of the backoff, without a reload
    chat.expect_answer(chat.ask("there now?"), scripted_answer(None))


@pytest.mark.slow
def test_page_recovers_when_the_server_restarts(tabs: Tabs, artifacts: Path) -> None:
    server = QaServer(Path(__file__).with_name("fast.toml"), artifacts)
    server.start()
    try:
        chat = tabs.chat(server)
        chat.open()
        cut_off = chat.ask("a slow answer that the crash cuts off")
        expect(cut_off.get_by_test_id("answer-text")).not_to_be_empty()

        server.kill()
        expect(chat.status).to_have_attribute("data-state", "reconnecting")
        expect(chat.status).to_have_text(re.compile(r"Reconnecting \(attempt \d+\)"))
        expect(cut_off).to_have_attribute("data-state", "interrupted")
        expect(cut_off.get_by_test_id("answer-note")).to_contain_text("Connection lost")
        chat.question.fill("are you back?")
        expect(chat.send).to_be_disabled()

        server.start()  # same port; the page must find it again without a reload
        # A guard: the page's backoff may have grown while the server started on a busy machine.
        expect(chat.status).to_have_attribute("data-state", "connected", timeout=30_000)
        # The new server cannot resume the old stream (EVENTS_MISSED): the answer stays cut.
        expect(cut_off).to_have_attribute("data-state", "incomplete")
        expect(chat.send).to_be_enabled()
        chat.send.click()
        chat.expect_answer(chat.answers.last, scripted_answer(None))
    finally:
        server.stop()


def _luminance(css_colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_a_dropped_stream_shows_cut_off_and_recovers(chat: ChatPage) -> None:
    chat.record_answer_states()
    answer = chat.ask("drop the line, please")
    chat.expect_answer(answer, scripted_answer("drop the line"))
    expect(answer).to_have_attribute("data-state", "done")
    expect(chat.status).to_have_attribute("data-state", "connected")
    states = chat.recorded_answer_states()
    assert "interrupted" in states, states  # shown cut off while the stream was down
    assert states.index("interrupted") < states.index("done")
