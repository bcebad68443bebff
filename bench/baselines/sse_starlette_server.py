"""The quart-qa protocol on Starlette + sse-starlette + uvicorn: the common Python choice.

Written the way a competent developer would with these libraries: one
``asyncio.Queue`` per open stream, a per-user lock so answers run one after the
other, ``EventSourceResponse`` for framing and heartbeats, uvicorn with uvloop
and httptools. It reads the same TOML file as ``quart-qa serve`` (only the
``[stream]`` pacing keys, ``[messages]`` and ``[[answers]]`` ``match``/``parts``).

Run: ``python -m bench.baselines.sse_starlette_server --config FILE --bind HOST:PORT``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import tomllib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
Event = tuple[str, str]


@dataclass(frozen=True)
class Rule:
    """One ``[[answers]]`` entry."""

    parts: tuple[str, ...]
    match: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Config:
    """The subset of the quart-qa TOML this server honours."""

    chunk_delay: float = 1.0
    first_chunk_delay: float = 0.0
    heartbeat: float = 15.0
    connected: str = "连接已建立,用户ID: {user_id}"
    answer_start: str = "开始回答问题: {question}"
    answer_end: str = "回答结束"
    submitted: str = "问题已提交,正在处理中..."
    rules: tuple[Rule, ...] = (Rule(parts=("这是对您问题的回答。",)),)

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read the TOML file ``quart-qa serve`` reads."""
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        stream = data.get("stream", {})
        messages = data.get("messages", {})
        rules = tuple(
            Rule(
                parts=tuple(raw["parts"]),
                match=re.compile(raw["match"], re.IGNORECASE) if "match" in raw else None,
            )
            for raw in data.get("answers", [])
        )
        defaults = cls()
        return cls(
            chunk_delay=float(stream.get("chunk_delay", defaults.chunk_delay)),
            first_chunk_delay=float(stream.get("first_chunk_delay", defaults.first_chunk_delay)),
            heartbeat=float(stream.get("heartbeat", defaults.heartbeat)),
            connected=messages.get("connected", defaults.connected),
            answer_start=messages.get("answer_start", defaults.answer_start),
            answer_end=messages.get("answer_end", defaults.answer_end),
            submitted=messages.get("submitted", defaults.submitted),
            rules=rules or defaults.rules,
        )

    def parts_for(self, question: str) -> tuple[str, ...]:
        """The first matching rule's parts; the last rule is the default."""
        for rule in self.rules:
            if rule.match is None or rule.match.search(question):
                return rule.parts
        return self.rules[-1].parts


@dataclass
class User:
    """One user's open streams, event-id counter and answer lock."""

    queues: set[asyncio.Queue[Event]] = field(default_factory=set)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def publish(self, name: str, data: str) -> None:
        """Send one event to every open stream of this user."""
        for queue in self.queues:
            queue.put_nowait((name, data))


class Hub:
    """Users by id, and the answer tasks still running."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.users: dict[str, User] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def user(self, user_id: str) -> User:
        """The user's record, created on first use."""
        return self.users.setdefault(user_id, User())

    async def answer(self, user: User, question: str) -> None:
        """Stream one scripted answer, paced by the config."""
        config = self.config
        async with user.lock:
            if not user.queues:
                return
            user.publish("ANSWER_START", config.answer_start.format(question=question))
            await asyncio.sleep(config.first_chunk_delay)
            for index, part in enumerate(config.parts_for(question)):
                if not user.queues:
                    return
                if index:
                    await asyncio.sleep(config.chunk_delay)
                user.publish("ANSWER_CHUNK", part)
            user.publish("ANSWER_END", config.answer_end)


def error(status: int, code: str, message: str) -> JSONResponse:
    """The protocol's error body."""
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def connect(request: Request) -> EventSourceResponse | JSONResponse:
    """GET /qa/connect/{user_id}: CONNECTED, then the user's events."""
    hub: Hub = request.app.state.hub
    user_id: str = request.path_params["user_id"]
    if not USER_ID.match(user_id):
        return error(400, "invalid_user_id", "user_id must match ^[A-Za-z0-9_-]{1,64}$")
    user = hub.user(user_id)
    queue: asyncio.Queue[Event] = asyncio.Queue()
    user.queues.add(queue)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            connected = hub.config.connected.format(user_id=user_id)
            yield ServerSentEvent(connected, event="CONNECTED", id=str(next(user.ids)))
            while True:
                name, data = await queue.get()
                yield ServerSentEvent(data, event=name, id=str(next(user.ids)))
        finally:
            user.queues.discard(queue)

    return EventSourceResponse(
        events(),
        headers={"Cache-Control": "no-cache"},
        ping=hub.config.heartbeat,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
    )


async def ask(request: Request) -> JSONResponse:
    """POST /qa/ask/{user_id}: 202 now, the answer on the user's streams."""
    hub: Hub = request.app.state.hub
    user_id: str = request.path_params["user_id"]
    if not USER_ID.match(user_id):
        return error(400, "invalid_user_id", "user_id must match ^[A-Za-z0-9_-]{1,64}$")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error(415, "unsupported_media_type", "the body must be application/json")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "malformed_json", "the body is not valid JSON")
    question = body.get("question") if isinstance(body, dict) else None
    if not isinstance(question, str) or not question.strip():
        return error(400, "invalid_question", "question must be a non-empty string")
    user = hub.users.get(user_id)
    if user is None or not user.queues:
        return error(404, "not_connected", "no open connection for this user")
    task = asyncio.create_task(hub.answer(user, question))
    hub.tasks.add(task)
    task.add_done_callback(hub.tasks.discard)
    answer_id = uuid.uuid4().hex
    return JSONResponse({"answer_id": answer_id, "message": hub.config.submitted}, status_code=202)


def create_app(config: Config) -> Starlette:
    """The Starlette app for one config."""
    app = Starlette(
        routes=[
            Route("/qa/connect/{user_id}", connect, methods=["GET"]),
            Route("/qa/ask/{user_id}", ask, methods=["POST"]),
        ]
    )
    app.state.hub = Hub(config)
    return app


def main() -> None:
    """Parse ``--config`` and ``--bind`` and serve with uvicorn (uvloop, httptools)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--bind", default="127.0.0.1:8001")
    args = parser.parse_args()
    host, _, port = args.bind.rpartition(":")
    uvicorn.run(
        create_app(Config.load(args.config)),
        host=host,
        port=int(port),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
