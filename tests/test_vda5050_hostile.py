"""Hostile and broken VDA 5050 traffic at master control's link: what the schema lets
through but the standard's text forbids is refused whole, a replayed or late message is
dropped, a teleport or a foreign order is refused; each is counted, logged once and shown
to the operator, and the last good state stands. Most tests feed the link directly (no
broker, a clock of their own); the last one puts a hostile client beside an emulated
vehicle on a real Mosquitto and checks that the controllers see exactly what the vehicle
said."""

from __future__ import annotations

import copy
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker import Broker, Sink
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vehicle_emulator import route

from controllers.messages import Action, CarrierState, CommandRefused, InstantActions, VehiclePosition
from controllers.vehicle_map import NodePosition, VehicleMap
from hardware_bridge.mqtt_vehicles import VehicleLink
from hardware_bridge.vda5050 import carrier_state, decode, factsheet_message, state_message, timestamp, topic_name
from hardware_bridge.vda5050_checks import (
    FOREIGN_ORDER,
    LINK_WARNINGS,
    MAX_AHEAD,
    OUT_OF_ORDER,
    REFUSED,
    TELEPORT,
    UINT32,
    HeaderOrder,
    LogOnce,
    message_problem,
    site_area,
)
from hardware_bridge.vehicle_emulator import VehicleEmulator

MAKER = "LangSonTwin"
SERIAL = "AGV-1"
# VN -> N1 -> N2 -> N3 due east, 40 m apart (as test_vehicle_emulator's `route` lays them out)
SITE = VehicleMap("test-map", {n: NodePosition(40.0 * i, 0.0, 0.5) for i, n in enumerate(["VN", "N1", "N2", "N3"])}, 20.0)
AREA = site_area(SITE)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_link(clock: Callable[[], float], **kw: Any) -> VehicleLink:
    """A link that is never connected: messages are fed to `receive` as the broker would."""
    return VehicleLink("127.0.0.1", 1, MAKER, {SERIAL: "2.1.0"}, state_timeout_s=10.0, site=SITE, clock=clock, **kw)


def good(header: int, x: float = 0.0, order_id: str = "", **kw: Any) -> dict[str, Any]:
    """A valid state of SERIAL standing at (x, 0) in the site's map."""
    state = replace(CarrierState(SERIAL, order_id, 0, "VN", 0, False, False, 80.0, False, None), **kw)
    position = {"x": x, "y": 0.0, "theta": 0.0, "mapId": SITE.map_id, "positionInitialized": True}
    return state_message(state, header, MAKER, position=position)


def feed(link: VehicleLink, message: dict[str, Any] | bytes, kind: str = "state") -> None:
    payload = message if isinstance(message, bytes) else json.dumps(message).encode()
    link.receive(topic_name(MAKER, SERIAL, kind), payload)  # type: ignore[arg-type]


def taken(link: VehicleLink) -> list[CarrierState]:
    sink = Sink()
    link.drain(sink)
    return sink.states()


def connection(header: int, state: str = "ONLINE") -> dict[str, Any]:
    return {"headerId": header, "timestamp": timestamp(), "version": "2.1.0", "manufacturer": MAKER,
            "serialNumber": SERIAL, "connectionState": state}


def without_link_warnings(state: CarrierState) -> CarrierState:
    """The state as the vehicle said it, without what the link adds for the operator."""
    return replace(
        state,
        warnings=tuple(w for w in state.warnings if w not in LINK_WARNINGS),
        error_texts=tuple(t for t in state.error_texts if not any(t.startswith(f"WARNING {c}:") for c in LINK_WARNINGS)),
    )


# --- range checks ---------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    keys = path.split("/")

    def apply(m: dict[str, Any]) -> None:
        target: Any = m
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        target[keys[-1]] = value

    return apply


def _with_node_states(m: dict[str, Any]) -> None:
    m["nodeStates"] = [{"nodeId": "N1", "sequenceId": -2, "released": True}]


