"""The admin API under ``/_qa/``: scripts set at run time and the request journal.

Registered only with ``[admin] enabled = true`` (else every ``/_qa/`` path is a 404). With
``[admin] token`` set (always in token mode) each request needs ``Authorization: Bearer``
with that token. With the Redis broker scripts and the journal live in Redis, shared by
every node; while it is away these endpoints answer 503 ``broker_unavailable``. See
docs/testing.md.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import document_request, document_response

from ..settings.errors import ConfigError
from ..settings.scripts import (
    Script,
    ScriptMode,
    scope_from_mapping,
    script_from_mapping,
    script_from_toml,
)
from ..streaming.journal import JournalQuery, JournalStore
from ..streaming.sse import encode_comment, encode_event
from .errors import ApiError
from .models import ErrorBody
from .state import get_state

FEED_KEEPALIVE = 15.0
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}

admin = Blueprint("admin", __name__, url_prefix="/_qa")


class ScriptBody(BaseModel):
    """Rules exactly as ``[[answers]]`` tables in the TOML, and whom they apply to."""

    answers: list[dict[str, Any]] = Field(description="Rules, as in the TOML's [[answers]].")
    scope: dict[str, str] | None = Field(
        default=None,
        description='Whom the rules apply to: {"user": id}, {"key": api_key}, '
        '{"scenario": value of X-QA-Scenario} or {"header": name, "value": value}; '
        "omit for every request.",
    )


class ScriptState(BaseModel):
    """The rules in force, one line each."""

    config: list[str] = Field(description="The TOML file's rules.")
    script: list[str] | None = Field(description="The script that replaced them, if any.")
    scoped: list[dict[str, Any]] = Field(description="Scripts scoped to some requests.")


class JournalPage(BaseModel):
    """Recorded requests, oldest first."""

    entries: list[dict[str, Any]]


@admin.before_request
async def _authorize() -> None:
    token = get_state().settings.admin.token
    if not token:
        return
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip(), token):
        raise ApiError(
            401,
            "admin_token_required",
            "the admin API needs 'Authorization: Bearer <[admin] token>'",
            headers={"WWW-Authenticate": 'Bearer realm="quart-qa admin"'},
        )


async def _script(mode: ScriptMode) -> Script:
    body = await request.get_data()
    raw = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
    try:
        if "toml" in (request.mimetype or "") or request.mimetype == "text/plain":
            return script_from_toml(raw, mode)
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise ApiError(
                400, "malformed_json", f"request body is not valid JSON: {error}"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_script", "the script must be a JSON object")
        return script_from_mapping(data, mode)
    except ConfigError as error:
        raise ApiError(400, "invalid_script", str(error)) from None


def _rules_state() -> Response:
    return Response(
        json.dumps(get_state().rules.describe(), ensure_ascii=False),
        content_type="application/json",
    )


async def _apply_script(mode: ScriptMode) -> Response:
    script = await _script(mode)
    await get_state().rules.apply(script, mode)
    return _rules_state()


@admin.get("/script")
@document_response(ScriptState, 200)
async def read_script() -> Response:
    """The rules in force: the TOML's, a replacing script, scoped scripts."""
    await get_state().rules.refresh()
    return _rules_state()


@admin.put("/script")
@document_request(ScriptBody)
@document_response(ScriptState, 200)
@document_response(ErrorBody, 400)
async def replace_script() -> Response:
    """Replace the rules (of every request, or of the requests in ``scope``)."""
    return await _apply_script("replace")


@admin.post("/script")
@document_request(ScriptBody)
@document_response(ScriptState, 200)
@document_response(ErrorBody, 400)
async def add_script() -> Response:
    """Put rules ahead of the ones in force (of every request, or of ``scope``)."""
    return await _apply_script("add")


@admin.delete("/script")
@document_response(ScriptState, 200)
@document_response(ErrorBody, 400)
async def reset_script() -> Response:
    """Back to the TOML's rules; with ``?user=``, ``?key=``, ``?scenario=`` or ``?header=&value=``
    only that scope's script goes."""
    args = {key: value for key, value in request.args.items() if value}
    scope = None
    if args:
        try:
            scope = scope_from_mapping(args, "query")
        except ConfigError as error:
            raise ApiError(400, "invalid_scope", str(error)) from None
    await get_state().rules.clear(scope)
    return _rules_state()


def _journal() -> JournalStore:
    journal = get_state().journal
    if journal is None:  # not reachable: the blueprint is only there with [admin] enabled
        raise ApiError(404, "not_found", "the journal is off")
    return journal


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ApiError(400, "invalid_query", f"{name} must be a whole number, got {raw!r}")
    return int(raw)


@admin.get("/journal")
@document_response(JournalPage, 200)
@document_response(ErrorBody, 400)
async def read_journal() -> Response:
    """Recorded requests, oldest first; filter by ``path``, ``user``, ``scenario``, ``since``
    (entries after that id) and ``limit`` (the newest that many)."""
    query = JournalQuery(
        path=request.args.get("path") or None,
        user=request.args.get("user") or None,
        scenario=request.args.get("scenario") or None,
        since=_int_arg("since"),
        limit=_int_arg("limit"),
    )
    entries = await _journal().select(query)
    return Response(
        json.dumps({"entries": entries}, ensure_ascii=False), content_type="application/json"
    )


@admin.delete("/journal")
async def clear_journal() -> Response:
    """Forget every recorded request."""
    cleared = await _journal().clear()
    return Response(json.dumps({"cleared": cleared}), content_type="application/json")


@admin.post("/reset")
async def reset_everything() -> Response:
    """The TOML's rules again, use counts from zero, an empty journal."""
    state = get_state()
    await state.rules.clear()
    cleared = await _journal().clear()
    return Response(json.dumps({"cleared": cleared}), content_type="application/json")


@admin.get("/journal/feed")
async def journal_feed() -> Response:
    """Server-Sent Events: one ``entry`` event per request as its response ends (every
    request that ends after the ``journal feed`` comment arrived)."""
    feed = contextlib.AsyncExitStack()
    entries = await feed.enter_async_context(_journal().feed(FEED_KEEPALIVE))

    async def frames() -> AsyncIterator[bytes]:
        async with feed:
            yield encode_comment("journal feed")
            async for entry in entries:
                if entry is None:
                    yield encode_comment("keep-alive")
                else:
                    data = json.dumps(entry, ensure_ascii=False)
                    yield encode_event(data, event="entry", event_id=str(entry["id"]))

    response = Response(frames(), status=200, headers=SSE_HEADERS)
    response.timeout = None
    return response
