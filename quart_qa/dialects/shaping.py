"""Answer in the shape a request asks for: the dialect-neutral request and its shaped steps.

Every dialect reads its body into an :class:`AnswerRequest` (the conversation a rule matches
on, the tools offered, the tool choice, the output format). :func:`shape_steps` then fits the
chosen rule's steps to it: ``{tool_result}`` filled in, a forced tool choice answered with a
call (scripted if the rule has one, else generated from the tool's schema), a JSON output
format answered with an object (scripted, else generated from the schema).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..settings.answers import (
    TOOL_RESULT_PLACEHOLDER,
    AnswerRule,
    Conversation,
    Step,
    compact_json,
    split_text,
)
from .schema_values import SchemaNotSupported, SchemaValues

ToolChoiceMode = Literal["auto", "none", "required"]
OutputKind = Literal["text", "json_object", "json_schema"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the request offers: its name, its arguments' JSON schema, where it was given."""

    name: str
    schema: Mapping[str, Any] = field(default_factory=dict)
    param: str = "tools"


@dataclass(frozen=True)
class ToolChoice:
    """``auto``, ``none``, or ``required`` (any tool, or the one named)."""

    mode: ToolChoiceMode = "auto"
    name: str | None = None


@dataclass(frozen=True)
class OutputFormat:
    """The answer text's format; ``schema`` for ``json_schema``, ``param`` names it."""

    kind: OutputKind = "text"
    schema: Mapping[str, Any] | None = None
    param: str = "response_format"


@dataclass(frozen=True)
class AnswerRequest:
    """What one request asks of the answer, whatever its dialect.

    ``app_tools``: the answer comes from an app with tools of its own (the AI SDK's and
    AG-UI's endpoints play the app's server), not from a model that may call only the tools a
    request offers: no rule is passed over for the tools it calls.
    """

    conversation: Conversation = field(default_factory=Conversation)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    output: OutputFormat = field(default_factory=OutputFormat)
    app_tools: bool = False

    @property
    def callable_tools(self) -> tuple[ToolSpec, ...]:
        """The tools the answer may call (none with ``tool_choice`` ``none``)."""
        return () if self.tool_choice.mode == "none" else self.tools

    @property
    def matching(self) -> Conversation:
        """The conversation the rules match on, with the tools the answer may call."""
        if self.app_tools:
            return replace(self.conversation, tools=None)
        return replace(self.conversation, tools=tuple(tool.name for tool in self.callable_tools))


def app_tools_request(question: str, turn: int, result: tuple[str, str] | None) -> AnswerRequest:
    """A front-end protocol's request (the AI SDK's, AG-UI's): the question, the user's turn
    and the trailing tool result (its name and output), answered as the app's server."""
    conversation = Conversation(
        question=question,
        tool_result=result[0] if result else None,
        tool_output=result[1] if result else "",
        turn=max(turn, 1),
    )
    return AnswerRequest(conversation=conversation, app_tools=True)


class CannotShape(Exception):
    """The request asks for a shape this server cannot produce; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def _fill_tool_result(step: Step, output: str) -> Step:
    if step.kind not in ("reasoning", "text") or TOOL_RESULT_PLACEHOLDER not in step.text:
        return step
    return replace(
        step, parts=tuple(part.replace(TOOL_RESULT_PLACEHOLDER, output) for part in step.parts)
    )


def _generated(values: SchemaValues, schema: Mapping[str, Any], param: str) -> str:
    try:
        return compact_json(values.generate(schema))
    except SchemaNotSupported as error:
        raise CannotShape(param, f"cannot generate a value for this JSON schema: {error}") from None


def _forced_calls(
    steps: Sequence[Step], request: AnswerRequest, values: SchemaValues
) -> tuple[Step, ...]:
    """The tool calls a forcing ``tool_choice`` gets: the scripted ones, or one generated."""
    choice = request.tool_choice
    offered = request.callable_tools
    calls = tuple(
        step
        for step in steps
        if step.kind == "tool_call" and (choice.name is None or step.tool == choice.name)
    )
    if calls:
        return calls
    tool = next((spec for spec in offered if spec.name == choice.name), offered[0])
    arguments = _generated(values, tool.schema, f"{tool.param}.parameters")
    return (Step("tool_call", split_text(arguments, "word"), tool.name),)


def shape_steps(rule: AnswerRule, request: AnswerRequest, values: SchemaValues) -> tuple[Step, ...]:
    """``rule``'s steps fitted to ``request`` (reasoning steps always stay)."""
    output = request.conversation.tool_output
    steps = tuple(_fill_tool_result(step, output) for step in rule.steps)
    reasoning = tuple(step for step in steps if step.kind == "reasoning")
    if request.tool_choice.mode == "required" and request.callable_tools:
        return (*reasoning, *_forced_calls(steps, request, values))
    if request.output.kind == "text":
        return steps
    if any(step.kind in ("tool_call", "object") for step in steps):
        return tuple(step for step in steps if step.kind != "text")
    if request.output.kind == "json_schema" and request.output.schema is not None:
        value = _generated(values, request.output.schema, request.output.param)
    else:
        value = compact_json(
            {"answer": "".join(step.text for step in steps if step.kind == "text")}
        )
    return (*reasoning, Step("object", split_text(value, "word")))
