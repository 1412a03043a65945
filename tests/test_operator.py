"""Operator commands: the control-room console is one more device on the runtime.

First the controllers on plain data (requests in, one reply and the device commands
out), then through the twin, where the truth is the carriers' positions and orders.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, get_args

import pytest
from conftest import make_scenario, reference_data
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fifo import crane_done, cstate, init, lane_of, load_and_cross, make_layout, of, one, ready, task

from controllers.actions import ACTION_TIMEOUT_S
from controllers.console import OPERATOR_ACTIONS, REPLY_CODES, STOP_REASONS
from controllers.cpsat import REPLAN, CpsatController
from controllers.fifo import FifoController
from controllers.greedy import GreedyController
from controllers.layout import LANE_REVERSIBLE, LANE_TO_CHINA, LANE_TO_VIETNAM, SiteLayout
from controllers.messages import (
    Action,
    ActionState,
    Command,
    CommandRefused,
    CraneCommand,
    Event,
    InstantActions,
    OperatorAction,
    OperatorReply,
    OperatorRequest,
    Order,
    TimerFired,
)
from controllers.readport import control_view
from controllers.site import SiteController
from controllers.traffic import STALL_SCAN
from twin.carrier import SimCarrier
from twin.world import World

CONSOLE = "console-1"
MAKERS = {"fifo": FifoController, "greedy": GreedyController, "cpsat": CpsatController}
MIXED = (LANE_TO_CHINA, LANE_TO_VIETNAM, LANE_REVERSIBLE, LANE_REVERSIBLE)

_serial = 0


def request(action: str, **fields: Any) -> OperatorRequest:
    global _serial
    _serial += 1
    return OperatorRequest(CONSOLE, f"r{_serial}", action, **fields)  # type: ignore[arg-type]


def ask(ctrl: SiteController, action: str, now: float = 0.0, **fields: Any) -> tuple[OperatorReply, list[Command]]:
    """Send one request; check it gets exactly one reply, to the console, for it."""
    req = request(action, **fields)
    out = ctrl.on_event(req, now)
    reply = one(out, OperatorReply)
    assert (reply.device_id, reply.request_id) == (CONSOLE, req.request_id)
    assert reply.detail
    # every reply can be said in the operator's language: a documented code and plain args
    assert reply.code in REPLY_CODES, reply
    assert all(isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in reply.args), reply
    assert len({k for k, _ in reply.args}) == len(reply.args)
    return reply, [c for c in out if not isinstance(c, OperatorReply)]


def pauses(cmds: list[Command]) -> dict[str, str]:
    """Carrier -> the pause action it was sent."""
    out: dict[str, str] = {}
    for ia in of(cmds, InstantActions):
        for action in ia.actions:
            if action.action_type in ("startPause", "stopPause"):
                out[ia.device_id] = action.action_type
    return out


def controller(name: str, layout: SiteLayout | None = None) -> SiteController:
    return MAKERS[name](layout or make_layout())


# --- the message types ------------------------------------------------------------------


def test_the_console_messages_are_an_event_and_a_command_and_every_action_is_handled() -> None:
    assert OperatorRequest in get_args(Event) and OperatorReply in get_args(Command)
    assert OPERATOR_ACTIONS == get_args(OperatorAction) and len(OPERATOR_ACTIONS) == 15
    handlers = controller("fifo").console.handlers  # the console's table of actions
    assert set(handlers) == set(OPERATOR_ACTIONS) and all(callable(h) for h in handlers.values())


# --- bad requests: a refusal naming what is wrong, never an exception ---------------------

NEEDS_CARRIER = ("pause_carrier", "resume_carrier", "send_to_charger", "send_to_maintenance", "return_to_service")
NEEDS_LANE = ("close_lane", "open_lane", "set_lane_direction")


@pytest.mark.parametrize("action", NEEDS_CARRIER)
def test_a_carrier_action_without_a_known_carrier_is_refused(action: str) -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    reply, cmds = ask(ctrl, action)
    assert not reply.ok and "carrier_id" in reply.detail and cmds == []
    reply, cmds = ask(ctrl, action, carrier_id="C99")
    assert not reply.ok and "no carrier 'C99'" in reply.detail and cmds == []
    reply, _ = ask(ctrl, action, carrier_id=["C1"])  # type: ignore[arg-type]
    assert not reply.ok


@pytest.mark.parametrize("action", NEEDS_LANE)
def test_a_lane_action_without_a_known_lane_is_refused(action: str) -> None:
    ctrl = controller("fifo", make_layout(lanes=MIXED))
    reply, _ = ask(ctrl, action, direction="to_china")
    assert not reply.ok and "needs lane" in reply.detail
    reply, _ = ask(ctrl, action, lane=9, direction="to_china")
    assert not reply.ok and "no lane 9" in reply.detail
    for bad in ("2", True, 2.0):
        reply, _ = ask(ctrl, action, lane=bad, direction="to_china")
        assert not reply.ok and "lane must be a lane number" in reply.detail


def test_unknown_actions_and_bad_directions_are_refused() -> None:
    ctrl = controller("fifo", make_layout(lanes=MIXED))
    reply, _ = ask(ctrl, "self_destruct")
    assert not reply.ok and "unknown action 'self_destruct'" in reply.detail
    reply, _ = ask(ctrl, "set_lane_direction", lane=2)
    assert not reply.ok and "needs direction" in reply.detail
    reply, _ = ask(ctrl, "set_lane_direction", lane=2, direction="north")
    assert not reply.ok and "to_china or to_vietnam" in reply.detail


def test_replies_carry_a_code_and_the_values_their_sentence_uses() -> None:
    """A broad run of requests, good and bad: each reply has its code (checked in `ask`),
    most codes come up, and the values are those a translated sentence needs."""
    ctrl = controller("fifo", make_layout(lanes=MIXED, chargers=1))
    init(ctrl, C1="vietnam", C2="vietnam", C3="china")  # C4 never reports
    seen: dict[str, dict[str, str | int]] = {}

    def go(action: str, **fields: Any) -> OperatorReply:
        reply, _ = ask(ctrl, action, **fields)
        seen.setdefault(reply.code, dict(reply.args))
        return reply

    go("self_destruct")
    for action in NEEDS_CARRIER:
        go(action)
        go(action, carrier_id="C99")
    go("close_lane")
    go("close_lane", lane="2")
    go("close_lane", lane=9)
    go("set_lane_direction", lane=2)
    go("set_lane_direction", lane=2, direction="north")
    go("pause_carrier", carrier_id="C1")
    go("pause_carrier", carrier_id="C1")
    go("pause_corridor")
    go("pause_corridor")
    go("pause_carrier", carrier_id="C2")  # stopped by the corridor already
    go("resume_carrier", carrier_id="C2")  # its own pause lifted; the corridor's stays
    go("send_to_charger", carrier_id="C3")  # held: charges once released
    go("send_to_charger", carrier_id="C3")
    go("send_to_charger", carrier_id="C4")
    go("send_to_maintenance", carrier_id="C1")
    go("send_to_maintenance", carrier_id="C1")
    go("return_to_service", carrier_id="C1")  # back, but stopped
    go("return_to_service", carrier_id="C1")
    go("resume_corridor")  # C1 still paused on its own
    go("resume_corridor")
    go("resume_carrier", carrier_id="C1")
    go("resume_carrier", carrier_id="C1")
    go("estop_all")
    go("estop_all")
    go("close_lane", lane=0)
    go("release_estop")
    go("release_estop")
    go("send_to_charger", carrier_id="C2")  # the only Vietnamese charger
    go("send_to_charger", carrier_id="C1")  # it is taken
    go("send_to_charger", carrier_id="C1")
    go("send_to_maintenance", carrier_id="C2")  # charging
    go("send_to_charger", carrier_id="C2")
    go("send_to_maintenance", carrier_id="C3")
    go("return_to_service", carrier_id="C3")
    go("close_lane", lane=0)
    go("close_lane", lane=0)
    go("close_lane", lane=2)  # the last lane to China
    go("open_lane", lane=0)
    go("open_lane", lane=0)
    go("set_lane_direction", lane=1, direction="to_china")
    go("set_lane_direction", lane=2, direction="to_china")
    go("set_lane_direction", lane=2, direction="to_vietnam")
    go("pause_corridor")
    go("estop_all")
    go("release_estop")  # the corridor stays paused
    go("estop_all")
    go("resume_corridor")  # the emergency stop stays on
    go("release_estop")
    go("pause_corridor")
    go("resume_corridor")

    assert set(seen) <= set(REPLY_CODES)
    assert len(seen) >= 45, sorted(set(REPLY_CODES) - set(seen))
    assert seen["carrier_paused"] == {"carrier": "C1"}
    assert seen["unknown_carrier"] == {"carrier": "C99"}
    assert seen["needs_field"] == {"action": "pause_carrier", "field": "carrier_id"}
    assert seen["unknown_lane"] == {"lane": 9, "last": 3}
    assert seen["corridor_paused"] == {"n": 3}
    assert seen["carrier_paused_already_stopped"] == {"carrier": "C2", "why": "corridor"}
    assert seen["corridor_resumed_some_paused"] == {"n": 3, "carriers": "C1"}
    assert seen["lane_closed"] == {"lane": 0, "heading": "to_china"}
    assert seen["lane_turned"] == {"lane": 2, "heading": "to_vietnam"}
    assert seen["sent_to_charger"] == {"carrier": "C2", "side": "vietnam"}
    for args in seen.values():
        assert set(str(args.get("why", "")).split(",")) <= {*STOP_REASONS, ""}


ACTIONS = st.sampled_from([*get_args(OperatorAction), "bogus"])
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 9), st.text(max_size=3), st.floats(allow_nan=True))


@pytest.mark.parametrize("name", sorted(MAKERS))
@settings(max_examples=50, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            ACTIONS,
            st.one_of(st.sampled_from(["C1", "C2", "C3", "C4"]), JUNK),
            st.one_of(st.integers(-1, 4), JUNK),
            st.one_of(st.sampled_from(["to_china", "to_vietnam"]), JUNK),
        ),
        max_size=25,
    )
)
def test_any_sequence_of_requests_gets_one_reply_each_and_never_raises(name: str, steps: list[tuple]) -> None:
    ctrl = controller(name, make_layout(lanes=MIXED))
    init(ctrl, C1="vietnam", C2="china", C3="vietnam")  # C4 never reports
    ctrl.on_event(ready("X1", "vietnam"), 0.0)
    for i, (action, carrier, lane, direction) in enumerate(steps):
        ask(ctrl, action, float(i), carrier_id=carrier, lane=lane, direction=direction)
        status = ctrl.operator_status()
        # a direction always keeps an open lane, and a stop always stops
        for heading in ("to_china", "to_vietnam"):
            assert any(not ln["closed"] and ln["direction"] == heading and ln["turning_to"] is None for ln in status["lanes"])
        if status["estop"] or status["corridor_paused"]:
            assert status["stopped_carriers"] == ["C1", "C2", "C3", "C4"] and status["dispatch_held"]
        assert set(status["paused_carriers"]) <= set(status["stopped_carriers"])


# --- pausing carriers and the corridor -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_paused_carrier_gets_no_job_until_resumed(name: str) -> None:
    ctrl = controller(name)
    init(ctrl, C1="vietnam")
    reply, cmds = ask(ctrl, "pause_carrier", carrier_id="C1")
    assert reply.ok and pauses(cmds) == {"C1": "startPause"}
    assert ctrl.on_event(ready("X1", "vietnam"), 1.0) == []  # no job for a paused carrier
    assert ctrl.operator_status()["paused_carriers"] == ["C1"]
    assert ctrl.wait_reasons()["C1"].startswith("stopped")
    reply, _ = ask(ctrl, "pause_carrier", carrier_id="C1")
    assert not reply.ok and "already paused" in reply.detail
    reply, cmds = ask(ctrl, "resume_carrier", carrier_id="C1")
    assert reply.ok and pauses(cmds) == {"C1": "stopPause"}
    assert task(one(cmds, CraneCommand), "vietnam") == ("load", "X1", "C1", False)  # the waiting job
    reply, _ = ask(ctrl, "resume_carrier", carrier_id="C1")
    assert not reply.ok and "not paused" in reply.detail


def test_a_carrier_paused_while_loaded_sets_off_only_when_resumed() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    ask(ctrl, "pause_carrier", carrier_id="C1")
    # the crane finishes loading a paused carrier: it reserves no blocks, gets no order
    assert of(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order) == []
    assert ctrl.traffic.trips == {} and ctrl.operator_status()["held_crossings"] == ["C1"]
    reply, cmds = ask(ctrl, "resume_carrier", carrier_id="C1", now=2.0)
    order = one(cmds, Order)
    assert order.device_id == "C1" and order.nodes[0].node_id == "VN" and reply.ok


def test_a_paused_carrier_on_the_corridor_keeps_its_blocks() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    held = ctrl.traffic.held_blocks("C1")
    _, cmds = ask(ctrl, "pause_carrier", carrier_id="C1")
    assert pauses(cmds) == {"C1": "startPause"} and of(cmds, Order) == []
    assert ctrl.traffic.held_blocks("C1") == held != []


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_resuming_the_corridor_leaves_carriers_paused_one_by_one_paused(name: str) -> None:
    ctrl = controller(name)
    init(ctrl, C1="vietnam", C2="vietnam", C3="china", C4="china")
    ask(ctrl, "pause_carrier", carrier_id="C1")
    reply, cmds = ask(ctrl, "pause_corridor")
    assert reply.ok and pauses(cmds) == {"C2": "startPause", "C3": "startPause", "C4": "startPause"}
    assert of(ctrl.on_event(ready("X1", "china"), 1.0), CraneCommand) == []  # no dispatch
    reply, _ = ask(ctrl, "pause_corridor")
    assert not reply.ok and "already paused" in reply.detail
    # resuming C1 during the corridor pause lifts its own reason only: it stays stopped
    reply, cmds = ask(ctrl, "resume_carrier", carrier_id="C1")
    assert reply.ok and "stays stopped" in reply.detail and pauses(cmds) == {}
    ask(ctrl, "pause_carrier", carrier_id="C1")
    reply, cmds = ask(ctrl, "resume_corridor", now=2.0)
    assert reply.ok and "C1" in reply.detail
    assert pauses(cmds) == {"C2": "stopPause", "C3": "stopPause", "C4": "stopPause"}
    assert task(one(cmds, CraneCommand), "china")[:2] == ("load", "X1")  # dispatch goes on
    assert ctrl.operator_status()["stopped_carriers"] == ["C1"]
    reply, _ = ask(ctrl, "resume_corridor")
    assert not reply.ok and "not paused" in reply.detail


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_the_emergency_stop_pauses_every_carrier_and_freezes_jobs_and_lanes(name: str) -> None:
    ctrl = controller(name)
    init(ctrl, C1="vietnam", C2="china")
    ask(ctrl, "pause_carrier", carrier_id="C2")
    reply, cmds = ask(ctrl, "estop_all")
    assert reply.ok and pauses(cmds) == {c: "startPause" for c in ("C1", "C2", "C3", "C4")}
    assert ctrl.on_event(ready("X1", "vietnam"), 1.0) == []
    if isinstance(ctrl, CpsatController):  # the plan waits too
        made = ctrl.plans_made
        out = ctrl.on_event(TimerFired(REPLAN), 2.0)
        assert ctrl.plans_made == made and of(out, CraneCommand) == []
    reply, _ = ask(ctrl, "close_lane", lane=0)
    assert not reply.ok and "emergency stop" in reply.detail and ctrl.lanes.closed == set()
    reply, cmds = ask(ctrl, "estop_all")  # pressed again: sent again, never refused
    assert reply.ok and len(pauses(cmds)) == 4
    status = ctrl.operator_status()
    assert status["estop"] and status["dispatch_held"] and status["paused_carriers"] == ["C2"]
    reply, cmds = ask(ctrl, "release_estop", now=3.0)
    assert reply.ok and "C2" in reply.detail
    assert pauses(cmds) == {"C1": "stopPause", "C3": "stopPause", "C4": "stopPause"}
    assert task(one(cmds, CraneCommand), "vietnam")[:3] == ("load", "X1", "C1")
    reply, _ = ask(ctrl, "release_estop")
    assert not reply.ok and "not on" in reply.detail


# --- chargers and maintenance ---------------------------------------------------------------


def test_send_to_charger_now_when_idle_after_the_job_when_busy() -> None:
    ctrl = controller("fifo", make_layout(chargers=1))
    init(ctrl, C1="vietnam", C2="vietnam", C3="vietnam")
    reply, cmds = ask(ctrl, "send_to_charger", carrier_id="C1")
    assert reply.ok and [a.action_type for a in one(cmds, InstantActions).actions] == ["startCharging"]
    reply, _ = ask(ctrl, "send_to_charger", carrier_id="C1")
    assert not reply.ok and "already charging" in reply.detail
    reply, cmds = ask(ctrl, "send_to_charger", carrier_id="C2")  # the only charger is taken
    assert reply.ok and "waits" in reply.detail and cmds == []
    assert ctrl.operator_status()["waiting_for_charger"] == ["C2"]
    reply, _ = ask(ctrl, "send_to_charger", carrier_id="C2")
    assert not reply.ok and "already waiting" in reply.detail
    reply, _ = ask(ctrl, "send_to_charger", carrier_id="C4")
    assert not reply.ok and "not reported" in reply.detail
    # C3 is busy: it charges after its job (at the Chinese yard, where it sets the container down)
    order, final = load_and_cross(ctrl, "C3", "X1", "vietnam")
    assert order.device_id == "C3"
    reply, _ = ask(ctrl, "send_to_charger", carrier_id="C3")
    assert reply.ok and "after its current job" in reply.detail
    unload = one(final, CraneCommand)
    ctrl.on_event(ready("X2", "china"), 5.0)
    out = ctrl.on_event(crane_done(unload.device_id, "china", "unload", "X1", "C3"), 10.0)
    assert [a.action_type for a in one(out, InstantActions).actions] == ["startCharging"]
    assert of(out, CraneCommand) == []  # X2 waits: C3 charges instead
    assert ctrl.operator_status()["charging"] == ["C1", "C3"]


def test_maintenance_takes_a_carrier_out_of_jobs_after_its_current_one() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam", C2="china")
    reply, _ = ask(ctrl, "send_to_maintenance", carrier_id="C2")
    assert reply.ok and "out of service at the China yard" in reply.detail
    assert of(ctrl.on_event(ready("X0", "china"), 0.0), CraneCommand) == []  # C1 goes across instead
    ask(ctrl, "return_to_service", carrier_id="C2")
    reply, _ = ask(ctrl, "return_to_service", carrier_id="C2")
    assert not reply.ok and "not out of service" in reply.detail

    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    order, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    reply, _ = ask(ctrl, "send_to_maintenance", carrier_id="C1")
    assert reply.ok and "after its current job" in reply.detail
    assert ctrl.operator_status()["maintenance_pending"] == ["C1"]
    reply, _ = ask(ctrl, "send_to_maintenance", carrier_id="C1")
    assert not reply.ok and "already out of service" in reply.detail
    ctrl.on_event(ready("X2", "china"), 5.0)
    unload = one(final, CraneCommand)
    out = ctrl.on_event(crane_done(unload.device_id, "china", "unload", "X1", "C1"), 10.0)
    assert of(out, CraneCommand) == [] and of(out, Order) == []  # set the container down, then stop
    assert ctrl.operator_status()["maintenance"] == ["C1"] and ctrl.operator_status()["maintenance_pending"] == []
    reply, cmds = ask(ctrl, "return_to_service", carrier_id="C1", now=20.0)
    assert reply.ok and task(one(cmds, CraneCommand), "china")[:3] == ("load", "X2", "C1")


# --- lanes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_lane_commands_answer_refusals_with_the_reason(name: str) -> None:
    ctrl = controller(name, make_layout(lanes=MIXED))  # 0 to China, 1 to Vietnam, 2 and 3 reversible
    init(ctrl, C1="vietnam")
    reply, _ = ask(ctrl, "close_lane", lane=0)
    assert reply.ok and ctrl.lanes.open_for("export") == [2]
    reply, _ = ask(ctrl, "close_lane", lane=2)
    assert not reply.ok and "last open lane to China" in reply.detail
    assert (reply.code, reply.args) == ("last_open_lane", (("lane", 2), ("heading", "to_china")))
    reply, _ = ask(ctrl, "close_lane", lane=0)
    assert not reply.ok and "already closed" in reply.detail
    reply, _ = ask(ctrl, "set_lane_direction", lane=1, direction="to_china")
    assert not reply.ok and "not reversible" in reply.detail
    assert (reply.code, reply.args) == ("not_reversible", (("lane", 1),))
    reply, _ = ask(ctrl, "set_lane_direction", lane=2, direction="to_vietnam")
    assert not reply.ok and "last open lane" in reply.detail
    reply, _ = ask(ctrl, "open_lane", lane=0)
    assert reply.ok and ctrl.lanes.open_for("export") == [0, 2]
    reply, _ = ask(ctrl, "open_lane", lane=0)
    assert not reply.ok and "not closed" in reply.detail
    reply, _ = ask(ctrl, "set_lane_direction", lane=2, direction="to_vietnam")
    assert reply.ok and "now runs to Vietnam" in reply.detail
    assert ctrl.lanes.open_for("import") == [1, 2, 3]
    lanes = ctrl.operator_status()["lanes"]
    assert lanes[2] == {
        "lane": 2, "direction": "to_vietnam", "turning_to": None, "reversible": True,
        "closed": False, "pinned": True, "carriers_on": 0,
    }


def test_a_lane_with_carriers_on_it_turns_once_empty() -> None:
    ctrl = controller("fifo", make_layout(lanes=MIXED))
    init(ctrl, C1="vietnam", C2="vietnam")
    ask(ctrl, "close_lane", lane=0)  # exports now take lane 2
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    order = one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    assert lane_of(order) == 2
    ask(ctrl, "open_lane", lane=0)
    reply, _ = ask(ctrl, "set_lane_direction", lane=2, direction="to_vietnam")
    assert reply.ok and "once the 1 carrier on it has left" in reply.detail
    assert ctrl.operator_status()["lanes"][2]["turning_to"] == "to_vietnam"


def test_the_plan_leaves_alone_a_lane_an_operator_turned() -> None:
    ctrl = CpsatController(make_layout(lanes=MIXED))
    init(ctrl, C1="vietnam", C2="vietnam", C3="vietnam", C4="vietnam")
    reply, _ = ask(ctrl, "set_lane_direction", lane=3, direction="to_china")
    assert reply.ok and ctrl.plans_made >= 1  # an operator action re-plans at once
    for i in range(12):  # imports pile up in China: a plan would turn lane 3 back
        ctrl.on_event(ready(f"M{i}", "china", arrived_at=float(i)), float(i))
    for t in (900.0, 1800.0, 2700.0):
        ctrl.on_event(TimerFired(REPLAN), t)
        assert ctrl.lanes.heading(3) == "export"
    assert 3 not in ctrl.scheduler.caps.reversible


def test_a_planning_controller_plans_only_with_carriers_in_service() -> None:
    ctrl = CpsatController(make_layout())
    init(ctrl, C1="vietnam", C2="vietnam", C3="china", C4="china")
    ask(ctrl, "send_to_maintenance", carrier_id="C1")
    ask(ctrl, "pause_carrier", carrier_id="C3")
    assert ctrl.scheduler.caps.carriers == 2
    ask(ctrl, "return_to_service", carrier_id="C1")
    assert ctrl.scheduler.caps.carriers == 3


def test_operator_status_is_plain_data() -> None:
    ctrl = controller("fifo", make_layout(lanes=MIXED))
    init(ctrl, C1="vietnam")
    ask(ctrl, "pause_corridor")
    ask(ctrl, "send_to_maintenance", carrier_id="C2")
    status = ctrl.operator_status()
    assert set(status) == {
        "corridor_paused", "estop", "dispatch_held", "paused_carriers", "stopped_carriers", "maintenance",
        "maintenance_pending", "charger_requested", "waiting_for_charger", "charging", "held_crossings", "lanes",
    }
    assert status["corridor_paused"] and not status["estop"] and status["maintenance"] == ["C2"]

    def plain(v: object) -> bool:
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return v is None or isinstance(v, (bool, int, str))

    assert plain(status)


# --- through the twin -------------------------------------------------------------------------


class Console:
    """The operator console's device port: it collects the replies it is sent."""

    device_id = CONSOLE

    def __init__(self) -> None:
        self.replies: list[OperatorReply] = []

    def accept(self, command: Command) -> None:
        assert isinstance(command, OperatorReply), command
        self.replies.append(command)


