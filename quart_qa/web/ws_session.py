"""One WebSocket conversation: admit the socket, forward the user's stream, serve its messages.

The socket rides the SSE machinery: :func:`open_event_stream` admits it (limits, draining,
resume, metrics, lifetime), the broker's broadcast feeds it and cuts it when it reads too
slowly, and its frames are re-framed as JSON. Asks and cancels take the paths of
``POST /qa/ask`` and ``POST /qa/cancel``. A bad message gets an error reply and the socket
stays open; a socket that may not have the stream gets an error and the close code
4000 + the HTTP status of the same refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quart.wrappers import Websocket

from ..streaming.event_stream import EventStream
from ..streaming.refusals import Refused
from ..streaming.sse import decode_events
from ..streaming.subscription import CloseReason
from .asking import accept_question, cancel_answer
from .auth import check_user_access, request_token
from .cors import check_websocket_origin
from .errors import ApiError
from .refusals import refusal_error
from .routes import check_user_id
from .state import AppState
from .stream_opening import open_event_stream
from .ws_messages import (
    AskMessage,
    AuthMessage,
    CancelMessage,
    CloseCode,
    ResumeMessage,
    accepted_message,
    cancelled_message,
    error_message,
    event_message,
    message_ref,
    parse_message,
    refusal_code,
)

log = logging.getLogger("quart_qa.connections")

AUTH_TIMEOUT = 10.0  # seconds a socket may take to send its token as the first message
REPLY_TIMEOUT = 10.0  # seconds a reply may wait on a client that does not read
CLOSE_TIMEOUT = 1.0  # seconds a last message may wait on a client that does not read

_CLOSE_CODES = {
    CloseReason.LIFETIME: CloseCode.LIFETIME,
    CloseReason.SHUTDOWN: CloseCode.SHUTDOWN,
    CloseReason.SLOW_CONSUMER: CloseCode.SLOW_CONSUMER,
}


class NotAdmitted(Exception):
    """The socket may not have (or no longer have) the stream."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class SocketSession:
    """The stream of one user over one WebSocket, and the messages the client sends on it."""

    def __init__(self, state: AppState, user_id: str, websocket: Websocket) -> None:
        self._state = state
        self._user_id = user_id
        self._socket = websocket
        self._stream: EventStream | None = None
        self._sender: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Serve the socket until its stream ends (the client leaving cancels this)."""
        await self._socket.accept()
        try:
            try:
                await self._admit()
                code, reason = await self._converse()
            finally:
                await self._stop_stream()
        except NotAdmitted as refused:
            await self._last_words(error_message(refused.error))
            code, reason = refusal_code(refused.error), refused.error.code
        await self._close(code, reason)

    def _refusal(self, error: ApiError | Refused) -> NotAdmitted:
        if isinstance(error, Refused):
            error = refusal_error(error, self._state.settings)
        return NotAdmitted(error)

    async def _admit(self) -> None:
        """Check origin, user id and token, then open the stream (resuming as the URL asks)."""
        settings, socket = self._state.settings, self._socket
        try:
            check_websocket_origin(
                settings.cors, socket.headers.get("Origin"), socket.headers.get("Host")
            )
            check_user_id(self._user_id)
            if settings.auth.mode != "none":
                token = request_token(socket) or await self._token_from_first_message()
                check_user_access(settings.auth, self._user_id, token)
        except ApiError as error:
            raise self._refusal(error) from None
        await self._open(socket.args.get("last_event_id"))

    async def _token_from_first_message(self) -> str:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                raw = await self._socket.receive()
        except TimeoutError:
            raw = None
        message = None if raw is None else parse_message(raw)
        if not isinstance(message, AuthMessage):
            raise ApiError(
                401,
                "missing_token",
                "this server needs a session token: send it as ?token=<token> or as the first "
                'message, {"type": "auth", "token": "<token>"}; get one from POST /qa/session',
            )
        return message.token

    async def _open(self, last_event_id: str | None) -> None:
        try:
            self._stream = await open_event_stream(
                self._state, self._user_id, last_event_id, self._socket.remote_addr
            )
        except (ApiError, Refused) as error:
            raise self._refusal(error) from None
        self._sender = asyncio.get_running_loop().create_task(self._forward(self._stream))

    async def _forward(self, stream: EventStream) -> None:
        """Send each event of ``stream`` as one message; heartbeats are the server's pings."""
        async for frames in stream:
            for event in decode_events(frames):
                await self._socket.send(event_message(event))

    async def _stop_stream(self) -> None:
        sender, stream = self._sender, self._stream
        self._sender = self._stream = None
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if stream is not None:
            await stream.aclose()

    async def _converse(self) -> tuple[int, str]:
        """Serve messages until the stream ends; the close code and reason that say why."""
        receiving: asyncio.Task[str | bytes] | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                sender = self._sender
                assert sender is not None
                if receiving is None:
                    receiving = loop.create_task(self._socket.receive())
                await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
                if sender.done():
                    return self._ending(sender)
                raw = receiving.result()
                receiving = None
                await self._serve(raw)
        finally:
            if receiving is not None:
                receiving.cancel()

    def _ending(self, sender: asyncio.Task[None]) -> tuple[int, str]:
        if not sender.cancelled() and (failure := sender.exception()) is not None:
            log.error("socket user=%s failed", self._user_id, exc_info=failure)
            return CloseCode.INTERNAL_ERROR, "internal_error"
        stream = self._stream
        reason = (stream.close_reason if stream is not None else None) or CloseReason.LIFETIME
        return _CLOSE_CODES.get(reason, CloseCode.LIFETIME), reason

    async def _serve(self, raw: str | bytes) -> None:
        """Answer one message; a bad or refused one gets an error and changes nothing."""
        try:
            message = parse_message(raw)
        except ApiError as error:
            await self._reply(error_message(error, message_ref(raw)))
            return
        try:
            if isinstance(message, AskMessage):
                accepted = await accept_question(self._state, self._user_id, message.question)
                await self._reply(accepted_message(accepted, message.ref))
            elif isinstance(message, CancelMessage):
                cancelled = await cancel_answer(self._state, self._user_id)
                await self._reply(cancelled_message(cancelled, message.ref))
            elif isinstance(message, ResumeMessage):
                await self._stop_stream()
                last_id = message.last_event_id
                await self._open(None if last_id is None else str(last_id))
            else:
                raise ApiError(400, "invalid_message", "the socket is authorized already")
        except Refused as refusal:
            refused = refusal_error(refusal, self._state.settings)
            await self._reply(error_message(refused, message.ref))
        except ApiError as error:
            await self._reply(error_message(error, message.ref))

    async def _reply(self, text: str) -> None:
        """Send a reply; a client that takes none for :data:`REPLY_TIMEOUT` is cut as slow."""
        try:
            async with asyncio.timeout(REPLY_TIMEOUT):
                await self._socket.send(text)
        except TimeoutError:
            if self._stream is not None:
                self._stream.too_slow()

    async def _last_words(self, text: str) -> None:
        # A client that stopped reading never takes it: do not wait on it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._socket.send(text)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._socket.close(code, reason)
