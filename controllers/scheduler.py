"""Crossing-slot scheduler on OR-Tools CP-SAT, with a list-scheduling warm start.

Every pending crossing (a container waiting at a yard for a carrier) gets a slot: the
time its crane load starts, from which follow its departure, its arrival at the far
yard and its unload. The model treats the lanes of a direction and the carrier fleet
as capacities (about a dozen variables per crossing), so that it answers within its
time limit at hundreds of crossings; the controller assigns the individual lanes and
carriers afterwards, exactly, when each slot comes due.

    data:        crossings (yard, release, deadline), capacities, carriers still busy
    variables:   start of each crossing's crane load (integer, in `unit_s` steps)
    constraints: cranes at both yards (cumulative, load at the origin and unload at the
                 destination); departures on the lanes of a direction at least a
                 headway apart per lane (cumulative), counting each carrier's return
                 after its unload, since a shuttle loop sends as many carriers back;
                 reversible lanes one direction per time window, switches penalised;
                 carriers (cumulative: the fleet less those on other work until free)
    objective:   weighted tardiness of perishable cargo + waiting of every container

The warm start is a complete plan for the new state: the previous plan's order of the
crossings still pending, new ones inserted by due time, list-scheduled into the
earliest feasible slots. It is given to the solver as hints and kept as the plan when
the solver finds nothing in time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from controllers.layout import other_side
from controllers.messages import Side

SIDES: tuple[Side, Side] = ("vietnam", "china")


@dataclass(frozen=True, slots=True)
class Crossing:
    container_id: str
    origin: Side
    release_s: float  # when the container is ready for a carrier
    deadline_s: float | None = None  # perishable cargo: when it must have left the far yard
    arrived_s: float | None = None  # when its truck arrived: waiting counts from here
    scan_after_s: float | None = None  # not scanned yet: reaches the scanner from this time


@dataclass(frozen=True, slots=True)
class Capacities:
    """What the site can do; `lanes_from` plus the reversible lanes turned that way
    bound the departures from a yard at any moment."""

    cranes: dict[Side, int]  # working cranes at each yard
    lanes_from: dict[Side, int]  # fixed lanes open for departures from each yard
    carriers: int  # carriers in service
    crane_move_s: float
    crossing_s: float  # yard to yard, driving
    headway_s: float  # between two departures on one lane
    reversible: dict[int, Side] = field(default_factory=dict)  # open reversible lane -> where its departures start now
    scanners: dict[Side, int] = field(default_factory=lambda: {"vietnam": 1, "china": 1})
    scan_s: float = 40.0
    clearance_s: float = 0.0  # from the end of a scan to the container being ready, on average


@dataclass(slots=True)
class Plan:
    now: float
    starts: dict[str, float]  # container -> planned start of its crane load (model seconds)
    status: str  # OPTIMAL, FEASIBLE or WARM_START (the solver found nothing better in time)
    objective: float = 0.0
    bound: float = 0.0
    solve_wall_s: float = 0.0
    order: list[str] = field(default_factory=list)
    scan_starts: dict[str, float] = field(default_factory=dict)  # crossings not scanned yet
    # where each reversible lane's departures start, window by window (`window_s` long)
    lane_windows: list[dict[int, Side]] = field(default_factory=list)
    window_s: float = 1800.0

    def lanes_now(self) -> dict[int, Side]:
        """The reversible lanes' directions the plan wants in the present window."""
        return self.lane_windows[0] if self.lane_windows else {}

    def __post_init__(self) -> None:
        if not self.order:
            self.order = sorted(self.starts, key=lambda c: (self.starts[c], c))