class Site:
    """A small world with a console attached, driven in steps."""

    def __init__(self, controller: str, lanes: list[str] | None = None, hours: float = 3.0) -> None:
        d = reference_data()
        d["duration_h"] = hours
        d["traditional"] = None
        d["faults"] = {}  # no breakdown may explain a stop
        d["fleet"]["carriers"] = 8
        d["lanes"] = lanes or ["to_china", "to_china", "to_vietnam", "to_vietnam"]
        self.world = World(make_scenario(d), controller=controller)
        self.console = Console()
        self.world.runtime.attach(self.console)
        self.sent: list[str] = []
        self.world.begin()

    @property
    def now(self) -> float:
        return float(self.world.env.now)

    def run(self, until: float) -> None:
        self.world.env.run(until=until)

    def ask(self, action: str, **fields: Any) -> OperatorReply:
        # The twin's deadlock watch runs on the sample grid; a carrier released at that
        # very instant sets off a moment later in the same instant, and the watch would
        # count it as stopped without a reason. Requests come between samples.
        if self.now % (self.world.scenario.sample_interval_min * 60) == 0:
            self.run(self.now + 1)
        req = request(action, **fields)
        self.sent.append(req.request_id)
        self.world.runtime.publish(req)
        reply = self.console.replies[-1]
        assert reply.request_id == req.request_id
        return reply

    def carriers(self) -> dict[str, SimCarrier]:
        return {c.device_id: c for c in self.world.sim_carriers()}

    def positions(self) -> dict[str, tuple[float, float]]:
        return {cid: self.world.carrier_wgs84(cid) for cid in self.carriers()}

    def finish(self) -> None:
        """Run to the end; every request had exactly one reply; nothing unsafe, nothing lost."""
        self.run(self.world.scenario.duration_h * 3600)
        self.world.finish()
        assert [r.request_id for r in self.console.replies] == self.sent
        assert self.world.safety.violations == []
        assert self.world.deadlocks == 0 and self.world.unexplained_stops == 0
        assert self.world.container_balance()["lost"] == 0


