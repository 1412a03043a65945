"""Measuring instruments for KPIs: time averages, busy fractions and samples.

Every meter measures from `start_at` (the end of the warm-up) on, so that one run
gives figures for the steady part of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class Level:
    """A quantity that changes in steps (a queue length, servers busy): its time
    average and its maximum from `start_at` on."""

    start_at: float = 0.0
    value: float = 0.0
    peak: float = 0.0
    _area: float = 0.0
    _since: float = 0.0

    def change(self, now: float, delta: float) -> None:
        self._area += self.value * (now - self._since)
        self._since = now
        self.value += delta
        if self.value > self.peak:
            self.peak = self.value

    def reset(self, now: float) -> None:
        """Start measuring now (the end of the warm-up)."""
        self.start_at = now
        self._area = 0.0
        self._since = now
        self.peak = self.value

    def mean(self, now: float) -> float:
        span = now - self.start_at
        if span <= 0:
            return self.value
        return (self._area + self.value * (now - self._since)) / span


@dataclass(slots=True)
class Samples:
    """Durations (seconds) of completed things: waits, dwells."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    def summary(self) -> dict[str, float]:
        v = sorted(self.values)
        if not v:
            return {"count": 0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
        return {
            "count": len(v),
            "mean": sum(v) / len(v),
            "p50": percentile(v, 50),
            "p95": percentile(v, 95),
            "max": v[-1],
        }


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values (as numpy's default)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(slots=True)
class DirectionStats:
    """KPIs of the containers that start at one yard."""

    in_yard: Level = field(default_factory=Level)  # trucks from arrival to release
    truck_waits: Samples = field(default_factory=Samples)
    dwells: Samples = field(default_factory=Samples)
    arrived: int = 0
    released: int = 0
    delivered: int = 0
    late_perishable: int = 0
    perishable_delivered: int = 0


@dataclass(slots=True)
class FleetStats:
    """What the carriers count as they run: the carriers in use, their breakdowns, flat
    batteries, and the time they stood waiting for blocks."""

    busy: Level = field(default_factory=Level)
    breakdowns: int = 0
    flat_batteries: int = 0
    block_wait_s: float = 0.0  # carrier time spent stopped, waiting for blocks
