"""What every site controller does, with the decisions left to its subclasses.

The shared part keeps track of carriers, cranes, stacks and chargers from device
events and turns decisions into commands:

- Gates: a plate read opens the barrier; a weight within the tolerance of the
  declaration is accepted, otherwise the truck goes to physical inspection; a
  weighbridge whose readings drift is caught and its readings judged corrected too
  (`StationWatch`). A faulted
  gate opens for nobody: its trucks wait, with an alarm, until it is back (`GateWatch`).
- Jobs: containers cleared at a yard wait in a queue ordered by `job_key`; the head
  job goes to the carrier `pick_carrier` names (one at its yard, else one at the
  other yard, which runs across empty).
- Lanes: each lane keeps one direction (reversible lanes are shared out between the
  directions at the start); a crossing takes the lane `choose_lane` names.
- Blocks: released as soon as they are free (see `TrafficControl`).
- Vehicles' answers: a refused order is sent again after a back-off, a bounded number
  of times; then the carrier stands out of service with the vehicle's reason and an
  alarm, until an operator returns it to service. Only FATAL errors stop a carrier;
  WARNING ones are shown. A carrier that stalls on a released base is flagged.
- Instant actions: each is followed to its end (`ActionWatch`): a pause, a charge, a
  cancel that the vehicle refuses or does not answer is shown with an alarm. A cancelled
  order is not a finished one: an operator's abort leaves the carrier standing where it
  stopped, out of service, until it is returned (it then drives on); a carrier still at
  its yard when its lane closes is cancelled there and sent by another lane.
- Cranes: tasks wait in a queue ordered by `task_key`, served by the first idle crane.
  A faulted crane is given none, with an alarm (`DeviceWatch`); its move holds until
  it is back, then it finishes it.
- Energy: a carrier below its low-battery level after a job goes to a charger.
- Operators: requests from the control room are handled by `OperatorConsole`
  (controllers/console.py), a collaborator this class hands itself to.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque

from controllers.actions import ActionOutcome, ActionWatch
from controllers.console import OperatorConsole, OperatorHolds
from controllers.gates import DeviceWatch, GateWatch
from controllers.lanes import LanePlan
from controllers.layout import (
    YARD_NODE,
    SiteLayout,
    direction_from,
    other_side,
)
from controllers.messages import (
    Action,
    ActionState,
    BarrierCommand,
    BarrierState,
    CarrierState,
    Command,
    CommandRefused,
    ContainerReady,
    CraneCommand,
    CraneState,
    Direction,
    Event,
    InstantActions,
    OperatorRequest,
    PickupArrived,
    PlateRead,
    ScannerState,
    SetTimer,
    Side,
    TimerFired,
    VehiclePosition,
    WeightReading,
)
from controllers.records import (
    CHARGING,
    CROSSING,
    IDLE,
    LOADING,
    REPOSITIONING,
    TO_JOB,
    UNLOADING,
    WAIT_CHARGER,
    WAIT_UNLOAD,
    CarrierRecord,
    TruckLog,
    YardDesk,
)
from controllers.stations import StationWatch
from controllers.traffic import RESEND, STALL_SCAN, STALL_SCAN_S, CarrierAlarm, TrafficControl


def _yard_of(node_id: str) -> Side | None:
    for side, name in YARD_NODE.items():
        if name == node_id:
            return side
    return None


CRITICAL_BATTERY_PCT = 10.0  # below this (after two more crossings) a carrier waits for a charger



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
        self.refusals: deque[CommandRefused] = deque(maxlen=100)  # the latest, for the control room
        self.trucks = TruckLog()  # each truck's plate read at the gate, with the camera's evidence
        self.gates = GateWatch()  # faulted gates, the trucks held at them, the alarms
        # scanners down, weighbridges whose readings drift, their alarms
        self.stations = StationWatch(layout.weigh_tolerance_pct)
        self.cranes = DeviceWatch()  # faulted cranes, why, the alarms
        # carriers that report from no node of the site: why, until an operator places them
        self.unplaced: dict[str, str] = {}
        self.actions = ActionWatch()
        # what carriers did not do of the instant actions they were sent: carrier -> action type -> why
        self.unanswered: dict[str, dict[str, str]] = {}
        # loaded carriers whose crossing an operator aborted before they left the yard: where they were going
        self.aborted_crossings: dict[str, Direction] = {}
        self._orders = 0
        self.now = 0.0  # model seconds of the latest event
        self._seq = itertools.count()  # ties in the queues go to the older entry
        self.deadlines: dict[str, float] = {}  # container -> deadline (perishable cargo)
        self._battery_per_trip = 100 * max(
            layout.trip_energy_kwh(i) for i in range(len(layout.lanes))
        ) / layout.fleet.battery_kwh
        self.console = OperatorConsole(self)  # last: it is handed the controller as built

    # --- controller interface ------------------------------------------------------

    def start(self, now: float) -> list[Command]:
        return [SetTimer(STALL_SCAN_S, STALL_SCAN)]

    def on_event(self, event: Event, now: float) -> list[Command]:
        self.now = now
        out = self._handle(event, now)
        self.actions.sent(out, now)
        return out

    def _handle(self, event: Event, now: float) -> list[Command]:
        if isinstance(event, CarrierState):
            return self._on_carrier(event, now)
        if isinstance(event, CraneState):
            return self._on_crane(event, now)
        if isinstance(event, ContainerReady):
            if event.deadline is not None:
                self.deadlines[event.container_id] = event.deadline
            bisect.insort(self.yards[event.yard].jobs, (self.job_key(event), event), key=lambda kv: kv[0])
            return self.assign_jobs()
        if isinstance(event, PlateRead):
            self.trucks.record(event, now)
            if not self.gates.admit(event):  # its gate is faulted: the truck waits there
                return []
            return [BarrierCommand(event.device_id, event.truck_id, True)]
        if isinstance(event, BarrierState):
            return [BarrierCommand(r.device_id, r.truck_id, True) for r in self.gates.on_state(event, now)]
        if isinstance(event, WeightReading):
            return [self.stations.weigh(event, now)]
        if isinstance(event, PickupArrived):
            return self._on_pickup(event)
        if isinstance(event, OperatorRequest):
            return self.console.handle(event)
        if isinstance(event, CommandRefused):
            self.refusals.append(event)
            return self._on_refused(event, now)
        if isinstance(event, TimerFired):
            return self._on_timer(event, now)
        if isinstance(event, ActionState):
            outcome = self.actions.on_action_state(event)
            return self._action_ended(outcome, now) if outcome is not None else []
        if isinstance(event, ScannerState):
            self.stations.on_scanner(event, now)
            return []
        if isinstance(event, VehiclePosition):
            return []
        raise TypeError(f"{self.name} controller got an unknown event {event!r}")

    def operator_status(self) -> dict[str, object]:
        """What the control room shows of the operators' state, as plain data."""
        return self.console.status()

    def on_operator_change(self) -> None:
        """An operator changed what the fleet or the lanes can do: a planning controller re-plans."""

    def wait_reasons(self) -> dict[str, str]:
        """Why each carrier that is not moving waits (for the deadlock watch)."""
        reasons = {cid: f"behind {other}" for cid, other in self.traffic.blocked_by().items()}
        for rec in self.carriers.values():
            if rec.carrier_id in reasons:
                continue
            if rec.carrier_id in self.unplaced:
                reasons[rec.carrier_id] = f"not placed: {self.unplaced[rec.carrier_id]}"
            elif rec.carrier_id in self.traffic.standing:
                reasons[rec.carrier_id] = f"stands: {self.traffic.standing[rec.carrier_id]}"
            elif (trip := self.traffic.trips.get(rec.carrier_id)) is not None and trip.aborted:
                reasons[rec.carrier_id] = f"its trip was aborted by an operator at {trip.route.node_ids[trip.position]}"
            elif rec.carrier_id in self.traffic.stalled:
                reasons[rec.carrier_id] = f"stalled: {self.traffic.stalled[rec.carrier_id]}"
            elif rec.carrier_id in self.traffic.lost:
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

    def _on_carrier(self, st: CarrierState, now: float) -> list[Command]:
        rec = self.carriers[st.device_id]
        rec.battery_pct = st.battery_pct
        rec.load = st.load
        was_faulty, rec.fault = rec.fault, bool(st.errors)
        out: list[Command] = self._traffic_said(st.device_id, self.traffic.on_state(st, now))
        for outcome in self.actions.on_state(st):
            out.extend(self._action_ended(outcome, now))
        if not rec.known:  # its first report tells where it stands
            rec.known = True
            rec.side = _yard_of(st.last_node_id) if st.position_initialized else None
            if rec.side is None and st.device_id not in self.traffic.trips:
                self._unplaced(st, now)
            out.extend(self.assign_jobs())
            return out
        if st.device_id in self.unplaced:
            rec.side = _yard_of(st.last_node_id) if st.position_initialized else None
            if rec.side is not None:  # placed (initPosition): it takes jobs from here
                del self.unplaced[st.device_id]
                out.extend(self.assign_jobs())
            return out
        if st.order_finished and self.traffic.arrived(st):
            out.extend(self.traffic.finish(st.device_id))
            rec.side = _yard_of(st.last_node_id)
            out.extend(self._arrived(rec))
        elif rec.status == CHARGING and st.charging:
            rec.charge_began = True
        elif rec.status == CHARGING and rec.charge_began and not st.charging:
            out.extend(self._charge_ended(rec))
        if was_faulty and not rec.fault and rec.status == IDLE:
            out.extend(self.assign_jobs())
        return out

    def _charge_ended(self, rec: CarrierRecord) -> list[Command]:
        """Full, or told to stop charging: the charger is free and the carrier works on."""
        if rec.status != CHARGING or rec.side is None:
            return []
        rec.charge_began = False
        rec.status = IDLE
        self.yards[rec.side].chargers_free += 1
        return [*self.next_charger(rec.side), *self.on_free(rec)]

    # --- instant actions followed to their end ----------------------------------------------

    def _action_ended(self, outcome: ActionOutcome, now: float) -> list[Command]:
        action, cid = outcome.action, outcome.action.carrier_id
        if cid not in self.carriers:
            return []
        if outcome.ok:  # whatever was said of this kind of action before is over
            said = self.unanswered.get(cid, {})
            said.pop(action.action_type, None)
            if not said:
                self.unanswered.pop(cid, None)
        else:
            why = f"{action.action_type} {action.action_id} was not carried out: {outcome.why}"
            self.unanswered.setdefault(cid, {})[action.action_type] = why
            self.traffic.alarms.append(CarrierAlarm(cid, "action_failed", why, now))
        if action.action_type == "cancelOrder":
            return self._trip_cancelled(cid, now) if outcome.ok else self.traffic.cancel_failed(cid)
        if action.action_type == "stopCharging" and outcome.ok:
            return self._charge_ended(self.carriers[cid])
        return []

    def _unanswered_scan(self, now: float) -> None:
        for action in self.actions.overdue(now):
            why = (
                f"no answer to {action.action_type} {action.action_id} for {now - action.sent_at:.0f} s:"
                " it may not have taken effect"
            )
            self.unanswered.setdefault(action.carrier_id, {})[action.action_type] = why
            self.traffic.alarms.append(CarrierAlarm(action.carrier_id, "no_answer", why, now))

    def abort_trip(self, rec: CarrierRecord) -> list[Command]:
        """An operator aborts the carrier's trip: it is told cancelOrder, and stops at its next node."""
        if not self.traffic.cancel(rec.carrier_id, "abort"):
            return []
        return [self._instant(rec.carrier_id, "cancelOrder")]

    def _trip_cancelled(self, cid: str, now: float) -> list[Command]:
        rec = self.carriers[cid]
        origin = self.traffic.from_side(cid)
        purpose, where, out = self.traffic.cancelled(cid, now)
        if where == "end":  # it had reached the far yard: the trip is done
            rec.side = other_side(origin) if origin else None
            return [*out, *self._arrived(rec)]
        if where == "lane":  # aborted on the lane: it stands there (re-routed: it drives on)
            if purpose == "abort":
                self.operator.out_of_service.add(cid)
            return out
        if where != "start" or origin is None:
            return out
        rec.side = origin
        direction = direction_from(origin)
        if purpose == "reroute":  # off the closed lane: the same crossing by another
            return [*out, *self.cross(rec, direction)]
        self.operator.out_of_service.add(cid)
        if rec.status == TO_JOB and rec.job is not None:  # the job goes back to its queue
            job, rec.job = rec.job, None
            bisect.insort(self.yards[job.yard].jobs, (self.job_key(job), job), key=lambda kv: kv[0])
        if rec.status == CROSSING:  # it keeps its container and crosses once returned to service
            self.aborted_crossings[cid] = direction
        else:
            rec.status = IDLE
        return [*out, *self.assign_jobs()]

    def _instant(self, carrier_id: str, action_type: str) -> InstantActions:
        self._orders += 1
        return InstantActions(carrier_id, (Action(action_type, f"{action_type}-{self._orders}"),))

    def _unplaced(self, st: CarrierState, now: float) -> None:
        """A vehicle that comes online where the controllers know no node gets no job: it
        is shown with an alarm until an operator places it at a yard (initPosition)."""
        if not st.position_initialized:
            why = "says it is not localised (positionInitialized false): an operator must place it (initPosition)"
        else:
            where = f"lastNodeId {st.last_node_id!r}" if st.last_node_id else "no lastNodeId"
            why = f"reports {where}, which is no yard of this site: an operator must place it (initPosition)"
        self.unplaced[st.device_id] = why
        self.traffic.alarms.append(CarrierAlarm(st.device_id, "unplaced", why, now))

    def _on_refused(self, event: CommandRefused, now: float) -> list[Command]:
        """A vehicle refused an order: the trip it belongs to is sent again or stands."""
        if event.command == "InstantActions":
            outcome = self.actions.refused(event.device_id, event.reference("actionId"), event.reason)
            return self._action_ended(outcome, now) if outcome is not None else []
        order_id = event.reference("orderId")
        if event.command != "Order" or event.device_id not in self.carriers or order_id is None:
            return []
        update = event.reference("orderUpdateId")
        update_id = int(update) if update is not None and update.isdigit() else None
        return self._traffic_said(event.device_id, self.traffic.refused(event.device_id, order_id, update_id, event.reason, now))

    def _on_timer(self, event: TimerFired, now: float) -> list[Command]:
        if event.tag.startswith(RESEND):
            return self.traffic.resend(event.tag.removeprefix(RESEND))
        if event.tag == STALL_SCAN:
            self.traffic.stall_scan(now)
            self._unanswered_scan(now)
            return [SetTimer(STALL_SCAN_S, STALL_SCAN)]
        return []

    def _traffic_said(self, carrier_id: str, out: list[Command]) -> list[Command]:
        """A carrier whose vehicle would not take up its order is out of service until an
        operator returns it (which sends its order again)."""
        if carrier_id in self.traffic.standing:
            self.operator.out_of_service.add(carrier_id)
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
            return self.on_free(rec)
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

    def on_free(self, rec: CarrierRecord) -> list[Command]:
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
            return self.to_charger(rec)
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

    def next_charger(self, side: Side) -> list[Command]:
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

    def to_charger(self, rec: CarrierRecord) -> list[Command]:
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
        return self._instant(carrier_id, "startCharging")

    def cross(self, rec: CarrierRecord, direction: Direction) -> list[Command]:
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

    def assign_jobs(self) -> list[Command]:
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
        return self.cross(rec, direction_from(other_side(job.yard)))

    def _reposition(self, rec: CarrierRecord) -> list[Command]:
        """Send an idle carrier empty to the other yard, where it will be needed."""
        assert rec.side is not None and rec.status == IDLE
        rec.status = REPOSITIONING
        return self.cross(rec, direction_from(rec.side))

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

    def close_lane(self, lane: int) -> list[Command]:
        """No new crossings on the lane; carriers that have not yet left their yard on it are
        cancelled there and sent by another lane. Returns their cancelOrders."""
        self.lanes.close(lane)
        out: list[Command] = []
        for cid in list(self.traffic.lane_queue[lane]):
            trip = self.traffic.trips[cid]
            if trip.position == 0 and cid not in self.traffic.standing and self.traffic.cancel(cid, "reroute"):
                out.append(self._instant(cid, "cancelOrder"))
        return out

    def open_lane(self, lane: int) -> None:
        self.lanes.open(lane)

    def set_lane_direction(self, lane: int, direction: Direction) -> None:
        self.lanes.set_direction(lane, direction, self.traffic.carriers_on)
        self.pinned_lanes.add(lane)  # an operator's choice: a planning controller keeps it

    def after_free(self, rec: CarrierRecord) -> list[Command]:
        """A carrier became free at a yard: by default, give out waiting jobs."""
        return self.assign_jobs()

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

    def _on_crane(self, st: CraneState, now: float) -> list[Command]:
        desk = self.yards[st.yard]
        out: list[Command] = []
        if st.fault:
            self.cranes.faulted(st.device_id, st.reason, now)
            desk.faulty_cranes.add(st.device_id)
            if st.device_id in desk.idle_cranes:
                desk.idle_cranes.remove(st.device_id)
        else:
            self.cranes.back(st.device_id, st.reason or "back", now)
            desk.faulty_cranes.discard(st.device_id)
            if not st.busy and st.device_id not in desk.idle_cranes:
                desk.idle_cranes.append(st.device_id)
        # a report that ends a move names its container (and, for a carrier, the carrier);
        # one that does not changes nothing here
        container, carrier = st.container_id, st.carrier_id
        if st.done_op == "load" and carrier is not None:
            rec = self.carriers[carrier]
            rec.status = CROSSING
            rec.load = container
            assert rec.job is not None
            out.extend(self.cross(rec, rec.job.direction))
        elif st.done_op == "unload" and carrier is not None:
            rec = self.carriers[carrier]
            rec.load = None
            if st.placed_on == "stack" and container is not None:
                desk.in_stack.add(container)
                if container in desk.pickups_waiting:  # its truck came during the move
                    desk.pickups_waiting.discard(container)
                    out.extend(self._crane_task(st.yard, CraneCommand("", "deliver", container)))
            out.extend(self.on_free(rec))
        elif st.done_op == "deliver" and container is not None:
            desk.in_stack.discard(container)
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