def moving_carrier(site: Site) -> str:
    for _ in range(60):
        moving = [cid for cid, c in site.carriers().items() if c.moving]
        if moving:
            return moving[0]
        site.run(site.now + 30)
    raise AssertionError("no carrier moves")


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_paused_carrier_stands_still_and_drives_on_when_resumed(name: str) -> None:
    site = Site(name)
    site.run(1800)
    cid = moving_carrier(site)
    carrier = site.carriers()[cid]
    assert site.ask("pause_carrier", carrier_id=cid).ok
    site.run(site.now + 1)
    where, order = site.world.carrier_wgs84(cid), carrier.order_id
    assert carrier.paused and not carrier.moving
    for _ in range(10):  # ten minutes in steps: it never moves, takes no new order
        site.run(site.now + 60)
        assert site.world.carrier_wgs84(cid) == where and carrier.order_id == order
    assert site.ask("resume_carrier", carrier_id=cid).ok
    site.run(site.now + 120)
    assert site.world.carrier_wgs84(cid) != where
    site.finish()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_the_emergency_stop_stops_every_carrier_until_released(name: str) -> None:
    site = Site(name)
    site.run(2400)
    moving_carrier(site)
    delivered = site.world.delivered_count
    reply = site.ask("estop_all")
    assert reply.ok
    site.run(site.now + 1)
    where = site.positions()
    assert all(c.paused and not c.moving for c in site.carriers().values())
    assert not site.ask("close_lane", lane=0).ok  # no lane changes meanwhile
    site.run(site.now + 900)
    assert site.positions() == where
    assert site.ask("release_estop").ok
    site.run(site.now + 900)
    assert site.positions() != where and not any(c.paused for c in site.carriers().values())
    site.finish()
    assert site.world.delivered_count > delivered


