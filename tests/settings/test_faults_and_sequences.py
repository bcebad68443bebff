"""Faults, ``times``, ``sequence`` and ``[chaos]`` in the TOML: accepted shapes, one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from quart_qa.settings.config import settings_from_mapping
from quart_qa.settings.errors import ConfigError
from quart_qa.settings.faults import Fault


def rules(*answers: dict[str, Any], **sections: Any) -> Any:
    return settings_from_mapping({"answers": list(answers), **sections}, source="t.toml")


def test_faults_times_and_sequences_parse() -> None:
    settings = rules(
        {"match": "limit", "fault": {"kind": "rate_limit", "retry_after": 1.5}, "times": 1},
        {"match": "drop", "text": "a b c", "fault": {"kind": "disconnect", "after": 2}},
        {"match": "tool", "sequence": [{"fault": "overloaded"}, {"parts": ["done"]}]},
        {"text": "fine"},
    )
    limit, drop, tool, default = settings.answers
    assert limit.fault == Fault("rate_limit", retry_after=1.5)
    assert limit.parts == ()  # refused before any answer: no text needed
    assert limit.uses_allowed == 1
    assert drop.fault == Fault("disconnect", after=2)
    assert tool.uses_allowed == 2
    first, second = tool.answer_for(0), tool.answer_for(1)
    assert first.fault is not None
    assert first.fault.kind == "overloaded"
    assert second.parts == ("done",)
    assert second.match is tool.match
    assert default.uses_allowed is None
    assert "fault: rate_limit (retry after 1.5s)" in limit.describe()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([{"fault": "explode", "text": "x"}], "t.toml: answers[0].fault.kind: must be one of"),
        (
            [{"fault": {"kind": "stall", "retry_after": 1}, "text": "x"}],
            "answers[0].fault.retry_after: does not apply to a 'stall' fault",
        ),
        (
            [{"fault": {"kind": "disconnect", "after": -1}, "text": "x"}],
            "answers[0].fault.after: must be an integer >= 0",
        ),
        ([{"fault": "stall"}], "answers[0]: needs exactly one of `parts`"),
        ([{"match": "a", "times": 0, "text": "x"}, {"text": "y"}], "answers[0].times: must be"),
        (
            [{"match": "a", "times": 2, "sequence": [{"text": "x"}]}, {"text": "y"}],
            "answers[0].times: does not go with `sequence`",
        ),
        (
            [{"match": "a", "sequence": [{"match": "b", "text": "x"}]}, {"text": "y"}],
            "answers[0].sequence[0].match: belongs to the rule, not to one of its answers",
        ),
        (
            [{"match": "a", "sequence": [{"parts": []}]}, {"text": "y"}],
            "answers[0].sequence[0].parts: must be a non-empty list",
        ),
        (
            [{"match": "a", "text": "t", "sequence": [{"text": "x"}]}, {"text": "y"}],
            "answers[0].text: belongs in the answers of the `sequence`",
        ),
        ([{"text": "x", "times": 3}], "answers[0]: the default rule answers whatever is left"),
    ],
)
def test_bad_rules_fail_with_one_line(answers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rules(*answers)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_rules_without_match_that_run_out_may_come_before_the_default() -> None:
    settings = rules({"times": 1, "fault": "server_error"}, {"text": "after the failure"})
    assert settings.answers[0].match is None
    assert settings.answers[0].times == 1


@pytest.mark.parametrize(
    ("chaos", "message"),
    [
        ({"rate_limit": 1.5}, "chaos.rate_limit: is a probability"),
        ({"disconnect": 0.6, "stall": 0.6}, "chaos: the fault probabilities add up to 1.2"),
        ({"typo": 0.1}, "chaos.typo: unknown key"),
        ({"seed": "x"}, "chaos.seed: must be an integer"),
    ],
)
def test_bad_chaos_fails_with_one_line(chaos: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        rules({"text": "x"}, chaos=chaos)


def test_admin_needs_its_token_in_token_mode_and_goes_with_either_broker() -> None:
    auth = {"mode": "token", "secret": "s" * 16}
    with pytest.raises(ConfigError, match=r"admin\.token: is required"):
        settings_from_mapping({"auth": auth, "admin": {"enabled": True}})
    shared = settings_from_mapping({"admin": {"enabled": True}, "broker": {"backend": "redis"}})
    assert shared.admin.enabled
    assert shared.broker.backend == "redis"
    settings = settings_from_mapping({"auth": auth, "admin": {"enabled": True, "token": "t" * 16}})
    assert settings.admin.token == "t" * 16
