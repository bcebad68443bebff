"""Raw ASGI plumbing shared by the fast paths in front of Quart: headers, bodies, replay."""

from __future__ import annotations

from hypercorn.typing import ASGIReceiveCallable, ASGIReceiveEvent, HTTPScope


def header(scope: HTTPScope, name: bytes) -> bytes | None:
    """The value of the first header called ``name`` (lower case), None when absent."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def is_json(content_type: bytes | None) -> bool:
    """The test Quart's ``request.is_json`` makes."""
    if content_type is None:
        return False
    mimetype = content_type.split(b";", 1)[0].strip().lower()
    return mimetype == b"application/json" or mimetype.endswith(b"+json")


async def read_body(
    receive: ASGIReceiveCallable, limit: int
) -> tuple[list[ASGIReceiveEvent], bytes | None]:
    """The messages read and the whole body, or None when it is not whole within ``limit``."""
    messages: list[ASGIReceiveEvent] = []
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        part = message.get("body", b"")
        parts.append(part)
        size += len(part)
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(parts)


def replaying(
    messages: list[ASGIReceiveEvent], receive: ASGIReceiveCallable
) -> ASGIReceiveCallable:
    """A ``receive`` that first gives back what was already read."""
    pending = list(messages)

    async def replay() -> ASGIReceiveEvent:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
