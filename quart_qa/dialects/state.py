"""The LLM APIs' state on one app: settings, model presets and running generations.

Registered as ``app.extensions["quart_qa_llm"]``; reached through :func:`get_llm_state`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType

from quart import Quart, Request, current_app

from ..settings.config import Settings
from ..settings.model_presets import ModelPreset, find_model, listed_models
from ..streaming.answer_runner import render
from ..streaming.completions import AnswerPlan, Pace, plan_answer
from ..streaming.faults import refuse_if_scripted
from ..streaming.metrics import Metrics
from ..streaming.playback import Failed, Finished, Piece, PlayEvent, play
from ..streaming.rate_limit import RateLimiter
from ..streaming.refusals import TooManyConnections
from ..streaming.request_facts import note_user
from ..streaming.rulebook import RuleBook
from ..streaming.scheduler import PaceScheduler
from ..streaming.wire import StreamDropped
from ..web import refusals
from ..web.errors import ApiError
from ..web.state import AppState
from .access import check_api_access
from .api_errors import LlmApiError
from .response_store import ResponseStore
from .schema_values import SchemaValues
from .shaping import AnswerRequest, CannotShape, shape_steps

EXTENSION_KEY = "quart_qa_llm"
TOKEN_CALLER = "user:"  # what check_api_access returns for a token's user

log = logging.getLogger("quart_qa.llm")

FAILURE_OUTCOMES = {"rule": "failed", "timeout": "timed_out", "shutdown": "shutdown"}


class GenerationRecord:
    """One generation while it runs; a context manager that reports its outcome on exit.

    The outcome is the finish reason (``stop``, ``length``, ``stop_sequence``, ``tool_calls``),
    ``failed`` or
    ``timed_out``; leaving early by cancellation or ``aclose()`` (the client went away) is
    ``disconnected``.
    """

    def __init__(
        self, tracker: GenerationTracker, api: str, model: str, metrics: Metrics | None = None
    ) -> None:
        self.tracker = tracker
        self.api = api
        self.model = model
        self.metrics = metrics
        self.deltas = 0
        self.outcome: str | None = None
        self.started = time.monotonic()

    def observe(self, event: PlayEvent) -> None:
        """Count a delta or note how the generation ended."""
        if isinstance(event, Piece):
            self.deltas += 1
            if self.deltas == 1 and self.metrics is not None:
                ttft = self.metrics.time_to_first_token_seconds.labels(self.api)
                ttft.observe(time.monotonic() - self.started)
        elif isinstance(event, Finished):
            self.outcome = event.reason
        elif isinstance(event, Failed):
            self.outcome = FAILURE_OUTCOMES[event.kind]

    def __enter__(self) -> GenerationRecord:
        self.tracker.running += 1
        self.tracker.started += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.outcome is None:
            gone = exc_type is not None and issubclass(
                exc_type, asyncio.CancelledError | GeneratorExit
            )
            dropped = exc_type is not None and issubclass(exc_type, StreamDropped)
            self.outcome = "disconnected" if gone else "dropped" if dropped else "error"
        self.tracker.finish(self)
        if self.metrics is not None:
            self.metrics.generations.labels(self.api, self.outcome).inc()
            self.metrics.generation_deltas.labels(self.api).inc(self.deltas)
        log.info(
            "generation api=%s model=%s outcome=%s deltas=%d duration=%.3fs",
            self.api,
            self.model,
            self.outcome,
            self.deltas,
            time.monotonic() - self.started,
        )


@dataclass
class GenerationTracker:
    """How many generations run, how they ended, how many deltas they sent."""

    running: int = 0
    started: int = 0
    deltas: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    _idle_waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def track(self, api: str, model: str, metrics: Metrics | None = None) -> GenerationRecord:
        """``with tracker.track(...) as record:`` around one generation."""
        return GenerationRecord(self, api, model, metrics)

    def finish(self, record: GenerationRecord) -> None:
        """Book a generation that ended."""
        self.running -= 1
        self.deltas += record.deltas
        self.outcomes[record.outcome or "error"] += 1
        if self.running == 0:
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def wait_idle(self) -> None:
        """Return once no generation is running (at once if none is)."""
        if self.running == 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        await waiter


@dataclass
class LlmState:
    """Everything the LLM API dialects share; one per app, never global.

    ``app_state`` is the app's :class:`AppState`: its open streams (limits, ``/healthz``,
    shutdown goodbye), metrics and draining flag cover the APIs' streams too.
    """

    settings: Settings
    app_state: AppState
    rules: RuleBook
    scheduler: PaceScheduler = field(default_factory=PaceScheduler)  # the app's one timeline
    tracker: GenerationTracker = field(default_factory=GenerationTracker)
    created: int = field(default_factory=lambda: int(time.time()))
    rate_limiter: RateLimiter = field(init=False)
    schema_values: SchemaValues = field(default_factory=SchemaValues)
    responses: ResponseStore = field(default_factory=ResponseStore)

    def __post_init__(self) -> None:
        self.rate_limiter = RateLimiter(self.settings.limits.asks_per_minute)

    def check_access(self, request: Request) -> str:
        """Authenticate, rate-limit and admit one API request: ``[auth]``,
        ``limits.asks_per_minute``, ``limits.max_connections``, and not while draining.

        In token mode the token's user is the request's user, for scoped scripts and the journal.
        """
        caller = check_api_access(
            self.settings.auth,
            self.rate_limiter,
            self.settings.limits.asks_per_minute,
            request,
        )
        if caller.startswith(TOKEN_CALLER):
            note_user(caller.removeprefix(TOKEN_CALLER))
        self.admit_stream()
        return caller

    def admit_stream(self) -> None:
        """503 while draining or with ``limits.max_connections`` streams open (any kind)."""
        retry = refusals.retry_after(self.settings)
        if self.app_state.draining:
            raise ApiError(503, "shutting_down", "the server is shutting down", headers=retry)
        try:
            self.app_state.streams.admit()
        except TooManyConnections as refusal:
            raise ApiError(503, "too_many_connections", str(refusal), headers=retry) from None

    def init_app(self, app: Quart) -> None:
        """Register on ``app`` (the blueprints are registered by ``llm_apis``)."""
        app.extensions[EXTENSION_KEY] = self

    def find_model(self, name: str) -> ModelPreset | None:
        """The preset serving ``name``, None when ``[models]`` does not list it."""
        return find_model(self.settings.models, name)

    def listed_models(self) -> tuple[ModelPreset, ...]:
        """The models the listing endpoints show."""
        return listed_models(self.settings.models)

    def default_model(self) -> ModelPreset:
        """The preset for callers that name no model (the AI SDK's and AG-UI's endpoints):
        the first listed."""
        return self.listed_models()[0]

    async def plan(
        self,
        model: ModelPreset,
        request: AnswerRequest,
        *,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> tuple[AnswerPlan, Pace]:
        """Choose the rule for ``request``, shape its steps to it and plan the answer at
        ``model``'s pace; a shape this server cannot produce is a 400 naming the field."""
        rule = (await self.rules.choose_shared(request.matching)).rule
        refuse_if_scripted(rule)
        try:
            steps = shape_steps(rule, request, self.schema_values)
        except CannotShape as error:
            raise LlmApiError(400, "invalid_value", error.message, param=error.param) from None
        plan = plan_answer(rule, steps=steps, mode=model.deltas, max_tokens=max_tokens, stop=stop)
        return plan, Pace.resolve(self.settings.stream, rule, model)

    async def play(
        self, api: str, model: ModelPreset, plan: AnswerPlan, pace: Pace
    ) -> AsyncGenerator[PlayEvent, None]:
        """Play ``plan`` under ``stream.answer_timeout`` and ``stream.heartbeat``, tracked.

        Held as one of the app's open streams: at shutdown, past ``stream.shutdown_grace``,
        it ends with ``Failed(kind="shutdown")``, which each dialect frames as its own error.
        """
        stream, messages = self.settings.stream, self.settings.messages
        shared = self.app_state
        with (
            shared.streams.open(api) as held,
            self.tracker.track(api, model.name, shared.metrics) as record,
        ):
            events = play(
                plan,
                pace,
                scheduler=self.scheduler,
                timeout=stream.answer_timeout,
                timeout_message=render(
                    messages.answer_timed_out, seconds=f"{stream.answer_timeout:g}"
                ),
                keepalive=stream.heartbeat,
            )
            async with aclosing(events):
                while not held.stopping:
                    try:
                        with held.waiting():
                            event = await anext(events)
                    except StopAsyncIteration:
                        return
                    except asyncio.CancelledError:
                        if not held.stopping_by_cancel():
                            raise
                        break
                    record.observe(event)
                    yield event
                    if isinstance(event, Finished | Failed):
                        return
            goodbye = Failed("shutdown", render(messages.server_shutdown), record.deltas)
            record.observe(goodbye)
            yield goodbye


def get_llm_state(app: Quart | None = None) -> LlmState:
    """The :class:`LlmState` of ``app`` (default: the current app)."""
    state: LlmState = (app or current_app).extensions[EXTENSION_KEY]
    return state