@dataclass(slots=True)
class SlotScheduler:
    caps: Capacities
    unit_s: float = 10.0
    horizon_s: float = 2 * 3600.0
    time_limit_s: float = 1.0
    deterministic: bool = True  # a deterministic time limit and one worker: same plan every run
    perishable_weight: int = 20  # per unit of lateness past a perishable deadline
    wait_weight: int = 2  # per unit of waiting past `target_wait_s` since the truck arrived
    target_wait_s: float = 2 * 3600.0
    slack_s: float = 5 * 3600.0  # due time of non-perishable cargo, for the warm start's order
    max_model_crossings: int = 120  # the rest keep their warm-start slots
    window_s: float = 1800.0  # reversible lanes change direction only between windows
    windows: int = 4
    switch_weight: int = 200  # per change of a reversible lane's direction: about what emptying it costs

    # --- the model --------------------------------------------------------------------

    def plan(
        self,
        now: float,
        crossings: list[Crossing],
        busy_until: list[float],
        previous: Plan | None = None,
    ) -> Plan:
        """Slots for `crossings`; `busy_until` lists when each carrier on other work is free."""
        if not crossings:
            return Plan(now, {}, "OPTIMAL")
        started = time.perf_counter()
        u = self.unit_s
        load = max(1, math.ceil(self.caps.crane_move_s / u))
        drive = max(1, math.ceil(self.caps.crossing_s / u))
        headway = max(1, math.ceil(self.caps.headway_s / u))
        cycle = 2 * load + drive  # a carrier from the start of its load to the end of its unload
        release = [max(0, math.ceil((c.release_s - now) / u)) for c in crossings]
        # room enough to place everything even under overload
        horizon = max(math.ceil(self.horizon_s / u), max(release) + cycle * (len(crossings) // max(1, self.caps.carriers) + 2) * 2)
        warm, warm_scans = self._list_schedule(now, crossings, release, busy_until, previous, load, drive, headway, horizon)
        # the crossings due soonest are the model's to move; the rest keep their warm slots
        free = set(sorted(range(len(crossings)), key=lambda i: (warm[i], i))[: self.max_model_crossings])

        m = cp_model.CpModel()
        starts = []
        crane_intervals: dict[Side, list[cp_model.IntervalVar]] = {s: [] for s in SIDES}
        lane_intervals: dict[Side, list[cp_model.IntervalVar]] = {s: [] for s in SIDES}
        fleet_intervals: list[cp_model.IntervalVar] = []
        scan_intervals: dict[Side, list[cp_model.IntervalVar]] = {s: [] for s in SIDES}
        scan_vars: dict[int, cp_model.IntVar] = {}
        scan, clear = max(1, math.ceil(self.caps.scan_s / u)), math.ceil(self.caps.clearance_s / u)
        tardiness = []
        overdues = []
        waiting = []
        for i, c in enumerate(crossings):
            low, high = (release[i], horizon) if i in free else (warm[i], warm[i])
            s = m.new_int_var(low, high, f"start_{c.container_id}")
            starts.append(s)
            if c.scan_after_s is not None:  # its scan is still ahead: the scanners bound when it is ready
                first = max(0, math.ceil((c.scan_after_s - now) / u))
                t = m.new_int_var(first, horizon, f"scan_{c.container_id}")
                scan_vars[i] = t
                scan_intervals[c.origin].append(m.new_fixed_size_interval_var(t, scan, f"scanning_{c.container_id}"))
                m.add(s >= t + scan + clear)
                m.add_hint(t, warm_scans[i])
            dest = other_side(c.origin)
            crane_intervals[c.origin].append(m.new_fixed_size_interval_var(s, load, f"load_{c.container_id}"))
            crane_intervals[dest].append(
                m.new_fixed_size_interval_var(s + load + drive, load, f"unload_{c.container_id}")
            )
            lane_intervals[c.origin].append(m.new_fixed_size_interval_var(s + load, headway, f"depart_{c.container_id}"))
            # the carrier leaves the far yard again after its unload, loaded or empty:
            # a shuttle loop sends as many carriers one way as the other
            lane_intervals[dest].append(m.new_fixed_size_interval_var(s + cycle, headway, f"return_{c.container_id}"))
            fleet_intervals.append(m.new_fixed_size_interval_var(s, cycle, f"carrier_{c.container_id}"))
            waiting.append(s)
            if c.deadline_s is not None:
                due = math.floor((c.deadline_s - now) / u) - cycle
                late = m.new_int_var(0, horizon, f"late_{c.container_id}")
                m.add(late >= s - due)
                tardiness.append(late)
            arrived = c.arrived_s if c.arrived_s is not None else c.release_s
            target = math.floor((arrived + self.target_wait_s - now) / u)
            overdue = m.new_int_var(0, horizon, f"overdue_{c.container_id}")
            m.add(overdue >= s - target)
            overdues.append(overdue)
        for side in SIDES:
            if crane_intervals[side]:
                m.add_cumulative(crane_intervals[side], [1] * len(crane_intervals[side]), max(1, self.caps.cranes[side]))
            if scan_intervals[side]:
                m.add_cumulative(scan_intervals[side], [1] * len(scan_intervals[side]), max(1, self.caps.scanners[side]))
        switches, lane_vars = self._lane_windows(m, lane_intervals, horizon)
        # carriers on other work hold a unit of the fleet until they are free
        busy = [max(1, math.ceil((t - now) / u)) for t in busy_until if t > now]
        for k, end in enumerate(busy):
            fleet_intervals.append(m.new_fixed_size_interval_var(0, end, f"busy_{k}"))
        m.add_cumulative(fleet_intervals, [1] * len(fleet_intervals), max(1, self.caps.carriers))
        # lateness of perishables first, then long waits (the p95 a truck driver sees),
        # then every start as early as it can be
        m.minimize(
            10 * self.perishable_weight * sum(tardiness)
            + 10 * self.wait_weight * sum(overdues)
            + sum(waiting)
            + self.switch_weight * sum(switches)
        )
        for var, value in zip(starts, warm):
            m.add_hint(var, value)

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1 if self.deterministic else 2
        # the model is small and hinted: presolve and LP relaxations cost more than they find
        solver.parameters.cp_model_presolve = False
        solver.parameters.linearization_level = 0
        if self.deterministic:
            solver.parameters.max_deterministic_time = self.time_limit_s
        else:
            solver.parameters.max_time_in_seconds = self.time_limit_s
        status = solver.solve(m)
        wall = time.perf_counter() - started
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = [solver.value(s) for s in starts]
            scans = {i: solver.value(t) for i, t in scan_vars.items()}
            name = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
            objective, bound = solver.objective_value, solver.best_objective_bound
            windows: list[dict[int, Side]] = [
                {lane: ("vietnam" if solver.value(x) else "china") for lane, x in per_window.items()}
                for per_window in lane_vars
            ]
        else:
            values, name = warm, "WARM_START"
            scans = {i: warm_scans[i] for i in scan_vars}
            objective = bound = float("nan")
            windows = [dict(self.caps.reversible) for _ in lane_vars]
        return Plan(
            now,
            {c.container_id: now + v * u for c, v in zip(crossings, values)},
            name,
            objective=objective,
            bound=bound,
            solve_wall_s=wall,
            lane_windows=windows,
            window_s=self.window_s,
            scan_starts={crossings[i].container_id: now + t * u for i, t in scans.items()},
        )

    def _lane_windows(
        self,
        m: cp_model.CpModel,
        departures: dict[Side, list[cp_model.IntervalVar]],
        horizon: int,
    ) -> tuple[list[cp_model.IntVar], list[dict[int, cp_model.IntVar]]]:
        """Departures from each yard share the lanes turned its way. A reversible lane
        takes one direction per window: while it points one way it fills a unit of the
        other yard's lane capacity, and every change of direction is penalised."""
        rev = self.caps.reversible
        w = max(1, math.ceil(self.window_s / self.unit_s))
        edges = [k * w for k in range(self.windows)] + [horizon + 1 + w]
        lane_vars: list[dict[int, cp_model.IntVar]] = []
        switches: list[cp_model.IntVar] = []
        blockers: dict[Side, list[tuple[cp_model.IntervalVar, int]]] = {s: [] for s in SIDES}
        now_export = {lane: int(side == "vietnam") for lane, side in rev.items()}
        previous: dict[int, Any] = dict(now_export)  # a constant, then the previous window's variable
        for k in range(self.windows):
            start, end = edges[k], edges[k + 1]
            per_window: dict[int, cp_model.IntVar] = {}
            for lane in rev:
                export = m.new_bool_var(f"lane_{lane}_to_china_{k}")  # departures from Vietnam
                m.add_hint(export, now_export[lane])  # as the lanes are now
                per_window[lane] = export
                to_import = m.new_optional_fixed_size_interval_var(start, end - start, export.Not(), f"lane_{lane}_not_vn_{k}")
                to_export = m.new_optional_fixed_size_interval_var(start, end - start, export, f"lane_{lane}_not_cn_{k}")
                blockers["vietnam"].append((to_import, 1))
                blockers["china"].append((to_export, 1))
                changed = m.new_bool_var(f"lane_{lane}_switch_{k}")
                m.add(changed >= export - previous[lane])
                m.add(changed >= previous[lane] - export)
                switches.append(changed)
                previous[lane] = export
            lane_vars.append(per_window)
        for side in SIDES:
            capacity = self.caps.lanes_from[side] + len(rev)
            intervals = departures[side] + [iv for iv, _ in blockers[side]]
            if intervals and capacity > 0:
                m.add_cumulative(intervals, [1] * len(intervals), capacity)
        return switches, lane_vars

    # --- the warm start -----------------------------------------------------------------

    def _list_schedule(
        self,
        now: float,
        crossings: list[Crossing],
        release: list[int],
        busy_until: list[float],
        previous: Plan | None,
        load: int,
        drive: int,
        headway: int,
        horizon: int,
    ) -> tuple[list[int], list[int]]:
        """Earliest feasible slot for each crossing taken by due time (earliest deadline
        first): a complete, feasible plan for the present state."""
        u = self.unit_s
        rank = {cid: k for k, cid in enumerate(previous.order)} if previous else {}

        def due(i: int) -> float:
            c = crossings[i]
            if c.deadline_s is not None:
                return c.deadline_s
            return (c.arrived_s if c.arrived_s is not None else c.release_s) + self.slack_s

        def key(i: int) -> tuple[float, float, str]:
            # re-sequenced for the present state by due time; the previous plan's order
            # only breaks ties, so that the plan does not churn without a reason
            c = crossings[i]
            return (due(i), float(rank.get(c.container_id, len(rank))), c.container_id)

        size = horizon + 2 * load + drive + 2 * headway + math.ceil(self.caps.scan_s / u) + 2
        cranes = {side: np.zeros(size, dtype=np.int32) for side in SIDES}
        lanes = {side: np.zeros(size, dtype=np.int32) for side in SIDES}
        fleet = np.zeros(size, dtype=np.int32)
        scanners = {side: np.zeros(size, dtype=np.int32) for side in SIDES}
        scan, clear = max(1, math.ceil(self.caps.scan_s / u)), math.ceil(self.caps.clearance_s / u)
        scans = [0] * len(crossings)
        for t in busy_until:
            fleet[: min(size, max(0, math.ceil((t - now) / u)))] += 1
        cap = self.caps
        cycle = 2 * load + drive
        slots = np.arange(horizon + 1)
        # the warm start keeps the reversible lanes as they are
        lanes_now = {side: cap.lanes_from[side] + sum(1 for d in cap.reversible.values() if d == side) for side in SIDES}
        out = [0] * len(crossings)
        for i in sorted(range(len(crossings)), key=key):
            c = crossings[i]
            dest = other_side(c.origin)
            needs = (
                (cranes[c.origin], 0, load, cap.cranes[c.origin]),
                (cranes[dest], load + drive, load, cap.cranes[dest]),
                (lanes[c.origin], load, headway, lanes_now[c.origin]),
                (lanes[dest], cycle, headway, lanes_now[dest]),
                (fleet, 0, cycle, cap.carriers),
            )
            earliest = release[i]
            if c.scan_after_s is not None:  # first the earliest free scanner
                free_scan = slots >= max(0, math.ceil((c.scan_after_s - now) / u))
                full = np.concatenate(([0], np.cumsum(scanners[c.origin] >= cap.scanners[c.origin])))
                free_scan &= full[slots + scan] == full[slots]
                found = np.flatnonzero(free_scan)
                scans[i] = int(found[0]) if found.size else horizon
                scanners[c.origin][scans[i] : scans[i] + scan] += 1
                earliest = max(earliest, scans[i] + scan + clear)
            # a slot is free if no unit of any resource it needs is already full: count
            # the full units in each window with a running sum
            ok = slots >= earliest
            for usage, offset, length, limit in needs:
                full = np.concatenate(([0], np.cumsum(usage >= limit)))
                ok &= full[slots + offset + length] == full[slots + offset]
            free = np.flatnonzero(ok)
            s = int(free[0]) if free.size else horizon
            for usage, offset, length, _ in needs:
                usage[s + offset : s + offset + length] += 1
            out[i] = s
        return out, scans


def check_plan(plan: Plan, crossings: list[Crossing], caps: Capacities, busy_until: list[float], unit_s: float) -> list[str]:
    """Every way `plan` breaks the model's constraints, checked without the solver."""
    problems: list[str] = []
    u = unit_s
    load = max(1, math.ceil(caps.crane_move_s / u))
    drive = max(1, math.ceil(caps.crossing_s / u))
    cycle = 2 * load + drive
    headway = max(1, math.ceil(caps.headway_s / u))
    usage: dict[tuple[str, str], dict[int, int]] = {}

    def use(resource: tuple[str, str], start: int, length: int) -> None:
        slots = usage.setdefault(resource, {})
        for k in range(start, start + length):
            slots[k] = slots.get(k, 0) + 1

    for t in busy_until:
        use(("fleet", ""), 0, max(0, math.ceil((t - plan.now) / u)))
    for c in crossings:
        if c.container_id not in plan.starts:
            problems.append(f"{c.container_id} has no slot")
            continue
        start = plan.starts[c.container_id]
        if start + 1e-6 < c.release_s:
            problems.append(f"{c.container_id} starts at {start} before its release {c.release_s}")
        s = round((start - plan.now) / u)
        dest = other_side(c.origin)
        use(("crane", c.origin), s, load)
        use(("crane", dest), s + load + drive, load)
        use(("lane", c.origin), s + load, headway)
        use(("lane", dest), s + cycle, headway)
        if c.scan_after_s is not None:
            scan_at = plan.scan_starts.get(c.container_id)
            if scan_at is None:
                problems.append(f"{c.container_id} has no scan slot")
                continue
            if scan_at + 1e-6 < c.scan_after_s:
                problems.append(f"{c.container_id} is scanned at {scan_at} before it reaches the scanner")
            if start + 1e-6 < scan_at + math.ceil(caps.scan_s / u) * u + math.ceil(caps.clearance_s / u) * u:
                problems.append(f"{c.container_id} starts at {start} before it is scanned and cleared")
            use(("scanner", c.origin), round((scan_at - plan.now) / u), max(1, math.ceil(caps.scan_s / u)))
        use(("fleet", ""), s, cycle)
    limits = {("fleet", ""): caps.carriers}
    for side in SIDES:
        limits[("crane", side)] = caps.cranes[side]
        limits[("scanner", side)] = caps.scanners[side]
    for resource, slots in usage.items():
        if resource[0] == "lane":
            continue
        worst = max(slots.values(), default=0)
        if worst > limits[resource]:
            problems.append(f"{resource[0]} {resource[1]} used {worst} times at once, capacity {limits[resource]}")
    # departures: the fixed lanes plus the reversible lanes the plan turns that way, window by window
    windows = plan.lane_windows or [dict(caps.reversible)]
    w = max(1, math.ceil(plan.window_s / u))
    for side in SIDES:
        for k, count in usage.get(("lane", side), {}).items():
            turned = windows[min(max(k, 0) // w, len(windows) - 1)]
            limit = caps.lanes_from[side] + sum(1 for d in turned.values() if d == side)
            if count > limit:
                problems.append(f"lane {side} used {count} times at once, capacity {limit}")
                break
    return problems
