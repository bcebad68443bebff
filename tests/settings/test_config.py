"""Config loading: the shipped files, and one clear error for every kind of bad config."""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quart_qa.settings.config import (
    SEED_ANSWER_PARTS,
    Settings,
    load_settings,
    settings_from_mapping,
)
from quart_qa.settings.errors import ConfigError
from tests.support.apps import ROOT

CONFIGS = sorted((ROOT / "config").glob("*.toml"))


def test_default_toml_reproduces_the_seed() -> None:
    settings = load_settings(ROOT / "config" / "default.toml")
    assert settings.answers[0].parts == SEED_ANSWER_PARTS
    assert settings.stream.chunk_delay == 1.0
    assert settings.stream.timeout == 0
    assert settings.messages.connected == "连接已建立,用户ID: {user_id}"
    assert settings.messages.answer_start == "开始回答问题: {question}"
    assert settings.messages.answer_end == "回答结束"
    assert settings.messages.submitted == "问题已提交,正在处理中..."
    assert settings.stream == Settings().stream
    assert settings.messages == Settings().messages


@pytest.mark.parametrize("path", CONFIGS, ids=[path.name for path in CONFIGS])
def test_shipped_configs_load(path: Path) -> None:
    settings = load_settings(path)
    assert settings.answers[-1].match is None


def test_english_demo_has_a_realistic_pace() -> None:
    settings = load_settings(ROOT / "config" / "english-demo.toml")
    assert 0.3 <= settings.stream.first_chunk_delay <= 0.5
    assert 1 / 40 <= settings.stream.chunk_delay <= 1 / 25
    assert all(len(rule.parts) > 10 for rule in settings.answers)


def test_failure_demo_has_fail_after_and_a_slow_rule() -> None:
    settings = load_settings(ROOT / "config" / "failure-demo.toml")
    assert any(rule.fail_after is not None for rule in settings.answers)
    timeout = settings.stream.answer_timeout
    slow = [
        rule
        for rule in settings.answers
        if (rule.delay or settings.stream.chunk_delay) * len(rule.parts) > timeout
    ]
    assert slow


def test_no_answers_uses_the_seed_answer() -> None:
    settings = settings_from_mapping({"stream": {"chunk_delay": 0.5}})
    assert settings.answers[0].parts == SEED_ANSWER_PARTS
    assert settings.stream.chunk_delay == 0.5


def test_rules_match_case_insensitively_first_wins() -> None:
    from quart_qa.settings.answers import choose_rule

    settings = settings_from_mapping(
        {
            "answers": [
                {"match": "天气|weather", "parts": ["sunny"]},
                {"match": "wea", "parts": ["never"]},
                {"text": "Hello big world. Bye!", "chunk_by": "sentence"},
            ]
        }
    )
    assert choose_rule(settings.answers, "How is the WEATHER?").parts == ("sunny",)
    assert choose_rule(settings.answers, "今天天气").parts == ("sunny",)
    assert choose_rule(settings.answers, "other").parts == ("Hello big world. ", "Bye!")


def test_durations_accept_integers() -> None:
    settings = settings_from_mapping({"stream": {"chunk_delay": 2, "answer_timeout": 5}})
    assert settings.stream.chunk_delay == 2.0
    assert isinstance(settings.stream.chunk_delay, float)


BAD_CONFIGS = [
    ("[stream\nchunk_delay = 1", "line 1", "TOML syntax error"),
    ("[stream]\nchunk_delay = 1\nchunk_delay = 2", "end of file", "Cannot overwrite"),
    ("[stream]\nchunk_dealy = 1", "stream.chunk_dealy", "unknown key"),
    ("[streams]\nchunk_delay = 1", "streams", "unknown section"),
    ('[stream]\nchunk_delay = "fast"', "stream.chunk_delay", "must be a number"),
    ("[stream]\nchunk_delay = true", "stream.chunk_delay", "must be a number"),
    ("[stream]\nchunk_delay = -1", "stream.chunk_delay", "must be >= 0"),
    ("[stream]\nheartbeat = -0.5", "stream.heartbeat", "must be >= 0"),
    ('[stream]\non_busy = "drop"', "stream.on_busy", "must be one of"),
    ("[limits]\nmax_question_chars = 0", "limits.max_question_chars", "must be >= 1"),
    ("[limits]\nmax_question_chars = 1.5", "limits.max_question_chars", "must be an integer"),
    ("[messages]\nconnected = 3", "messages.connected", "must be a string"),
    ("[[answers]]\nparts = []", "answers[0].parts", "non-empty list"),
    ('[[answers]]\nparts = ["a", 2]', "answers[0].parts[1]", "non-empty string"),
    ('[[answers]]\nparts = ["a"]\ntext = "b"', "answers[0]", "exactly one of"),
    ("[[answers]]\ndelay = 1", "answers[0]", "exactly one of"),
    ('[[answers]]\nmatch = "(unclosed"\nparts = ["a"]', "answers[0].match", "invalid regex"),
    ('[[answers]]\nmatch = "x"\nparts = ["a"]', "answers", "no default rule"),
    (
        '[[answers]]\nparts = ["a"]\n[[answers]]\nmatch = "x"\nparts = ["b"]',
        "answers[0]",
        "exactly one and the last",
    ),
    ('[[answers]]\nparts = ["a"]\ndelay = -2', "answers[0].delay", "must be >= 0"),
    ('[[answers]]\nparts = ["a"]\nfail_after = 2', "answers[0].fail_after", "only 1 part"),
    ('[[answers]]\nparts = ["a"]\nfail_after = -1', "answers[0].fail_after", ">= 0"),
    ('[[answers]]\nparts = ["a"]\ncolour = "red"', "answers[0].colour", "unknown key"),
    ('[[answers]]\ntext = "a b"\nchunk_by = "line"', "answers[0].chunk_by", "must be one of"),
    ('[[answers]]\nparts = ["a"]\nchunk_by = "word"', "answers[0].chunk_by", "only applies"),
    ("answers = 3", "answers", "non-empty array"),
    ('[server]\ncertfile = "cert.pem"', "server.keyfile", "certfile and keyfile go together"),
    ('[server]\nkeyfile = "key.pem"', "server.certfile", "certfile and keyfile go together"),
    ('[server]\nquic_bind = "127.0.0.1:8443"', "server.quic_bind", "HTTP/3 needs TLS"),
    ("[server]\ncertfile = 443", "server.certfile", "must be a string"),
]


