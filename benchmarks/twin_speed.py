"""How fast the twin runs a day, against SimPy itself measured in the same run.

Cases (each in a fresh process, so peak memory is its own):
- the 24-hour 8-lane Hữu Nghị day at the design demand (about 2,800 containers) and at 3x;
- the same day with 4 and 14 lanes (cost should not depend on the lane count);
- a bare SimPy loop of timeouts (the kernel's own speed);
- a plain hand-written SimPy model of the corridor (one resource per block, gates,
  scanners, cranes, the same fleet) as the yardstick for the twin's overhead.

Every case runs twice in its process, deterministically: once timed (wall time, peak
memory, the figures of the day) and once counted (SimPy events processed, through
`StepCounter`, whose extra call per event would otherwise be in the wall time); the two
runs are checked to be the same day. Figures a case does not measure are written "—".

Prints the table and with --record writes it into benchmarks/RESULTS.md.

    python benchmarks/twin_speed.py [--record]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import NA, cell, provenance, record  # noqa: E402

DAY_S = 24 * 3600
BARE_PROCESSES = 100
BARE_UNTIL_S = 10_000
# where a container is once a crane has set it down at the far yard (twin/yard.py's Container.location)
FAR_YARD = {"stack", "pickup", "delivered"}


class StepCounter:
    """Counts the events one SimPy environment processes, with public API only.

    `Environment.run` takes events off the queue by calling `env.step()`, once per event
    (SimPy documents run() as "executes step() until ..."). This wraps `step` on the
    instance and counts the calls that return: each is one event processed, its callbacks
    run. Not counted: the `until` event run() adds to stop itself (its step raises
    StopSimulation), and events still queued when the run ends. A wrapper on the
    instance rather than an Environment subclass, so that it counts the twin's own
    environment, which World builds.
    """

    def __init__(self, env: Any) -> None:
        self.processed = 0
        self._step = env.step
        env.step = self

    def __call__(self) -> None:
        self._step()
        self.processed += 1


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _twin_day(scenario: str, scale: float, count: bool) -> tuple[float, Any, StepCounter | None]:
    from twin.scenario import load_scenario
    from twin.world import World

    world = World(load_scenario(ROOT / "scenarios" / scenario), demand_scale=scale)
    counter = StepCounter(world.env) if count else None
    start = time.perf_counter()
    world.run()
    return time.perf_counter() - start, world, counter


def case_twin(scenario: str, scale: float) -> dict[str, Any]:
    from twin.kpi import summarise

    wall, world, _ = _twin_day(scenario, scale, count=False)
    peak = _peak_mib()
    s = summarise(world)
    across = sum(1 for c in world.containers.values() if c.location in FAR_YARD)
    _, again, counter = _twin_day(scenario, scale, count=True)
    same = summarise(again) == s
    assert counter is not None
    return {
        "wall_s": wall,
        "sim_s": world.env.now,
        "events": counter.processed if same else None,
        "peak_mib": peak,
        "arrived": s["containers_arrived"],
        "across": across,
        "delivered": s["containers_delivered"],
        "violations": s["safety_violations"],
        "deadlocks": s["deadlocks"],
        "twin_own_event_count": s.get("simulation_events"),
        "same": same,
    }


def _bare(env: Any) -> float:
    def ticker(env: Any) -> Generator[Any, Any, None]:
        while True:
            yield env.timeout(1)

    for _ in range(BARE_PROCESSES):
        env.process(ticker(env))
    start = time.perf_counter()
    env.run(until=BARE_UNTIL_S)
    return time.perf_counter() - start


def case_bare() -> dict[str, Any]:
    import simpy

    env = simpy.Environment()
    wall = _bare(env)
    peak = _peak_mib()
    counted = simpy.Environment()
    counter = StepCounter(counted)
    _bare(counted)
    # simulated time is not a figure here (one-second ticks of nothing), nor are containers
    return {"wall_s": wall, "sim_s": None, "events": counter.processed, "peak_mib": peak, "same": True}


def _plain(env: Any, blocks: int = 73, carriers: int = 76, per_day: int = 2800) -> tuple[float, int]:
    """The corridor as one would first write it in SimPy: every block a resource, a
    carrier requests the next block before it releases the one it is in; the oldest
    container goes to the first free carrier, which runs across empty if it must.
    Returns the wall time and the containers a far crane has set down."""
    import random

    import simpy

    rng = random.Random(1)
    lanes = [[[simpy.Resource(env, 1) for _ in range(blocks)] for _ in range(4)] for _ in (0, 1)]
    gates = [simpy.Resource(env, 4) for _ in (0, 1)]
    scanners = [simpy.Resource(env, 2) for _ in (0, 1)]
    cranes = [simpy.Resource(env, 8) for _ in (0, 1)]
    jobs = simpy.Store(env)  # the side each waiting container is at, oldest first
    block_s = 50 / (22 / 3.6)
    across = [0]

    def truck(side: int) -> Generator[Any, Any, None]:
        with gates[side].request() as req:
            yield req
            yield env.timeout(20)
        with scanners[side].request() as req:
            yield req
            yield env.timeout(40)
        yield jobs.put(side)

    def demand(side: int, per_day: float) -> Generator[Any, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(per_day / DAY_S))
            env.process(truck(side))

    def cross(side: int, lane: int) -> Generator[Any, Any, None]:
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

    def carrier(side: int, lane: int) -> Generator[Any, Any, None]:
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
            across[0] += 1

    env.process(demand(0, per_day * 0.3))
    env.process(demand(1, per_day * 0.7))
    for i in range(carriers):
        env.process(carrier(i % 2, i % 4))
    start = time.perf_counter()
    env.run(until=DAY_S)
    return time.perf_counter() - start, across[0]


def case_plain() -> dict[str, Any]:
    import simpy

    env = simpy.Environment()
    wall, across = _plain(env)
    peak = _peak_mib()
    counted = simpy.Environment()
    counter = StepCounter(counted)
    _, again = _plain(counted)
    same = again == across and counted.now == env.now
    # no receiving trucks, no safety monitor, no deadlock watch in this model: those are not figures here
    return {"wall_s": wall, "sim_s": env.now, "events": counter.processed if same else None,
            "peak_mib": peak, "across": across, "same": same}


PLAIN = "plain SimPy corridor model, 1x"
BARE = f"bare SimPy kernel, {BARE_PROCESSES} processes of 1 s timeouts to {BARE_UNTIL_S:,} s"
CASES = {
    "twin 8 lanes, 1x (2,800/day)": ("twin", "huu_nghi_8lane.yaml", 1.0),
    "twin 8 lanes, 3x (8,400/day)": ("twin", "huu_nghi_8lane.yaml", 3.0),
    "twin 4 lanes, 1x": ("twin", "huu_nghi_4lane.yaml", 1.0),
    "twin 14 lanes, 1x": ("twin", "huu_nghi_14lane.yaml", 1.0),
    PLAIN: ("plain",),
    BARE: ("bare",),
}


def run_case(name: str) -> dict[str, Any]:
    spec = CASES[name]
    if spec[0] == "twin":
        return case_twin(spec[1], spec[2])  # type: ignore[arg-type]
    if spec[0] == "plain":
        return case_plain()
    return case_bare()


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if a is not None and b else None


def table(results: dict[str, dict[str, Any]]) -> str:
    """The table and its notes, from each case's figures (a missing or None figure is "—")."""
    plain = results[PLAIN]["wall_s"]
    lines = [
        "| case | wall s | simulated s per wall s | events processed | events per wall s | peak MiB "
        "| containers across | containers delivered | wall / plain model |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        events = r.get("events")
        lines.append(
            f"| {name} | {r['wall_s']:.2f} | {cell(_ratio(r.get('sim_s'), r['wall_s']))} | {cell(events)} "
            f"| {cell(_ratio(events, r['wall_s']))} | {r['peak_mib']:.0f} | {cell(r.get('across'))} "
            f"| {cell(r.get('delivered'))} | {cell(r['wall_s'] / plain if name != BARE else None, '.2f')} |"
        )
    twins = {n: r for n, r in results.items() if CASES[n][0] == "twin"}
    twin1 = results["twin 8 lanes, 1x (2,800/day)"]
    twin3 = results["twin 8 lanes, 3x (8,400/day)"]
    notes = [
        "",
        "What the columns count: *wall s*, the run's wall time (the timed run, without the event counter); "
        "*simulated s per wall s*, the simulated time the run reached over that; *events processed*, SimPy "
        "events taken off the queue and processed, counted by wrapping `env.step()` in a second, identical "
        "run of the case (the `until` event that ends a run and events still queued at the end are not "
        "counted); *events per wall s*, those over the timed run's wall time; *peak MiB*, the maximum "
        "resident memory of the case's process after the timed run; *containers across*, containers a "
        "crane has set down at the far yard by the end of the day; *containers delivered*, containers that "
        "then left the far yard on their receiving truck; *wall / plain model*, the case's wall time over "
        "the plain model's, for the same simulated day.",
        "",
        f"\"{NA}\" is a figure the case does not measure: the plain model has no receiving trucks (so no "
        f"*delivered*), no safety monitor and no deadlock watch; the bare kernel moves no containers, its "
        "simulated time (one-second ticks that do nothing) is not a figure, and it does not run the corridor's "
        "day, so it has no *wall / plain model*. It also stands for events where the counted run did not reproduce the timed one.",
        "",
        f"- cost of 3x demand against 1x: {twin3['wall_s'] / twin1['wall_s']:.2f}x the wall time for "
        f"{twin3['arrived'] / twin1['arrived']:.2f}x the containers arrived and "
        f"{twin3['across'] / twin1['across']:.2f}x the containers across",
        f"- 4 lanes against 14 lanes at 1x: "
        f"{results['twin 4 lanes, 1x']['wall_s'] / results['twin 14 lanes, 1x']['wall_s']:.2f}x the wall time",
        f"- safety violations in the {len(twins)} twin runs: {sum(r['violations'] for r in twins.values())}; "
        f"deadlocks: {sum(r['deadlocks'] for r in twins.values())} (the twin's safety monitor and deadlock "
        "watch; not measured in the plain model or the bare kernel)",
    ]
    own = twin1.get("twin_own_event_count")
    if own is not None:
        notes.append(
            f"- the twin's own `simulation_events` KPI for the 8-lane 1x day is {own:,}: SimPy events "
            "scheduled (World.event_count()), queued ones included, not the events processed above"
        )
    differ = [n for n, r in results.items() if not r.get("same", True)]
    if differ:
        notes.append(f"- the counted run was not the same day as the timed run in: {', '.join(differ)}")
    return "\n".join(lines + notes)


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
        out = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"twin_speed: the case {name!r} failed:\n{out.stderr}")
        results[name] = json.loads(out.stdout)
    text = table(results)
    print(text)
    if args.record:
        section = (
            "## Twin speed (benchmarks/twin_speed.py)\n\n"
            + provenance("each case in its own process, all in one run; `python benchmarks/twin_speed.py --record`")
            + f"\n\n{text}\n"
        )
        record("## Twin speed", section)


if __name__ == "__main__":
    main()
