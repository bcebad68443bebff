"""Reading and checking LLM API requests, and answering them: what every dialect imports.

The rules OpenAI and Anthropic share live one job a module: the errors (``api_errors.py``),
the JSON body (``json_body.py``), one parameter (``params.py``), ``messages``
(``message_params.py``), ``tools`` and ``tool_choice`` (``tool_params.py``) and the JSON or
event-stream response (``api_responses.py``); this module gathers them under one name.
"""

from __future__ import annotations

from .api_errors import (
    LlmApiError,
    error_type_of,
    generic_fault_error,
    invalid_type,
    invalid_value,
    missing,
    param_of,
    register_error_handlers,
)
from .api_responses import (
    SSE_HEADERS,
    answer_response,
    compact_json,
    event_stream_response,
    json_response,
)
from .json_body import read_json_object
from .message_params import check_question_length, content_text, get_messages, last_user_text
from .params import (
    get_array,
    get_bool,
    get_int,
    get_model,
    get_name,
    get_object,
    get_string,
    get_strings,
)
from .tool_params import (
    forced_tool,
    openai_tool_choice,
    tool_name_of_call,
    tool_objects,
    tool_spec,
)

__all__ = [
    "SSE_HEADERS",
    "LlmApiError",
    "answer_response",
    "check_question_length",
    "compact_json",
    "content_text",
    "error_type_of",
    "event_stream_response",
    "forced_tool",
    "generic_fault_error",
    "get_array",
    "get_bool",
    "get_int",
    "get_messages",
    "get_model",
    "get_name",
    "get_object",
    "get_string",
    "get_strings",
    "invalid_type",
    "invalid_value",
    "json_response",
    "last_user_text",
    "missing",
    "openai_tool_choice",
    "param_of",
    "read_json_object",
    "register_error_handlers",
    "tool_name_of_call",
    "tool_objects",
    "tool_spec",
]