HOSTILE = {
    "battery NaN": _set("batteryState/batteryCharge", math.nan),
    "battery inf": _set("batteryState/batteryCharge", math.inf),
    "battery -inf": _set("batteryState/batteryCharge", -math.inf),
    "battery -50": _set("batteryState/batteryCharge", -50),
    "battery 1e308": _set("batteryState/batteryCharge", 1e308),
    "battery 100.5": _set("batteryState/batteryCharge", 100.5),
    "headerId -1": _set("headerId", -1),
    "headerId beyond uint32": _set("headerId", UINT32),
    "headerId 2.5": _set("headerId", 2.5),
    "headerId true": _set("headerId", True),
    "orderUpdateId -1": _set("orderUpdateId", -1),
    "orderUpdateId 1e20": _set("orderUpdateId", 10**20),
    "lastNodeSequenceId -1": _set("lastNodeSequenceId", -1),
    "sequenceId -2": _with_node_states,
    "timestamp not a time": _set("timestamp", "not a time"),
    "timestamp a date alone": _set("timestamp", "2026-01-01"),
    "x NaN": _set("agvPosition/x", math.nan),
    "y inf": _set("agvPosition/y", math.inf),
    "x kilometres off the map": _set("agvPosition/x", 50_000.0),
    "x a huge integer": _set("agvPosition/x", 10**400),
    "velocity inf": _set("velocity", {"vx": math.inf, "vy": 0.0, "omega": 0.0}),
    "voltage NaN": _set("batteryState/batteryVoltage", math.nan),
    "a very long lastNodeId": _set("lastNodeId", "N" * 10_000),
    "too many errors": _set("errors", [{"errorType": "e", "errorLevel": "WARNING"}] * 2000),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_state_out_of_range_is_refused_whole_and_the_last_good_one_stands(name: str) -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, battery_pct=55.0))
    first = taken(link)
    assert [s.battery_pct for s in first] == [55.0]
    bad = good(2, battery_pct=20.0, last_node_id="N3", last_node_sequence_id=6)
    HOSTILE[name](bad)
    feed(link, bad)
    assert taken(link) == []  # nothing of it reaches the controllers
    assert link.status[SERIAL].last_state == first[0]  # the last good state stands
    assert link.dropped == 1 and link.refused == {REFUSED: 1} and link.status[SERIAL].refused == {REFUSED: 1}
    # the next good state is taken, and carries the warning for the operator
    clock.now += 1
    feed(link, good(3, battery_pct=54.0))
    (after,) = taken(link)
    assert after.battery_pct == 54.0 and REFUSED in after.warnings and after.errors == ()
    assert any(t.startswith(f"WARNING {REFUSED}: 1 of its messages refused") for t in after.error_texts)
    assert without_link_warnings(after) == carrier_state(decode("state", json.dumps(good(3, battery_pct=54.0)).encode()))


@pytest.mark.parametrize("charge", [math.nan, math.inf, -50.0])
def test_a_3_0_state_of_charge_out_of_range_is_refused(charge: float) -> None:
    link = VehicleLink("127.0.0.1", 1, MAKER, {SERIAL: "3.0.0"}, site=SITE, clock=Clock())
    topic = topic_name(MAKER, SERIAL, "state", "v3")
    state = CarrierState(SERIAL, "", 0, "VN", 0, False, False, 80.0, False, None)
    link.receive(topic, json.dumps(state_message(state, 1, MAKER, version="3.0.0")).encode())
    bad = state_message(state, 2, MAKER, version="3.0.0")
    bad["powerSupply"]["stateOfCharge"] = charge  # the 3.0 schema's 0..100 lets NaN through
    link.receive(topic, json.dumps(bad).encode())
    assert len(taken(link)) == 1 and link.refused == {REFUSED: 1}


def test_a_2_x_state_is_read_by_its_own_names_whatever_3_0_fields_it_carries() -> None:
    link = make_link(Clock())
    message = good(1, battery_pct=70.0)
    # unknown properties to a 2.1 schema, of any shape: never read
    message.update(powerSupply=[1], mobileRobotPosition="here", instantActionStates={"a": 1})
    message["safetyState"]["activeEmergencyStop"] = {"x": 1}
    feed(link, message)
    (state,) = taken(link)
    assert state.battery_pct == 70.0 and state.position == (0.0, 0.0, 0.0) and state.errors == ()


