"""Who may use a user's stream: ``[auth]`` settings, signed session tokens and the one check.

In mode ``"none"`` (the seed's behaviour) anyone who knows a user id may use it. In mode
``"token"`` ``POST /qa/session`` hands out a random user id with a token signed by
:mod:`itsdangerous`; connect, ask and cancel then need that token, as an
``Authorization: Bearer`` header or, for ``EventSource`` which cannot set headers, a
``?token=`` query parameter.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from quart import Request
from quart.wrappers.base import BaseRequestWebsocket

from ..settings.auth import AuthSettings
from .errors import ApiError

TOKEN_SALT = "quart-qa-session"
USER_ID_PREFIX = "user_"
TOKEN_QUERY_PARAMETER = "token"


def new_user_id() -> str:
    """A fresh unguessable id: ``user_`` and 12 URL-safe characters (72 random bits)."""
    return USER_ID_PREFIX + secrets.token_urlsafe(9)


def _serializer(settings: AuthSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=TOKEN_SALT)


def issue_token(settings: AuthSettings, user_id: str) -> str:
    """A token that proves its holder may act as ``user_id`` for ``settings.token_ttl``."""
    return _serializer(settings).dumps(user_id)


def unauthorized(code: str, message: str, error: str | None = None) -> ApiError:
    """A 401 with the ``WWW-Authenticate: Bearer`` challenge."""
    challenge = 'Bearer realm="quart-qa"'
    if error is not None:
        challenge += f', error="{error}"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def token_user(settings: AuthSettings, token: str) -> str:
    """The user id ``token`` was issued for; :class:`ApiError` 401 if it is bad or expired."""
    try:
        user_id = _serializer(settings).loads(
            token, max_age=int(settings.token_ttl)
        )  # whole seconds
    except SignatureExpired:
        raise unauthorized(
            "token_expired",
            "the session token expired; get a new one from POST /qa/session",
            "invalid_token",
        ) from None
    except BadData:
        raise unauthorized(
            "invalid_token", "the session token is not valid", "invalid_token"
        ) from None
    if not isinstance(user_id, str):  # signed by us, so only a changed secret format gets here
        raise unauthorized("invalid_token", "the session token is not valid", "invalid_token")
    return user_id


def check_user_access(settings: AuthSettings, user_id: str, token: str | None) -> None:
    """Raise :class:`ApiError` (401/403) unless ``token`` lets its holder act as ``user_id``."""
    if settings.mode == "none":
        return
    if not token:
        raise unauthorized(
            "missing_token",
            "this server needs a session token: get one from POST /qa/session and send it as "
            "'Authorization: Bearer <token>' or '?token=<token>'",
        )
    if token_user(settings, token) != user_id:
        raise ApiError(403, "wrong_user", "the session token belongs to another user")


def request_token(request: BaseRequestWebsocket) -> str | None:
    """The bearer token of a request or WebSocket: ``Authorization`` header, else ``?token=``."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.args.get(TOKEN_QUERY_PARAMETER) or None


def authorize_request(settings: AuthSettings, user_id: str, request: Request) -> None:
    """The check the routes run; CORS preflights (OPTIONS) carry no credentials and pass."""
    if settings.mode == "none" or request.method == "OPTIONS":
        return
    check_user_access(settings, user_id, request_token(request))
