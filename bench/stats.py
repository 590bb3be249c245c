"""Medians with their spread: the only summary the benchmark prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """Median, interquartile range and extremes of a set of per-round figures."""
    ordered = sorted(samples)
    if len(ordered) >= 4:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1, q3 = ordered[0], ordered[-1]
    return {
        "median": round(statistics.median(ordered), digits),
        "p25": round(q1, digits),
        "p75": round(q3, digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "n": len(ordered),
    }


def spread(figure: dict[str, Any], unit: str = "") -> str:
    """'0.182 [IQR 0.171-0.190, n=9]' for a summary()."""
    return f"{figure['median']}{unit} [IQR {figure['p25']}-{figure['p75']}{unit}, n={figure['n']}]"