def test_whole_numbers_written_as_floats_are_taken_as_ints() -> None:
    link = make_link(Clock())
    message = good(1, order_update_id=0)
    message.update(headerId=1.0, orderUpdateId=3.0, lastNodeSequenceId=4.0)
    feed(link, message)
    (state,) = taken(link)
    assert state.order_update_id == 3 and isinstance(state.order_update_id, int)
    assert state.last_node_sequence_id == 4 and isinstance(state.last_node_sequence_id, int)


def test_the_checks_name_what_is_wrong() -> None:
    message = good(1)
    message["batteryState"]["batteryCharge"] = math.nan
    problem = message_problem("state", message, AREA)
    assert problem is not None and problem.code == REFUSED and "batteryCharge" in problem.text and "finite" in problem.text
    message = good(1)
    message["headerId"] = -7
    problem = message_problem("state", message, AREA)
    assert problem is not None and problem.key == "headerId" and "0..4294967295" in problem.text
    assert message_problem("state", good(1), AREA) is None


def test_a_refusal_is_logged_once_per_vehicle_and_reason_then_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1))
    with caplog.at_level(logging.WARNING, logger="hardware_bridge.mqtt_vehicles"):
        for header in range(2, 52):
            bad = good(header)
            bad["batteryState"]["batteryCharge"] = math.nan
            feed(link, bad)
            bad = good(header)
            bad["timestamp"] = "not a time"
            feed(link, bad)
        assert sum("batteryCharge" in r.getMessage() for r in caplog.records) == 1
        assert sum("timestamp" in r.getMessage() for r in caplog.records) == 1
        clock.now += 61
        bad = good(60)
        bad["batteryState"]["batteryCharge"] = math.nan
        feed(link, bad)
    said = [r.getMessage() for r in caplog.records if "batteryCharge" in r.getMessage()]
    assert len(said) == 2 and "49 more like it" in said[1]
    assert link.refused[REFUSED] == 101


def test_the_log_limiter_forgets_its_oldest_keys() -> None:
    logger = logging.getLogger("test-log-once")
    once = LogOnce(logger, clock=Clock())
    for k in range(LogOnce.MAX_KEYS + 10):
        once.warning(("AGV", k), "x")
    assert len(once._seen) == LogOnce.MAX_KEYS


# --- headerId order --------------------------------------------------------------------------


def test_a_replayed_or_older_state_is_dropped_and_a_newer_one_taken() -> None:
    link = make_link(Clock())
    feed(link, good(5, battery_pct=50.0))
    feed(link, good(5, battery_pct=50.0))  # replayed as it was
    feed(link, good(5, battery_pct=10.0))  # the same headerId, other content
    feed(link, good(4, battery_pct=10.0))  # older
    feed(link, good(6, battery_pct=49.0))
    assert [s.battery_pct for s in taken(link)] == [50.0, 49.0]
    assert link.refused == {OUT_OF_ORDER: 3} and link.dropped == 3


def test_header_ids_wrap_around_at_uint32() -> None:
    link = make_link(Clock())
    feed(link, good(UINT32 - 1))
    feed(link, good(0))  # after 4294967295 comes 0
    feed(link, good(1))
    assert len(taken(link)) == 3 and link.dropped == 0


def test_a_header_id_far_ahead_is_not_taken() -> None:
    link = make_link(Clock())
    feed(link, good(1))
    feed(link, good(2 + MAX_AHEAD))  # it would make every true state after it look old
    feed(link, good(2))
    assert len(taken(link)) == 2 and link.refused == {OUT_OF_ORDER: 1}


def test_a_restarted_vehicle_may_count_from_zero_after_its_online_message() -> None:
    link = make_link(Clock())
    feed(link, connection(7), "connection")
    feed(link, good(5000))
    feed(link, good(1))  # no restart said: an old message
    assert len(taken(link)) == 1 and link.refused == {OUT_OF_ORDER: 1}
    feed(link, connection(8), "connection")  # it says it is online again: it may have restarted
    feed(link, good(0))
    feed(link, good(1))
    feed(link, good(1))  # but not twice
    assert len(taken(link)) == 2 and link.refused == {OUT_OF_ORDER: 2}


