"""KPIs of a finished run: what a planner reads, as one JSON-ready dictionary.

Per direction: containers moved per day, truck waiting from arrival to release,
container dwell from the first yard to leaving the far one, queues, late perishable
containers and energy. For the site: the utilisation of every kind of resource, and
the bottleneck (the one used most), safety violations, deadlocks and the container
balance (arrived = delivered + in the system + lost).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from twin.meters import Samples
from twin.scenario import DIRECTIONS
from twin.world import SIDES, World


def _round(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _summary(samples: dict[str, float]) -> dict[str, float]:
    return {k: (int(v) if k == "count" else _round(v, 1)) for k, v in samples.items()}


def utilisation(world: World) -> dict[str, float]:
    """Busy share of each resource group since the warm-up (0..1); 0 for all when the run
    ended within its warm-up, with nothing measured."""
    now = world.env.now
    span = now - world.measure_from
    out: dict[str, float] = {}
    if span <= 0:
        span = math.inf  # every share 0, never a division by an empty window
    lanes = world.layout.lanes
    for lane in lanes:
        busy = world.safety.lane_busy_s[lane.index]
        out[f"lane_{lane.index}"] = busy / (lane.n_blocks * span)
    out["carriers"] = world.measures.fleet.busy.mean(now) / len(world.carriers)
    for side in SIDES:
        yard = world.yards[side]
        spec = yard.spec
        out[f"cranes_{side}"] = yard.cranes_busy.mean(now) / len(yard.cranes)
        for station in (yard.gate_lanes, yard.weighbridges, yard.scanners, yard.red_bays):
            kind = station.name.split("-", 1)[1].replace("-", "_")
            out[f"{kind}_{side}"] = station.busy.mean(now) / station.servers
        out[f"staging_{side}"] = yard.staging_used.mean(now) / spec.staging_capacity_trucks
        out[f"stack_{side}"] = yard.stack_level.mean(now) / spec.stack_capacity_containers
        if spec.chargers:
            out[f"chargers_{side}"] = yard.chargers_used.mean(now) / spec.chargers
    return {k: _round(v) for k, v in out.items()}


def summarise(world: World) -> dict[str, Any]:
    """Everything the run measured, deterministic for a scenario and seed."""
    now = world.env.now
    measured = now > world.measure_from
    span = now - world.measure_from if measured else math.inf  # rates of an empty window are 0
    days = span / 86400
    energy = world.measures.energy_since_warmup()
    directions: dict[str, Any] = {}
    for d in DIRECTIONS:
        st = world.stats[d]
        waits = st.truck_waits.summary()
        directions[d] = {
            "trucks_arrived": st.arrived,
            "containers_delivered": st.delivered,
            "containers_per_day": _round(st.delivered / days, 1),
            "truck_wait_s": _summary(waits),
            "wait_p95_s": _round(waits["p95"], 1),
            "dwell_s": _summary(st.dwells.summary()),
            "queue_trucks": {"mean": _round(st.in_yard.mean(now)), "max": int(st.in_yard.peak)},
            "arrivals_per_hour": _round(st.arrived / span * 3600),
            "perishable_delivered": st.perishable_delivered,
            "late_perishable": st.late_perishable,
            "energy_kwh": _round(energy[d], 1),
        }
    every_truck = Samples([v for d in DIRECTIONS for v in world.stats[d].truck_waits.values])
    util = utilisation(world)
    bottleneck = max(util.items(), key=lambda kv: kv[1]) if measured else ("none", 0.0)
    balance = world.container_balance()
    stations: dict[str, Any] = {}
    for side in SIDES:
        yard = world.yards[side]
        stations[side] = {
            station.name.split("-", 1)[1]: {
                "servers": station.servers,
                "wait_mean_s": _round(sum(station.waits.values) / max(1, len(station.waits.values)), 2),
                "served": len(station.waits.values),
                "breakdowns": station.faults,
            }
            for station in (yard.gate_lanes, yard.weighbridges, yard.scanners, yard.red_bays)
        }
        stations[side]["risk_channels"] = dict(yard.channels)
    summary: dict[str, Any] = {
        "scenario": world.scenario.name,
        "controller": world.controller_name,
        "seed": world.seed,
        "demand_scale": world.demand_scale,
        "lanes": len(world.layout.lanes),
        "duration_h": world.scenario.duration_h,
        "warmup_h": world.scenario.warmup_h,
        "measured_h": _round(max(0.0, now - world.measure_from) / 3600, 2),
        "containers_arrived": balance["arrived"],
        "containers_delivered": balance["delivered"],
        "containers_in_system": balance["in_system"],
        "containers_lost": balance["lost"],
        "safety_violations": len(world.safety.violations),
        "blocks_checked": world.safety.blocks_checked,
        "deadlocks": world.deadlocks,
        "unexplained_stops": world.unexplained_stops,
        "flat_batteries": world.measures.fleet.flat_batteries,
        "bottleneck": {"resource": bottleneck[0], "utilisation": bottleneck[1]},
        "truck_wait_s": _summary(every_truck.summary()),
        "late_perishable": sum(directions[d]["late_perishable"] for d in DIRECTIONS),
        "directions": directions,
        "utilisation": util,
        "stations": stations,
        "energy_kwh": _round(sum(energy.values()), 1),
        "carrier_breakdowns": world.measures.fleet.breakdowns,
        # lane congestion: carrier time lost stopped at the end of a base, waiting for blocks
        "carrier_block_wait_h": _round(world.measures.fleet.block_wait_s / 3600, 2),
        "carrier_block_wait_share": _round(world.measures.fleet.block_wait_s / (span * len(world.carriers)), 4),
        "simulation_events": world.event_count(),
        "commands_refused": world.runtime.commands_refused,  # by a device: a controller bug in the twin
    }
    if world.traditional is not None:
        t = world.traditional
        summary["traditional"] = {
            "trucks_arrived": t.arrived,
            "trucks_done": t.done,
            "trucks_per_day": _round(t.done / days, 1),
            "time_in_system_s": _summary(t.times.summary()),
            "queue_trucks": {"mean": _round(t.in_system.mean(now)), "max": int(t.in_system.peak)},
        }
    if not measured:
        summary["warning"] = "the run ended before anything was measured"
    elif now < world.scenario.warmup_h * 3600:
        summary["warning"] = "the run ended within its warm-up: its figures count from the start, warm-up included"
    return summary


def finite(value: Any) -> Any:
    """`value` with every float that is not finite made None: JSON has no Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def to_json(summary: Any) -> str:
    """A summary as strict JSON (no NaN, no Infinity), indented."""
    return json.dumps(finite(summary), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_outputs(world: World, summary: dict[str, Any], out_dir: Path) -> None:
    """DIR/summary.json and DIR/timeseries.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(to_json(summary), encoding="utf-8")
    rows = world.timeseries
    if not rows:  # stopped before the first sample: an empty file, not a crash
        (out_dir / "timeseries.csv").write_text("", encoding="utf-8")
        return
    with (out_dir / "timeseries.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
