"""Smoke test of the benchmark harness (`python -m bench --quick`): it runs, it reports.

No timing is asserted: speed is measured by the benchmark, not by tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.live_server import ROOT

EXPECTED_CASES = ("S1", "S2", "S3")
SERVERS = {"quart-qa", "sse-starlette"}


def test_quick_benchmark_reports_every_figure_for_both_servers(tmp_path: Path) -> None:
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
    assert {run["server"] for run in report["runs"]} == SERVERS
    cases = {row["case"] for row in report["summary"]}
    assert all(any(case.startswith(name) for case in cases) for name in EXPECTED_CASES)
    for row in report["summary"]:
        assert set(row["servers"]) == SERVERS, row
        for figures in row["servers"].values():
            assert figures["median"] is not None, row
    completed = [
        row["servers"]["quart-qa"]["median"]
        for row in report["summary"]
        if row["figure"] in {"completed", "completed_frac", "connected_frac"}
    ]
    assert completed
    assert all(value == 1 for value in completed)
    assert "quart-qa / sse-starlette" in result.stdout  # the printed table has the ratio column