def test_a_last_will_is_taken_whatever_its_header_id_and_the_count_may_start_again() -> None:
    link = make_link(Clock())
    feed(link, connection(2), "connection")
    feed(link, good(300))
    assert link.status[SERIAL].online
    feed(link, connection(1, "CONNECTIONBROKEN"), "connection")  # a will carries the headerId it was set up with
    assert not link.status[SERIAL].online
    feed(link, good(1))
    assert len(taken(link)) == 3  # its state, CONNECTION_BROKEN, its state after the restart
    assert link.dropped == 0


def test_after_a_long_silence_a_small_header_id_is_a_restart_and_an_old_one_still_a_replay() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(5000))
    clock.now += 11  # longer than state_timeout_s
    feed(link, good(4999))  # a replay, even now
    feed(link, good(1))  # a restart
    assert len(taken(link)) == 2 and link.refused == {OUT_OF_ORDER: 1}


def test_header_order_counts_each_topic_apart() -> None:
    order = HeaderOrder(10.0)
    order.take("state", 40, 0.0)
    assert order.problem("visualization", 3, 0.0) is None
    order.take("visualization", 3, 0.0)
    assert order.problem("state", 41, 0.0) is None
    assert order.problem("visualization", 3, 0.0) is not None


# --- plausibility -----------------------------------------------------------------------------


def test_a_position_jump_no_vehicle_could_drive_is_refused_as_a_teleport() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, x=0.0))
    clock.now += 0.5
    feed(link, good(2, x=1000.0))  # a kilometre in half a second
    clock.now += 0.5
    feed(link, good(3, x=10.0))  # 10 m in a second: it drives
    states = taken(link)
    assert [s.position[0] for s in states if s.position] == [0.0, 10.0]
    assert link.refused == {TELEPORT: 1}
    assert TELEPORT in states[-1].warnings
    assert any("jumped 1000 m" in t for t in states[-1].error_texts)


def test_the_factsheets_top_speed_bounds_a_jump_and_the_runs_pace_scales_it() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, x=0.0))
    clock.now += 1.0
    feed(link, good(2, x=30.0))  # 30 m in a second: within the default's 10 m/s with its margin
    assert len(taken(link)) == 2
    feed(link, factsheet_message(MAKER, SERIAL, "2.1.0", 1.0, ("startPause",)), "factsheet")
    clock.now += 1.0
    feed(link, good(3, x=60.0))  # its factsheet says 1 m/s
    assert taken(link) == [] and link.refused == {TELEPORT: 1}
    fast = make_link(clock, pace=60.0)  # a run 60 times the wall clock: it drives 60 times as far
    feed(fast, good(1, x=0.0))
    clock.now += 0.5
    feed(fast, good(2, x=1000.0))
    assert len(taken(fast)) == 2 and fast.dropped == 0


def test_a_jump_after_an_init_position_master_control_sent_is_taken() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, x=0.0))
    taken(link)
    link.port_for(SERIAL).accept(InstantActions(SERIAL, (Action("initPosition", "i1", "NONE", (("lastNodeId", "N3"),)),)))
    clock.now += 0.2
    feed(link, good(2, x=900.0))
    assert len(taken(link)) == 1 and link.dropped == 0
    clock.now += 60  # once it is placed, its position is held to its speed again
    feed(link, good(3, x=400.0))  # 500 m in a minute: it drives
    clock.now += 0.1
    feed(link, good(4, x=0.0))
    assert len(taken(link)) == 1 and link.refused == {TELEPORT: 1}


