"""A small app on the openai SDK, the kind you would test against quart-qa.

``ask()`` streams an answer; the SDK retries a 429 by itself (after the server's
``Retry-After``); a stream that drops midway becomes :class:`AnswerCutOff`, which the app
shows to its user instead of half an answer.
"""

from __future__ import annotations

import httpx
import openai


class AnswerCutOff(Exception):
    """The model's stream ended before the answer did."""


class ChatApp:
    """Asks one model, streaming."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None) -> None:
        self.client = openai.OpenAI(
            base_url=base_url, api_key="sk-example", max_retries=2, default_headers=headers
        )

    def ask(self, question: str) -> str:
        """The whole answer to ``question``; :class:`AnswerCutOff` when the stream drops."""
        stream = self.client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
        )
        pieces = []
        try:
            for chunk in stream:
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
        except (openai.APIError, httpx.HTTPError) as error:
            raise AnswerCutOff(f"the answer was cut off after {len(pieces)} piece(s)") from error
        return "".join(pieces)

    def reply(self, question: str) -> str:
        """What the user sees: the answer, or a message saying it was cut off."""
        try:
            return self.ask(question)
        except AnswerCutOff:
            return "Sorry, the answer was cut off. Please try again."
