"""Reading and checking LLM API request bodies (OpenAI and Anthropic share these rules).

Bodies are checked by hand rather than by a schema so every error names the exact
parameter (``messages[2].content``) the way the real APIs do; each API renders
:class:`LlmApiError` in its own error shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from quart import Blueprint, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..settings.model_presets import MAX_NAME_CHARS as MAX_MODEL_CHARS
from ..streaming.faults import ScriptedFault
from ..streaming.playback import coalesced
from ..web.errors import ApiError
from ..web.refusals import count_refusal
from ..web.state import get_state
from .shaping import ToolChoice, ToolSpec

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


class LlmApiError(ApiError):
    """An :class:`ApiError` that may name the request parameter at fault, and the provider's
    own error ``type`` where the status alone does not tell it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, headers=headers)
        self.param = param
        self.error_type = error_type


def error_type_of(error: ApiError) -> str | None:
    """The provider error ``type`` an error names, if any."""
    return error.error_type if isinstance(error, LlmApiError) else None


def generic_fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault in words any dialect can send (its own error shape around)."""
    words = fault.generic()
    return LlmApiError(words.status, words.code, words.message, headers=fault.headers())


def param_of(error: ApiError) -> str | None:
    """The parameter an error names, if any."""
    return error.param if isinstance(error, LlmApiError) else None


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    """``body`` as JSON, keys in the order given (as the real APIs send them).

    A lone surrogate (never let in by :func:`read_json_object`) would become U+FFFD, as in
    the event streams, rather than fail the response.
    """
    text = json.dumps(body, ensure_ascii=False)
    return Response(
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        status=status,
        content_type="application/json",
    )


def compact_json(body: Mapping[str, Any]) -> str:
    """One-line JSON for an SSE ``data:`` field."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object; 413 beyond ``limits.max_body_bytes``, else 400."""
    try:
        raw = await request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = request.max_content_length
        raise LlmApiError(
            413, "request_too_large", f"request body is larger than {limit} bytes"
        ) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise LlmApiError(
            400, "malformed_json", f"could not parse the JSON body of the request: {error}"
        ) from None
    if not isinstance(body, dict):
        raise LlmApiError(400, "invalid_type", "the request body must be a JSON object")
    _reject_lone_surrogates(body, "")
    return body


def _reject_lone_surrogates(value: object, where: str) -> None:
    """400 naming the first string (key or value) holding a lone surrogate such as ``\\ud800``:
    valid JSON, but not Unicode text, and UTF-8 cannot carry it back to the client."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid_value(
                    where or "body", "contains a lone surrogate, which is not valid Unicode."
                ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            _reject_lone_surrogates(key, path)
            _reject_lone_surrogates(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_lone_surrogates(item, f"{where}[{index}]")


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _kind(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def invalid_type(param: str, expected: str, value: object) -> LlmApiError:
    """``param`` holds the wrong JSON type."""
    return LlmApiError(
        400,
        "invalid_type",
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
    )


def invalid_value(param: str, problem: str) -> LlmApiError:
    """``param`` has the right type and a wrong value."""
    return LlmApiError(400, "invalid_value", f"Invalid value for '{param}': {problem}", param=param)


def missing(param: str) -> LlmApiError:
    """A required parameter is absent."""
    return LlmApiError(
        400, "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param
    )


def get_string(body: Mapping[str, Any], key: str) -> str | None:
    """A string parameter (``null`` counts as absent)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(key, "a string", value)
    return value