def lane_of_carrier(carrier: SimCarrier) -> int | None:
    for node in carrier.nodes:
        if node.startswith("L"):
            return int(node[1 : node.index("N")])
    return None


def new_crossings(site: Site, until: float, seen: set[str]) -> list[int]:
    """The lanes of the orders that start from now to `until` (orders in `seen` are old)."""
    lanes: dict[str, int | None] = {}
    while site.now < until:
        site.run(min(until, site.now + 60))  # a crossing lasts ~10 min: every order is seen
        for c in site.carriers().values():
            if c.order_id not in seen and lanes.get(c.order_id) is None:
                lanes[c.order_id] = lane_of_carrier(c)  # None while its base is still empty
    seen.update(lanes)
    return [lane for lane in lanes.values() if lane is not None]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_closed_lane_takes_no_new_crossings_and_the_last_one_is_refused(name: str) -> None:
    site = Site(name)
    site.run(1800)
    # the orders under way now may still use lane 0
    seen = {c.order_id for c in site.carriers().values()}
    assert site.ask("close_lane", lane=0).ok
    reply = site.ask("close_lane", lane=1)
    assert not reply.ok and "last open lane to China" in reply.detail
    closed = new_crossings(site, 5400, seen)
    assert 0 not in closed and 1 in closed and len(closed) > 10
    assert site.ask("open_lane", lane=0).ok
    assert 0 in new_crossings(site, 3 * 3600 - 60, seen)
    site.finish()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_turned_lane_carries_its_new_direction_and_stays_turned(name: str) -> None:
    site = Site(name, lanes=["to_china", "to_vietnam", "reversible", "reversible"])
    site.run(1800)
    assert site.ask("set_lane_direction", lane=2, direction="to_vietnam").ok  # 3 lanes to Vietnam
    assert not site.ask("set_lane_direction", lane=0, direction="to_vietnam").ok
    site.run(3600)
    status = site.world.controller.operator_status()  # type: ignore[attr-defined]
    assert [ln["direction"] for ln in status["lanes"]][:3] == ["to_china", "to_vietnam", "to_vietnam"]
    heading_of_lane2: set[str] = set()
    while site.now < 3 * 3600 - 60:
        site.run(site.now + 60)
        for c in site.carriers().values():
            if lane_of_carrier(c) == 2 and c.idx > 0:
                heading_of_lane2.add(c.direction)
        assert site.world.controller.lanes.heading(2) == "import"  # type: ignore[attr-defined]
    assert heading_of_lane2 == {"import"}
    site.finish()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_resuming_the_corridor_keeps_a_carrier_paused_on_its_own_still(name: str) -> None:
    site = Site(name)
    site.run(1800)
    cid = moving_carrier(site)
    assert site.ask("pause_carrier", carrier_id=cid).ok
    assert site.ask("pause_corridor").ok
    site.run(site.now + 600)
    where = site.positions()
    assert all(c.paused for c in site.carriers().values())
    assert site.ask("resume_corridor").ok
    site.run(site.now + 900)
    now = site.positions()
    assert now[cid] == where[cid] and site.carriers()[cid].paused
    assert sum(1 for c in now if now[c] != where[c]) >= 3 and not any(
        c.paused for k, c in site.carriers().items() if k != cid
    )
    assert site.ask("resume_carrier", carrier_id=cid).ok
    site.run(site.now + 120)
    assert site.world.carrier_wgs84(cid) != where[cid]
    site.finish()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_carrier_in_maintenance_takes_no_jobs_until_back_in_service(name: str) -> None:
    site = Site(name)
    site.run(1800)
    cid = moving_carrier(site)
    carrier = site.carriers()[cid]
    reply = site.ask("send_to_maintenance", carrier_id=cid)
    assert reply.ok and "after its current job" in reply.detail
    site.run(site.now + 3000)  # it finishes its job, sets the container down and stays
    order, node = carrier.order_id, carrier.node_id
    assert carrier.load is None and node in ("VN", "CN")
    while site.now < 7200:
        site.run(site.now + 300)
        assert (carrier.order_id, carrier.node_id, carrier.load) == (order, node, None)
    assert site.ask("return_to_service", carrier_id=cid).ok
    site.run(site.now + 1800)  # jobs wait all the time at this demand: it takes one
    assert carrier.order_id != order
    site.finish()


