"""The pytest plugin, as a user's test suite sees it (run by pytester)."""

from __future__ import annotations

import pytest

from tests.support.apps import ROOT

INNER = ("-p", "no:cacheprovider", "-q", "-o", "asyncio_default_fixture_loop_scope=function")

USING_THE_FIXTURE = """
import httpx
import openai

HI = [{"role": "user", "content": "hi"}]


def test_retry_then_success(qa_server):
    qa_server.script(
        {"times": 1, "fault": {"kind": "rate_limit", "retry_after": 0.2}},
        {"match": "hi", "text": "hello from the script"},
    )
    client = openai.OpenAI(base_url=qa_server.openai_base_url, api_key="k", max_retries=0)
    try:
        client.chat.completions.create(model="m", messages=HI)
    except openai.RateLimitError:
        pass
    reply = client.chat.completions.create(model="m", messages=HI)
    assert reply.choices[0].message.content == "hello from the script"
    statuses = [entry["status"] for entry in qa_server.journal(path="/v1/chat/completions")]
    assert statuses == {statuses}
"""


MARKED = """
import httpx
import pytest


@pytest.mark.qa_config("custom.toml")
def test_config(qa_server):
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    reply = httpx.post(qa_server.openai_base_url + "/chat/completions", json=body).json()
    assert reply["choices"][0]["message"]["content"] == "from custom.toml"
"""


def test_a_generated_suite_using_the_fixture(pytester: pytest.Pytester) -> None:
    """One inner pytest run (servers start once): a 429 then a success asserted on the
    journal passes and the same test asserting wrongly fails; a marker picks a config; the
    worked example of docs/testing.md passes."""
    example = ROOT / "examples" / "testing"
    pytester.makepyfile(
        test_right=USING_THE_FIXTURE.replace("{statuses}", "[429, 200]"),
        test_wrong=USING_THE_FIXTURE.replace("{statuses}", "[200, 200]"),
        test_marked=MARKED,
        chat_app=(example / "chat_app.py").read_text(encoding="utf-8"),
        test_chat_app=(example / "test_chat_app.py").read_text(encoding="utf-8"),
    )
    pytester.makefile(".toml", custom='[[answers]]\ntext = "from custom.toml"\n')
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=4, failed=1)
    output = result.stdout.str()
    assert "FAILED test_wrong.py::test_retry_then_success" in output
    assert "assert [429, 200] == [200, 200]" in output
