"""How fast the twin runs a day, against SimPy itself measured in the same run.

Cases (each in a fresh process, so peak memory is its own):
- the 24-hour 8-lane Hữu Nghị day at the design demand (about 2,800 containers) and at 3x;
- the same day with 4 and 14 lanes (cost should not depend on the lane count);
- a bare SimPy loop of timeouts (the kernel's own speed);
- a plain hand-written SimPy model of the corridor (one resource per block, gates,
  scanners, cranes, the same fleet) as the yardstick for the twin's overhead.

Prints simulated seconds per wall second, events per second and peak memory, and with
--record writes the table into benchmarks/RESULTS.md.

    python benchmarks/twin_speed.py [--record]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import record  # noqa: E402

DAY_S = 24 * 3600


def case_twin(scenario: str, scale: float) -> dict[str, float]:
    from twin.kpi import summarise
    from twin.scenario import load_scenario
    from twin.world import World

    world = World(load_scenario(ROOT / "scenarios" / scenario), demand_scale=scale)
    start = time.perf_counter()
    world.run()
    wall = time.perf_counter() - start
    s = summarise(world)
    return {
        "wall_s": wall,
        "events": world.event_count(),
        "containers": s["containers_arrived"],
        "violations": s["safety_violations"],
        "deadlocks": s["deadlocks"],
    }


def case_bare(n: int = 1_000_000) -> dict[str, float]:
    import simpy

    env = simpy.Environment()

    def ticker(env: simpy.Environment) -> object:
        while True:
            yield env.timeout(1)

    for _ in range(100):
        env.process(ticker(env))
    start = time.perf_counter()
    env.run(until=n / 100)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "events": n, "containers": 0, "violations": 0, "deadlocks": 0}


def case_plain(blocks: int = 73, carriers: int = 76, per_day: int = 2800) -> dict[str, float]:
    """The corridor as one would first write it in SimPy: every block a resource, a
    carrier requests the next block before it releases the one it is in; the oldest
    container goes to the first free carrier, which runs across empty if it must."""
    import random

    import simpy

    rng = random.Random(1)
    env = simpy.Environment()
    lanes = [[[simpy.Resource(env, 1) for _ in range(blocks)] for _ in range(4)] for _ in (0, 1)]
    gates = [simpy.Resource(env, 4) for _ in (0, 1)]
    scanners = [simpy.Resource(env, 2) for _ in (0, 1)]
    cranes = [simpy.Resource(env, 8) for _ in (0, 1)]
    jobs = simpy.Store(env)  # the side each waiting container is at, oldest first
    block_s = 50 / (22 / 3.6)
    moved = [0]

    def truck(side: int) -> object:
        with gates[side].request() as req:
            yield req
            yield env.timeout(20)
        with scanners[side].request() as req:
            yield req
            yield env.timeout(40)
        yield jobs.put(side)

    def demand(side: int, per_day: float) -> object:
        while True:
            yield env.timeout(rng.expovariate(per_day / DAY_S))
            env.process(truck(side))

    def cross(side: int, lane: int) -> object:
        path = lanes[side][lane]
        held = path[0].request()
        yield held
        for i in range(1, blocks):
            yield env.timeout(block_s)
            nxt = path[i].request()
            yield nxt
            path[i - 1].release(held)
            held = nxt
        yield env.timeout(block_s)
        path[-1].release(held)

    def carrier(side: int, lane: int) -> object:
        while True:
            job = yield jobs.get()
            if job != side:
                yield from cross(side, lane)
                side = job
            with cranes[side].request() as req:
                yield req
                yield env.timeout(100)
            yield from cross(side, lane)
            side = 1 - side
            with cranes[side].request() as req:
                yield req
                yield env.timeout(100)
            moved[0] += 1

    env.process(demand(0, per_day * 0.3))
    env.process(demand(1, per_day * 0.7))
    for i in range(carriers):
        env.process(carrier(i % 2, i % 4))
    start = time.perf_counter()
    env.run(until=DAY_S)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "events": int(repr(env._eid)[6:-1]), "containers": moved[0], "violations": 0, "deadlocks": 0}


CASES = {
    "twin 8 lanes, 1x (2,800/day)": ("twin", "huu_nghi_8lane.yaml", 1.0),
    "twin 8 lanes, 3x (8,400/day)": ("twin", "huu_nghi_8lane.yaml", 3.0),
    "twin 4 lanes, 1x": ("twin", "huu_nghi_4lane.yaml", 1.0),
    "twin 14 lanes, 1x": ("twin", "huu_nghi_14lane.yaml", 1.0),
    "plain SimPy corridor model, 1x": ("plain",),
    "bare SimPy kernel, 1M timeouts": ("bare",),
}


def run_case(name: str) -> dict[str, float]:
    spec = CASES[name]
    if spec[0] == "twin":
        result = case_twin(spec[1], spec[2])  # type: ignore[arg-type]
        result["sim_s"] = DAY_S
    elif spec[0] == "plain":
        result = case_plain()
        result["sim_s"] = DAY_S
    else:
        result = case_bare()
        result["sim_s"] = 0
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    results = {}
    for name in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout)
    plain = results["plain SimPy corridor model, 1x"]["wall_s"]
    lines = [
        "| case | wall s | simulated s per wall s | events | events per s | peak MiB | containers | wall / plain model |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        rate = r["sim_s"] / r["wall_s"] if r["sim_s"] else 0
        lines.append(
            f"| {name} | {r['wall_s']:.2f} | {rate:,.0f} | {r['events']:,} | {r['events'] / r['wall_s']:,.0f} | "
            f"{r['peak_mib']:.0f} | {r['containers']:,} | {r['wall_s'] / plain:.2f} |"
        )
    twin1 = results["twin 8 lanes, 1x (2,800/day)"]
    twin3 = results["twin 8 lanes, 3x (8,400/day)"]
    notes = [
        "",
        f"- cost of 3x demand against 1x: {twin3['wall_s'] / twin1['wall_s']:.2f}x the wall time "
        f"for {twin3['containers'] / twin1['containers']:.2f}x the containers",
        f"- 4 lanes against 14 lanes at 1x: {results['twin 4 lanes, 1x']['wall_s'] / results['twin 14 lanes, 1x']['wall_s']:.2f}x",
        f"- safety violations in the twin runs: {sum(r['violations'] for r in results.values())}; "
        f"deadlocks: {sum(r['deadlocks'] for r in results.values())}",
    ]
    table = "\n".join(lines + notes)
    print(table)
    if args.record:
        machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {_cores()} cores"
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        section = (
            "## Twin speed (benchmarks/twin_speed.py)\n\n"
            f"Measured {stamp} on {machine}; each case in its own process, all in one run.\n\n{table}\n"
        )
        record("## Twin speed", section)


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