def test_a_visualization_is_held_to_the_same_checks() -> None:
    from hardware_bridge.vda5050 import visualization_message

    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, x=0.0))
    at = {"x": 1.0, "y": 0.0, "theta": 0.0, "mapId": SITE.map_id, "positionInitialized": True}
    feed(link, visualization_message(MAKER, SERIAL, 1, "2.1.0", at, 1), "visualization")
    feed(link, visualization_message(MAKER, SERIAL, 1, "2.1.0", {**at, "x": 2.0}, 1), "visualization")  # replayed
    feed(link, visualization_message(MAKER, SERIAL, 2, "2.1.0", {**at, "x": 800.0}, 1), "visualization")  # teleport
    bad = visualization_message(MAKER, SERIAL, 3, "2.1.0", at, 1)
    bad["agvPosition"]["x"] = math.nan
    feed(link, bad, "visualization")
    sink = Sink()
    link.drain(sink)
    assert [e.x for e in sink.events if isinstance(e, VehiclePosition)] == [1.0]
    assert link.refused == {OUT_OF_ORDER: 1, TELEPORT: 1, REFUSED: 1}


def test_a_state_naming_an_order_never_sent_is_a_foreign_order() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1, order_id=""))
    taken(link)
    link.port_for(SERIAL).accept(replace(route("o1", 40.0, released=3), device_id=SERIAL))
    feed(link, good(2, order_id="o1"))
    feed(link, good(3, order_id="o-someone-else", last_node_id="N3", last_node_sequence_id=6))
    feed(link, good(4, order_id="o1"))
    feed(link, good(5, order_id=""))  # no order: its own to say
    states = taken(link)
    assert [s.order_id for s in states] == ["o1", "o1", ""]
    assert all(s.last_node_id == "VN" for s in states)  # not taken as its progress
    assert link.refused == {FOREIGN_ORDER: 1}
    assert FOREIGN_ORDER in states[1].warnings and any("o-someone-else" in t for t in states[1].error_texts)


def test_the_first_state_may_name_an_order_from_before_master_control_started() -> None:
    link = make_link(Clock())
    feed(link, good(1, order_id="o-before-the-restart"))
    assert [s.order_id for s in taken(link)] == ["o-before-the-restart"]
    feed(link, good(2, order_id="o-before-the-restart"))  # the order it last said it drives
    assert len(taken(link)) == 1 and link.dropped == 0


def test_the_operator_warning_goes_after_a_minute_without_refusals() -> None:
    clock = Clock()
    link = make_link(clock)
    feed(link, good(1))
    feed(link, good(1))
    clock.now += 30
    feed(link, good(2))
    clock.now += 31
    feed(link, good(3))
    states = taken(link)
    assert [OUT_OF_ORDER in s.warnings for s in states] == [False, True, False]


# --- the network thread lives on ----------------------------------------------------------------


def test_nothing_a_message_does_escapes_the_network_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import hardware_bridge.mqtt_vehicles as mv

    link = make_link(Clock())

    def broken(message: dict[str, Any]) -> CarrierState:
        raise RuntimeError("a bug")

    monkeypatch.setattr(mv, "carrier_state", broken)
    msg = mqtt.MQTTMessage(topic=topic_name(MAKER, SERIAL, "state").encode())
    msg.payload = json.dumps(good(1)).encode()
    link._on_message(link.client, None, msg)
    assert link.dropped == 1


def test_json_nested_too_deep_is_refused_not_raised() -> None:
    link = make_link(Clock())
    feed(link, b"[" * 100_000)
    feed(link, b'{"a":' * 50_000)
    assert link.refused == {REFUSED: 2}


# --- fuzzing -----------------------------------------------------------------------------------

