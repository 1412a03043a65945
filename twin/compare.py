"""Controllers compared on one scenario over several seeds, with 95% confidence intervals.

Every controller runs the same seeds, so each seed gives all of them the same trucks
(common random numbers), and the differences against the first controller are taken
seed by seed: their intervals are much tighter than those of the KPIs themselves.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from twin.kpi import summarise
from twin.scenario import load_scenario
from twin.world import World

KPIS: dict[str, Callable[[dict[str, Any]], float]] = {
    "truck_wait_p95_s": lambda s: s["truck_wait_s"]["p95"],
    "truck_wait_mean_s": lambda s: s["truck_wait_s"]["mean"],
    "late_perishable": lambda s: s["late_perishable"],
    "containers_delivered": lambda s: s["containers_delivered"],
    "export_wait_p95_s": lambda s: s["directions"]["export"]["wait_p95_s"],
    "import_wait_p95_s": lambda s: s["directions"]["import"]["wait_p95_s"],
    "safety_violations": lambda s: s["safety_violations"],
    "deadlocks": lambda s: s["deadlocks"],
}

# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def interval(values: list[float]) -> dict[str, Any]:
    """Mean and 95% confidence interval of independent replications."""
    n = len(values)
    mean = statistics.fmean(values)
    half = 0.0
    if n > 1:
        t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
        half = t * statistics.stdev(values) / math.sqrt(n)
    return {
        "mean": round(mean, 3),
        "half_width": round(half, 3),
        "ci_low": round(mean - half, 3),
        "ci_high": round(mean + half, 3),
        "values": values,
    }


def _run(job: tuple[str, str, int, float | None]) -> dict[str, Any]:
    path, controller, seed, duration_h = job
    scenario = load_scenario(path)
    if duration_h is not None:
        scenario = scenario.model_copy(update={"duration_h": duration_h})
    world = World(scenario, seed=seed, controller=controller)
    world.run()
    return summarise(world)


def compare(
    path: Path,
    controllers: list[str],
    seeds: int,
    duration_h: float | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    scenario = load_scenario(path)
    seed_list = [scenario.seed + k for k in range(seeds)]
    jobs = [(str(path), c, s, duration_h) for c in controllers for s in seed_list]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            summaries = list(pool.map(_run, jobs))
    else:
        summaries = [_run(job) for job in jobs]
    by_controller: dict[str, list[dict[str, Any]]] = {c: [] for c in controllers}
    for (_, c, _, _), summary in zip(jobs, summaries):
        by_controller[c].append(summary)
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "seeds": seed_list,
        "duration_h": duration_h or scenario.duration_h,
        "baseline": controllers[0],
        "controllers": {},
        "differences": {},
    }
    for c in controllers:
        result["controllers"][c] = {k: interval([float(f(s)) for s in by_controller[c]]) for k, f in KPIS.items()}
    base = by_controller[controllers[0]]
    for c in controllers[1:]:
        result["differences"][c] = {
            k: interval([float(f(a)) - float(f(b)) for a, b in zip(by_controller[c], base)]) for k, f in KPIS.items()
        }
    return result
