"""``python -m bench.plots [RESULTS.json]``: the figures of a benchmark run as PNG plots.

- ``lateness-<case>.png``: chunk lateness over the run (99th percentile and maximum in
  50 ms bins, one line per server; the first repetition of each) for every case that kept a
  lateness series;
- ``cpu-per-chunk.png``: server CPU per delivered chunk, per case and server (medians), and
  ``cpu-per-chunk-<protocol>.png`` the same for the cases of one LLM protocol alone.

Uses matplotlib (``pip install -e '.[bench-plots]'``; ``make bench`` installs it). Without a
path it plots the newest JSON in ``bench/results/``; PNGs go to ``bench/plots/`` unless
``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .llm_client import DIALECTS
from .servers import REPO

RESULTS = REPO / "bench" / "results"
PLOTS = REPO / "bench" / "plots"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def newest_results() -> Path:
    """The most recently written JSON in ``bench/results/``."""
    found = sorted(RESULTS.glob("*.json"), key=lambda path: path.stat().st_mtime)
    if not found:
        raise SystemExit(f"no results in {RESULTS}: run python -m bench first")
    return found[-1]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("plots need matplotlib: pip install -e '.[bench-plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


TITLES = {
    "behind": ("how far each delta is behind its schedule", "behind schedule (ms)"),
    "late": ("lateness of each chunk against the previous one", "gap − pace (ms)"),
}


def lateness_plots(report: dict[str, Any], out: Path) -> list[Path]:
    """One plot per case with a lateness series (the schedule-based one where the case has
    it, else the gap-based one): p99 (solid) and max (dotted) per server."""
    plt = _pyplot()
    written: list[Path] = []
    cases = list(dict.fromkeys(run["case"] for run in report["runs"]))
    for case in cases:
        runs = [
            run
            for run in report["runs"]
            if run["case"] == case and run["rep"] == 0 and run.get("series", {}).get("late_t_s")
        ]
        if not runs:
            continue
        name = "behind" if all(run["series"].get("behind_t_s") for run in runs) else "late"
        figure, axes = plt.subplots(figsize=(8, 4.5))
        for run in runs:
            series = run["series"]
            (line,) = axes.plot(
                series[f"{name}_t_s"], series[f"{name}_p99_ms"], label=f"{run['server']} p99"
            )
            axes.plot(
                series[f"{name}_t_s"],
                series[f"{name}_max_ms"],
                linestyle=":",
                color=line.get_color(),
                label=f"{run['server']} max",
            )
        title, label = TITLES[name]
        axes.set_title(f"{case}: {title} (50 ms bins)", fontsize="medium")
        axes.set_xlabel("seconds since the first request")
        axes.set_ylabel(label)
        if name == "late":  # gaps: from a few ms to seconds, and negative when bursts catch up
            axes.set_yscale("symlog", linthresh=1.0)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        path = out / f"lateness-{_slug(case)}.png"
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def cpu_plot(report: dict[str, Any], out: Path, protocol: str | None = None) -> Path | None:
    """Server CPU per delivered chunk: grouped bars, one group per case (of ``protocol`` only,
    when named)."""
    rows = [
        row
        for row in report["summary"]
        if row["figure"] == "server_cpu_us_per_chunk"
        and (protocol is None or row["case"].startswith(f"{protocol} "))
    ]
    if not rows:
        return None
    plt = _pyplot()
    every = [row for row in report["summary"] if row["figure"] == "server_cpu_us_per_chunk"]
    # The servers of the whole run, in one order: each keeps its colour in every plot.
    servers: list[str] = list(dict.fromkeys(s for row in every for s in row["servers"]))
    width = 0.8 / len(servers)
    figure, axes = plt.subplots(figsize=(max(8.0, 0.9 * len(rows)), 4.5))
    for offset, server in enumerate(servers):
        xs: list[float] = []
        heights: list[float] = []
        for index, row in enumerate(rows):
            median = row["servers"].get(server, {}).get("median")
            if median is not None:
                xs.append(index + (offset - (len(servers) - 1) / 2) * width)
                heights.append(median)
        if heights:
            axes.bar(xs, heights, width, label=server, color=f"C{offset}")
    axes.set_xticks(range(len(rows)), [row["case"] for row in rows], rotation=30, ha="right")
    axes.set_ylabel("server CPU per chunk (µs)")
    where = f" on {protocol}" if protocol else ""
    axes.set_title(f"Server CPU per delivered chunk{where} (median of the repetitions)")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    path = out / (f"cpu-per-chunk-{_slug(protocol)}.png" if protocol else "cpu-per-chunk.png")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: write the plots and print their paths."""
    parser = argparse.ArgumentParser(prog="python -m bench.plots", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, help="a JSON written by python -m bench")
    parser.add_argument("--out", type=Path, default=PLOTS, help="folder for the PNGs")
    args = parser.parse_args(argv)
    path = args.results or newest_results()
    report = json.loads(path.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    written = [*lateness_plots(report, args.out), cpu_plot(report, args.out)]
    written += [cpu_plot(report, args.out, protocol) for protocol in DIALECTS]
    for plot in written:
        if plot is not None:
            print(plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