def test_send_to_charger_charges_the_carrier_after_its_job() -> None:
    site = Site("fifo")
    site.run(1800)
    cid = moving_carrier(site)
    carrier = site.carriers()[cid]
    assert site.ask("send_to_charger", carrier_id=cid).ok
    charged = False
    while site.now < 3 * 3600 - 60 and not charged:
        site.run(site.now + 60)
        charged = carrier.charging
    assert charged and carrier.node_id in ("VN", "CN")
    assert not site.ask("send_to_charger", carrier_id=cid).ok  # already charging
    assert not site.ask("pause_carrier", carrier_id="C-nobody").ok
    while carrier.charging:
        site.run(site.now + 10)
    assert carrier.energy_kwh > 0.99 * carrier.spec.battery_kwh  # charged full, then back to work
    site.finish()


# --- a vehicle that comes online where no node of the site is ------------------------------


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_carrier_off_the_sites_nodes_is_shown_and_placed_by_an_operator(name: str) -> None:
    ctrl = controller(name)
    init(ctrl, C2="vietnam")
    ctrl.on_event(cstate("C1", "0"), 0.0)  # its first report: a node the site does not have
    assert "C1" in ctrl.unplaced and "'0'" in ctrl.unplaced["C1"]
    assert [(a.carrier_id, a.kind) for a in ctrl.traffic.alarms] == [("C1", "unplaced")]
    assert ctrl.wait_reasons()["C1"].startswith("not placed")
    ctrl.on_event(cstate("C1", "0"), 1.0)
    assert len(ctrl.traffic.alarms) == 1  # shown once, not on every report
    # bad requests are refused, naming what is wrong
    reply, cmds = ask(ctrl, "place_carrier", carrier_id="C1")
    assert not reply.ok and "needs yard" in reply.detail and cmds == []
    reply, cmds = ask(ctrl, "place_carrier", carrier_id="C1", yard="mars")
    assert not reply.ok and "'mars'" in reply.detail
    reply, cmds = ask(ctrl, "place_carrier", carrier_id="C2", yard="china")
    assert not reply.ok and reply.code == "not_unplaced" and cmds == []
    # placed: an initPosition naming the yard's node
    reply, cmds = ask(ctrl, "place_carrier", carrier_id="C1", yard="china")
    assert reply.ok and reply.code == "placing"
    ia = one(cmds, InstantActions)
    assert ia.device_id == "C1" and [a.action_type for a in ia.actions] == ["initPosition"]
    assert dict(ia.actions[0].parameters) == {"lastNodeId": "CN"}
    # until it reports from there it takes no job; then it does
    out = ctrl.on_event(ready("X1", "china"), 2.0)
    assert not [c for c in out if isinstance(c, CraneCommand) and c.carrier_id == "C1"]
    out += ctrl.on_event(TimerFired(REPLAN), 2.5) if name == "cpsat" else []
    assert not [c for c in out if isinstance(c, CraneCommand) and c.carrier_id == "C1"]
    out = ctrl.on_event(cstate("C1", "CN"), 3.0)
    assert "C1" not in ctrl.unplaced and not ctrl.wait_reasons().get("C1", "").startswith("not placed")
    out += ctrl.on_event(ready("X2", "china"), 4.0)
    out += ctrl.on_event(TimerFired(REPLAN), 5.0) if name == "cpsat" else []
    loads = [c for c in out if isinstance(c, CraneCommand) and c.op == "load"]
    assert "C1" in [c.carrier_id for c in loads]  # it works from the yard it was placed at