BASE = good(2, x=40.0, order_id="o1", order_update_id=1, last_node_id="N1", last_node_sequence_id=2)
BASE.update(
    nodeStates=[{"nodeId": "N2", "sequenceId": 4, "released": True}],
    edgeStates=[{"edgeId": "E1", "sequenceId": 3, "released": True}],
    velocity={"vx": 1.0, "vy": 0.0, "omega": 0.0},
    errors=[{"errorType": "batteryLow", "errorLevel": "WARNING", "errorDescription": "charge soon",
             "errorReferences": [{"referenceKey": "orderId", "referenceValue": "o1"}]}],
    actionStates=[{"actionId": "a1", "actionType": "pick", "actionStatus": "RUNNING"}],
)
IDS = {"headerId", "orderUpdateId", "lastNodeSequenceId", "sequenceId"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
    | st.sampled_from([-1, 0, UINT32 - 1, UINT32, -50, 1e308, -1e308, 100.5, 2.5, 5.0, 10**400, "", "N" * 5000,
                       "not a time", "2026-01-01", "2026-01-01T00:00:00Z", "huu-nghi", "AGV-1"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_states(draw: st.DrawFn) -> dict[str, Any]:
    message = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(message))[1:]))
        parent: Any = message
        for k in path[:-1]:
            parent = parent[k]
        how = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if how == "set":
            parent[path[-1]] = draw(json_values)
        elif how == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return message


def out_of_range(message: Any) -> bool:
    """Whether anything in the message breaks the standard's meaning, judged apart from the
    link's own code: a number not finite, an id no uint32, a charge beyond 0..100, no time,
    a position off the map."""
    stack: list[tuple[str, Any]] = [("", message)]
    while stack:
        name, value = stack.pop()
        if name in IDS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return True
        if isinstance(value, dict):
            stack.extend(value.items())
        elif isinstance(value, list):
            stack.extend((name, v) for v in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return True
        elif name in IDS and ((isinstance(value, float) and not value.is_integer()) or not 0 <= value < UINT32):
            return True
    if not isinstance(message, dict):
        return False
    battery = message.get("batteryState")
    charge = battery.get("batteryCharge") if isinstance(battery, dict) else None
    if isinstance(charge, (int, float)) and not isinstance(charge, bool) and not 0 <= charge <= 100:
        return True
    stamp = message.get("timestamp")
    if isinstance(stamp, str):
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            return True
    at = message.get("agvPosition")
    if isinstance(at, dict) and at.get("mapId") == SITE.map_id:
        x, y = at.get("x"), at.get("y")
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not (-1000 <= x <= 1120 and -1000 <= y <= 1000):
            return True
    return False


def _primed() -> VehicleLink:
    """A link that took a good state of order o1 at BASE's place."""
    link = make_link(Clock())
    feed(link, good(1, x=40.0, order_id="o1", order_update_id=1, last_node_id="N1", last_node_sequence_id=2))
    taken(link)
    return link


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_states())
def test_a_mutated_state_never_raises_and_is_refused_when_out_of_range(message: dict[str, Any]) -> None:
    link = _primed()
    before = link.status[SERIAL].last_state
    feed(link, json.dumps(message).encode())  # NaN and Infinity as Python writes them
    states = taken(link)
    if out_of_range(message):
        assert states == [] and link.status[SERIAL].last_state == before and link.dropped == 1
    if states:  # what was taken is what the controllers can use
        (state,) = states
        assert math.isfinite(state.battery_pct) and 0 <= state.battery_pct <= 100
        assert 0 <= state.order_update_id < UINT32 and 0 <= state.last_node_sequence_id < UINT32
        assert state.position is None or all(math.isfinite(v) for v in state.position)


CHECKED = ["headerId", "orderUpdateId", "lastNodeSequenceId", "nodeStates/0/sequenceId", "edgeStates/0/sequenceId",
           "batteryState/batteryCharge", "agvPosition/x", "agvPosition/y", "velocity/vx", "batteryState/batteryVoltage"]
numbers = (
    st.integers(-(2**40), 2**40) | st.floats() | st.booleans()
    | st.sampled_from([-1, 0, 1, 2, 3, 100, 101, UINT32 - 1, UINT32, 2.0, 2.5, -0.0, 1e308, 10**20, 10**400, 1 + MAX_AHEAD, 2 + MAX_AHEAD])
)
stamps = st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat()) | st.sampled_from(
    ["2026-03-01T08:00:00.123Z", "2026-03-01T08:00:00+07:00", "2026-03-01", "not a time", "2026-13-01T00:00:00Z", ""])


