"""What the emulated vehicle says of the actions it is sent and of where it is, checked on
the wire against the VDA 5050 schema of the version it speaks (2.1 and 3.0), and what
master control's link makes of it: each action's status once, a refusal told once, a
position read only in the site's map, and a vehicle that is not localised placed only by
an initPosition."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker import Broker, Sink
from test_vehicle_emulator import MAKER, emulated, route, until

from controllers.messages import Action, ActionState, CommandRefused, InstantActions, VehiclePosition
from controllers.vehicle_map import NodePosition, VehicleMap
from hardware_bridge.mqtt_vehicles import VehicleLink
from hardware_bridge.vda5050 import schema_errors
from hardware_bridge.vehicle_emulator import VehicleEmulator

# VN -> N1 -> N2 -> N3 due east, 40 m apart, as `route` lays them out
SITE = VehicleMap("test-map", {n: NodePosition(40.0 * i, 0.0, 0.5) for i, n in enumerate(["VN", "N1", "N2", "N3"])}, 20.0)


class StateTap:
    """Every state message one vehicle publishes, as sent, and any that breaks its schema."""

    def __init__(self, port: int, serial: str, version: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self.invalid: list[list[str]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tap-{serial}")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"uagv/v{version[0]}/{MAKER}/{serial}/state")
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        message = json.loads(msg.payload)
        problems = schema_errors("state", message)
        with self._lock:
            self.messages.append(message)
            if problems:
                self.invalid.append(problems[:3])

    def actions(self) -> dict[str, str]:
        """actionId -> its status in the latest state (2.x: actionStates; 3.0 also instantActionStates)."""
        with self._lock:
            last = self.messages[-1] if self.messages else {}
        return {a["actionId"]: a["actionStatus"] for a in [*last.get("actionStates", []), *last.get("instantActionStates", [])]}

    def positions(self, version: str) -> list[dict[str, Any]]:
        key = "mobileRobotPosition" if version.startswith("3") else "agvPosition"
        with self._lock:
            return [m[key] for m in self.messages if key in m]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def tap_factory(broker: Broker) -> Iterator[Any]:
    taps: list[StateTap] = []

    def make(serial: str, version: str) -> StateTap:
        taps.append(StateTap(broker.port, serial, version))
        return taps[-1]

    yield make
    for t in taps:
        t.close()


@pytest.mark.parametrize("version", ["2.1.0", "3.0.0"])
def test_the_vehicle_reports_each_action_and_its_position_and_the_link_tells_each_once(
    broker: Broker, tap_factory: Any, version: str
) -> None:
    serial = f"AGV-91{version[0]}"
    tap = tap_factory(serial, version)
    with emulated(broker, serial, version=version, site=SITE) as (_, link, sink):
        port = link.port_for(serial)
        order = replace(route("o1", 40.0, released=1), device_id=serial)
        # an action on the node it will reach, and one on the node beyond its base
        nodes = list(order.nodes)
        nodes[1] = replace(nodes[1], actions=(Action("pick", "a-n1"),))
        nodes[2] = replace(nodes[2], actions=(Action("drop", "a-n2"),))
        port.accept(replace(order, nodes=tuple(nodes)))
        until(link, sink, lambda: tap.actions().get("a-n2") == "WAITING")
        until(link, sink, lambda: sink.states()[-1].last_node_id == "N1" and not sink.states()[-1].driving)
        until(link, sink, lambda: tap.actions().get("a-n1") == "FINISHED")  # the tap may lag the link
        assert tap.actions()["a-n2"] == "WAITING"
        # where it is, in the order's map: along the first edge, then at N1
        assert sink.states()[-1].position == (40.0, 0.0, 0.0) and sink.states()[-1].position_initialized
        along = [p["x"] for p in tap.positions(version) if 0.0 < p["x"] < 40.0]
        assert along and all(p["mapId"] == "test-map" for p in tap.positions(version))

        # a pause: FINISHED, told once as an ActionState
        port.accept(InstantActions(serial, (Action("startPause", "p1"),)))
        until(link, sink, lambda: any(isinstance(e, ActionState) and e.action_id == "p1" for e in sink.events))
        # a cancelOrder where it stands: FINISHED, the node action it will not do FAILED, no refusal
        port.accept(InstantActions(serial, (Action("stopPause", "p2"), Action("cancelOrder", "c1"))))
        until(link, sink, lambda: sink.states()[-1].order_cancelled)
        until(link, sink, lambda: tap.actions().get("a-n2") == "FAILED")
        until(link, sink, lambda: tap.actions().get("c1") == "FINISHED")
        assert not sink.states()[-1].order_finished

        # nothing to cancel: FAILED with a noOrderToCancel error, one refusal for both
        port.accept(InstantActions(serial, (Action("cancelOrder", "c2"),)))
        until(link, sink, lambda: any(isinstance(e, CommandRefused) and e.reference("actionId") == "c2" for e in sink.events))
        # an action it does not know: FAILED with an error naming it
        port.accept(InstantActions(serial, (Action("danceAround", "d1", "NONE"),)))
        until(link, sink, lambda: any(isinstance(e, CommandRefused) and e.reference("actionId") == "d1" for e in sink.events))
        time.sleep(1.0)  # several states more, each still carrying both
        link.drain(sink)

    refused = [e for e in sink.events if isinstance(e, CommandRefused)]
    assert [r.reference("actionId") for r in refused] == ["c2", "d1"], refused  # each told once
    assert "noOrderToCancel" in refused[0].reason and "validationError" in refused[1].reason
    told = [(e.action_id, e.status) for e in sink.events if isinstance(e, ActionState)]
    assert ("p1", "FINISHED") in told and ("c1", "FINISHED") in told and ("c2", "FAILED") in told
    assert len(told) == len(set(told))  # each status of each action told once
    assert ("a-n1", "FINISHED") in told and ("a-n2", "FAILED") in told
    assert tap.messages and tap.invalid == []  # every state it sent is valid in its version


def test_a_vehicle_that_is_not_localised_takes_no_order_until_it_is_placed(broker: Broker, tap_factory: Any) -> None:
    serial = "AGV-920"
    tap = tap_factory(serial, "2.1.0")
    with emulated(broker, serial, "--not-localized", site=SITE) as (_, link, sink):
        assert not sink.states()[-1].position_initialized
        port = link.port_for(serial)
        port.accept(replace(route("o1", 10.0, released=3), device_id=serial))
        until(link, sink, lambda: any(isinstance(e, CommandRefused) for e in sink.events))
        refused = [e for e in sink.events if isinstance(e, CommandRefused)]
        assert refused[0].command == "Order" and "noRouteError" in refused[0].reason
        assert sink.states()[-1].order_id == ""
        # placed: initPosition at VN, with the node's place in the map (the link adds it)
        port.accept(InstantActions(serial, (Action("initPosition", "i1", "NONE", (("lastNodeId", "VN"),)),)))
        until(link, sink, lambda: sink.states()[-1].position_initialized)
        assert sink.states()[-1].position == (0.0, 0.0, 0.0) and sink.states()[-1].last_node_id == "VN"
        port.accept(replace(route("o2", 10.0, released=3), device_id=serial))
        until(link, sink, lambda: sink.states()[-1].order_finished and sink.states()[-1].last_node_id == "N3")
        assert sink.states()[-1].position == (120.0, 0.0, 0.0)
    assert tap.invalid == []
    assert any(m["agvPosition"]["positionInitialized"] is False for m in tap.messages if "agvPosition" in m)


def test_a_position_in_another_map_is_not_read_as_one_in_the_sites(broker: Broker) -> None:
    serial = "AGV-930"
    # its orders place the nodes in another map, so it reports its positions there
    with emulated(broker, serial, site=replace(SITE, map_id="other-map")) as (_, link, sink):
        link.port_for(serial).accept(replace(route("o1", 10.0, released=3), device_id=serial))
        until(link, sink, lambda: sink.states()[-1].order_finished)
        # a second link that only reads: started once the order is taken, as its first state
        # is the only one that may name an order it did not send
        reader = VehicleLink("127.0.0.1", broker.port, MAKER, {serial: "2.1.0"}, client_id="site-reader", site=SITE)
        reader.start()
        read = type(sink)()
        try:
            until(reader, read, lambda: bool(read.states()) and read.states()[-1].order_finished)
        finally:
            reader.stop()
        assert sink.states()[-1].position == (120.0, 0.0, 0.0)  # N3, in the map its orders gave
        assert read.states()[-1].position is None  # not in the site's: not shown where it is not


def test_initposition_while_driving_fails_and_is_told(broker: Broker) -> None:
    serial = "AGV-940"
    with emulated(broker, serial, site=SITE) as (_, link, sink):
        port = link.port_for(serial)
        port.accept(replace(route("o1", 40.0, released=3), device_id=serial))
        until(link, sink, lambda: sink.states()[-1].driving)
        port.accept(InstantActions(serial, (Action("initPosition", "i1", "NONE", (("lastNodeId", "CN"),)),)))
        until(link, sink, lambda: any(isinstance(e, CommandRefused) for e in sink.events))
        refused = [e for e in sink.events if isinstance(e, CommandRefused)]
        assert refused[0].reference("actionId") == "i1" and "driving" in refused[0].reason
        until(link, sink, lambda: sink.states()[-1].order_finished)
        assert sink.states()[-1].last_node_id == "N3"  # it was not moved in its map



@pytest.mark.parametrize("version", ["2.1.0", "3.0.0"])
def test_the_visualization_topic_gives_the_position_between_states(broker: Broker, version: str) -> None:
    serial = f"AGV-95{version[0]}"
    seen: list[dict[str, Any]] = []
    tap = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vis-tap-{serial}")
    tap.on_message = lambda _c, _u, msg: seen.append(json.loads(msg.payload))
    tap.connect("127.0.0.1", broker.port)
    tap.subscribe(f"uagv/v{version[0]}/{MAKER}/{serial}/visualization")
    tap.loop_start()
    # a state every 3 s, its position ten times a second
    flags = ("--state-period", "3", "--visualization-period", "0.1")
    try:
        with emulated(broker, serial, *flags, version=version, site=SITE) as (_, link, sink):
            link.port_for(serial).accept(replace(route("o1", 40.0, released=3), device_id=serial))
            until(link, sink, lambda: sink.states()[-1].order_finished, 15)
            link.drain(sink)
    finally:
        tap.loop_stop()
        tap.disconnect()
    positions = [e for e in sink.events if isinstance(e, VehiclePosition)]
    assert len(positions) >= 20 and {p.device_id for p in positions} == {serial}
    xs = [p.x for p in positions]
    assert xs == sorted(xs) and 0.0 <= xs[0] < 40.0 and xs[-1] > 100.0  # along its way east
    assert len({x for x in xs if 0.0 < x < 120.0 and x % 40.0}) >= 10  # between nodes, not only at them
    assert seen and all(schema_errors("visualization", m) == [] for m in seen)


@pytest.mark.parametrize("version", ["2.1.0", "3.0.0"])
def test_a_vehicle_taken_over_at_the_vehicle_or_emergency_stopped_is_stopped_until_handed_back(
    broker: Broker, tap_factory: Any, version: str
) -> None:
    serial = f"AGV-96{version[0]}"
    tap = tap_factory(serial, version)
    emulator = VehicleEmulator("127.0.0.1", broker.port, MAKER, serial, speed_mps=10.0, state_period_s=0.2, version=version)
    runner = threading.Thread(target=emulator.run, daemon=True)
    link = VehicleLink("127.0.0.1", broker.port, MAKER, {serial: version}, site=SITE)
    link.start()
    runner.start()
    sink = Sink()
    try:
        until(link, sink, lambda: link.status[serial].online and bool(sink.states()), 15)
        with pytest.raises(ValueError, match="AUTOACK") if version.startswith("3") else contextlib.nullcontext():
            emulator.emergency_stop("AUTOACK")  # 3.0 knows no auto-acknowledged stop
        emulator.emergency_stop("NONE")
        link.port_for(serial).accept(replace(route("o1", 40.0, released=3), device_id=serial))
        until(link, sink, lambda: sink.states()[-1].driving)
        emulator.set_operating_mode("MANUAL")  # a person takes it over on its way
        until(link, sink, lambda: "operatingMode MANUAL" in sink.states()[-1].errors and not sink.states()[-1].driving)
        last = sink.states()[-1]
        assert any("not under master control" in t for t in last.error_texts)
        assert last.information == ("INFO localControl: in MANUAL mode at the vehicle",)
        time.sleep(1.0)  # 10 m at 10 m/s if it drove on
        link.drain(sink)
        assert sink.states()[-1].position == last.position and not sink.states()[-1].driving
        emulator.set_operating_mode("AUTOMATIC")
        until(link, sink, lambda: sink.states()[-1].driving and not sink.states()[-1].errors)
        assert sink.states()[-1].information == ()
        emulator.emergency_stop("REMOTE")
        until(link, sink, lambda: "eStop REMOTE" in sink.states()[-1].errors and not sink.states()[-1].driving)
        assert any("acknowledged by the facility" in t for t in sink.states()[-1].error_texts)
        held_at = sink.states()[-1].position
        time.sleep(1.0)
        link.drain(sink)
        assert sink.states()[-1].position == held_at  # it stands under the e-stop
        emulator.emergency_stop("NONE")
        until(link, sink, lambda: sink.states()[-1].order_finished and not sink.states()[-1].errors, 20)
    finally:
        emulator.stop()
        runner.join(10)
        link.stop()
    assert tap.invalid == []
