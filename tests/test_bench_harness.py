"""Smoke test of the benchmark harness (`python -m bench --quick`): it runs, it reports.

No timing is asserted: speed is measured by the benchmark, not by tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.suites import full_suite, select
from tests.support.live_server import ROOT

CHAT_PAGE_CASES = ("S1", "S2", "S3")
CHAT_PAGE_SERVERS = {"quart-qa", "sse-starlette"}
# The servers speaking each LLM protocol (the peers only where installed): neither peer speaks
# the AI SDK's UI message stream, and llm-mock-api does not speak AG-UI.
API_SERVERS = {
    "openai": {"quart-qa", "aimock", "llm-mock-api"},
    "anthropic": {"quart-qa", "aimock", "llm-mock-api"},
    "responses": {"quart-qa", "aimock", "llm-mock-api"},
    "agui": {"quart-qa", "aimock"},
    "ai_sdk": {"quart-qa"},
}


@pytest.mark.timeout(300)  # a fresh server per case and server: longer than a unit test
def test_quick_benchmark_reports_every_figure_for_every_server(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert all(run["error"] is None for run in report["runs"])
    left_out = set(report["meta"]["left_out"])
    cases = {row["case"] for row in report["summary"]}
    for name in (*CHAT_PAGE_CASES, *API_SERVERS):
        assert any(case.startswith(f"{name} ") for case in cases), name
    for row in report["summary"]:
        protocol = row["case"].split(" ")[0]
        expected = API_SERVERS[protocol] - left_out if protocol in API_SERVERS else None
        assert set(row["servers"]) == (expected or CHAT_PAGE_SERVERS), row
        for figures in row["servers"].values():
            assert figures["median"] is not None, row
    completed = [
        row["servers"]["quart-qa"]["median"]
        for row in report["summary"]
        if row["figure"] in {"completed", "completed_frac", "connected_frac"}
    ]
    assert completed
    assert all(value == 1 for value in completed)
    paced = [run for run in report["runs"] if run["case"].endswith("ms")]
    assert paced
    assert all(run["series"]["late_t_s"] for run in paced)  # kept for the plots
    assert "quart-qa / sse-starlette" in result.stdout  # the printed tables have ratio columns


def test_only_picks_cases_by_any_of_its_comma_separated_parts() -> None:
    picked = [scenario.case for scenario in select(full_suite(), "S1 20000 1µs, S2 C=1000")]
    assert picked == ["S1 20000 1µs", "S2 C=1000"]
    assert select(full_suite(), "no such case") == []
    assert len(select(full_suite(), None)) == len(full_suite())
