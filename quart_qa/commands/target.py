"""Where a command's questions go: a server at ``--url``, or one embedded for the occasion.

``ask`` and ``demo`` share these options and the one function that opens the conversation.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from ..settings.config import Settings
from .api_conversations import (
    DEFAULT_API_KEY,
    AnthropicConversation,
    OpenAIConversation,
    first_model,
)
from .conversations import APIS, Api, Conversation, QaConversation

API_KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
# Connecting and sending are quick; reading waits as long as the script's pauses do.
TIMEOUT = httpx.Timeout(10.0, read=None)


@dataclass(frozen=True)
class Target:
    """The server and protocol to ask."""

    url: str | None
    api: Api
    user: str
    model: str | None = None
    api_key: str | None = None
    tools: tuple[str, ...] = ()


def add_target_options(parser: argparse.ArgumentParser, *, api_default: Api | None) -> None:
    """``--url``, ``--api``, ``--user``, ``--model`` and ``--api-key``."""
    parser.add_argument(
        "--url",
        help="a running server, e.g. http://127.0.0.1:8000 (default: start one inside the command)",
    )
    parser.add_argument(
        "--api",
        choices=APIS,
        default=api_default,
        help="the protocol to ask in: the chat page's (qa), OpenAI Chat Completions or "
        "Anthropic Messages (default: " + (api_default or "the script's [demo] api, else qa") + ")",
    )
    parser.add_argument("--user", help="the chat page's user id (default: a random one)")
    parser.add_argument(
        "--model", help="model name for the LLM APIs (default: the first the server lists)"
    )
    parser.add_argument(
        "--api-key",
        help="API key for the LLM APIs (default: $OPENAI_API_KEY / $ANTHROPIC_API_KEY, "
        "else a dummy one)",
    )


def target_from(
    args: argparse.Namespace,
    api: Api | None = None,
    user: str | None = None,
    tools: tuple[str, ...] = (),
) -> Target:
    """The target the options name; ``api`` and ``user`` fill in what they leave out."""
    chosen: Api = args.api or api or "qa"
    key = args.api_key or os.environ.get(API_KEY_VARIABLES.get(chosen, ""), "") or None
    return Target(
        url=args.url,
        api=chosen,
        user=args.user or user or f"cli_{secrets.token_hex(4)}",
        model=args.model,
        api_key=key,
        tools=tools,
    )


@asynccontextmanager
async def open_conversation(
    target: Target, settings: Callable[[], Settings]
) -> AsyncIterator[Conversation]:
    """A conversation with the target; without a URL, with a server serving ``settings()``."""
    async with AsyncExitStack() as stack:
        url = target.url
        if url is None:
            from .embedded import embedded_server  # the web app, only when it is needed

            url = await stack.enter_async_context(embedded_server(settings()))
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=TIMEOUT))
        if target.api == "qa":
            yield await stack.enter_async_context(QaConversation(client, url, target.user))
            return
        model = target.model or await first_model(client, url)
        key = target.api_key or DEFAULT_API_KEY
        if target.api == "openai":
            yield OpenAIConversation(client, url, model, key, target.tools)
        else:
            yield AnthropicConversation(client, url, model, key, target.tools)
