"""The operator console's side of the site controller: what operators ask of the fleet.

The control room is one more device: its `OperatorRequest` events pause and resume
carriers or the whole corridor, stop everything in an emergency, send carriers to a
charger or out of service and change lanes, each answered by exactly one
`OperatorReply`. The reasons a carrier is stopped (its own pause, the corridor's, the
emergency stop) are kept apart, so lifting one never lifts another. A request comes
from a person through a web form: every handler checks it before it changes anything
and answers a bad one with a refusal, never an exception.

`OperatorConsole` is a collaborator of the site controller: it is handed the
controller as a `ConsoleSite` (its carriers, lanes, traffic and holds, and its
dispatching) and carries out each action through a table, one handler per action.

Every reply carries a `code` from `REPLY_CODES` and the `args` its sentence uses, so the
control room can say it in Vietnamese; `detail` is the same sentence in English.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, get_args

from controllers.lanes import DIRECTION_OF_HEADING, HEADING_OF, LanePlan, LaneRefused
from controllers.layout import YARD_NODE
from controllers.messages import (
    Action,
    Command,
    Direction,
    InstantActions,
    OperatorAction,
    OperatorReply,
    OperatorRequest,
    Side,
)
from controllers.records import CHARGING, IDLE, WAIT_CHARGER, CarrierRecord
from controllers.traffic import TrafficControl

TOWARD: dict[Direction, str] = {"export": "to China", "import": "to Vietnam"}
OPERATOR_ACTIONS: tuple[str, ...] = get_args(OperatorAction)  # each has a handler in `OperatorConsole`

# Every code a reply may carry (the page has a sentence for each, in both languages).
# Args: carrier, lane, last (highest lane number), heading (to_china/to_vietnam), side
# (vietnam/china), status (a carrier status), n (a number of carriers), carriers (ids,
# comma-separated), why (stop reasons from STOP_REASONS, comma-separated), action, field,
# value (what was given, as text).
REPLY_CODES: tuple[str, ...] = (
    # bad requests
    "unknown_action", "needs_field", "unknown_carrier", "bad_lane", "unknown_lane", "bad_direction", "estop_on",
    # the corridor and the emergency stop
    "corridor_paused", "corridor_already_paused", "corridor_not_paused", "corridor_resumed",
    "corridor_resumed_estop_on", "corridor_resumed_some_paused",
    "estop_engaged", "estop_again", "estop_not_on", "estop_released", "estop_released_corridor_paused",
    "estop_released_some_paused",
    # one carrier
    "carrier_paused", "carrier_paused_already_stopped", "already_paused", "carrier_resumed",
    "carrier_resumed_still_stopped", "not_paused",
    "not_reported", "already_charging", "already_waiting_charger", "already_due_charger", "charger_after_job",
    "charger_when_released", "sent_to_charger", "waiting_for_charger",
    "already_out_of_service", "out_of_service", "out_of_service_at", "out_of_service_after_charge",
    "out_of_service_after_job", "not_out_of_service", "back_in_service", "back_in_service_still_stopped",
    "bad_yard", "not_unplaced", "placing",
    "no_trip", "already_aborting", "aborting", "not_charging", "stopping_charge",
    # lanes
    "lane_already_closed", "lane_closed", "lane_closed_carriers_on", "lane_closed_rerouted", "lane_not_closed", "lane_opened",
    "last_open_lane", "not_reversible", "lane_turning", "lane_already_runs", "lane_turned",
)
STOP_REASONS: tuple[str, ...] = ("estop", "corridor", "operator")  # the parts of `why`


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
        """Why the carrier stands still, as codes from STOP_REASONS."""
        out = []
        if self.estop:
            out.append("estop")
        if self.corridor_paused:
            out.append("corridor")
        if carrier_id in self.paused:
            out.append("operator")
        return out


class Said(NamedTuple):
    """A reply's sentence: its code, its English wording and the values it uses."""

    code: str
    detail: str
    args: tuple[tuple[str, str | int], ...] = ()


def _say(code: str, detail: str, **args: str | int) -> Said:
    return Said(code, detail, tuple(args.items()))


_Outcome = tuple[bool, Said, list[Command]]  # ok, what to reply, device commands
_REASON_TEXT = {"estop": "the emergency stop is on", "corridor": "the corridor is paused"}


