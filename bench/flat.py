"""Flat summary of py-spy collapsed stacks: ``python -m bench.flat FILE [--top N]``."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def summarize(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, samples per innermost frame (self) and per frame anywhere (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")[1:]  # the first frame names the process
        total += samples
        if frames:
            own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return total, own, inclusive


def main() -> None:
    """Print the top frames by self and by inclusive samples for each file."""
    parser = argparse.ArgumentParser(prog="python -m bench.flat", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.files:
        total, own, inclusive = summarize(path)
        print(f"== {path} ({total} samples)")
        for title, counter in (("self", own), ("inclusive", inclusive)):
            print(f"-- {title}")
            for frame, samples in counter.most_common(args.top):
                print(f"{100 * samples / max(total, 1):5.1f}%  {frame}")


if __name__ == "__main__":
    main()
