"""Testing ChatApp against a real quart-qa server with the ``qa_server`` fixture."""

from __future__ import annotations

import time

from chat_app import ChatApp


def test_a_429_is_retried_after_retry_after(qa_server):
    qa_server.script(
        {"times": 1, "fault": {"kind": "rate_limit", "retry_after": 1}},
        {"text": "Paris is the capital of France."},
    )
    app = ChatApp(qa_server.openai_base_url)
    started = time.monotonic()
    assert app.reply("capital of France?") == "Paris is the capital of France."
    assert time.monotonic() - started >= 1  # the SDK waited as it was told
    first, second = qa_server.journal(path="/v1/chat/completions")
    assert (first["status"], second["status"]) == (429, 200)
    assert second["body"]["messages"] == [{"role": "user", "content": "capital of France?"}]


def test_a_dropped_stream_shows_an_error(qa_server):
    qa_server.fault("disconnect", after=2, text="This answer never arrives whole.")
    app = ChatApp(qa_server.openai_base_url)
    assert app.reply("anything") == "Sorry, the answer was cut off. Please try again."
    (entry,) = qa_server.journal(path="/v1/chat/completions")
    assert entry["fault"] == "disconnect after 2 chunk(s)"
