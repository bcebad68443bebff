"""Request and response bodies, validated and documented by quart-schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator


class QuestionRequest(BaseModel):
    """Body of ``POST /qa/ask/<user_id>``."""

    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(description="The question; not empty, not only whitespace.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty or whitespace only")
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