@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_carrier_that_is_not_localised_is_unplaced_even_at_a_yard_node(name: str) -> None:
    ctrl = controller(name)
    init(ctrl, C2="vietnam")
    lost = replace(cstate("C1", "VN"), position_initialized=False)  # its lastNodeId is stale
    ctrl.on_event(lost, 0.0)
    assert "C1" in ctrl.unplaced and "not localised" in ctrl.unplaced["C1"]
    out = ctrl.on_event(ready("X1", "vietnam"), 1.0)
    out += ctrl.on_event(TimerFired(REPLAN), 1.5) if name == "cpsat" else []
    assert not [c for c in out if isinstance(c, CraneCommand) and c.carrier_id == "C1"]
    ctrl.on_event(lost, 2.0)
    assert "C1" in ctrl.unplaced  # still not localised
    ctrl.on_event(cstate("C1", "VN"), 3.0)  # placed by initPosition: localised at VN
    assert "C1" not in ctrl.unplaced


# --- instant actions followed to their end: abort, stop charging, unanswered ---------------


def _cancel_of(cmds: list[Command]) -> Action:
    action = one(cmds, InstantActions).actions[0]
    assert action.action_type == "cancelOrder"
    return action


def test_an_operator_aborts_a_crossing_before_it_leaves_the_yard_and_returns_it() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    order = one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    reply, cmds = ask(ctrl, "abort_trip", carrier_id="C1", now=2.0)
    assert reply.ok and reply.code == "aborting"
    cancel = _cancel_of(cmds)
    reply, cmds = ask(ctrl, "abort_trip", carrier_id="C1", now=2.5)
    assert not reply.ok and reply.code == "already_aborting" and cmds == []
    # the vehicle stands at its yard with the order cancelled: the trip is dropped, not finished
    st_ = replace(cstate("C1", "VN", order_id=order.order_id, load="X1"), order_cancelled=True)
    assert of(ctrl.on_event(st_, 3.0), Order) == []
    assert "C1" not in ctrl.traffic.trips and ctrl.traffic.held_blocks("C1") == []
    assert "C1" in ctrl.operator.out_of_service and ctrl.actions.pending == {}
    # its own answer comes after: nothing more happens
    assert ctrl.on_event(ActionState("C1", cancel.action_id, "cancelOrder", "FINISHED"), 3.1) == []
    reply, cmds = ask(ctrl, "abort_trip", carrier_id="C1", now=3.5)
    assert not reply.ok and reply.code == "no_trip"
    # returned to service, it makes the crossing it was loaded for, as a new order
    reply, cmds = ask(ctrl, "return_to_service", carrier_id="C1", now=4.0)
    again = one(cmds, Order)
    assert reply.ok and again.device_id == "C1" and again.nodes[0].node_id == "VN" and again.order_id != order.order_id