@pytest.mark.parametrize(("text", "where", "problem"), BAD_CONFIGS)
def test_bad_config_names_file_key_and_problem(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert where in message
    assert problem in message
    assert "\n" not in message


def test_server_table_turns_on_tls_and_http3() -> None:
    table = {"certfile": "cert.pem", "keyfile": "key.pem", "quic_bind": "[::]:8443"}
    server = settings_from_mapping({"server": table}).server
    assert (server.certfile, server.keyfile, server.quic_bind) == tuple(table.values())
    assert server.tls
    assert not settings_from_mapping({}).server.tls


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_settings(tmp_path / "absent.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[messages]\nconnected = "\xe9"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(path)


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
sections = st.sampled_from(["stream", "limits", "messages", "answers", "other"])


@given(st.dictionaries(sections, toml_values, max_size=3))
def test_loader_fuzz_only_raises_config_error(data: dict[str, object]) -> None:
    try:
        settings_from_mapping(data)
    except ConfigError as error:
        message = str(error)
    else:
        return
    assert message
    assert "\n" not in message


def _section_classes() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {
        name: hints[name]
        for name in ("stream", "limits", "messages", "auth", "cors")
        if dataclasses.is_dataclass(hints[name])
    }


# Values that are often right for some key, so the fuzz gets past "must be a table" and into
# every coercion and range check (and inf/nan, which TOML can spell).
plausible_values = (
    st.integers(min_value=-2, max_value=10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["none", "token", "queue", "reject", "{user_id}", "https://a.example"])
    | st.text(min_size=14, max_size=20)
    | st.lists(st.sampled_from(["*", "http://localhost:3000", "a.example", 3]), max_size=3)
    | toml_values
)


@st.composite
def plausible_configs(draw: st.DrawFn) -> dict[str, object]:
    config: dict[str, object] = {}
    for name, cls in _section_classes().items():
        if draw(st.booleans()):
            keys = [spec.name for spec in dataclasses.fields(cls)]
            table = draw(st.dictionaries(st.sampled_from(keys), plausible_values, max_size=4))
            if draw(st.integers(0, 9)) == 0:  # now and then a misspelt key
                table[draw(st.text(max_size=4))] = draw(plausible_values)
            config[name] = table
    return config


@given(plausible_configs())
def test_loader_fuzz_known_keys(data: dict[str, object]) -> None:
    failure: ConfigError | None = None
    try:
        settings = settings_from_mapping(data)
    except ConfigError as error:
        failure = error
    if failure is not None:
        assert "\n" not in str(failure)
        assert str(failure).startswith("<mapping>: ")
        assert failure.where.split(".")[0] in data  # names the section it came from
        return
    for name, table in data.items():
        section = getattr(settings, name)
        assert isinstance(table, dict)
        for key, value in table.items():
            loaded = getattr(section, key)
            assert loaded == (tuple(value) if isinstance(value, list) else value)
            if isinstance(loaded, float):
                assert math.isfinite(loaded)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize(
    "key", ["stream.chunk_delay", "auth.token_ttl", "answers.delay", "answers.first_chunk_delay"]
)
def test_non_finite_numbers_are_refused(tmp_path: Path, key: str, value: str) -> None:
    section, name = key.split(".")
    path = tmp_path / "c.toml"
    if section == "answers":
        path.write_text(f'[[answers]]\nparts = ["a"]\n{name} = {value}\n', encoding="utf-8")
    else:
        path.write_text(f"[{section}]\n{name} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a finite number"):
        load_settings(path)
