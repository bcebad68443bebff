"""``quart-qa demo`` as a real process: the shipped scripts to the end, and on a real terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from quart_qa.commands.demo_script import DemoScript, load_demo
from quart_qa.settings.answers import TOOL_RESULT_PLACEHOLDER, Conversation, choose_rule
from tests.support.apps import IN_CI, ROOT
from tests.support.cli_process import cli_command, run_cli

DEMOS = sorted((ROOT / "config" / "demos").glob("*.toml"))
SCREEN_TIMEOUT = 60.0
pytestmark = pytest.mark.timeout(120)  # a demo process on a busy machine


def expected_lines(script: DemoScript) -> list[str]:
    """What each turn must show, in order, worked out from the script itself: the question,
    its rule's reasoning and text (up to a scripted failure, then the error), and for a
    tool-calling rule the call, the result the script sends back and the text of the rule that
    answers it."""
    lines = []
    for turn in script.turns:
        lines += [f"you › {turn.question}\n", "assistant › "]
        rule = choose_rule(script.settings.answers, turn.question)
        lines += [f"thinking: {step.text}" for step in rule.steps if step.kind == "reasoning"]
        for tool in sorted(rule.called_tools):
            result = turn.result_for(tool)
            assert result is not None, f"the script sends no result for {tool}"
            lines += [f"tool call: {tool}(", f"tool result: {tool} → {result}"]
            after = choose_rule(
                script.settings.answers,
                Conversation(turn.question, tool_result=tool, tool_output=result),
            )
            lines.append("".join(after.parts).replace(TOOL_RESULT_PLACEHOLDER, result))
        fails = rule.text_fail_after
        lines.append("".join(rule.parts if fails is None else rule.parts[:fails]))
        if fails is not None:
            lines.append(f"✗ {rule.error}")
    return [line for line in lines if line]


def test_two_demos_are_shipped() -> None:
    assert {path.name for path in DEMOS} >= {"seed-zh.toml", "feature-tour.toml"}


@pytest.mark.parametrize("path", DEMOS, ids=[path.stem for path in DEMOS])
def test_a_shipped_demo_plays_to_the_end_at_speed_0(path: Path) -> None:
    script = load_demo(path)
    result = run_cli("demo", str(path), "--speed", "0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    position = 0
    for line in expected_lines(script):
        position = out.index(line, position)  # each in order, after the one before
    assert "\x1b[" not in out  # not a terminal: no colour, no cursor movement


TMUX_SCRIPT = """
[demo]
title = "Terminal check"
typing = 0.01
pause = 0.2

[[conversation]]
note = "Markdown is rendered."
question = "Show me something bold"

[[conversation]]
question = "And now fail"

[stream]
chunk_delay = 0.02
first_chunk_delay = 0.1

[[answers]]
match = "fail"
parts = ["Trying ", "hard", "never"]
fail_after = 2
error = "scripted failure"

[[answers]]
text = "Here is **bold text** and `code`."
"""


def tmux_or_fail() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if IN_CI:
            pytest.fail("tmux is missing: scripts/ensure-system-deps.sh installs it")
        pytest.skip("tmux is missing (make test installs it)")
    return tmux


def test_a_demo_in_tmux_shows_the_conversation_on_screen(tmp_path: Path) -> None:
    tmux = tmux_or_fail()
    script = tmp_path / "terminal.toml"
    script.write_text(TMUX_SCRIPT, encoding="utf-8")
    socket = ["-L", f"quart-qa-test-{os.getpid()}"]
    command = " ".join([*cli_command("demo", str(script)), "; echo DEMO-EXIT=$?; sleep 60"])
    environment = {
        key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TERM")
    }
    subprocess.run(
        [tmux, *socket, "new-session", "-d", "-x", "100", "-y", "40", "-c", str(ROOT), command],
        check=True,
        env={**environment, "TERM": "xterm-256color"},
    )
    try:
        deadline = time.monotonic() + SCREEN_TIMEOUT
        screen = ""
        while "DEMO-EXIT=" not in screen and time.monotonic() < deadline:
            screen = capture(tmux, socket)
            time.sleep(0.1)  # polling the screen, not waiting for an outcome
        coloured = capture(tmux, socket, "-e")
    finally:
        subprocess.run([tmux, *socket, "kill-server"], check=False)
    assert "DEMO-EXIT=0" in screen, screen
    assert "Terminal check" in screen
    assert "you › Show me something bold" in screen
    assert "Here is bold text and code." in screen  # Markdown rendered: no ** or `
    assert "you › And now fail" in screen
    assert "Trying hard" in screen
    assert "✗ scripted failure" in screen
    assert "\x1b[" in coloured  # a terminal: styled


def capture(tmux: str, socket: list[str], *flags: str) -> str:
    return subprocess.run(
        [tmux, *socket, "capture-pane", "-p", *flags], capture_output=True, text=True, check=True
    ).stdout
