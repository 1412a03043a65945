"""Validation against queueing theory: Erlang C on one station, Little's law on the yards."""

from __future__ import annotations

import math
import statistics
from typing import Any

from conftest import make_scenario, reference_data
from scipy import stats as scipy_stats

from twin.kpi import summarise
from twin.world import World


def erlang_c_wait(arrivals_per_s: float, service_s: float, servers: int) -> float:
    """Mean time in queue of an M/M/c queue."""
    a = arrivals_per_s * service_s
    rho = a / servers
    assert rho < 1
    tail = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(servers)) + tail)
    return p_wait * service_s / (servers * (1 - rho))


def one_station_scenario(per_hour: float, service_s: float, servers: int, seed: int) -> dict[str, Any]:
    """Only the Vietnamese scanner takes time: Poisson arrivals, exponential service, c servers."""
    d = reference_data()
    d["demand"]["export"]["trucks_per_hour"] = [per_hour] * 24
    d["demand"]["import"]["trucks_per_hour"] = [0] * 24
    d["demand"]["container_weight"] = {"low_t": 20, "high_t": 20}
    d["traditional"] = None
    d["faults"] = {}
    for side in ("vietnam", "china"):
        yard = d["yards"][side]
        yard["staging_capacity_trucks"] = 100_000
        st = yard["stations"]
        st["gate"] = {"servers": 50, "service": {"mean_s": 0}}
        st["weighbridge"] = {"servers": 50, "service": {"mean_s": 0}, "misdeclared_share": 0}
        st["inspection"]["green"]["share"] = 1.0
        st["inspection"]["yellow"]["share"] = 0.0
        st["inspection"]["red"]["share"] = 0.0
    d["yards"]["vietnam"]["stations"]["scanner"] = {
        "servers": servers,
        "service": {"dist": "exponential", "mean_s": service_s},
    }
    d["duration_h"] = 120
    d["warmup_h"] = 8
    d["seed"] = seed
    return d


def test_one_station_reproduces_erlang_c() -> None:
    per_hour, service_s, servers = 40.0, 144.0, 2  # utilisation 0.8
    theory = erlang_c_wait(per_hour / 3600, service_s, servers)
    means = []
    for seed in range(1, 9):
        world = World(make_scenario(one_station_scenario(per_hour, service_s, servers, seed)))
        world.run()
        s = summarise(world)
        scanner = s["stations"]["vietnam"]["scanner"]
        assert scanner["served"] > 4000
        means.append(scanner["wait_mean_s"])
    mean = statistics.fmean(means)
    half = scipy_stats.t.ppf(0.975, len(means) - 1) * statistics.stdev(means) / math.sqrt(len(means))
    assert mean - half <= theory <= mean + half, (mean, half, theory)
    # the interval is tight enough to mean something: within 15% of the theory
    assert half < 0.15 * theory


def test_littles_law_holds_on_the_yards() -> None:
    d = reference_data()
    d["duration_h"] = 72
    world = World(make_scenario(d))
    world.run()
    s = summarise(world)
    for direction in ("export", "import"):
        k = s["directions"][direction]
        queue = k["queue_trucks"]["mean"]
        lam_w = k["arrivals_per_hour"] / 3600 * k["truck_wait_s"]["mean"]
        assert queue > 1
        assert abs(queue - lam_w) / queue < 0.02, (direction, queue, lam_w)
