"""The operator console's side of the site controller: what operators ask of the fleet.

The control room is one more device: its `OperatorRequest` events pause and resume
carriers or the whole corridor, stop everything in an emergency, send carriers to a
charger or out of service and change lanes, each answered by exactly one
`OperatorReply`. The reasons a carrier is stopped (its own pause, the corridor's, the
emergency stop) are kept apart, so lifting one never lifts another. A request comes
from a person through a web form: every handler checks it before it changes anything
and answers a bad one with a refusal, never an exception.

`OperatorConsole` is a part of `SiteController` (a mixin): it uses the controller's
carriers, lanes and traffic, and its dispatching (`_assign`, `_free`, `_cross`,
`_next_charger`, `_to_charger`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, get_args

from controllers.lanes import LanePlan, LaneRefused
from controllers.messages import (
    Action,
    Command,
    Direction,
    InstantActions,
    OperatorAction,
    OperatorReply,
    OperatorRequest,
)
from controllers.records import CHARGING, IDLE, WAIT_CHARGER, CarrierRecord
from controllers.traffic import TrafficControl

if TYPE_CHECKING:
    import itertools

HEADING: dict[str, Direction] = {"to_china": "export", "to_vietnam": "import"}
HEADING_OF: dict[Direction, str] = {d: h for h, d in HEADING.items()}
TOWARD: dict[Direction, str] = {"export": "to China", "import": "to Vietnam"}
OPERATOR_ACTIONS: tuple[str, ...] = get_args(OperatorAction)  # each is carried out by `_op_<action>`


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


class OperatorConsole:
    """Operator requests, handled for the site controller this is part of."""

    # what the site controller provides
    carriers: dict[str, CarrierRecord]
    lanes: LanePlan
    traffic: TrafficControl
    operator: OperatorHolds
    pinned_lanes: set[int]
    _actions: itertools.count[int]

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