def _schema_type_ok(path: str, value: Any) -> bool:
    """What the schema asks of the field's type (numbers; integers for the ids)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return path.split("/")[-1] not in IDS or (isinstance(value, int) or value.is_integer())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CHECKED), numbers), max_size=3), st.none() | stamps)
def test_a_state_with_its_numbers_or_time_changed_is_taken_exactly_when_in_range(
    changes: list[tuple[str, Any]], stamp: str | None
) -> None:
    message = copy.deepcopy(BASE)
    for path, value in changes:
        _set(path, value)(message)
    if stamp is not None:
        message["timestamp"] = stamp
    link = _primed()
    feed(link, json.dumps(message).encode())
    fields = dict(changes)  # a later change of a field overrides an earlier one
    header = fields.get("headerId", 2)
    x, y = fields.get("agvPosition/x", 40.0), fields.get("agvPosition/y", 0.0)
    in_time = True
    if stamp is not None:
        try:
            datetime.fromisoformat(stamp)
            in_time = "T" in stamp or " " in stamp
        except ValueError:
            in_time = False
    should = (
        all(_schema_type_ok(p, v) for p, v in fields.items())
        and not out_of_range(message)
        and in_time
        and 1 < header <= 1 + MAX_AHEAD  # newer than the primed state's, not leaping ahead
        and math.hypot(x - 40.0, y) <= 10.0 * 1.5 + 5.0  # no teleport at the default top speed, no time passed
    )
    assert bool(taken(link)) == should, (changes, stamp, link.refused)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2000), st.binary(max_size=8), st.integers(0, 8))
def test_a_corrupted_payload_never_raises(at: int, junk: bytes, cut: int) -> None:
    link = _primed()
    payload = json.dumps(BASE).encode()
    at = min(at, len(payload))
    feed(link, payload[:at] + junk + payload[at + cut:])
    assert link.received == 2


# --- a run: hostile states amid a real vehicle's ---------------------------------------------------


class Tap:
    """Every message on the vehicle's topics, as the broker hands them out, in order."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tap")
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (c.subscribe(f"uagv/v2/{MAKER}/{SERIAL}/#", qos=1), ready.set())
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(5)
        time.sleep(0.2)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic.rsplit("/", 1)[1], bytes(msg.payload)))

    def latest_state(self, sent: set[bytes]) -> dict[str, Any] | None:
        with self.lock:
            for kind, payload in reversed(self.messages):
                if kind == "state" and payload not in sent:
                    return dict(json.loads(payload))
        return None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _hostile_variants(latest: dict[str, Any], older: dict[str, Any]) -> list[tuple[str, dict[str, Any] | str]]:
    """What the tester sent, each made from the vehicle's latest state (topic kind, message);
    none the same as anything the vehicle itself sends."""
    h = latest["headerId"]
    out: list[tuple[str, dict[str, Any] | str]] = []
    for charge in (math.nan, math.inf, -50, 1e308):
        m = copy.deepcopy(latest)
        m["batteryState"]["batteryCharge"] = charge
        m["headerId"] = h + 1
        out.append(("state", m))
    for key in ("headerId", "orderUpdateId", "lastNodeSequenceId"):
        m = copy.deepcopy(latest)
        m[key] = -1
        out.append(("state", m))
    m = copy.deepcopy(latest)
    m.update(timestamp="not a time", headerId=h + 1)
    out.append(("state", m))
    out.append(("state", json.dumps(older, indent=1)))  # replayed as it was
    out.append(("state", {**copy.deepcopy(latest), "lastNodeId": "L9N9", "lastNodeSequenceId": 98}))  # its headerId again
    if "agvPosition" in latest:
        m = copy.deepcopy(latest)
        m["agvPosition"]["x"] += 800.0
        m["headerId"] = h + 1
        out.append(("state", m))
        v = {"headerId": 10**6, "timestamp": timestamp(), "version": "2.1.0", "manufacturer": MAKER,
             "serialNumber": SERIAL, "agvPosition": {**latest["agvPosition"], "x": latest["agvPosition"]["x"] + 900.0}}
        out.append(("visualization", v))
    m = copy.deepcopy(latest)
    m.update(orderId="o-someone-else", headerId=h + 1, lastNodeId="L9N9", lastNodeSequenceId=98)
    out.append(("state", m))
    return out


