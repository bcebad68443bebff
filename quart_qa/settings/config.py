"""Settings: frozen, typed dataclasses loaded from one TOML file.

Every loader funnels into :func:`settings_from_mapping`. Unknown keys, wrong types and
out-of-range values raise :class:`ConfigError`, whose message names the file, the key
and the problem in one line.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from .admin import AdminSettings, check_admin
from .answer_parsing import rules_from_list
from .answers import AnswerRule, Step
from .auth import AuthSettings
from .broker import BrokerSettings
from .cors import CorsSettings
from .errors import ConfigError
from .faults import ChaosSettings, chaos_from_mapping
from .frontends import FrontendSettings
from .model_presets import ModelPreset, models_from_mapping
from .server import ServerSettings
from .shipped import config_file

DEFAULT_CONFIG_PATH = Path("config/default.toml")
CONFIG_ENV_VAR = "QA_CONFIG"

_T = TypeVar("_T")


def _minimum(value: float) -> dict[str, float]:
    return {"min": value}


@dataclass(frozen=True)
class StreamSettings:
    """Pacing and lifetime of streams and answers (all durations in seconds)."""

    chunk_delay: float = field(default=1.0, metadata=_minimum(0))
    first_chunk_delay: float = field(default=0.0, metadata=_minimum(0))
    timeout: float = field(default=0.0, metadata=_minimum(0))
    answer_timeout: float = field(default=60.0, metadata=_minimum(0))
    heartbeat: float = field(default=15.0, metadata=_minimum(0))
    on_busy: Literal["queue", "reject"] = "queue"
    queue_size: int = field(default=256, metadata=_minimum(1))
    history: int = field(default=1000, metadata=_minimum(0))
    history_ttl: float = field(default=300.0, metadata=_minimum(0))
    retry_ms: int = field(default=3000, metadata=_minimum(0))
    resume_grace: float = field(default=10.0, metadata=_minimum(0))
    shutdown_grace: float = field(default=2.0, metadata=_minimum(0))


@dataclass(frozen=True)
class LimitsSettings:
    """Bounds on what one client may ask for."""

    max_question_chars: int = field(default=4000, metadata=_minimum(1))
    max_pending_answers: int = field(default=16, metadata=_minimum(1))
    max_body_bytes: int = field(default=65536, metadata=_minimum(1024))
    max_connections_per_user: int = field(default=8, metadata=_minimum(1))
    max_connections: int = field(default=10000, metadata=_minimum(1))
    asks_per_minute: int = field(default=60, metadata=_minimum(0))
    body_timeout: float = field(default=10.0, metadata=_minimum(0.1))
    max_history_bytes: int = field(default=64 * 1024 * 1024, metadata=_minimum(65536))
    new_users_per_minute: int = field(default=300, metadata=_minimum(0))
    sessions_per_minute: int = field(default=60, metadata=_minimum(0))


@dataclass(frozen=True)
class MessagesSettings:
    """Texts sent on the stream; ``{user_id}`` and ``{question}`` are substituted."""

    connected: str = "连接已建立,用户ID: {user_id}"
    answer_start: str = "开始回答问题: {question}"
    answer_end: str = "回答结束"
    submitted: str = "问题已提交,正在处理中..."
    answer_cancelled: str = "回答已取消"
    answer_timed_out: str = "回答超时 ({seconds} 秒)"
    answer_abandoned: str = "回答已中止: 连接已断开"
    events_missed: str = "部分事件已丢失,请重新提问"
    server_shutdown: str = "服务器正在关闭,稍后将自动重连"
    answer_lost: str = "回答已中断: 处理它的服务节点已失联"


SEED_ANSWER_PARTS: tuple[str, ...] = (
    "这是对您问题的回答。",
    "首先,我们需要理解问题的核心。",
    "根据相关知识,我们可以得出以下结论。",
    "综上所述,建议您采取相应措施。",
    "如果您还有其他问题,请继续提问。",
)


def _seed_rules() -> tuple[AnswerRule, ...]:
    return (AnswerRule((Step("text", SEED_ANSWER_PARTS),)),)


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its TOML file."""

    stream: StreamSettings = field(default_factory=StreamSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    messages: MessagesSettings = field(default_factory=MessagesSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    cors: CorsSettings = field(default_factory=CorsSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    frontends: FrontendSettings = field(default_factory=FrontendSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    chaos: ChaosSettings = field(default_factory=ChaosSettings)
    answers: tuple[AnswerRule, ...] = field(default_factory=_seed_rules)
    models: tuple[ModelPreset, ...] = ()  # empty: the LLM APIs accept any model name
    source: str = "<embedded defaults>"

    def with_stream(self, **changes: Any) -> Settings:
        """A copy with some stream settings changed (handy in tests)."""
        return replace(self, stream=replace(self.stream, **changes))


_SECTIONS: dict[str, type[Any]] = {
    "stream": StreamSettings,
    "limits": LimitsSettings,
    "messages": MessagesSettings,
    "auth": AuthSettings,
    "cors": CorsSettings,
    "broker": BrokerSettings,
    "server": ServerSettings,
    "frontends": FrontendSettings,
    "admin": AdminSettings,
}
# A demo script's conversation (``quart-qa demo`` reads and checks it) may share the file
# with the server's config, so a demo script is also a config the server loads.
DEMO_SECTIONS = ("demo", "conversation")


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _coerce(value: object, annotation: Any, where: str) -> object:
    origin = get_origin(annotation)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(where, f"must be a number, got {_describe(value)}")
        if not math.isfinite(value):  # TOML spells inf and nan; no setting means them
            raise ConfigError(where, f"must be a finite number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(where, f"must be an integer, got {_describe(value)}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(where, f"must be a string, got {_describe(value)}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, f"must be true or false, got {_describe(value)}")
        return value
    if origin is Literal:
        choices = get_args(annotation)
        if value not in choices:
            allowed = ", ".join(repr(choice) for choice in choices)
            raise ConfigError(where, f"must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(where, f"must be a list, got {_describe(value)}")
        (item_type, _ellipsis) = get_args(annotation)
        return tuple(
            _coerce(item, item_type, f"{where}[{index}]") for index, item in enumerate(value)
        )
    if origin in (typing.Union, types.UnionType):
        options = [option for option in get_args(annotation) if option is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], where)
    raise TypeError(f"unsupported settings type {annotation!r} at {where}")


def section_from_mapping(cls: type[_T], raw: object, where: str) -> _T:
    """Build one settings dataclass from a TOML table, refusing unknown keys and bad values."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a table, got {_describe(raw)}")
    hints = typing.get_type_hints(cls)
    known = {spec.name: spec for spec in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, object] = {}
    for key, value in raw.items():
        spec = known.get(key)
        if spec is None:
            allowed = ", ".join(sorted(known))
            raise ConfigError(f"{where}.{key}", f"unknown key (known keys: {allowed})")
        coerced = _coerce(value, hints[key], f"{where}.{key}")
        minimum = spec.metadata.get("min")
        if minimum is not None and isinstance(coerced, int | float) and coerced < minimum:
            raise ConfigError(f"{where}.{key}", f"must be >= {minimum}, got {value!r}")
        values[key] = coerced
    return cls(**values)


def settings_from_mapping(data: Mapping[str, object], *, source: str = "<mapping>") -> Settings:
    """The one way settings are built from parsed TOML (or any equivalent mapping)."""
    try:
        sections: dict[str, Any] = {}
        for key, raw in data.items():
            if key == "answers":
                sections["answers"] = rules_from_list(raw)
            elif key == "models":
                sections["models"] = models_from_mapping(raw)
            elif key == "chaos":
                sections["chaos"] = chaos_from_mapping(raw)
            elif key in _SECTIONS:
                sections[key] = section_from_mapping(_SECTIONS[key], raw, key)
            elif key not in DEMO_SECTIONS:
                allowed = ", ".join(sorted([*_SECTIONS, "answers", "models", "chaos"]))
                raise ConfigError(key, f"unknown section (known sections: {allowed})")
        settings = Settings(**sections, source=source)
        check_admin(settings.admin, settings.auth.mode)
    except ConfigError as error:
        raise error.with_source(source) from None
    return settings


_TOML_POSITION = re.compile(r"\(at (?:line (\d+), column (\d+)|end of document)\)")


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file; a :class:`ConfigError` naming the file (and the line) when it cannot."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            "", f"cannot read file: {error.strerror or error}", source=source
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("", "file is not valid UTF-8", source=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        problem = _TOML_POSITION.sub("", message).strip()
        where = ""
        if position:
            where = (
                f"line {position.group(1)}, column {position.group(2)}"
                if position.group(1)
                else "end of file"
            )
        raise ConfigError(where, f"TOML syntax error: {problem}", source=source) from None
    return data


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a TOML config file."""
    return settings_from_mapping(read_toml(path), source=str(path))


def config_path(explicit: str | None) -> str | None:
    """The config to serve: ``explicit`` (``--config``: a file, or a shipped config's name),
    else ``$QA_CONFIG``, else ``config/default.toml`` when it exists; None means the embedded
    defaults."""
    path = explicit or os.environ.get(CONFIG_ENV_VAR)
    if path:
        return str(config_file(path))
    return str(DEFAULT_CONFIG_PATH) if DEFAULT_CONFIG_PATH.is_file() else None


def load_config(path: str | None) -> Settings:
    """The settings in ``path``, or the embedded defaults when it is None."""
    return load_settings(path) if path else Settings()


def settings_from_environment() -> Settings:
    """Settings from ``$QA_CONFIG`` (a file or a shipped config's name) when set, else the
    embedded defaults (the seed's behaviour)."""
    path = os.environ.get(CONFIG_ENV_VAR)
    return load_settings(config_file(path)) if path else Settings()
