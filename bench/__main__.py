"""``python -m bench``: run the load benchmark and print a table of medians and ratios."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import psutil

from .ours_uvloop import OURS_UVLOOP
from .peers import PEER_KINDS, peer_versions
from .report import save_and_report_failures, summarize, table
from .runner import Run, run_suite
from .scenarios import Scenario
from .servers import BASELINE, OURS, REPO, can_pin, pin_client, raise_fd_limit
from .suites import full_suite, quick_suite, select

RESULTS = REPO / "bench" / "results"
PACKAGES = ("quart", "hypercorn", "starlette", "sse-starlette", "uvicorn", "uvloop", "httptools")
KINDS = (OURS, BASELINE, *PEER_KINDS)
EXPERIMENTS = (OURS_UVLOOP,)  # run only when named with --server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 rep: a smoke test")
    parser.add_argument("--reps", type=int, help="repetitions (default: 3, or 1 with --quick)")
    parser.add_argument("--json", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--only",
        help="run only cases whose name contains this (or one of these, comma-separated), "
        'e.g. S2 or "S1,openai C=1000"',
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        metavar="SECONDS",
        help="before each run wait up to this long for other processes to go quiet "
        "(default: 60, or 0 with --quick)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each server with py-spy during each run; collapsed stacks go to DIR",
    )
    parser.add_argument(
        "--server",
        action="append",
        choices=[kind.name for kind in (*KINDS, *EXPERIMENTS)],
        help="run only this server (repeatable; default: all but the experiments, "
        "e.g. quart-qa-uvloop)",
    )
    return parser


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _source(module: str) -> str:
    """Where ``module`` is imported from (PYTHONPATH can point ours at a snapshot)."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    return str(Path(origin).parent) if origin else "not found"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def _meta(quick: bool, reps: int, fd_limit: int) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "reps": reps,
        "commit": _commit(),
        "machine": {
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "pinned": "server on core 0, client on core 1" if can_pin() else "no",
        "fd_limit": fd_limit,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "packages": {package: _version(package) for package in PACKAGES},
        "peers": peer_versions(),
        "quart_qa_source": _source("quart_qa"),
        "client_loop": "uvloop" if _uvloop() is not None else "asyncio",
    }


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def run_client(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run the load client's coroutine on uvloop when it is installed, else asyncio."""
    uvloop = _uvloop()
    if uvloop is not None:
        result: int = uvloop.run(coroutine)
        return result
    return asyncio.run(coroutine)


def _progress(run: Run) -> None:
    figures = ", ".join(f"{name}={value:.4g}" for name, value in run.figures.items())
    status = f"ERROR {run.error}" if run.error else figures
    wait = f" (waited {run.waited:.0f} s for quiet)" if run.waited >= 1 else ""
    print(f"[rep {run.rep + 1}] {run.case:<16} {run.server:<14} {status}{wait}", flush=True)


async def _main(args: argparse.Namespace, scenarios: list[Scenario], reps: int) -> int:
    quiet_wait = args.quiet_wait if args.quiet_wait is not None else 0 if args.quick else 60
    if args.server:
        kinds = [kind for kind in (*KINDS, *EXPERIMENTS) if kind.name in args.server]
    else:
        kinds = list(KINDS)
    missing = {kind.name: why for kind in kinds if (why := kind.missing()) is not None}
    for name, why in missing.items():
        print(f"bench: leaving out {name}: {why}", flush=True)
    kinds = [kind for kind in kinds if kind.name not in missing]
    servers = [kind.name for kind in kinds]
    fd_limit = raise_fd_limit()
    pin_client()
    meta = _meta(args.quick, reps, fd_limit)
    meta["left_out"] = missing
    print(
        f"bench: {len(scenarios)} case(s) × {len(kinds)} server(s) × {reps} rep(s); "
        f"pinned: {meta['pinned']}; fd limit {fd_limit}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="quart-qa-bench-") as workdir:
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        runs = await run_suite(
            scenarios, kinds, reps, Path(workdir), _progress, args.profile, quiet_wait
        )
    rows = summarize(runs, servers)
    print()
    print(table(rows, servers))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.json or RESULTS / f"bench-{'quick-' if args.quick else ''}{stamp}.json"
    return save_and_report_failures(path, meta, runs, rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 when any run failed)."""
    args = _parser().parse_args(argv)
    scenarios = quick_suite() if args.quick else full_suite()
    scenarios = select(scenarios, args.only)
    if not scenarios:
        print(f"bench: no case matches --only {args.only!r}", file=sys.stderr)
        return 2
    reps = args.reps or (1 if args.quick else 3)
    return run_client(_main(args, scenarios, reps))


if __name__ == "__main__":
    sys.exit(main())
