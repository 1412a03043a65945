"""Random durations from the scenario's `ServiceTime`, drawn from a seeded stream.

Each kind of randomness (arrivals, service, faults, ...) gets its own `random.Random`
stream derived from the scenario seed, so changing one part of a scenario does not
shift the draws of every other part.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from twin.scenario import ServiceTime

Sampler = Callable[[], float]


def stream(seed: int, name: str) -> random.Random:
    """A reproducible stream for one named purpose (the same on every platform)."""
    return random.Random(f"{seed}:{name}")


def sampler(spec: ServiceTime, rng: random.Random) -> Sampler:
    """A function that draws one duration in seconds, with the spec's mean."""
    mean = spec.mean_s
    if spec.dist == "fixed" or mean == 0:
        return lambda: mean
    if spec.dist == "exponential":
        rate = 1.0 / mean
        return lambda: rng.expovariate(rate)
    if spec.dist == "uniform":
        low, high = spec.low_s, spec.high_s
        return lambda: rng.uniform(low, high)  # type: ignore[arg-type]
    if spec.dist == "triangular":
        low, high = spec.low_s or 0.0, spec.high_s or 0.0
        mode = min(high, max(low, 3 * mean - low - high))
        return lambda: rng.triangular(low, high, mode)
    # lognormal with the given mean and coefficient of variation
    cv = spec.cv or 1.0
    sigma = math.sqrt(math.log(1 + cv * cv))
    mu = math.log(mean) - sigma * sigma / 2
    return lambda: rng.lognormvariate(mu, sigma)
