"""``python -m bench.redis_compare``: quart-qa on the Redis broker ÷ quart-qa in memory.

The same scenarios as ``python -m bench``, run on two servers: ``quart-qa-redis`` (the
Redis broker, with its redis-server on the server's core) and ``quart-qa`` (the default
in-memory broker). The ratio column is Redis ÷ memory; the goals are server CPU per
delivered chunk ≤ 1.5× and chunk lateness p99 ≤ 1.5×.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

from .__main__ import RESULTS, _meta, _progress, run_client
from .redis_backend import OURS_REDIS
from .report import save_and_report_failures, summarize, table
from .runner import run_suite
from .scenarios import full_suite, quick_suite
from .servers import OURS, pin_client, raise_fd_limit
from .suites import select

GOAL_FIGURES = (
    "server_cpu_us_per_chunk",
    "ttfc_p50_ms",
    "ttfc_p99_ms",
    "late_p50_ms",
    "late_p99_ms",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_compare", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 rep: a smoke test")
    parser.add_argument("--reps", type=int, help="repetitions (default: 3, or 1 with --quick)")
    parser.add_argument("--json", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--only",
        help="run only cases whose name contains this (or one of these, comma-separated), "
        'e.g. S2 or "S1,S2 C=1000"',
    )
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy profiles to DIR")
    return parser


async def _main(args: argparse.Namespace) -> int:
    scenarios = quick_suite() if args.quick else full_suite()
    scenarios = select(scenarios, args.only)
    if not scenarios:
        print(f"bench.redis_compare: no case matches --only {args.only!r}", file=sys.stderr)
        return 2
    reps = args.reps or (1 if args.quick else 3)
    kinds = [OURS_REDIS, OURS]
    servers = [kind.name for kind in kinds]
    fd_limit = raise_fd_limit()
    pin_client()
    meta = _meta(args.quick, reps, fd_limit)
    meta["compare"] = "quart-qa-redis ÷ quart-qa (memory)"
    with tempfile.TemporaryDirectory(prefix="quart-qa-bench-redis-") as workdir:
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        runs = await run_suite(scenarios, kinds, reps, Path(workdir), _progress, args.profile)
    rows = summarize(runs, servers)
    print()
    print(table(rows, servers))
    print("\nratio = Redis ÷ memory")
    for row in rows:
        if row["figure"] in GOAL_FIGURES:
            print(f"  {row['case']:<16} {row['figure']:<26} {row['ratio']:.2f}×")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.json or RESULTS / f"bench-redis-{'quick-' if args.quick else ''}{stamp}.json"
    return save_and_report_failures(path, meta, runs, rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (1 when any run failed)."""
    return run_client(_main(_parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
