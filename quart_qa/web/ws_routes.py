"""The chat protocol over a WebSocket: ``/qa/ws/<user_id>`` (docs/protocol.md, "WebSocket")."""

from __future__ import annotations

from quart import Blueprint, websocket
from quart_cors import cors_exempt

from .state import get_state
from .ws_session import SocketSession

sockets = Blueprint("sockets", __name__, url_prefix="/qa")


@sockets.websocket("/ws/<user_id>")
@cors_exempt  # the session checks Origin itself: quart-cors would refuse the page's own origin
async def socket(user_id: str) -> None:
    """Ask, cancel and receive the user's stream on one socket."""
    await SocketSession(get_state(), user_id, websocket).run()