def test_an_aborted_trip_on_the_lane_holds_only_where_it_stands_and_drives_on_when_returned() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    order = one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    stop = order.nodes[2]  # a node on the lane, with released blocks beyond it
    assert stop.released and stop.node_id.startswith("L")
    ctrl.on_event(cstate("C1", order.nodes[1].node_id, order_id=order.order_id, seq=order.nodes[1].sequence_id, driving=True, load="X1"), 2.0)
    held = ctrl.traffic.held_blocks("C1")
    _, cmds = ask(ctrl, "abort_trip", carrier_id="C1", now=3.0)
    cancel = _cancel_of(cmds)
    st_ = cstate("C1", stop.node_id, order_id=order.order_id, seq=stop.sequence_id, load="X1")
    ctrl.on_event(st_, 4.0)  # standing, not yet cancelled: still cancelling
    assert ctrl.traffic.trips["C1"].cancelling == "abort"
    out = ctrl.on_event(ActionState("C1", cancel.action_id, "cancelOrder", "FINISHED"), 4.1)
    assert of(out, Order) == []
    after = ctrl.traffic.held_blocks("C1")
    assert len(after) <= 1 < len(held) and set(after) <= set(held)  # nothing ahead of it is its
    assert "C1" in ctrl.operator.out_of_service and "aborted" in ctrl.wait_reasons()["C1"]
    assert ctrl.on_event(replace(st_, order_cancelled=True), 5.0) == []  # it stays where it is
    reply, cmds = ask(ctrl, "return_to_service", carrier_id="C1", now=6.0)
    again = one(cmds, Order)
    assert reply.ok and again.order_id == f"{order.order_id}~1" and again.nodes[0].node_id == stop.node_id
    assert again.nodes[-1].node_id == "CN" or not again.nodes[-1].released  # on to the far yard


def test_a_cancel_the_vehicle_refuses_leaves_the_trip_going_with_an_alarm() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    _, cmds = ask(ctrl, "abort_trip", carrier_id="C1", now=2.0)
    cancel = _cancel_of(cmds)
    ctrl.on_event(ActionState("C1", cancel.action_id, "cancelOrder", "FAILED", "validationError: unknown action"), 3.0)
    trip = ctrl.traffic.trips["C1"]
    assert not trip.cancelling and not trip.aborted and "C1" not in ctrl.operator.out_of_service
    assert [(a.kind, a.carrier_id) for a in ctrl.traffic.alarms] == [("action_failed", "C1")]
    assert "validationError: unknown action" in ctrl.unanswered["C1"]["cancelOrder"]


