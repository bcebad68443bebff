"""Summaries of the runs: a plain-text table of medians and ratios, and a JSON document."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runner import Run
from .stats import summary

UNITS = {
    "chunks_per_s": "chunks/s",
    "server_cpu_us_per_chunk": "µs/chunk",
    "client_cpu_pct": "% core",
    "other_cpu_pct": "% core",
    "completed": "1 = yes",
    "ttfc_p50_ms": "ms",
    "ttfc_p99_ms": "ms",
    "late_p50_ms": "ms",
    "late_p99_ms": "ms",
    "completed_frac": "fraction",
    "server_cpu_pct": "% core",
    "listen_drops": "SYNs",
    "kib_per_conn": "KiB",
    "connected_frac": "fraction",
    "heartbeat_frac": "fraction",
    "server_rss_mib": "MiB",
    "drift_p99_ms": "ms",
    "behind_p50_ms": "ms",
    "behind_p99_ms": "ms",
}


def _ordered(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _ratio(ours: float, other: float) -> float:
    return ours / other if other and math.isfinite(other) and math.isfinite(ours) else math.nan


def summarize(runs: Sequence[Run], servers: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (case, figure): the median/min/max of each server that ran the case, and
    the first server's median ÷ each other's (``ratios``; ``ratio`` is the one against the
    first of the others)."""
    rows: list[dict[str, Any]] = []
    for case in _ordered([run.case for run in runs]):
        case_runs = [run for run in runs if run.case == case]
        ran = [server for server in servers if any(run.server == server for run in case_runs)]
        figures = _ordered([name for run in case_runs for name in run.figures])
        for figure in figures:
            per_server = {
                server: [
                    run.figures.get(figure, math.nan)
                    for run in case_runs
                    if run.server == server and run.error is None
                ]
                for server in ran
            }
            stats = {server: summary(values) for server, values in per_server.items()}
            ours = stats[ran[0]]["median"]
            ratios = {other: _ratio(ours, stats[other]["median"]) for other in ran[1:]}
            rows.append(
                {
                    "case": case,
                    "figure": figure,
                    "unit": UNITS.get(figure, ""),
                    "servers": {
                        server: {**stats[server], "values": per_server[server]} for server in ran
                    },
                    "ratios": ratios,
                    "ratio": next(iter(ratios.values()), math.nan),
                }
            )
    return rows


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _cell(stats: dict[str, Any]) -> str:
    if len(stats["values"]) > 1 and math.isfinite(stats["min"]):
        return f"{_num(stats['median'])} ({_num(stats['min'])}–{_num(stats['max'])})"
    return _num(stats["median"])


def _table(rows: Sequence[dict[str, Any]], servers: Sequence[str]) -> str:
    others = servers[1:]
    header = ["case", "figure", "unit", *servers, *(f"{servers[0]} / {o}" for o in others)]
    lines = [header]
    for row in rows:
        cells = [_cell(row["servers"][server]) for server in servers]
        ratios = [row["ratios"][other] for other in others]
        marks = [_num(ratio) + "×" if math.isfinite(ratio) else "—" for ratio in ratios]
        lines.append([row["case"], row["figure"], row["unit"], *cells, *marks])
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]

    def fmt(line: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([fmt(lines[0]), rule, *(fmt(line) for line in lines[1:])])


def table(rows: Sequence[dict[str, Any]], servers: Sequence[str] = ()) -> str:
    """Markdown tables, one for each set of servers that ran the same cases: medians
    (min–max) per server and the first server's median ÷ each other's."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row["servers"]), []).append(row)
    return "\n\n".join(_table(group, list(ran)) for ran, group in groups.items())


def _clean(value: Any) -> Any:
    """JSON has no NaN: turn non-finite floats into null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def write_json(
    path: Path, meta: dict[str, Any], runs: Sequence[Run], rows: Sequence[dict[str, Any]]
) -> None:
    """Everything measured: the environment, every run, and the summary rows."""
    document = {
        "meta": meta,
        "runs": [
            {
                "case": run.case,
                "server": run.server,
                "rep": run.rep,
                "figures": run.figures,
                "series": run.series,
                "error": run.error,
                "waited_for_quiet_s": run.waited,
                "others_cpu_pct_before": run.others_before,
            }
            for run in runs
        ],
        "summary": list(rows),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_clean(document), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def save_and_report_failures(
    path: Path, meta: dict[str, Any], runs: Sequence[Run], rows: Sequence[dict[str, Any]]
) -> int:
    """Write the JSON, print where, list failed runs; the exit status (1 when any failed)."""
    write_json(path, meta, runs, rows)
    print(f"\nJSON: {path}")
    failed = [run for run in runs if run.error]
    for run in failed:
        print(f"failed: {run.case} on {run.server} (rep {run.rep + 1}): {run.error}")
    return 1 if failed else 0
