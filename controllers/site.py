"""What every site controller does, with the decisions left to its subclasses.

The shared part keeps track of carriers, cranes, stacks and chargers from device
events and turns decisions into commands:

- Gates: a plate read opens the barrier; a weight within the tolerance of the
  declaration is accepted, otherwise the truck goes to physical inspection.
- Jobs: containers cleared at a yard wait in a queue ordered by `job_key`; the head
  job goes to the carrier `pick_carrier` names (one at its yard, else one at the
  other yard, which runs across empty).
- Lanes: each lane keeps one direction (reversible lanes are shared out between the
  directions at the start); a crossing takes the lane `choose_lane` names.
- Blocks: released as soon as they are free (see `TrafficControl`).
- Cranes: tasks wait in a queue ordered by `task_key`, served by the first idle crane.
- Energy: a carrier below its low-battery level after a job goes to a charger.
- Operators: the control-room console is one more device; its `OperatorRequest`
  events pause and resume carriers or the whole corridor, stop everything in an
  emergency, send carriers to a charger or out of service and change lanes, each
  answered by exactly one `OperatorReply`. The reasons a carrier is stopped (its own
  pause, the corridor's, the emergency stop) are kept apart, so lifting one never
  lifts another.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

from controllers.layout import (
    YARD_NODE,
    SiteLayout,
    direction_from,
    other_side,
)
from controllers.messages import (
    Action,
    BarrierCommand,
    CarrierState,
    Command,
    ContainerReady,
    CraneCommand,
    CraneState,
    Direction,
    Event,
    InstantActions,
    OperatorAction,
    OperatorReply,
    OperatorRequest,
    PickupArrived,
    PlateRead,
    ScannerState,
    Side,
    TimerFired,
    WeighDecision,
    WeightReading,
)
from controllers.lanes import LanePlan, LaneRefused
from controllers.traffic import TrafficControl

IDLE, TO_JOB, LOADING, CROSSING, UNLOADING, WAIT_UNLOAD, CHARGING, WAIT_CHARGER, REPOSITIONING = (
    "idle",
    "to_job",
    "loading",
    "crossing",
    "unloading",
    "wait_unload",
    "charging",
    "wait_charger",
    "repositioning",
)


def _yard_of(node_id: str) -> Side | None:
    for side, name in YARD_NODE.items():
        if name == node_id:
            return side
    return None


CRITICAL_BATTERY_PCT = 10.0  # below this (after two more crossings) a carrier waits for a charger

HEADING: dict[str, Direction] = {"to_china": "export", "to_vietnam": "import"}
HEADING_OF: dict[Direction, str] = {d: h for h, d in HEADING.items()}
TOWARD: dict[Direction, str] = {"export": "to China", "import": "to Vietnam"}
OPERATOR_ACTIONS: tuple[str, ...] = get_args(OperatorAction)  # each is carried out by `_op_<action>`


@dataclass(slots=True)
class CarrierRecord:
    carrier_id: str
    side: Side | None  # the yard it is at; None while crossing
    status: str = IDLE
    job: ContainerReady | None = None
    load: str | None = None
    battery_pct: float = 100.0
    fault: bool = False
    known: bool = False  # has reported at least once
    charge_began: bool = False  # a report with charging=True came since it was sent to charge


@dataclass(slots=True)
class YardDesk:
    """What the controller keeps for one yard: jobs, cranes, the stack, chargers."""

    side: Side
    jobs: list[tuple[tuple[float, ...], ContainerReady]] = field(default_factory=list)  # sorted by key
    idle_cranes: list[str] = field(default_factory=list)
    faulty_cranes: set[str] = field(default_factory=set)
    crane_tasks: list[tuple[tuple[float, ...], CraneCommand]] = field(default_factory=list)  # sorted by key
    stack_used: int = 0  # containers on the stack, or promised to it
    in_stack: set[str] = field(default_factory=set)
    pickups_waiting: set[str] = field(default_factory=set)  # containers whose truck is here
    blocked_unloads: deque[str] = field(default_factory=deque)  # carriers waiting for room
    chargers_free: int = 0
    charger_queue: deque[str] = field(default_factory=deque)


@dataclass(slots=True)
class OperatorHolds:
    """What operators asked of the fleet, one field per reason, so that lifting one
    reason (resuming the corridor) never lifts another (a carrier paused on its own)."""

    corridor_paused: bool = False
    estop: bool = False
    paused: set[str] = field(default_factory=set)  # carriers paused one by one
    out_of_service: set[str] = field(default_factory=set)  # no jobs (after the current one)
    to_charger: set[str] = field(default_factory=set)  # go to a charger once free
    # loaded carriers that were to set off while stopped: they reserve no blocks until released
    held_crossings: dict[str, Direction] = field(default_factory=dict)

    def holds(self, carrier_id: str) -> bool:
        """Must this carrier stand still (its vehicle was told startPause)?"""
        return self.estop or self.corridor_paused or carrier_id in self.paused

    def reasons(self, carrier_id: str) -> list[str]:
        out = []
        if self.estop:
            out.append("the emergency stop is on")
        if self.corridor_paused:
            out.append("the corridor is paused")
        if carrier_id in self.paused:
            out.append(f"{carrier_id} is paused by an operator")
        return out


_Outcome = tuple[bool, str, list[Command]]  # ok, detail, device commands


def _carriers(n: int) -> str:
    return f"{n} carrier" if n == 1 else f"{n} carriers"


class SiteController:
    """Subclasses decide: `job_key`, `task_key`, `pick_carrier`, `choose_lane`, `after_free`."""

    name = "site"

    def __init__(self, layout: SiteLayout) -> None:
        self.layout = layout
        self.traffic = TrafficControl(layout)
        self.carriers = {cid: CarrierRecord(cid, None) for cid in layout.fleet.carriers}
        self.yards: dict[Side, YardDesk] = {}
        for side, info in layout.yards.items():
            desk = YardDesk(side, chargers_free=info.chargers)
            desk.idle_cranes = list(info.cranes)
            self.yards[side] = desk
        self.lanes = LanePlan(layout)
        self.operator = OperatorHolds()
        self.pinned_lanes: set[int] = set()  # directions an operator set: planners leave them
        self._actions = itertools.count(1)  # ids of pause actions
        self._orders = 0
        self._seq = itertools.count()  # ties in the queues go to the older entry
        self.deadlines: dict[str, float] = {}  # container -> deadline (perishable cargo)
        self._battery_per_trip = 100 * max(
            layout.trip_energy_kwh(i) for i in range(len(layout.lanes))
        ) / layout.fleet.battery_kwh

    # --- controller interface ------------------------------------------------------

    def start(self, now: float) -> list[Command]:
        return []

    def on_event(self, event: Event, now: float) -> list[Command]:
        if isinstance(event, CarrierState):
            return self._on_carrier(event)
        if isinstance(event, CraneState):
            return self._on_crane(event)
        if isinstance(event, ContainerReady):
            if event.deadline is not None:
                self.deadlines[event.container_id] = event.deadline
            bisect.insort(self.yards[event.yard].jobs, (self.job_key(event), event), key=lambda kv: kv[0])
            return self._assign()
        if isinstance(event, PlateRead):
            return [BarrierCommand(event.device_id, event.truck_id, True)]
        if isinstance(event, WeightReading):
            tolerance = self.layout.weigh_tolerance_pct / 100 * event.declared_kg
            ok = abs(event.measured_kg - event.declared_kg) <= tolerance
            return [WeighDecision(event.device_id, event.truck_id, ok)]
        if isinstance(event, PickupArrived):
            return self._on_pickup(event)
        if isinstance(event, OperatorRequest):
            return self._on_operator(event)
        if isinstance(event, (ScannerState, TimerFired)):
            return []
        raise TypeError(f"{self.name} controller got an unknown event {event!r}")

    def wait_reasons(self) -> dict[str, str]:
        """Why each carrier that is not moving waits (for the deadlock watch)."""
        reasons = {cid: f"behind {other}" for cid, other in self.traffic.blocked_by().items()}
        for rec in self.carriers.values():
            if rec.carrier_id in reasons:
                continue
            if rec.carrier_id in self.traffic.lost:
                reasons[rec.carrier_id] = f"lost its order at {self.traffic.lost[rec.carrier_id]}: an operator must bring it back"
            elif rec.fault:
                reasons[rec.carrier_id] = "under repair"
            elif self.operator.holds(rec.carrier_id):
                reasons[rec.carrier_id] = "stopped: " + "; ".join(self.operator.reasons(rec.carrier_id))
            elif rec.carrier_id in self.operator.out_of_service and rec.status == IDLE:
                reasons[rec.carrier_id] = "out of service"
            elif rec.status in (IDLE, CHARGING, WAIT_CHARGER, LOADING, UNLOADING, WAIT_UNLOAD):
                reasons[rec.carrier_id] = rec.status
        return reasons

    # --- carriers ---------------------------------------------------------------------

    def _on_carrier(self, st: CarrierState) -> list[Command]:
        rec = self.carriers[st.device_id]
        rec.battery_pct = st.battery_pct
        rec.load = st.load
        was_faulty, rec.fault = rec.fault, bool(st.errors)
        out: list[Command] = list(self.traffic.on_state(st))
        if not rec.known:  # its first report tells where it stands
            rec.known = True
            rec.side = _yard_of(st.last_node_id)
            out.extend(self._assign())
            return out
        if st.order_finished and self.traffic.arrived(st):
            out.extend(self.traffic.finish(st.device_id))
            rec.side = _yard_of(st.last_node_id)
            out.extend(self._arrived(rec))
        elif rec.status == CHARGING and st.charging:
            rec.charge_began = True
        elif rec.status == CHARGING and rec.charge_began and not st.charging:
            rec.charge_began = False
            rec.status = IDLE
            self.yards[rec.side].chargers_free += 1  # type: ignore[index]
            out.extend(self._next_charger(rec.side))  # type: ignore[arg-type]
            out.extend(self._free(rec))
        if was_faulty and not rec.fault and rec.status == IDLE:
            out.extend(self._assign())
        return out

    def _arrived(self, rec: CarrierRecord) -> list[Command]:
        side = rec.side
        assert side is not None
        if rec.status == TO_JOB:
            rec.status = LOADING
            assert rec.job is not None
            return self._crane_task(side, CraneCommand("", "load", rec.job.container_id, rec.carrier_id))
        if rec.status == CROSSING:
            return self._unload(rec)
        if rec.status == REPOSITIONING:
            return self._free(rec)
        raise RuntimeError(f"carrier {rec.carrier_id} arrived while {rec.status}")

    def _unload(self, rec: CarrierRecord) -> list[Command]:
        side = rec.side
        assert side is not None and rec.job is not None
        desk = self.yards[side]
        cid = rec.job.container_id
        if cid in desk.pickups_waiting:
            desk.pickups_waiting.discard(cid)
            rec.status = UNLOADING
            return self._crane_task(side, CraneCommand("", "unload", cid, rec.carrier_id, to_truck=True))
        if desk.stack_used < self.layout.yards[side].stack_capacity:
            desk.stack_used += 1
            rec.status = UNLOADING
            return self._crane_task(side, CraneCommand("", "unload", cid, rec.carrier_id, to_truck=False))
        rec.status = WAIT_UNLOAD
        desk.blocked_unloads.append(rec.carrier_id)
        return []

    def _free(self, rec: CarrierRecord) -> list[Command]:
        """The carrier is empty at a yard: charge if it must, else take the next job."""
        rec.job = None
        rec.status = IDLE
        side = rec.side
        assert side is not None
        cid = rec.carrier_id
        if self.operator.holds(cid):
            return []  # it waits here, idle, until released (then this runs again)
        if cid in self.operator.to_charger:
            self.operator.to_charger.discard(cid)
            return self._to_charger(rec)
        if cid in self.operator.out_of_service:
            return []
        reserve = rec.battery_pct - 2 * self._battery_per_trip
        if reserve < self.layout.fleet.low_battery_pct:
            desk = self.yards[side]
            if desk.chargers_free > 0:
                desk.chargers_free -= 1
                rec.status = CHARGING
                return [self._charge(rec.carrier_id)]
            if reserve < CRITICAL_BATTERY_PCT:
                rec.status = WAIT_CHARGER
                desk.charger_queue.append(rec.carrier_id)
                return []
            # every charger is taken: keep working and try again after the next job
        return self.after_free(rec)

    def _next_charger(self, side: Side) -> list[Command]:
        """Free chargers go to the waiting carriers in turn; a stopped one keeps its place."""
        desk = self.yards[side]
        out: list[Command] = []
        for cid in list(desk.charger_queue):
            if desk.chargers_free <= 0:
                break
            if self.operator.holds(cid):
                continue
            desk.charger_queue.remove(cid)
            desk.chargers_free -= 1
            self.carriers[cid].status = CHARGING
            out.append(self._charge(cid))
        return out

    def _to_charger(self, rec: CarrierRecord) -> list[Command]:
        """An idle carrier at a yard takes a free charger there, or queues for one."""
        assert rec.side is not None
        desk = self.yards[rec.side]
        if desk.chargers_free > 0:
            desk.chargers_free -= 1
            rec.status = CHARGING
            rec.charge_began = False
            return [self._charge(rec.carrier_id)]
        rec.status = WAIT_CHARGER
        desk.charger_queue.append(rec.carrier_id)
        return []

    def _charge(self, carrier_id: str) -> InstantActions:
        self._orders += 1
        return InstantActions(carrier_id, (Action("startCharging", f"charge-{self._orders}"),))

    def _cross(self, rec: CarrierRecord, direction: Direction) -> list[Command]:
        if self.operator.holds(rec.carrier_id):
            # a stopped carrier reserves no blocks: it sets off once released
            self.operator.held_crossings[rec.carrier_id] = direction
            return []
        lane = self.choose_lane(direction)
        self._orders += 1
        assert rec.side is not None
        order = self.traffic.begin(rec.carrier_id, lane, rec.side, f"o{self._orders}")
        rec.side = None
        return [order]

    # --- jobs ---------------------------------------------------------------------------

    def _assign(self) -> list[Command]:
        """Give waiting jobs, best key first across both yards, to the carriers chosen."""
        out: list[Command] = []
        if self.dispatch_held:
            return out
        vn, cn = self.yards["vietnam"], self.yards["china"]
        while vn.jobs or cn.jobs:
            if vn.jobs and (not cn.jobs or vn.jobs[0][0] <= cn.jobs[0][0]):
                desk = vn
            else:
                desk = cn
            rec = self.pick_carrier(desk.side)
            if rec is None:
                break
            _, job = desk.jobs.pop(0)
            out.extend(self._start_job(rec, job))
        return out

    def _start_job(self, rec: CarrierRecord, job: ContainerReady) -> list[Command]:
        rec.job = job
        if rec.side == job.yard:
            rec.status = LOADING
            return self._crane_task(job.yard, CraneCommand("", "load", job.container_id, rec.carrier_id))
        rec.status = TO_JOB
        return self._cross(rec, direction_from(other_side(job.yard)))

    def _reposition(self, rec: CarrierRecord) -> list[Command]:
        """Send an idle carrier empty to the other yard, where it will be needed."""
        assert rec.side is not None and rec.status == IDLE
        rec.status = REPOSITIONING
        return self._cross(rec, direction_from(rec.side))

    def idle_carriers(self, side: Side | None = None) -> list[CarrierRecord]:
        """Carriers free to take a job (or an empty move), at `side` if given."""
        return [rec for rec in self.carriers.values() if self.can_take_job(rec) and (side is None or rec.side == side)]

    def can_take_job(self, rec: CarrierRecord) -> bool:
        """Idle at a yard, working, and neither stopped nor set aside by an operator."""
        cid = rec.carrier_id
        op = self.operator
        return (
            rec.status == IDLE
            and not rec.fault
            and rec.side is not None
            and not op.holds(cid)
            and cid not in op.out_of_service
            and cid not in op.to_charger
        )

    @property
    def dispatch_held(self) -> bool:
        """No new jobs or empty moves while the corridor is paused or the emergency stop is on."""
        return self.operator.estop or self.operator.corridor_paused

    # --- the decisions, first come first served by default -----------------------------

    def job_key(self, job: ContainerReady) -> tuple[float, ...]:
        """Order of the job queue: first come, first served."""
        return (job.arrived_at, next(self._seq))

    def task_key(self, side: Side, task: CraneCommand) -> tuple[float, ...]:
        """Order of the crane queue: as asked."""
        return (next(self._seq),)

    def pick_carrier(self, side: Side) -> CarrierRecord | None:
        """The nearest idle carrier: one at `side`, else one at the other yard."""
        far: CarrierRecord | None = None
        for rec in self.carriers.values():
            if not self.can_take_job(rec):
                continue
            if rec.side == side:
                return rec
            if far is None:
                far = rec
        return far

    def choose_lane(self, direction: Direction) -> int:
        """The open lane of the direction with the fewest carriers on it, avoiding lanes
        where a broken-down carrier stands while another lane is open."""
        self.lanes.settle(self.traffic.carriers_on)
        lanes = self.lanes.open_for(direction)
        impaired = self.impaired_lanes()
        clear = [lane for lane in lanes if lane not in impaired] or lanes
        return min(clear, key=lambda i: (self.traffic.carriers_on(i), i))

    @property
    def lanes_for(self) -> dict[Direction, list[int]]:
        return {"export": self.lanes.open_for("export"), "import": self.lanes.open_for("import")}

    def impaired_lanes(self) -> set[int]:
        """Lanes on which a broken-down carrier stands (and closes its blocks)."""
        return {trip.route.lane for cid, trip in self.traffic.trips.items() if self.carriers[cid].fault}

    # --- operator commands on lanes (raise LaneRefused with the reason) ------------------

    def close_lane(self, lane: int) -> None:
        self.lanes.close(lane)

    def open_lane(self, lane: int) -> None:
        self.lanes.open(lane)

    def set_lane_direction(self, lane: int, direction: Direction) -> None:
        self.lanes.set_direction(lane, direction, self.traffic.carriers_on)
        self.pinned_lanes.add(lane)  # an operator's choice: a planning controller keeps it

    def after_free(self, rec: CarrierRecord) -> list[Command]:
        """A carrier became free at a yard: by default, give out waiting jobs."""
        return self._assign()

    # --- cranes -------------------------------------------------------------------------

    def _crane_task(self, side: Side, task: CraneCommand) -> list[Command]:
        desk = self.yards[side]
        bisect.insort(desk.crane_tasks, (self.task_key(side, task), task), key=lambda kv: kv[0])
        return self._run_cranes(desk)

    def _run_cranes(self, desk: YardDesk) -> list[Command]:
        out: list[Command] = []
        while desk.crane_tasks and desk.idle_cranes:
            _, task = desk.crane_tasks.pop(0)
            crane = desk.idle_cranes.pop(0)
            out.append(CraneCommand(crane, task.op, task.container_id, task.carrier_id, task.to_truck))
        return out

    def _on_crane(self, st: CraneState) -> list[Command]:
        desk = self.yards[st.yard]
        out: list[Command] = []
        if st.fault:
            desk.faulty_cranes.add(st.device_id)
            if st.device_id in desk.idle_cranes:
                desk.idle_cranes.remove(st.device_id)
        else:
            desk.faulty_cranes.discard(st.device_id)
            if not st.busy and st.device_id not in desk.idle_cranes:
                desk.idle_cranes.append(st.device_id)
        if st.done_op == "load":
            rec = self.carriers[st.carrier_id]  # type: ignore[index]
            rec.status = CROSSING
            rec.load = st.container_id
            assert rec.job is not None
            out.extend(self._cross(rec, rec.job.direction))
        elif st.done_op == "unload":
            rec = self.carriers[st.carrier_id]  # type: ignore[index]
            rec.load = None
            if st.placed_on == "stack":
                desk.in_stack.add(st.container_id)  # type: ignore[arg-type]
                if st.container_id in desk.pickups_waiting:  # its truck came during the move
                    desk.pickups_waiting.discard(st.container_id)  # type: ignore[arg-type]
                    out.extend(self._crane_task(st.yard, CraneCommand("", "deliver", st.container_id)))  # type: ignore[arg-type]
            out.extend(self._free(rec))
        elif st.done_op == "deliver":
            desk.in_stack.discard(st.container_id)  # type: ignore[arg-type]
            desk.stack_used -= 1
            out.extend(self._retry_unloads(desk))
        out.extend(self._run_cranes(desk))
        return out

    def _on_pickup(self, ev: PickupArrived) -> list[Command]:
        desk = self.yards[ev.yard]
        if ev.container_id in desk.in_stack:
            return self._crane_task(ev.yard, CraneCommand("", "deliver", ev.container_id))
        desk.pickups_waiting.add(ev.container_id)
        return self._retry_unloads(desk)

    def _retry_unloads(self, desk: YardDesk) -> list[Command]:
        out: list[Command] = []
        for _ in range(len(desk.blocked_unloads)):
            rec = self.carriers[desk.blocked_unloads.popleft()]
            out.extend(self._unload(rec))
        return out

    # --- the operator console ------------------------------------------------------------
    #
    # Every handler checks its request before it changes anything and answers a bad one
    # with a refusal: a request comes from a person through a web form, and the
    # controller must never fail on it.

    def _on_operator(self, req: OperatorRequest) -> list[Command]:
        """Carry out one operator action: its device commands, then its one reply."""
        if not isinstance(req.action, str) or req.action not in OPERATOR_ACTIONS:
            ok, detail, out = False, f"unknown action {req.action!r}; known: {', '.join(OPERATOR_ACTIONS)}", []
        else:
            handler: Callable[[OperatorRequest], _Outcome] = getattr(self, f"_op_{req.action}")
            ok, detail, out = handler(req)
            if ok:
                self.on_operator_change()
        return [*out, OperatorReply(req.console_id, req.request_id, ok, detail)]

    def on_operator_change(self) -> None:
        """An operator changed what the fleet or the lanes can do: a planning controller re-plans."""

    def operator_status(self) -> dict[str, object]:
        """What the control room shows of the operators' state, as plain data."""
        op = self.operator
        busy = (IDLE, CHARGING, WAIT_CHARGER)
        return {
            "corridor_paused": op.corridor_paused,
            "estop": op.estop,
            "dispatch_held": self.dispatch_held,
            "paused_carriers": sorted(op.paused),
            "stopped_carriers": sorted(cid for cid in self.carriers if op.holds(cid)),
            "maintenance": sorted(op.out_of_service),  # out of service, those finishing a job included
            "maintenance_pending": sorted(cid for cid in op.out_of_service if self.carriers[cid].status not in busy),
            "charger_requested": sorted(op.to_charger),
            "waiting_for_charger": sorted(c.carrier_id for c in self.carriers.values() if c.status == WAIT_CHARGER),
            "charging": sorted(c.carrier_id for c in self.carriers.values() if c.status == CHARGING),
            "held_crossings": sorted(op.held_crossings),
            "lanes": [
                {
                    "lane": lane,
                    "direction": HEADING_OF[self.lanes.direction[lane]],
                    "turning_to": HEADING_OF[self.lanes.switching[lane]] if lane in self.lanes.switching else None,
                    "reversible": lane in self.lanes.reversible,
                    "closed": lane in self.lanes.closed,
                    "pinned": lane in self.pinned_lanes,
                    "carriers_on": self.traffic.carriers_on(lane),
                }
                for lane in sorted(self.lanes.direction)
            ],
        }

    # --- stopping and releasing carriers

    def _pause(self, carrier_id: str, on: bool) -> InstantActions:
        kind = "startPause" if on else "stopPause"
        return InstantActions(carrier_id, (Action(kind, f"{'pause' if on else 'resume'}-{next(self._actions)}"),))

    def _rehold(self, change: Callable[[], None]) -> tuple[list[str], list[str], list[Command]]:
        """Apply a change to the holds; pause the carriers it stops, resume those it
        releases and let them carry on. Returns (stopped, released, commands)."""
        before = {cid for cid in self.carriers if self.operator.holds(cid)}
        change()
        after = {cid for cid in self.carriers if self.operator.holds(cid)}
        stopped = [cid for cid in self.carriers if cid in after and cid not in before]
        released = [cid for cid in self.carriers if cid in before and cid not in after]
        out: list[Command] = [self._pause(cid, True) for cid in stopped]
        out.extend(self._pause(cid, False) for cid in released)
        for cid in released:  # all holds are updated first, so each sees the others free
            out.extend(self._carry_on(self.carriers[cid]))
        if released:
            out.extend(self._assign())
        return stopped, released, out

    def _carry_on(self, rec: CarrierRecord) -> list[Command]:
        """A released carrier picks up where the stop left it."""
        direction = self.operator.held_crossings.pop(rec.carrier_id, None)
        if direction is not None:
            return self._cross(rec, direction)
        if rec.status == IDLE and rec.known and rec.side is not None:
            return self._free(rec)
        if rec.status == WAIT_CHARGER and rec.side is not None:
            return self._next_charger(rec.side)
        return []

    def _still(self, carrier_id: str) -> str:
        reasons = self.operator.reasons(carrier_id)
        return f" ({'; '.join(reasons)})" if reasons else ""

    # --- argument checks: a record, or the reason for refusing

    def _carrier_of(self, req: OperatorRequest) -> CarrierRecord | str:
        cid = req.carrier_id
        if cid is None or cid == "":
            return f"{req.action} needs carrier_id"
        if not isinstance(cid, str) or cid not in self.carriers:
            return f"there is no carrier {cid!r}"
        return self.carriers[cid]

    def _lane_of(self, req: OperatorRequest) -> int | str:
        lane = req.lane
        if lane is None:
            return f"{req.action} needs lane"
        if isinstance(lane, bool) or not isinstance(lane, int):
            return f"lane must be a lane number, not {lane!r}"
        if lane not in self.lanes.direction:
            return f"there is no lane {lane}; lanes are numbered 0 to {len(self.lanes.direction) - 1}"
        if self.operator.estop:
            return "the emergency stop is on: lane changes wait until it is released"
        return lane

    # --- the actions (each returns ok, detail, commands)

    def _op_pause_corridor(self, req: OperatorRequest) -> _Outcome:
        if self.operator.corridor_paused:
            return False, "the corridor is already paused", []
        stopped, _, out = self._rehold(lambda: setattr(self.operator, "corridor_paused", True))
        return True, f"corridor paused: {_carriers(len(stopped))} told to pause, no new jobs until it resumes", out

    def _op_resume_corridor(self, req: OperatorRequest) -> _Outcome:
        if not self.operator.corridor_paused:
            return False, "the corridor is not paused", []
        _, released, out = self._rehold(lambda: setattr(self.operator, "corridor_paused", False))
        still = sorted(cid for cid in self.carriers if self.operator.holds(cid))
        detail = f"corridor resumed: {_carriers(len(released))} told to resume"
        if self.operator.estop:
            detail += "; the emergency stop is still on"
        elif still:
            detail += f"; still paused by an operator: {', '.join(still)}"
        return True, detail, out

    def _op_estop_all(self, req: OperatorRequest) -> _Outcome:
        was_on = self.operator.estop
        self.operator.estop = True
        # every carrier, even one already paused: an emergency stop does not rely on
        # what the controller believes
        out: list[Command] = [self._pause(cid, True) for cid in self.carriers]
        if was_on:
            return True, f"the emergency stop was already on; pause sent again to all {_carriers(len(out))}", out
        return True, f"emergency stop: all {_carriers(len(out))} told to pause; no dispatch, lane or job changes until released", out

    def _op_release_estop(self, req: OperatorRequest) -> _Outcome:
        if not self.operator.estop:
            return False, "the emergency stop is not on", []
        _, released, out = self._rehold(lambda: setattr(self.operator, "estop", False))
        still = sorted(cid for cid in self.carriers if self.operator.holds(cid))
        detail = f"emergency stop released: {_carriers(len(released))} told to resume"
        if self.operator.corridor_paused:
            detail += "; the corridor stays paused"
        elif still:
            detail += f"; still paused by an operator: {', '.join(still)}"
        return True, detail, out

    def _op_pause_carrier(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, str):
            return False, rec, []
        cid = rec.carrier_id
        if cid in self.operator.paused:
            return False, f"carrier {cid} is already paused", []
        stopped, _, out = self._rehold(lambda: self.operator.paused.add(cid))
        if stopped:
            return True, f"carrier {cid} paused; it keeps its blocks and gets no new job until resumed", out
        return True, f"carrier {cid} paused; it was already stopped{self._still(cid)} and stays paused when that is lifted", out

    def _op_resume_carrier(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, str):
            return False, rec, []
        cid = rec.carrier_id
        if cid not in self.operator.paused:
            return False, f"carrier {cid} is not paused by an operator", []
        _, released, out = self._rehold(lambda: self.operator.paused.discard(cid))
        if released:
            return True, f"carrier {cid} resumed", out
        return True, f"carrier {cid} is no longer paused by an operator but stays stopped{self._still(cid)}", out

    def _op_send_to_charger(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, str):
            return False, rec, []
        cid = rec.carrier_id
        if not rec.known:
            return False, f"carrier {cid} has not reported yet", []
        if rec.status == CHARGING:
            return False, f"carrier {cid} is already charging", []
        if rec.status == WAIT_CHARGER:
            return False, f"carrier {cid} is already waiting for a charger at the {str(rec.side).capitalize()} yard", []
        if cid in self.operator.to_charger:
            return False, f"carrier {cid} is already due to go to a charger", []
        if rec.status != IDLE or rec.side is None:
            self.operator.to_charger.add(cid)
            return True, f"carrier {cid} is busy ({rec.status}); it goes to a charger after its current job", []
        if self.operator.holds(cid):
            self.operator.to_charger.add(cid)
            return True, f"carrier {cid} goes to a charger once it is released{self._still(cid)}", []
        out = self._to_charger(rec)
        if rec.status == CHARGING:
            return True, f"carrier {cid} sent to a charger at the {str(rec.side).capitalize()} yard", out
        return True, f"carrier {cid} waits for a charger at the {str(rec.side).capitalize()} yard: all are taken", out

    def _op_send_to_maintenance(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, str):
            return False, rec, []
        cid = rec.carrier_id
        if cid in self.operator.out_of_service:
            return False, f"carrier {cid} is already out of service", []
        self.operator.out_of_service.add(cid)
        if rec.status == IDLE:
            where = f" at the {str(rec.side).capitalize()} yard" if rec.side is not None else ""
            return True, f"carrier {cid} is out of service{where}", []
        if rec.status in (CHARGING, WAIT_CHARGER):
            return True, f"carrier {cid} is out of service once it has charged", []
        return True, f"carrier {cid} goes out of service after its current job ({rec.status})", []

    def _op_return_to_service(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, str):
            return False, rec, []
        cid = rec.carrier_id
        if cid not in self.operator.out_of_service:
            return False, f"carrier {cid} is not out of service", []
        self.operator.out_of_service.discard(cid)
        out: list[Command] = []
        if rec.status == IDLE and rec.known and rec.side is not None:
            out = self._free(rec)  # takes a job now if one waits (or charges if it must)
        if self.operator.holds(cid):
            return True, f"carrier {cid} is back in service but stays stopped{self._still(cid)}", out
        return True, f"carrier {cid} is back in service", out

    def _op_close_lane(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, str):
            return False, lane, []
        if lane in self.lanes.closed:
            return False, f"lane {lane} is already closed", []
        try:
            self.close_lane(lane)
        except LaneRefused as refused:
            return False, str(refused), []
        on = self.traffic.carriers_on(lane)
        rest = f"; the {_carriers(on)} on it finish their crossing" if on else ""
        return True, f"lane {lane} ({TOWARD[self.lanes.direction[lane]]}) closed: no new crossings{rest}", []

    def _op_open_lane(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, str):
            return False, lane, []
        if lane not in self.lanes.closed:
            return False, f"lane {lane} is not closed", []
        try:
            self.open_lane(lane)
        except LaneRefused as refused:
            return False, str(refused), []
        return True, f"lane {lane} ({TOWARD[self.lanes.heading(lane)]}) open", []

    def _op_set_lane_direction(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, str):
            return False, lane, []
        if req.direction is None:
            return False, "set_lane_direction needs direction (to_china or to_vietnam)", []
        direction = HEADING.get(req.direction) if isinstance(req.direction, str) else None
        if direction is None:
            return False, f"direction must be to_china or to_vietnam, not {req.direction!r}", []
        was = self.lanes.heading(lane)
        try:
            self.set_lane_direction(lane, direction)
        except LaneRefused as refused:
            return False, str(refused), []
        toward = TOWARD[direction]
        if lane in self.lanes.switching:
            on = self.traffic.carriers_on(lane)
            left = f"the {_carriers(on)} on it {'has' if on == 1 else 'have'} left"
            return True, f"lane {lane} turns {toward} once {left}; no new crossings until then", []
        if was == direction:
            return True, f"lane {lane} already runs {toward}; it stays so", []
        return True, f"lane {lane} now runs {toward}", []
