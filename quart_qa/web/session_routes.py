"""``POST /qa/session``: a user id for a new client and, in token mode, its signed token."""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import validate_response

from .auth import issue_token, new_user_id, request_token, token_user
from .models import ErrorBody, SessionIssued
from .state import get_state

sessions = Blueprint("sessions", __name__, url_prefix="/qa")


@sessions.post("/session")
@validate_response(SessionIssued, 200)
@validate_response(ErrorBody, 401)
@validate_response(ErrorBody, 429)
async def create_session() -> tuple[SessionIssued, int]:
    """Start a session; with a valid token already held, renew it for the same user id."""
    state = get_state()
    state.address_limits.session(request.remote_addr)
    settings = state.settings.auth
    if settings.mode == "none":
        return SessionIssued(user_id=new_user_id(), token=None, expires_in=None), 200
    held = request_token(request)
    user_id = token_user(settings, held) if held else new_user_id()
    token = issue_token(settings, user_id)
    return SessionIssued(user_id=user_id, token=token, expires_in=settings.token_ttl), 200
