"""The WebSocket framing: client messages parsed, events and replies encoded."""

from __future__ import annotations

import json

import pytest

from quart_qa.streaming.sse import DecodedEvent
from quart_qa.web.errors import ApiError
from quart_qa.web.ws_messages import (
    AskMessage,
    AuthMessage,
    CancelMessage,
    ResumeMessage,
    error_message,
    event_message,
    message_ref,
    parse_message,
    refusal_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"type": "ask", "question": "hi", "ref": 1}',
            AskMessage(type="ask", question="hi", ref=1),
        ),
        (b'{"type": "cancel", "extra": true}', CancelMessage(type="cancel")),
        ('{"type": "resume", "last_event_id": 7}', ResumeMessage(type="resume", last_event_id=7)),
        ('{"type": "resume"}', ResumeMessage(type="resume")),
        (
            '{"type": "auth", "token": "t", "ref": "a"}',
            AuthMessage(type="auth", token="t", ref="a"),
        ),
    ],
)
def test_good_messages_parse(raw: str | bytes, expected: object) -> None:
    assert parse_message(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "malformed_json"),
        ("{", "malformed_json"),
        (b"\x80", "malformed_json"),
        ("null", "invalid_message"),
        ('"ask"', "invalid_message"),
        ('{"type": ["ask"]}', "invalid_message"),
        ('{"type": "ask", "question": null}', "invalid_question"),
        ('{"type": "ask", "question": "\\ud800"}', "invalid_question"),
        ('{"type": "auth"}', "invalid_request"),
        ('{"type": "cancel", "ref": true}', "invalid_request"),
        ('{"type": "cancel", "ref": "' + "r" * 65 + '"}', "invalid_request"),
    ],
)
def test_bad_messages_are_named(raw: str | bytes, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_message(raw)
    assert (refused.value.status, refused.value.code) == (400, code)
    assert refused.value.message


@pytest.mark.parametrize(
    ("raw", "ref"),
    [('{"ref": "x"}', "x"), ('{"ref": 3}', 3), ('{"ref": true}', None), ("[]", None), ("{", None)],
)
def test_the_ref_of_a_bad_message_is_kept_when_usable(raw: str, ref: object) -> None:
    assert message_ref(raw) == ref


def test_events_keep_the_sse_name_id_and_data() -> None:
    assert json.loads(event_message(DecodedEvent("ANSWER_CHUNK", "a\nb", "5"))) == {
        "event": "ANSWER_CHUNK",
        "id": "5",
        "data": "a\nb",
    }
    connected = json.loads(event_message(DecodedEvent("CONNECTED", "hi", "1", 3000)))
    assert connected["retry"] == 3000
    assert json.loads(event_message(DecodedEvent("EVENTS_MISSED", "gap")))["id"] is None


def test_errors_carry_status_and_retry_after() -> None:
    error = ApiError(429, "rate_limited", "slow down", headers={"Retry-After": "4"})
    assert json.loads(error_message(error, "r")) == {
        "type": "error",
        "ref": "r",
        "error": "rate_limited",
        "message": "slow down",
        "status": 429,
        "retry_after": 4,
    }
    assert refusal_code(error) == 4429
