"""The chat protocol over ``/qa/ws/<user_id>``: the SSE stream's events, asks and cancels."""

from __future__ import annotations

from dataclasses import replace

from quart_qa.settings.config import SEED_ANSWER_PARTS, Settings
from tests.support.apps import AppFactory, fast_settings
from tests.support.socket_reader import Message, Socket, open_socket
from tests.support.sse_reader import open_stream

ALL_BACKENDS = True  # every test here runs on the memory and the Redis broker


def with_limits(settings: Settings, **limits: int) -> Settings:
    return replace(settings, limits=replace(settings.limits, **limits))


def keyed(messages: list[Message]) -> list[tuple[str, str, str]]:
    """(id, event, data) of the stream events among ``messages``."""
    return [(item["id"], item["event"], item["data"]) for item in messages if "event" in item]


async def ask(socket: Socket, question: str, ref: object = None) -> Message:
    await socket.send({"type": "ask", "question": question, "ref": ref})
    return await socket.reply()


async def test_socket_gets_the_events_an_sse_tab_of_the_user_gets(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as tab, open_socket(client, "u1") as socket:
            await socket.send({"type": "ask", "question": "什么是SSE", "ref": 7})
            received = await socket.answer()
            over_sse = await tab.answer()
    accepted = next(item for item in received if "type" in item)
    assert accepted["type"] == "accepted"
    assert accepted["ref"] == 7
    assert accepted["answer_id"]
    assert accepted["message"] == "问题已提交,正在处理中..."
    events = [item for item in received if "event" in item]
    assert [item["event"] for item in events] == [
        "ANSWER_START",
        *["ANSWER_CHUNK"] * 5,
        "ANSWER_END",
    ]
    assert [item["data"] for item in events[1:6]] == list(SEED_ANSWER_PARTS)
    assert keyed(events) == [(event.id, event.event, event.data) for event in over_sse]


async def test_cancel_stops_the_answer_and_the_socket_asks_again(make_app: AppFactory) -> None:
    async with (
        make_app(fast_settings(chunk_delay=0.2)) as app,
        open_socket(app.test_client(), "u1") as socket,
    ):
        assert (await ask(socket, "long"))["type"] == "accepted"
        await socket.until("ANSWER_CHUNK")
        await socket.send({"type": "cancel", "ref": "stop"})
        after = await socket.until("ANSWER_CANCELLED")
        cancelled = next(item for item in after if "type" in item)
        assert cancelled["type"] == "cancelled"
        assert cancelled["ref"] == "stop"
        assert cancelled["dropped"] == 0
        assert [item["event"] for item in after if "event" in item][-1] == "ANSWER_CANCELLED"

        await socket.send({"type": "cancel"})
        nothing = await socket.reply()
        assert (nothing["type"], nothing["error"], nothing["status"]) == (
            "error",
            "nothing_running",
            404,
        )
        assert (await ask(socket, "again"))["type"] == "accepted"
        assert (await socket.answer())[-1]["event"] == "ANSWER_END"


BAD_MESSAGES: list[tuple[str | bytes | Message, str, int]] = [
    ("not json", "malformed_json", 400),
    (b"\xff\xfe", "malformed_json", 400),
    ("[1, 2]", "invalid_message", 400),
    ({"type": "dance"}, "invalid_message", 400),
    ({"question": "no type"}, "invalid_message", 400),
    ({"type": "ask"}, "invalid_question", 400),
    ({"type": "ask", "question": " \n"}, "invalid_question", 400),
    ({"type": "ask", "question": 42}, "invalid_question", 400),
    ({"type": "ask", "question": "x" * 4001}, "question_too_long", 413),
    ({"type": "resume", "last_event_id": [1]}, "invalid_request", 400),
    ({"type": "auth", "token": "not needed"}, "invalid_message", 400),
]


async def test_bad_messages_get_errors_and_the_socket_stays_usable(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app, open_socket(app.test_client(), "u1") as socket:
        for message, code, status in BAD_MESSAGES:
            if isinstance(message, bytes):
                await socket.connection.send(message)
            else:
                await socket.send(message)
            error = await socket.next()
            assert (error["type"], error["error"], error["status"]) == ("error", code, status)
            assert error["message"]
        assert (await ask(socket, "still there?"))["type"] == "accepted"
        assert (await socket.answer())[-1]["event"] == "ANSWER_END"


async def test_an_error_reply_echoes_the_ref(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app, open_socket(app.test_client(), "u1") as socket:
        await socket.send('{"type": "ask", "ref": "r1"}')
        assert (await socket.next())["ref"] == "r1"
        await socket.send({"type": "cancel", "ref": 3})
        assert (await socket.next())["ref"] == 3


async def test_resume_after_a_drop_loses_nothing(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=0.02, resume_grace=5, history_ttl=5)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as reference:
            async with open_socket(client, "u1") as first:
                await ask(first, "q")
                seen = await first.until("ANSWER_CHUNK")
            last_id = [item for item in seen if "event" in item][-1]["id"]
            async with open_socket(
                client, "u1", query=f"last_event_id={last_id}", expect_connected=False
            ) as second:
                connected = await second.next()
                assert (connected["event"], connected["id"]) == ("CONNECTED", last_id)
                rest = await second.answer()
            expected = await reference.answer()
    assert keyed(seen + rest) == [(event.id, event.event, event.data) for event in expected]
    assert expected[-1].event == "ANSWER_END"


async def test_resume_message_replays_after_the_id(make_app: AppFactory) -> None:
    async with (
        make_app(fast_settings(history_ttl=5)) as app,
        open_socket(app.test_client(), "u1") as socket,
    ):
        await ask(socket, "q")
        answer = [item for item in await socket.answer() if "event" in item]
        await socket.send({"type": "resume", "last_event_id": answer[1]["id"]})
        connected = await socket.next()
        assert (connected["event"], connected["id"]) == ("CONNECTED", answer[1]["id"])
        assert keyed(await socket.answer()) == keyed(answer[2:])


async def test_sse_and_sockets_share_the_per_user_limit(make_app: AppFactory) -> None:
    settings = with_limits(fast_settings(retry_ms=2000), max_connections_per_user=2)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1"), open_socket(client, "u1"):
            async with open_socket(client, "u1", expect_connected=False) as third:
                messages, code = await third.closed()
            async with open_socket(client, "other"):
                pass
    assert code == 4429
    assert [(item["error"], item["status"], item["retry_after"]) for item in messages] == [
        ("too_many_connections_for_user", 429, 2)
    ]


async def test_total_connections_limit_closes_with_4503(make_app: AppFactory) -> None:
    async with make_app(with_limits(fast_settings(), max_connections=1)) as app:
        client = app.test_client()
        async with (
            open_socket(client, "u1"),
            open_socket(client, "u2", expect_connected=False) as refused,
        ):
            messages, code = await refused.closed()
    assert code == 4503
    assert [item["error"] for item in messages] == ["too_many_connections"]


async def test_asks_over_the_socket_are_rate_limited(make_app: AppFactory) -> None:
    settings = with_limits(fast_settings(), asks_per_minute=1, max_pending_answers=5)
    async with make_app(settings) as app, open_socket(app.test_client(), "u1") as socket:
        assert (await ask(socket, "one"))["type"] == "accepted"
        limited = await ask(socket, "two")
        assert (limited["error"], limited["status"]) == ("rate_limited", 429)
        assert limited["retry_after"] >= 1
        assert (await socket.answer())[-1]["event"] == "ANSWER_END"


async def test_sockets_of_other_users_see_nothing(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        async with open_socket(client, "u1") as asker, open_socket(client, "u2") as other:
            await ask(asker, "first")
            await asker.answer()
            # u2's first message after its own ask is its own answer's start: nothing of u1's.
            await other.send({"type": "ask", "question": "second"})
            first = await other.next()
            if "type" in first:
                first = await other.next()
            assert (first["event"], first["data"]) == ("ANSWER_START", "开始回答问题: second")