class Hostile:
    """Sends what the tester sent on the vehicle's own topics, every few milliseconds."""

    def __init__(self, port: int, tap: Tap) -> None:
        self.tap = tap
        self.sent: set[bytes] = set()
        self.kinds: set[str] = set()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hostile")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        first = None
        while not self._stop.is_set():
            latest = self.tap.latest_state(self.sent)
            if latest is None or "agvPosition" not in latest:  # it has no place yet
                time.sleep(0.02)
                continue
            first = first or latest
            for kind, message in _hostile_variants(latest, first):
                payload = (message if isinstance(message, str) else json.dumps(message)).encode()
                self.sent.add(payload)
                self.kinds.add(kind)
                self.client.publish(topic_name(MAKER, SERIAL, kind), payload, qos=0)  # type: ignore[arg-type]
            time.sleep(0.03)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()


def test_hostile_states_amid_a_real_vehicles_do_not_change_what_the_controllers_see(broker: Broker) -> None:
    link = VehicleLink("127.0.0.1", broker.port, MAKER, {SERIAL: "2.1.0"}, state_timeout_s=5.0, site=SITE)
    link.start()
    tap = Tap(broker.port)
    vehicle = VehicleEmulator("127.0.0.1", broker.port, MAKER, SERIAL, speed_mps=20.0, state_period_s=0.2,
                              visualization_period_s=0.1)
    driving = threading.Thread(target=vehicle.run, daemon=True)
    driving.start()
    sink = Sink()
    hostile: Hostile | None = None

    def until(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            assert time.monotonic() < deadline, f"timed out; last states {sink.states()[-2:]}"
            link.drain(sink)
            time.sleep(0.02)

    try:
        until(lambda: link.status[SERIAL].online and bool(sink.states()))
        hostile = Hostile(broker.port, tap)
        order = route("o1", 40.0, released=3)
        link.port_for(SERIAL).accept(replace(order, device_id=SERIAL))
        until(lambda: sink.states()[-1].order_finished and sink.states()[-1].last_node_id == "N3")
        time.sleep(0.5)  # the hostile client goes on while it stands
    finally:
        if hostile is not None:
            hostile.stop()
        vehicle.stop()
        driving.join(5)
    heard = [-1, time.monotonic()]  # how many the tap has had, and since when

    def quiet() -> bool:
        """The tap has had nothing new for half a second and the link has handled as many."""
        with tap.lock:
            count = sum(kind in ("state", "connection", "factsheet", "visualization") for kind, _ in tap.messages)
        if count != heard[0]:
            heard[:] = [count, time.monotonic()]
        return link.received >= count and time.monotonic() - heard[1] > 0.5

    try:  # the last messages may still be on their way to the tap and to the link
        until(quiet, 10)
        link.drain(sink)
    finally:
        link.stop()
        tap.close()
    assert hostile is not None
    with tap.lock:
        genuine = [(kind, payload) for kind, payload in tap.messages if payload not in hostile.sent]
    # what the vehicle said, as the link reads it: exactly what reached the controllers
    expected = [replace(carrier_state(decode("state", p)), device_id=SERIAL) for k, p in genuine if k == "state"]
    assert [without_link_warnings(s) for s in sink.states()] == expected
    places = []
    for kind, payload in genuine:
        if kind == "visualization":
            at = json.loads(payload)["agvPosition"]
            places.append(VehiclePosition(SERIAL, at["x"], at["y"], at["theta"]))
    assert [e for e in sink.events if isinstance(e, VehiclePosition)] == places
    assert not any(isinstance(e, CommandRefused) for e in sink.events)
    # every kind of hostile message was met, and each was shown to the operator
    assert {REFUSED, OUT_OF_ORDER, TELEPORT, FOREIGN_ORDER} <= set(link.refused)
    shown = {w for s in sink.states() for w in s.warnings}
    assert {REFUSED, OUT_OF_ORDER, TELEPORT, FOREIGN_ORDER} <= shown
    assert link.dropped == sum(link.refused.values()) >= len(hostile.sent)
