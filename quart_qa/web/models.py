"""Request and response bodies, validated and documented by quart-schema."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class QuestionRequest(BaseModel):
    """Body of ``POST /qa/ask/<user_id>``."""

    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(description="The question; not empty, not only whitespace.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty or whitespace only")
        if not value.isascii() and _LONE_SURROGATE.search(value):
            # JSON can spell a lone surrogate ("\\ud800"); UTF-8 cannot carry it to clients.
            raise ValueError("must be valid Unicode text (it holds a lone surrogate)")
        return value


class AskAccepted(BaseModel):
    """The question was queued; its answer streams on the user's connections."""

    answer_id: str
    message: str


class CancelAccepted(BaseModel):
    """The running answer was stopped and ``dropped`` queued questions were discarded."""

    answer_id: str
    dropped: int
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(description="A stable machine-readable code, e.g. `invalid_question`.")
    message: str = Field(description="What was wrong, for humans.")


class SessionIssued(BaseModel):
    """A user id for this client and, when the server runs ``auth.mode = "token"``, its token."""

    user_id: str = Field(description="A fresh random user id, `user_` and 12 URL-safe characters.")
    token: str | None = Field(
        description="Send as `Authorization: Bearer <token>` (or `?token=` on connect); "
        "null when the server needs no token."
    )
    expires_in: float | None = Field(
        description="Seconds until the token expires; null when there is no token."
    )
