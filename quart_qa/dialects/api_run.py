"""What one accepted LLM API request shares in every dialect: its plan, its playback, its reply.

A dialect's run (a chat completion, a message, a response) is a dataclass that declares these
fields and adds its ids; it frames the stream (``frames``) and builds the whole answer
(``body``) in its own words, and this mixin plays the plan and answers the route with either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any, ClassVar, Protocol

from quart import Response

from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, Pace
from ..streaming.playback import Collected, Failed, Finished, PlayEvent, collect
from ..web.errors import ApiError
from .api_responses import SSE_HEADERS, answer_response
from .state import LlmState


class StreamedRequest(Protocol):
    """A parsed request: all the run needs of it is whether it asked for a stream."""

    @property
    def stream(self) -> bool: ...


class ApiRun(ABC):
    """The shared half of a dialect's run; the dataclass that inherits it holds the fields."""

    api: ClassVar[str]
    """The API's name in the journal and the metrics (``openai``, ``anthropic``, ...)."""
    request_id_header: ClassVar[str] = "x-request-id"

    state: LlmState
    request: StreamedRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    request_id: str

    @property
    def streamed(self) -> bool:
        """Whether the answer goes out as an event stream."""
        return self.request.stream

    def stream_headers(self) -> dict[str, str]:
        """The headers of the event stream."""
        return {**SSE_HEADERS, self.request_id_header: self.request_id}

    def play(self) -> AsyncGenerator[PlayEvent, None]:
        """The plan played out at its pace (close it, e.g. with ``aclosing``)."""
        return self.state.play(self.api, self.model, self.plan, self.pace)

    async def collected(self) -> tuple[Collected, Finished]:
        """The whole answer once paced out, and how it ended; a failure raises its API error."""
        async with aclosing(self.play()) as events:
            result = await collect(events)
        if isinstance(result.end, Failed):
            raise self.failure_error(result.end)
        return result, result.end

    async def respond(self) -> Response:
        """The route's reply: the whole answer as JSON, or its event stream."""
        headers = {self.request_id_header: self.request_id}
        return await answer_response(self.streamed, self.body, self.frames, headers)

    @abstractmethod
    def failure_error(self, event: Failed) -> ApiError:
        """The error a failed whole answer is refused with."""

    @abstractmethod
    def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream."""

    @abstractmethod
    async def body(self) -> Mapping[str, Any]:
        """The whole answer's object."""
