"""The planning controller: CP-SAT slots, an assignment dispatcher and empty-carrier moves.

- Plan: the pending crossings get slots from `SlotScheduler` on a rolling horizon,
  re-planned every `replan_s` of model time and at once (at most every `min_replan_s`)
  when something breaks the plan: a breakdown, a crane fault, a burst of arrivals.
  The job queues and crane queues follow the plan's order.
- Dispatch: the jobs due next and the idle carriers are matched by an OR-Tools linear
  sum assignment that minimises empty driving; crane tasks that hold a carrier (load,
  unload) go before those that only hold a truck, since carriers are the scarcer.
- Empty carriers: idle carriers move ahead of need toward the yard whose queue and
  recent arrivals will outrun the carriers there and on their way there.
- Operators: an operator action re-plans at once; the plan counts only the carriers
  in service, leaves alone the lanes whose direction an operator set, and waits
  while the emergency stop is on.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

from ortools.graph.python import linear_sum_assignment

from controllers.layout import ORIGIN, SiteLayout, direction_from, other_side
from controllers.messages import (
    CarrierState,
    Command,
    ContainerReady,
    CraneCommand,
    CraneState,
    Event,
    SetTimer,
    Side,
    TimerFired,
    WeightReading,
)
from controllers.records import CHARGING, CROSSING, REPOSITIONING, TO_JOB, WAIT_CHARGER, CarrierRecord
from controllers.scheduler import Capacities, Crossing, Plan, SlotScheduler
from controllers.site import SiteController

REPLAN = "replan"
SIDES: tuple[Side, Side] = ("vietnam", "china")


class CpsatController(SiteController):
    name = "cpsat"

    def __init__(
        self,
        layout: SiteLayout,
        replan_s: float = 900.0,
        min_replan_s: float = 600.0,
        burst: int = 30,
        time_limit_s: float = 0.005,
    ) -> None:
        super().__init__(layout)
        lane = max(layout.lanes, key=lambda info: info.n_blocks)
        metres = lane.n_blocks * lane.block_length_m + 2 * layout.yard_access_m
        self.crossing_s = metres / layout.fleet.speed_mps
        self.replan_s = replan_s
        self._cycle_s = self.crossing_s + 2 * max(info.crane_move_s for info in layout.yards.values())
        self.carrier_priority_s = 1800.0
        self.min_replan_s = min_replan_s
        self.burst = burst
        self.scheduler = SlotScheduler(
            Capacities(
                cranes={s: len(layout.yards[s].cranes) for s in SIDES},
                lanes_from={"vietnam": len(self.lanes_for["export"]), "china": len(self.lanes_for["import"])},  # until the first plan
                carriers=len(layout.fleet.carriers),
                crane_move_s=max(info.crane_move_s for info in layout.yards.values()),
                scanners={s: layout.yards[s].scanners for s in SIDES},
                scan_s=max(info.scan_s for info in layout.yards.values()),
                clearance_s=max(info.clearance_s for info in layout.yards.values()),
                crossing_s=self.crossing_s,
                # a carrier entering a lane holds the blocks ahead of it until it reports
                # half a base in: the next one can enter only then
                headway_s=(self.traffic.max_base_blocks // 2 + 1) * lane.block_length_m / layout.fleet.speed_mps,
            ),
            time_limit_s=time_limit_s,
        )
        self.plan: Plan | None = None
        self.plans_made = 0
        self.lane_history: list[int] = []  # lanes toward China after each plan
        self._pending: dict[str, ContainerReady] = {}
        self._jobs_seen: dict[str, ContainerReady] = {}
        self._expected: dict[str, tuple[Side, float]] = {}  # truck past the weighbridge -> yard, when
        self._unplanned = 0
        self._last_plan_at = -math.inf
        self._stale = False
        self._now = 0.0
        self._recent: dict[Side, deque[float]] = {s: deque() for s in SIDES}  # arrival times, last hour

    # --- events ------------------------------------------------------------------------

    def start(self, now: float) -> list[Command]:
        return [*super().start(now), SetTimer(self.replan_s, REPLAN)]

    def on_event(self, event: Event, now: float) -> list[Command]:
        self._now = now
        if isinstance(event, TimerFired) and event.tag == REPLAN:
            return [*self._replan(now), SetTimer(self.replan_s, REPLAN)]
        out: list[Command] = []
        breaks_plan = False
        if isinstance(event, WeightReading):
            self._expected[event.truck_id] = (event.yard, now)  # its container is on the way to the scanner
        elif isinstance(event, ContainerReady):
            self._expected.pop(event.truck_id, None)
            self._pending[event.container_id] = event
            self._jobs_seen[event.container_id] = event
            self._unplanned += 1
            recent = self._recent[event.yard]
            recent.append(now)
            while recent and recent[0] < now - 3600:
                recent.popleft()
            breaks_plan = self._unplanned >= self.burst
        elif isinstance(event, CarrierState):
            rec = self.carriers.get(event.device_id)
            breaks_plan = rec is not None and bool(event.errors) and not rec.fault
        elif isinstance(event, CraneState):
            breaks_plan = event.fault and event.device_id not in self.yards[event.yard].faulty_cranes
        out.extend(super().on_event(event, now))
        if self._stale or (breaks_plan and now - self._last_plan_at >= self.min_replan_s):
            out.extend(self._replan(now))
        return out

    # --- lanes: a closed or opened lane breaks the plan -------------------------------------

    def close_lane(self, lane: int) -> list[Command]:
        out = super().close_lane(lane)
        self._plan_is_stale()
        return out

    def open_lane(self, lane: int) -> None:
        super().open_lane(lane)
        self._plan_is_stale()

    def on_operator_change(self) -> None:
        self._plan_is_stale()

    def _plan_is_stale(self) -> None:
        """Re-plan on the next event, whatever it is."""
        self._last_plan_at = -math.inf
        self._unplanned = self.burst
        self._stale = True

    # --- planning ------------------------------------------------------------------------

    def _replan(self, now: float) -> list[Command]:
        if self.operator.estop:
            self._stale = True  # no lane or job changes until released; plan again then
            return []
        queued = {job.container_id for desk in self.yards.values() for _, job in desk.jobs}
        self._pending = {cid: job for cid, job in self._pending.items() if cid in queued}
        crossings = [Crossing(job.container_id, job.yard, now, job.deadline, job.arrived_at) for job in self._pending.values()]
        # containers still before the scanner: the plan foresees them, bounded by the scanners
        crossings += [
            Crossing(f"truck:{truck}", yard, now, None, weighed, scan_after_s=now)
            for truck, (yard, weighed) in self._expected.items()
            if now - weighed < self.crossing_s  # those in a long inspection come later
        ]
        fleet = self.layout.fleet
        busy_until = [now + self.crossing_s for rec in self.carriers.values() if rec.status in (CROSSING, TO_JOB)]
        # a carrier on a charger is back when full: the plan must not count on it before
        busy_until += [
            now + (100 - rec.battery_pct) / 100 * fleet.battery_kwh / fleet.charge_rate_kw * 3600
            for rec in self.carriers.values()
            if rec.status in (CHARGING, WAIT_CHARGER)
        ]
        # the plan decides the reversible lanes' directions, window by window
        self.lanes.settle(self.traffic.carriers_on)
        # lanes whose direction an operator set count as fixed ones
        pinned = [lane for lane in self.pinned_lanes if lane not in self.lanes.closed]
        fixed = {
            side: sum(1 for lane in self.lanes.open_for(direction_from(side)) if lane not in self.lanes.reversible)
            + sum(1 for lane in pinned if self.lanes.heading(lane) == direction_from(side))
            for side in SIDES
        }
        turned: dict[int, Side] = {
            lane: ORIGIN[self.lanes.heading(lane)]
            for lane in self.lanes.reversible
            if lane not in self.lanes.closed and lane not in self.pinned_lanes
        }
        # carriers an operator paused or took out of service are not there to plan with
        set_aside = self.operator.paused | self.operator.out_of_service
        in_service = max(1, len(self.carriers) - len(set_aside))
        self.scheduler.caps = replace(self.scheduler.caps, lanes_from=fixed, reversible=turned, carriers=in_service)
        self.plan = self.scheduler.plan(now, crossings, busy_until, self.plan)
        for lane, side in self.plan.lanes_now().items():
            if lane in self.pinned_lanes:
                continue
            want = direction_from(side)
            if self.lanes.heading(lane) != want and self.lanes.open_for(self.lanes.direction[lane]) != [lane]:
                self.lanes.set_direction(lane, want, self.traffic.carriers_on)
        self.lane_history.append(
            sum(1 for lane in self.lanes.direction if lane not in self.lanes.closed and self.lanes.heading(lane) == "export")
        )
        self.plans_made += 1
        self._unplanned = 0
        self._stale = False
        self._last_plan_at = now
        for desk in self.yards.values():  # the queues now follow the plan
            desk.jobs = sorted(((self.job_key(job), job) for _, job in desk.jobs), key=lambda kv: kv[0])
            desk.crane_tasks[:] = sorted(
                ((self.task_key(desk.side, task), task) for _, task in desk.crane_tasks), key=lambda kv: kv[0]
            )
        return self.assign_jobs()

    def job_key(self, job: ContainerReady) -> tuple[float, ...]:
        planned = self.plan.starts.get(job.container_id) if self.plan else None
        # a job the plan has not seen yet goes by the latest start that meets its due
        # time, which ranks it among the planned starts until the next plan
        return (planned if planned is not None else self._due(job) - self._cycle_s, job.arrived_at)

    def _due(self, job: ContainerReady) -> float:
        slack = self.scheduler.slack_s
        return job.deadline if job.deadline is not None else job.arrived_at + slack

    def task_key(self, side: Side, task: CraneCommand) -> tuple[float, ...]:
        """Crane work by the due time of its container (a perishable's deadline counts
        until it leaves the far yard, so its last move matters as much as its first),
        moves that hold a carrier brought forward: carriers are the scarcer."""
        job = self._jobs_seen.get(task.container_id)
        due = self._due(job) if job is not None else self._now
        if task.op in ("load", "unload"):
            due -= self.carrier_priority_s
        return (due, next(self._seq))

    # --- dispatch --------------------------------------------------------------------------

    def assign_jobs(self) -> list[Command]:
        """Jobs go to idle carriers at their own yard first, in plan order; a yard whose
        jobs outnumber its carriers, idle and on their way, draws carriers from the other."""
        out: list[Command] = []
        if self.dispatch_held:
            return out
        for side in SIDES:
            desk = self.yards[side]
            idle = self.idle_carriers(side)
            jobs = [job for _, job in desk.jobs[: len(idle)]]
            if not jobs:
                continue
            # match the jobs due first with the carriers best able to take them: the
            # fuller battery goes to the earlier job, so that charging spreads out
            solver = linear_sum_assignment.SimpleLinearSumAssignment()
            for j in range(len(idle)):
                for c, rec in enumerate(idle):
                    rank = j if j < len(jobs) else len(idle)
                    solver.add_arc_with_cost(j, c, int(rank * (100 - rec.battery_pct)))
            if solver.solve() != solver.OPTIMAL:
                raise RuntimeError("assignment of carriers to jobs failed")
            del desk.jobs[: len(jobs)]
            for j, job in enumerate(jobs):
                out.extend(self._start_job(idle[solver.right_mate(j)], job))
        out.extend(self._move_empties())
        return out

    def _move_empties(self) -> list[Command]:
        """Send idle carriers toward the yard whose need will outrun its carriers: its
        waiting jobs and those the last hour's arrivals foretell within one crossing,
        less its idle carriers and those on their way there."""
        idle = {side: self.idle_carriers(side) for side in SIDES}
        if not idle["vietnam"] and not idle["china"]:
            return []
        inbound = {side: 0 for side in SIDES}
        for rec in self.carriers.values():
            heading = self._heading_to(rec)
            if heading is not None:
                inbound[heading] += 1
        foreseen = {side: len(self._recent[side]) * self.crossing_s / 3600 for side in SIDES}
        out: list[Command] = []
        for side in SIDES:
            there = other_side(side)
            need = math.ceil(len(self.yards[side].jobs) + foreseen[side]) - len(idle[side]) - inbound[side]
            if need <= 0 or self.yards[there].jobs:
                continue
            keep = max(0, math.ceil(foreseen[there]) - inbound[there])  # what `there` will want itself
            spare = sorted(idle[there], key=lambda rec: -rec.battery_pct)[keep : keep + need]
            for rec in spare:
                if rec.battery_pct - 2 * self._battery_per_trip >= self.layout.fleet.low_battery_pct:
                    out.extend(self._reposition(rec))
        return out

    def _heading_to(self, rec: CarrierRecord) -> Side | None:
        trip = self.traffic.trips.get(rec.carrier_id)
        if trip is None or rec.status not in (CROSSING, REPOSITIONING):
            return None  # a carrier on its way to a job is spoken for
        return "vietnam" if trip.route.node_ids[-1] == "VN" else "china"
