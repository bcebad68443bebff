"""Percentiles and min/median/max summaries."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the finite values (NaN when there are none)."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return {"median": math.nan, "min": math.nan, "max": math.nan}
    return {"median": statistics.median(finite), "min": min(finite), "max": max(finite)}


def binned(points: Sequence[tuple[float, float]], width: float) -> dict[str, list[float]]:
    """``(time, value)`` points in bins of ``width`` seconds: each bin's start and the
    median, 99th percentile and maximum of its values (empty bins left out)."""
    bins: dict[int, list[float]] = {}
    for when, value in points:
        bins.setdefault(math.floor(when / width), []).append(value)
    keys = sorted(bins)
    return {
        "t": [key * width for key in keys],
        "p50": [percentile(bins[key], 50) for key in keys],
        "p99": [percentile(bins[key], 99) for key in keys],
        "max": [max(bins[key]) for key in keys],
    }
