"""``quart-qa ask`` as a real process against a real server, in each of the three protocols."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quart_qa.settings.config import SEED_ANSWER_PARTS
from tests.support.cli_process import run_cli, write_config
from tests.support.live_server import ServerProcess, free_port

CHUNK_DELAY = 0.05
FAILURE = "the model fell over"
CONFIG = f"""
[stream]
chunk_delay = {CHUNK_DELAY}
heartbeat = 0

[[answers]]
match = "fail"
parts = ["one ", "two ", "never sent"]
fail_after = 2
error = "{FAILURE}"

[[answers]]
parts = [{", ".join(f'"{part}"' for part in SEED_ANSWER_PARTS)}]
"""
TIMING = re.compile(r"first chunk after (\d+\.\d\d) s · total (\d+\.\d\d) s")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory, "ask", CONFIG)


def test_ask_prints_the_seed_answer_in_order_then_the_timing(server: ServerProcess) -> None:
    result = run_cli("ask", "什么是SSE", "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(SEED_ANSWER_PARTS) + "\n"
    timing = TIMING.search(result.stderr)
    assert timing is not None, result.stderr
    first, total = float(timing.group(1)), float(timing.group(2))
    assert first <= total
    # Five parts, a chunk_delay between each: the total cannot be shorter than four delays.
    assert total >= 4 * CHUNK_DELAY


@pytest.mark.parametrize("api", ["qa", "openai", "anthropic"])
def test_a_scripted_failure_exits_1_with_the_error_on_stderr(
    server: ServerProcess, api: str
) -> None:
    result = run_cli("ask", "please fail", "--url", server.url, "--api", api)
    assert result.returncode == 1
    assert result.stdout == "one two \n"  # what streamed before the failure
    assert FAILURE in result.stderr
    assert "Traceback" not in result.stderr


def test_the_question_is_read_from_stdin_with_a_dash(server: ServerProcess) -> None:
    result = run_cli("ask", "-", "--url", server.url, "--api", "openai", stdin="什么是SSE\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(SEED_ANSWER_PARTS) + "\n"


def test_without_url_an_embedded_server_answers_from_the_config(config: Path) -> None:
    result = run_cli("ask", "what fails?", "--config", str(config), "--api", "anthropic")
    assert result.returncode == 1
    assert result.stdout == "one two \n"
    assert FAILURE in result.stderr


def test_http_errors_exit_1_with_the_reason(server: ServerProcess) -> None:
    refused = run_cli("ask", "hi", "--url", server.url, "--user", "no spaces allowed")
    assert refused.returncode == 1
    assert "invalid_user_id" in refused.stderr
    unreachable = run_cli("ask", "hi", "--url", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("quart-qa ask: ")
    assert "Traceback" not in refused.stderr + unreachable.stderr