def _carriers(n: int) -> str:
    return f"{n} carrier" if n == 1 else f"{n} carriers"


class ConsoleSite(Protocol):
    """What the console needs of the site controller it serves."""

    carriers: dict[str, CarrierRecord]
    lanes: LanePlan
    traffic: TrafficControl
    operator: OperatorHolds
    pinned_lanes: set[int]
    unplaced: dict[str, str]
    aborted_crossings: dict[str, Direction]
    now: float  # model seconds of the latest event

    @property
    def dispatch_held(self) -> bool: ...

    def assign_jobs(self) -> list[Command]: ...

    def on_free(self, rec: CarrierRecord) -> list[Command]: ...

    def cross(self, rec: CarrierRecord, direction: Direction) -> list[Command]: ...

    def next_charger(self, side: Side) -> list[Command]: ...

    def to_charger(self, rec: CarrierRecord) -> list[Command]: ...

    def close_lane(self, lane: int) -> list[Command]: ...

    def abort_trip(self, rec: CarrierRecord) -> list[Command]: ...

    def open_lane(self, lane: int) -> None: ...

    def set_lane_direction(self, lane: int, direction: Direction) -> None: ...

    def on_operator_change(self) -> None: ...


class OperatorConsole:
    """Operator requests, handled for the site controller it is given."""

    def __init__(self, site: ConsoleSite) -> None:
        self.site = site
        self._actions = itertools.count(1)  # ids of pause actions
        self.handlers: dict[str, Callable[[OperatorRequest], _Outcome]] = {
            "pause_corridor": self._pause_corridor,
            "resume_corridor": self._resume_corridor,
            "estop_all": self._estop_all,
            "release_estop": self._release_estop,
            "pause_carrier": self._pause_carrier,
            "resume_carrier": self._resume_carrier,
            "send_to_charger": self._send_to_charger,
            "send_to_maintenance": self._send_to_maintenance,
            "return_to_service": self._return_to_service,
            "close_lane": self._close_lane,
            "open_lane": self._open_lane,
            "set_lane_direction": self._set_lane_direction,
            "place_carrier": self._place_carrier,
            "abort_trip": self._abort_trip,
            "stop_charging": self._stop_charging,
        }
        missing = set(OPERATOR_ACTIONS) ^ set(self.handlers)
        assert not missing, f"operator actions without a handler, or handlers without an action: {missing}"

    def handle(self, req: OperatorRequest) -> list[Command]:
        """Carry out one operator action: its device commands, then its one reply."""
        out: list[Command] = []
        handler = self.handlers.get(req.action) if isinstance(req.action, str) else None
        if handler is None:
            ok, said = False, _say(
                "unknown_action", f"unknown action {req.action!r}; known: {', '.join(OPERATOR_ACTIONS)}",
                action=str(req.action),
            )
        else:
            ok, said, out = handler(req)
            if ok:
                self.site.on_operator_change()
        return [*out, OperatorReply(req.console_id, req.request_id, ok, said.detail, said.code, said.args)]

    def status(self) -> dict[str, object]:
        """What the control room shows of the operators' state, as plain data."""
        op = self.site.operator
        busy = (IDLE, CHARGING, WAIT_CHARGER)
        return {
            "corridor_paused": op.corridor_paused,
            "estop": op.estop,
            "dispatch_held": self.site.dispatch_held,
            "paused_carriers": sorted(op.paused),
            "stopped_carriers": sorted(cid for cid in self.site.carriers if op.holds(cid)),
            "maintenance": sorted(op.out_of_service),  # out of service, those finishing a job included
            "maintenance_pending": sorted(cid for cid in op.out_of_service if self.site.carriers[cid].status not in busy),
            "charger_requested": sorted(op.to_charger),
            "waiting_for_charger": sorted(c.carrier_id for c in self.site.carriers.values() if c.status == WAIT_CHARGER),
            "charging": sorted(c.carrier_id for c in self.site.carriers.values() if c.status == CHARGING),
            "held_crossings": sorted(op.held_crossings),
            "lanes": [
                {
                    "lane": lane,
                    "direction": HEADING_OF[self.site.lanes.direction[lane]],
                    "turning_to": HEADING_OF[self.site.lanes.switching[lane]] if lane in self.site.lanes.switching else None,
                    "reversible": lane in self.site.lanes.reversible,
                    "closed": lane in self.site.lanes.closed,
                    "pinned": lane in self.site.pinned_lanes,
                    "carriers_on": self.site.traffic.carriers_on(lane),
                }
                for lane in sorted(self.site.lanes.direction)
            ],
        }

    # --- stopping and releasing carriers

    def _pause(self, carrier_id: str, on: bool) -> InstantActions:
        kind = "startPause" if on else "stopPause"
        return InstantActions(carrier_id, (Action(kind, f"{'pause' if on else 'resume'}-{next(self._actions)}"),))

    def _rehold(self, change: Callable[[], None]) -> tuple[list[str], list[str], list[Command]]:
        """Apply a change to the holds; pause the carriers it stops, resume those it
        releases and let them carry on. Returns (stopped, released, commands)."""
        before = {cid for cid in self.site.carriers if self.site.operator.holds(cid)}
        change()
        after = {cid for cid in self.site.carriers if self.site.operator.holds(cid)}
        stopped = [cid for cid in self.site.carriers if cid in after and cid not in before]
        released = [cid for cid in self.site.carriers if cid in before and cid not in after]
        out: list[Command] = [self._pause(cid, True) for cid in stopped]
        out.extend(self._pause(cid, False) for cid in released)
        for cid in released:  # all holds are updated first, so each sees the others free
            out.extend(self._carry_on(self.site.carriers[cid]))
        if released:
            out.extend(self.site.assign_jobs())
        return stopped, released, out

    def _carry_on(self, rec: CarrierRecord) -> list[Command]:
        """A released carrier picks up where the stop left it."""
        direction = self.site.operator.held_crossings.pop(rec.carrier_id, None)
        if direction is not None:
            return self.site.cross(rec, direction)
        if rec.status == IDLE and rec.known and rec.side is not None:
            return self.site.on_free(rec)
        if rec.status == WAIT_CHARGER and rec.side is not None:
            return self.site.next_charger(rec.side)
        return []

    def _why(self, carrier_id: str) -> str:
        """The codes of what still stops the carrier, for a reply's `why` arg."""
        return ",".join(self.site.operator.reasons(carrier_id))

    def _still(self, carrier_id: str) -> str:
        reasons = [_REASON_TEXT.get(r, f"{carrier_id} is paused by an operator") for r in self.site.operator.reasons(carrier_id)]
        return f" ({'; '.join(reasons)})" if reasons else ""

    # --- argument checks: a record, or the reason for refusing

    def _carrier_of(self, req: OperatorRequest) -> CarrierRecord | Said:
        cid = req.carrier_id
        if cid is None or cid == "":
            return _say("needs_field", f"{req.action} needs carrier_id", action=req.action, field="carrier_id")
        if not isinstance(cid, str) or cid not in self.site.carriers:
            return _say("unknown_carrier", f"there is no carrier {cid!r}", carrier=str(cid))
        return self.site.carriers[cid]

    def _lane_of(self, req: OperatorRequest) -> int | Said:
        lane = req.lane
        if lane is None:
            return _say("needs_field", f"{req.action} needs lane", action=req.action, field="lane")
        if isinstance(lane, bool) or not isinstance(lane, int):
            return _say("bad_lane", f"lane must be a lane number, not {lane!r}", value=repr(lane))
        last = len(self.site.lanes.direction) - 1
        if lane not in self.site.lanes.direction:
            return _say("unknown_lane", f"there is no lane {lane}; lanes are numbered 0 to {last}", lane=lane, last=last)
        if self.site.operator.estop:
            return _say("estop_on", "the emergency stop is on: lane changes wait until it is released")
        return lane

    # --- the actions (each returns ok, what to reply, commands)

    def _pause_corridor(self, req: OperatorRequest) -> _Outcome:
        if self.site.operator.corridor_paused:
            return False, _say("corridor_already_paused", "the corridor is already paused"), []
        stopped, _, out = self._rehold(lambda: setattr(self.site.operator, "corridor_paused", True))
        n = len(stopped)
        return True, _say(
            "corridor_paused", f"corridor paused: {_carriers(n)} told to pause, no new jobs until it resumes", n=n
        ), out

    def _resume_corridor(self, req: OperatorRequest) -> _Outcome:
        if not self.site.operator.corridor_paused:
            return False, _say("corridor_not_paused", "the corridor is not paused"), []
        _, released, out = self._rehold(lambda: setattr(self.site.operator, "corridor_paused", False))
        still = sorted(cid for cid in self.site.carriers if self.site.operator.holds(cid))
        n = len(released)
        detail = f"corridor resumed: {_carriers(n)} told to resume"
        if self.site.operator.estop:
            return True, _say("corridor_resumed_estop_on", f"{detail}; the emergency stop is still on", n=n), out
        if still:
            return True, _say(
                "corridor_resumed_some_paused", f"{detail}; still paused by an operator: {', '.join(still)}",
                n=n, carriers=", ".join(still),
            ), out
        return True, _say("corridor_resumed", detail, n=n), out

    def _estop_all(self, req: OperatorRequest) -> _Outcome:
        was_on = self.site.operator.estop
        self.site.operator.estop = True
        # every carrier, even one already paused: an emergency stop does not rely on
        # what the controller believes
        out: list[Command] = [self._pause(cid, True) for cid in self.site.carriers]
        n = len(out)
        if was_on:
            return True, _say(
                "estop_again", f"the emergency stop was already on; pause sent again to all {_carriers(n)}", n=n
            ), out
        return True, _say(
            "estop_engaged",
            f"emergency stop: all {_carriers(n)} told to pause; no dispatch, lane or job changes until released",
            n=n,
        ), out

    def _release_estop(self, req: OperatorRequest) -> _Outcome:
        if not self.site.operator.estop:
            return False, _say("estop_not_on", "the emergency stop is not on"), []
        _, released, out = self._rehold(lambda: setattr(self.site.operator, "estop", False))
        still = sorted(cid for cid in self.site.carriers if self.site.operator.holds(cid))
        n = len(released)
        detail = f"emergency stop released: {_carriers(n)} told to resume"
        if self.site.operator.corridor_paused:
            return True, _say("estop_released_corridor_paused", f"{detail}; the corridor stays paused", n=n), out
        if still:
            return True, _say(
                "estop_released_some_paused", f"{detail}; still paused by an operator: {', '.join(still)}",
                n=n, carriers=", ".join(still),
            ), out
        return True, _say("estop_released", detail, n=n), out

    def _pause_carrier(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        if cid in self.site.operator.paused:
            return False, _say("already_paused", f"carrier {cid} is already paused", carrier=cid), []
        stopped, _, out = self._rehold(lambda: self.site.operator.paused.add(cid))
        if stopped:
            return True, _say(
                "carrier_paused", f"carrier {cid} paused; it keeps its blocks and gets no new job until resumed",
                carrier=cid,
            ), out
        # the reasons it was already stopped, without this pause (which is now one of them)
        why = ",".join(r for r in self.site.operator.reasons(cid) if r != "operator")
        still = f" ({'; '.join(_REASON_TEXT[r] for r in why.split(','))})" if why else ""
        return True, _say(
            "carrier_paused_already_stopped",
            f"carrier {cid} paused; it was already stopped{still} and stays paused when that is lifted",
            carrier=cid, why=why,
        ), out

    def _resume_carrier(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        if cid not in self.site.operator.paused:
            return False, _say("not_paused", f"carrier {cid} is not paused by an operator", carrier=cid), []
        _, released, out = self._rehold(lambda: self.site.operator.paused.discard(cid))
        if released:
            return True, _say("carrier_resumed", f"carrier {cid} resumed", carrier=cid), out
        return True, _say(
            "carrier_resumed_still_stopped",
            f"carrier {cid} is no longer paused by an operator but stays stopped{self._still(cid)}",
            carrier=cid, why=self._why(cid),
        ), out

    def _send_to_charger(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        side = str(rec.side)
        if not rec.known:
            return False, _say("not_reported", f"carrier {cid} has not reported yet", carrier=cid), []
        if rec.status == CHARGING:
            return False, _say("already_charging", f"carrier {cid} is already charging", carrier=cid), []
        if rec.status == WAIT_CHARGER:
            return False, _say(
                "already_waiting_charger",
                f"carrier {cid} is already waiting for a charger at the {side.capitalize()} yard",
                carrier=cid, side=side,
            ), []
        if cid in self.site.operator.to_charger:
            return False, _say("already_due_charger", f"carrier {cid} is already due to go to a charger", carrier=cid), []
        if rec.status != IDLE or rec.side is None:
            self.site.operator.to_charger.add(cid)
            return True, _say(
                "charger_after_job", f"carrier {cid} is busy ({rec.status}); it goes to a charger after its current job",
                carrier=cid, status=rec.status,
            ), []
        if self.site.operator.holds(cid):
            self.site.operator.to_charger.add(cid)
            return True, _say(
                "charger_when_released", f"carrier {cid} goes to a charger once it is released{self._still(cid)}",
                carrier=cid, why=self._why(cid),
            ), []
        out = self.site.to_charger(rec)
        if rec.status == CHARGING:
            return True, _say(
                "sent_to_charger", f"carrier {cid} sent to a charger at the {side.capitalize()} yard",
                carrier=cid, side=side,
            ), out
        return True, _say(
            "waiting_for_charger", f"carrier {cid} waits for a charger at the {side.capitalize()} yard: all are taken",
            carrier=cid, side=side,
        ), out

    def _send_to_maintenance(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        if cid in self.site.operator.out_of_service:
            return False, _say("already_out_of_service", f"carrier {cid} is already out of service", carrier=cid), []
        self.site.operator.out_of_service.add(cid)
        if rec.status == IDLE:
            if rec.side is not None:
                return True, _say(
                    "out_of_service_at", f"carrier {cid} is out of service at the {str(rec.side).capitalize()} yard",
                    carrier=cid, side=str(rec.side),
                ), []
            return True, _say("out_of_service", f"carrier {cid} is out of service", carrier=cid), []
        if rec.status in (CHARGING, WAIT_CHARGER):
            return True, _say(
                "out_of_service_after_charge", f"carrier {cid} is out of service once it has charged", carrier=cid
            ), []
        return True, _say(
            "out_of_service_after_job", f"carrier {cid} goes out of service after its current job ({rec.status})",
            carrier=cid, status=rec.status,
        ), []

    def _return_to_service(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        if cid not in self.site.operator.out_of_service:
            return False, _say("not_out_of_service", f"carrier {cid} is not out of service", carrier=cid), []
        self.site.operator.out_of_service.discard(cid)
        out: list[Command] = self.site.traffic.try_again(cid, self.site.now)  # a carrier that stood: its order again
        direction = self.site.aborted_crossings.pop(cid, None)
        if direction is not None:  # its crossing was aborted before it left the yard
            out.extend(self.site.cross(rec, direction))
        elif rec.status == IDLE and rec.known and rec.side is not None:
            out.extend(self.site.on_free(rec))  # takes a job now if one waits (or charges if it must)
        if self.site.operator.holds(cid):
            return True, _say(
                "back_in_service_still_stopped", f"carrier {cid} is back in service but stays stopped{self._still(cid)}",
                carrier=cid, why=self._why(cid),
            ), out
        return True, _say("back_in_service", f"carrier {cid} is back in service", carrier=cid), out

    def _place_carrier(self, req: OperatorRequest) -> _Outcome:
        """Tell a vehicle that came online off the site's nodes that it stands at a yard
        (initPosition); it takes jobs once it reports from there."""
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid, yard = rec.carrier_id, req.yard
        if not isinstance(yard, str) or yard not in YARD_NODE:
            return False, _say("bad_yard", f"place_carrier needs yard vietnam or china, not {yard!r}", value=repr(yard)), []
        if cid not in self.site.unplaced:
            return False, _say("not_unplaced", f"carrier {cid} is not waiting to be placed", carrier=cid), []
        place = Action("initPosition", f"place-{next(self._actions)}", "NONE", (("lastNodeId", YARD_NODE[yard]),))
        return True, _say(
            "placing", f"carrier {cid} told it stands at the {yard.capitalize()} yard; it takes jobs once it reports there",
            carrier=cid, side=yard,
        ), [InstantActions(cid, (place,))]

    def _abort_trip(self, req: OperatorRequest) -> _Outcome:
        """Cancel a carrier's trip (cancelOrder): it stops at its next node and stands there,
        out of service, until returned to service, when it drives on to where it was going."""
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        trip = self.site.traffic.trips.get(cid)
        if trip is None or trip.aborted:
            return False, _say("no_trip", f"carrier {cid} is not on a trip", carrier=cid), []
        if trip.cancelling:
            return False, _say("already_aborting", f"carrier {cid} has already been told to cancel its order", carrier=cid), []
        return True, _say(
            "aborting",
            f"carrier {cid} told to cancel its order: it stops at its next node and stands there until returned to service",
            carrier=cid,
        ), self.site.abort_trip(rec)

    def _stop_charging(self, req: OperatorRequest) -> _Outcome:
        rec = self._carrier_of(req)
        if isinstance(rec, Said):
            return False, rec, []
        cid = rec.carrier_id
        if rec.status != CHARGING:
            return False, _say("not_charging", f"carrier {cid} is not charging", carrier=cid), []
        stop = InstantActions(cid, (Action("stopCharging", f"stop-charge-{next(self._actions)}"),))
        return True, _say(
            "stopping_charge", f"carrier {cid} told to stop charging; it takes jobs once it has", carrier=cid
        ), [stop]

    def _close_lane(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, Said):
            return False, lane, []
        if lane in self.site.lanes.closed:
            return False, _say("lane_already_closed", f"lane {lane} is already closed", lane=lane), []
        try:
            rerouted = self.site.close_lane(lane)
        except LaneRefused as refused:
            return False, _refusal(refused), []
        on = self.site.traffic.carriers_on(lane) - len(rerouted)
        d = self.site.lanes.direction[lane]
        head = f"lane {lane} ({TOWARD[d]}) closed: no new crossings"
        if rerouted:
            n = len(rerouted)
            return True, _say(
                "lane_closed_rerouted", f"{head}; {_carriers(n)} not yet set off told to cancel and go by another lane",
                lane=lane, heading=HEADING_OF[d], n=n,
            ), rerouted
        if on:
            return True, _say(
                "lane_closed_carriers_on", f"{head}; the {_carriers(on)} on it finish their crossing",
                lane=lane, heading=HEADING_OF[d], n=on,
            ), []
        return True, _say("lane_closed", head, lane=lane, heading=HEADING_OF[d]), []

    def _open_lane(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, Said):
            return False, lane, []
        if lane not in self.site.lanes.closed:
            return False, _say("lane_not_closed", f"lane {lane} is not closed", lane=lane), []
        try:
            self.site.open_lane(lane)
        except LaneRefused as refused:
            return False, _refusal(refused), []
        d = self.site.lanes.heading(lane)
        return True, _say("lane_opened", f"lane {lane} ({TOWARD[d]}) open", lane=lane, heading=HEADING_OF[d]), []

    def _set_lane_direction(self, req: OperatorRequest) -> _Outcome:
        lane = self._lane_of(req)
        if isinstance(lane, Said):
            return False, lane, []
        if req.direction is None:
            return False, _say(
                "needs_field", "set_lane_direction needs direction (to_china or to_vietnam)",
                action=req.action, field="direction",
            ), []
        direction = DIRECTION_OF_HEADING.get(req.direction) if isinstance(req.direction, str) else None
        if direction is None:
            return False, _say(
                "bad_direction", f"direction must be to_china or to_vietnam, not {req.direction!r}",
                value=repr(req.direction),
            ), []
        was = self.site.lanes.heading(lane)
        try:
            self.site.set_lane_direction(lane, direction)
        except LaneRefused as refused:
            return False, _refusal(refused), []
        toward, heading = TOWARD[direction], HEADING_OF[direction]
        if lane in self.site.lanes.switching:
            on = self.site.traffic.carriers_on(lane)
            left = f"the {_carriers(on)} on it {'has' if on == 1 else 'have'} left"
            return True, _say(
                "lane_turning", f"lane {lane} turns {toward} once {left}; no new crossings until then",
                lane=lane, heading=heading, n=on,
            ), []
        if was == direction:
            return True, _say("lane_already_runs", f"lane {lane} already runs {toward}; it stays so", lane=lane, heading=heading), []
        return True, _say("lane_turned", f"lane {lane} now runs {toward}", lane=lane, heading=heading), []


def _refusal(refused: LaneRefused) -> Said:
    """A lane plan's refusal as a reply: its English message, its code and values."""
    return Said(refused.code, str(refused), refused.values)