def get_int(body: Mapping[str, Any], key: str, *, minimum: int) -> int | None:
    """An integer parameter of at least ``minimum`` (``null`` counts as absent)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(key, "an integer", value)
    if value < minimum:
        raise invalid_value(key, f"must be at least {minimum}, got {value}.")
    return value


def get_model(body: Mapping[str, Any]) -> str:
    """``model``: a required, non-empty name of at most :data:`MAX_MODEL_CHARS` characters."""
    model = get_string(body, "model")
    if model is None:
        raise missing("model")
    if not model or len(model) > MAX_MODEL_CHARS:
        raise invalid_value("model", f"must be 1-{MAX_MODEL_CHARS} characters.")
    return model


def get_bool(body: Mapping[str, Any], key: str) -> bool:
    """A boolean parameter; absent or ``null`` is False."""
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_type(key, "a boolean", value)
    return value


def get_strings(value: object, param: str, *, max_items: int | None = None) -> tuple[str, ...]:
    """A string or an array of strings (``stop``, ``stop_sequences``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise invalid_type(param, "a string or an array of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid_type(f"{param}[{index}]", "a string", item)
    if max_items is not None and len(value) > max_items:
        raise invalid_value(param, f"at most {max_items} sequences, got {len(value)}.")
    return tuple(value)


def get_messages(body: Mapping[str, Any], roles: Sequence[str]) -> list[dict[str, Any]]:
    """``messages``: a non-empty array of objects whose ``role`` is one of ``roles``."""
    value = body.get("messages")
    if value is None:
        raise missing("messages")
    if not isinstance(value, list):
        raise invalid_type("messages", "an array", value)
    if not value:
        raise invalid_value("messages", "expected an array with at least one message.")
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_type(where, "an object", message)
        role = message.get("role")
        if role is None:
            raise missing(f"{where}.role")
        if role not in roles:
            allowed = ", ".join(repr(name) for name in roles)
            raise invalid_value(f"{where}.role", f"must be one of {allowed}, got {role!r}.")
    return value


def content_text(content: object, param: str) -> str:
    """The text of a message ``content``: a string, or the ``text`` blocks of an array of
    content blocks joined by newlines (images, tool calls and other blocks carry no text)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_type(param, "a string or an array of content blocks", content)
    texts = []
    for index, block in enumerate(content):
        where = f"{param}[{index}]"
        if not isinstance(block, dict):
            raise invalid_type(where, "an object", block)
        kind = block.get("type")
        if kind is None:
            raise missing(f"{where}.type")
        if not isinstance(kind, str):
            raise invalid_type(f"{where}.type", "a string", kind)
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise invalid_type(f"{where}.text", "a string", text)
            texts.append(text)
    return "\n".join(texts)


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The question: the text of the last ``user`` message ("" when there is none)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return content_text(messages[index].get("content"), f"messages[{index}].content")
    return ""


def check_question_length(question: str, limit: int) -> None:
    """Apply ``limits.max_question_chars`` to the question, like ``/qa/ask`` does."""
    if len(question) > limit:
        raise LlmApiError(
            400,
            "context_length_exceeded",
            f"the last user message has {len(question)} characters; "
            f"this server's limit (limits.max_question_chars) is {limit}.",
            param="messages",
        )


def register_error_handlers(
    blueprint: Blueprint,
    render: Callable[[ApiError], Response],
    http_code: Callable[[HTTPException], str],
    fault_error: Callable[[ScriptedFault], ApiError] = generic_fault_error,
) -> None:
    """Everything ``blueprint`` raises, in one API's error shape; no traceback reaches a client.

    ``fault_error`` words a scripted status fault the way this API's provider does.
    """

    @blueprint.errorhandler(ScriptedFault)
    async def _scripted_fault(fault: ScriptedFault) -> Response:
        return render(fault_error(fault))

    @blueprint.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        count_refusal(get_state().metrics, error)
        return render(error)

    @blueprint.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        api_error = ApiError(error.code or 500, http_code(error), error.description or error.name)
        count_refusal(get_state().metrics, api_error)
        return render(api_error)

    @blueprint.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logging.getLogger("quart_qa.llm").exception("unhandled error", exc_info=error)
        return render(ApiError(500, "internal_error", "the server failed; see its log"))


def _optional(body: Mapping[str, Any], key: str, kind: type, name: str, param: str | None) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise invalid_type(param or key, name, value)
    return value


def get_object(
    body: Mapping[str, Any], key: str, param: str | None = None
) -> dict[str, Any] | None:
    """An object parameter (``null`` counts as absent); ``param`` names it in errors."""
    value: dict[str, Any] | None = _optional(body, key, dict, "an object", param)
    return value


def get_array(body: Mapping[str, Any], key: str, param: str | None = None) -> list[Any] | None:
    """An array parameter (``null`` counts as absent); ``param`` names it in errors."""
    value: list[Any] | None = _optional(body, key, list, "an array", param)
    return value


def tool_objects(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``tools`` as ``(where, tool)`` pairs, each checked to be an object."""
    tools = []
    for index, tool in enumerate(get_array(body, "tools") or []):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid_type(where, "an object", tool)
        tools.append((where, tool))
    return tools


def get_name(body: Mapping[str, Any], key: str, param: str) -> str:
    """A required, non-empty name (of a tool, a format)."""
    value = body.get(key)
    if value is None:
        raise missing(param)
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if not value:
        raise invalid_value(param, "must not be empty.")
    return value


def tool_spec(name: str, schema: object, param: str) -> ToolSpec:
    """A tool and its arguments' JSON schema (``schema`` at ``param``; absent is any object)."""
    if schema is None:
        return ToolSpec(name, {}, param)
    if not isinstance(schema, dict):
        raise invalid_type(param, "an object (a JSON schema)", schema)
    return ToolSpec(name, schema, param)


def forced_tool(tools: Sequence[ToolSpec], name: str, param: str) -> ToolChoice:
    """``tool_choice`` naming one tool, which must be among ``tools``."""
    if all(tool.name != name for tool in tools):
        offered = ", ".join(tool.name for tool in tools) or "none"
        raise invalid_value(param, f"no tool named {name!r} is offered (tools: {offered}).")
    return ToolChoice("required", name)


def tool_name_of_call(calls: dict[str, str], call_id: object) -> str:
    """The tool a result answers, from the calls seen so far (``""`` when unknown)."""
    return calls.get(call_id, "") if isinstance(call_id, str) else ""


def openai_tool_choice(
    body: Mapping[str, Any], tools: Sequence[ToolSpec], name_at: Sequence[str]
) -> ToolChoice:
    """``tool_choice`` as both OpenAI APIs take it: ``none``, ``auto``, ``required`` or a
    ``{"type": "function", ...}`` object with the name at the keys ``name_at``."""
    choice = body.get("tool_choice")
    if choice is None or choice == "auto":
        return ToolChoice()
    if choice in ("none", "required"):
        return ToolChoice(choice)
    if not isinstance(choice, dict):
        raise invalid_value("tool_choice", "must be 'none', 'auto', 'required' or an object.")
    if choice.get("type") != "function":
        return ToolChoice()  # allowed_tools, custom or hosted tools: the script decides
    where, holder = "tool_choice", choice
    for key in name_at[:-1]:
        where = f"{where}.{key}"
        holder = get_object(holder, key, where) or {}
    name = get_name(holder, name_at[-1], f"{where}.{name_at[-1]}")
    return forced_tool(tools, name, "tool_choice")


async def answer_response(
    stream: bool,
    whole: Callable[[], Awaitable[Mapping[str, Any]]],
    frames: Callable[[], AsyncIterator[bytes]],
    headers: Mapping[str, str],
) -> Response:
    """The whole answer as JSON, or its event stream (paced by the answer, bounded by
    ``stream.answer_timeout``, so without Quart's response timeout)."""
    if not stream:
        response = json_response(await whole())
        response.headers.update(headers)
        return response
    return event_stream_response(frames(), headers)


def event_stream_response(
    frames: AsyncIterator[bytes], headers: Mapping[str, str] | None = None
) -> Response:
    """A 200 ``text/event-stream`` of ``frames`` (coalesced into fewer writes), never cut by
    Quart's response timeout: the answer paces it, and ``stream.answer_timeout`` bounds it."""
    response = Response(coalesced(frames), status=200, headers={**SSE_HEADERS, **(headers or {})})
    response.timeout = None
    return response
