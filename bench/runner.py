"""Run every case against every server, alternating, a fresh server process per run."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .profiler import profiled
from .quiet import wait_for_quiet
from .scenarios import Figures, Scenario, Series
from .servers import ServerKind, serve

PAUSE_BETWEEN_RUNS = 0.5


@dataclass
class Run:
    """One case against one server in one repetition."""

    case: str
    server: str
    rep: int
    figures: Figures = field(default_factory=dict)
    series: Series = field(default_factory=dict)
    error: str | None = None
    waited: float = 0.0  # seconds spent waiting for the machine to go quiet
    others_before: float = 0.0  # % of a core other processes used just before the run


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


async def run_one(
    kind: ServerKind, scenario: Scenario, rep: int, workdir: Path, profile: Path | None = None
) -> Run:
    """Start ``kind`` fresh with the scenario's config, run it, stop it.

    With ``profile`` (a folder), py-spy samples the server during the run.
    """
    run = Run(scenario.case, kind.name, rep)
    name = f"{_slug(scenario.case)}-{kind.name}-{rep}"
    log = workdir / f"{name}.log"
    config = scenario.server_config()
    (workdir / name).mkdir(parents=True, exist_ok=True)
    try:
        async with asyncio.timeout(scenario.budget):
            async with serve(kind, config, workdir / name, log, scenario.protocol) as server:
                if profile is None:
                    measured = await scenario.run(server)
                else:
                    async with profiled(server.process.pid, profile / f"{name}.txt"):
                        measured = await scenario.run(server)
                run.figures, run.series = measured.figures, measured.series
                if not server.alive():
                    run.error = f"{kind.name} died during the run"
    except Exception as error:  # a failed run is reported, the others go on
        run.error = f"{type(error).__name__}: {error}"
    if run.error is not None:
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:] if log.exists() else ""
        run.error += f"\n--- server log tail ---\n{tail}" if tail else ""
    return run


async def run_suite(
    scenarios: Sequence[Scenario],
    kinds: Sequence[ServerKind],
    reps: int,
    workdir: Path,
    progress: Callable[[Run], None],
    profile: Path | None = None,
    quiet_wait: float = 0.0,
) -> list[Run]:
    """Every repetition of every case on every server that speaks its protocol; server
    order alternates per repetition.

    With ``quiet_wait`` > 0, each run first waits up to that long for other
    processes on the machine to go quiet.
    """
    runs: list[Run] = []
    for rep in range(reps):
        for scenario in scenarios:
            speakers = [kind for kind in kinds if scenario.protocol in kind.speaks]
            order = speakers if rep % 2 == 0 else speakers[::-1]
            for kind in order:
                waited, others = await wait_for_quiet(quiet_wait) if quiet_wait else (0.0, 0.0)
                run = await run_one(kind, scenario, rep, workdir, profile)
                run.waited, run.others_before = waited, others
                runs.append(run)
                progress(run)
                await asyncio.sleep(PAUSE_BETWEEN_RUNS)
    return runs