def test_a_pause_the_vehicle_never_answers_is_flagged_once_and_cleared_when_it_takes_effect() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    _, cmds = ask(ctrl, "pause_carrier", carrier_id="C1", now=0.0)
    assert pauses(cmds) == {"C1": "startPause"}
    ctrl.on_event(TimerFired(STALL_SCAN), ACTION_TIMEOUT_S - 1)
    assert "C1" not in ctrl.unanswered
    ctrl.on_event(TimerFired(STALL_SCAN), ACTION_TIMEOUT_S + 1)
    ctrl.on_event(TimerFired(STALL_SCAN), ACTION_TIMEOUT_S + 60)
    assert [(a.kind, a.carrier_id) for a in ctrl.traffic.alarms] == [("no_answer", "C1")]  # told once
    assert "startPause" in ctrl.unanswered["C1"]["startPause"]
    assert control_view(ctrl).unanswered["C1"]  # the control room sees it
    # a state that shows it paused is the answer
    ctrl.on_event(replace(cstate("C1", "VN"), paused=True), ACTION_TIMEOUT_S + 70)
    assert "C1" not in ctrl.unanswered and ctrl.actions.pending == {}


def test_a_pause_refused_by_the_vehicle_is_an_alarm_with_its_words() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    _, cmds = ask(ctrl, "pause_carrier", carrier_id="C1", now=0.0)
    pause = one(cmds, InstantActions).actions[0]
    refusal = CommandRefused("C1", "InstantActions", "WARNING validationError: startPause not supported", (("actionId", pause.action_id),))
    ctrl.on_event(refusal, 1.0)
    ctrl.on_event(ActionState("C1", pause.action_id, "startPause", "FAILED", "not supported"), 1.5)  # the same, once
    assert [(a.kind, a.carrier_id) for a in ctrl.traffic.alarms] == [("action_failed", "C1")]
    assert "startPause not supported" in ctrl.unanswered["C1"]["startPause"]


def test_stop_charging_frees_the_charger_for_the_next_and_the_carrier_works_on() -> None:
    ctrl = controller("fifo", make_layout(chargers=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    reply, _ = ask(ctrl, "stop_charging", carrier_id="C1")
    assert not reply.ok and reply.code == "not_charging"
    _, cmds = ask(ctrl, "send_to_charger", carrier_id="C1")
    assert one(cmds, InstantActions).actions[0].action_type == "startCharging"
    ask(ctrl, "send_to_charger", carrier_id="C2")  # waits for the only charger
    ctrl.on_event(cstate("C1", "VN", charging=True), 2.0)
    reply, cmds = ask(ctrl, "stop_charging", carrier_id="C1", now=3.0)
    stop = one(cmds, InstantActions).actions[0]
    assert reply.ok and reply.code == "stopping_charge" and stop.action_type == "stopCharging"
    assert ctrl.carriers["C1"].status == "charging"  # until the vehicle says it has stopped
    out = ctrl.on_event(ActionState("C1", stop.action_id, "stopCharging", "FINISHED"), 4.0)
    assert ctrl.carriers["C1"].status == "idle"
    assert [(c.device_id, c.actions[0].action_type) for c in of(out, InstantActions)] == [("C2", "startCharging")]
    cmds = ctrl.on_event(ready("X1", "vietnam"), 5.0)
    assert one(cmds, CraneCommand).carrier_id == "C1"  # it takes the next job


def carrier_on_the_lane(site: Site) -> str:
    """A carrier driving a crossing, past its yard and short of the far one."""
    traffic = site.world.controller.traffic  # type: ignore[attr-defined]
    for _ in range(600):
        for cid, c in site.carriers().items():
            trip = traffic.trips.get(cid)
            if c.moving and trip is not None and 1 <= trip.position < len(trip.route.node_ids) - 3:
                return cid
        site.run(site.now + 5)
    raise AssertionError("no carrier on a lane")


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_an_aborted_trip_stops_at_the_next_node_and_drives_on_when_returned_to_service(name: str) -> None:
    site = Site(name)
    site.run(1800)
    cid = carrier_on_the_lane(site)
    carrier = site.carriers()[cid]
    ctrl = site.world.controller
    order = carrier.order_id
    reply = site.ask("abort_trip", carrier_id=cid)
    assert reply.ok and reply.code == "aborting"
    site.run(site.now + 120)  # it reaches its next node and stops there
    where = site.world.carrier_wgs84(cid)
    assert not carrier.moving and carrier.cancelled and carrier.order_id == order
    assert ctrl.traffic.trips[cid].aborted and len(ctrl.traffic.held_blocks(cid)) <= 1  # type: ignore[attr-defined]
    assert cid in ctrl.operator.out_of_service and "aborted" in ctrl.wait_reasons()[cid]  # type: ignore[attr-defined]
    site.run(site.now + 600)
    assert site.world.carrier_wgs84(cid) == where and not carrier.moving
    assert site.ask("return_to_service", carrier_id=cid).ok
    site.run(site.now + 120)
    assert site.world.carrier_wgs84(cid) != where and carrier.order_id == f"{order}~1"
    site.finish()


def test_closing_a_lane_sends_a_carrier_still_at_its_yard_by_another() -> None:
    ctrl = controller("fifo")
    init(ctrl, C1="vietnam")
    load = one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand)
    order = one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    lane = lane_of(order)
    reply, cmds = ask(ctrl, "close_lane", lane=lane, now=2.0)
    assert reply.ok and reply.code == "lane_closed_rerouted" and dict(reply.args)["n"] == 1
    cancel = _cancel_of(cmds)
    assert one(cmds, InstantActions).device_id == "C1"
    out = ctrl.on_event(replace(cstate("C1", "VN", order_id=order.order_id, load="X1"), order_cancelled=True), 3.0)
    again = one(out, Order)
    assert again.device_id == "C1" and again.order_id != order.order_id and lane_of(again) != lane
    assert "C1" not in ctrl.operator.out_of_service and ctrl.actions.pending == {}
    assert ctrl.on_event(ActionState("C1", cancel.action_id, "cancelOrder", "FINISHED"), 3.1) == []
