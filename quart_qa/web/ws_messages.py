"""The chat protocol's WebSocket framing: JSON messages in, JSON messages out.

Events keep the names, ids and data of the SSE stream (``{"event", "id", "data"}``);
replies to a client's messages carry a ``type`` and echo its ``ref``; errors have the codes
and statuses of the HTTP API. Pure functions and models: the session drives them.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from ..streaming.sse import DecodedEvent
from .error_handlers import describe_validation
from .errors import ApiError
from .models import AskAccepted, CancelAccepted, QuestionRequest

MESSAGE_TYPES = ("ask", "cancel", "resume", "auth")
MAX_REF_CHARS = 64

Ref = Annotated[StrictStr, Field(max_length=MAX_REF_CHARS)] | StrictInt | None


class CloseCode:
    """Close codes the server sends (docs/protocol.md); refusals are 4000 + HTTP status."""

    LIFETIME = 1000  # ``stream.timeout`` reached: reconnect, resuming after the last id
    SHUTDOWN = 1001  # the server is stopping (after SERVER_SHUTDOWN): reconnect later
    INTERNAL_ERROR = 1011
    SLOW_CONSUMER = 1013  # the client read too slowly: reconnect, resuming after the last id
    REFUSED = 4000  # + the HTTP status of the refusal: 4401, 4403, 4429, 4503, ...


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ref: Ref = None


class AskMessage(QuestionRequest, _Message):
    """``{"type": "ask", "question": "..."}``: the body of ``POST /qa/ask`` over the socket."""

    type: Literal["ask"]


class CancelMessage(_Message):
    """``{"type": "cancel"}``: ``POST /qa/cancel`` over the socket."""

    type: Literal["cancel"]


class ResumeMessage(_Message):
    """``{"type": "resume", "last_event_id": "7"}``: restart the stream after that event."""

    type: Literal["resume"]
    last_event_id: StrictStr | StrictInt | None = None


class AuthMessage(_Message):
    """``{"type": "auth", "token": "..."}``: the first message, when the URL has no token."""

    type: Literal["auth"]
    token: StrictStr


ClientMessage = AskMessage | CancelMessage | ResumeMessage | AuthMessage

_MODELS: dict[str, type[ClientMessage]] = {
    "ask": AskMessage,
    "cancel": CancelMessage,
    "resume": ResumeMessage,
    "auth": AuthMessage,
}


def message_ref(raw: str | bytes) -> Ref:
    """The ``ref`` of a message that failed to parse, when it has a usable one."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        return None
    return ref if not isinstance(ref, str) or len(ref) <= MAX_REF_CHARS else None


def parse_message(raw: str | bytes) -> ClientMessage:
    """The client's message; :class:`ApiError` 400 naming what is wrong with it."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "malformed_json", f"message is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "invalid_message", 'a message is a JSON object like {"type": "ask", ...}'
        )
    kind = data.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ApiError(
            400,
            "invalid_message",
            f"type must be one of {', '.join(MESSAGE_TYPES)}; got {kind!r}",
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise describe_validation(error) from None


def _dump(message: dict[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def event_message(event: DecodedEvent) -> str:
    """One stream event: ``{"event", "id", "data"}``, and ``retry`` on CONNECTED."""
    message: dict[str, object] = {"event": event.event, "id": event.event_id, "data": event.data}
    if event.retry is not None:
        message["retry"] = event.retry
    return _dump(message)


def accepted_message(accepted: AskAccepted, ref: Ref) -> str:
    """The reply to an ask: ``POST /qa/ask``'s 202 body with ``"type": "accepted"``."""
    return _dump({"type": "accepted", "ref": ref, **accepted.model_dump()})


def cancelled_message(cancelled: CancelAccepted, ref: Ref) -> str:
    """The reply to a cancel: ``POST /qa/cancel``'s 200 body with ``"type": "cancelled"``."""
    return _dump({"type": "cancelled", "ref": ref, **cancelled.model_dump()})


def error_message(error: ApiError, ref: Ref = None) -> str:
    """An error: the HTTP API's code, message and status, and its ``Retry-After`` if any."""
    message: dict[str, object] = {
        "type": "error",
        "ref": ref,
        "error": error.code,
        "message": error.message,
        "status": error.status,
    }
    retry_after = error.headers.get("Retry-After")
    if retry_after is not None and retry_after.isdigit():
        message["retry_after"] = int(retry_after)
    return _dump(message)


def refusal_code(error: ApiError) -> int:
    """The close code for a refused socket: 4000 + the HTTP status (4401, 4429, 4503, ...)."""
    return CloseCode.REFUSED + error.status
