"""``messages`` as OpenAI and Anthropic take them: the roles, the text of each ``content``,
and the question (the last user message) within ``limits.max_question_chars``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .api_errors import LlmApiError, invalid_type, invalid_value, missing


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
        check_role(message, where, roles)
    return value


def check_role(message: Mapping[str, Any], where: str, roles: Sequence[str]) -> None:
    """A message's ``role``: present and one of ``roles``."""
    role = message.get("role")
    if role is None:
        raise missing(f"{where}.role")
    if role not in roles:
        allowed = ", ".join(repr(name) for name in roles)
        raise invalid_value(f"{where}.role", f"must be one of {allowed}, got {role!r}.")


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
