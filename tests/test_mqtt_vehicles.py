"""Master control over a real Mosquitto broker, with a vehicle played by a plain MQTT client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker import Broker, Sink

from controllers.messages import Action, ActionState, CarrierState, CommandRefused, InstantActions, Node, Order
from hardware_bridge.mqtt_vehicles import CONNECTION_BROKEN, VehicleLink
from hardware_bridge.vda5050 import schema_errors, state_message, timestamp

MAKER = "LangSonTwin"


def wait_for(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


class FakeVehicle:
    """A vehicle's MQTT side: receives orders, sends state and connection messages."""

    def __init__(self, port: int, serial: str) -> None:
        self.serial = serial
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vehicle-{serial}")
        will = {"headerId": 0, "timestamp": timestamp(), "version": "2.1.0", "manufacturer": MAKER,
                "serialNumber": serial, "connectionState": "CONNECTIONBROKEN"}
        self.client.will_set(self.topic("connection"), json.dumps(will), qos=1, retain=True)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (
            c.subscribe([(self.topic("order"), 0), (self.topic("instantActions"), 0)]),
            ready.set(),
        )
        self.client.on_message = lambda c, u, m: self.received.append((m.topic.rsplit("/", 1)[1], json.loads(m.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(5)

    def topic(self, kind: str) -> str:
        return f"uagv/v2/{MAKER}/{self.serial}/{kind}"

    def send(self, kind: str, payload: bytes | dict[str, Any]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload)
        self.client.publish(self.topic(kind), data, qos=1).wait_for_publish(5)

    def connection(self, state: str) -> dict[str, Any]:
        return {"headerId": 1, "timestamp": timestamp(), "version": "2.1.0", "manufacturer": MAKER,
                "serialNumber": self.serial, "connectionState": state}

    def drop_dead(self) -> None:
        """Lose the connection without saying goodbye: the broker sends the last will."""
        self.client.loop_stop()
        self.client.socket().close()  # type: ignore[union-attr]


def order(serial: str, update: int = 0) -> Order:
    return Order(serial, "o1", update, (Node("VN", 0, True), Node("L0N0", 2, True, report=True)), ())


def state(serial: str, **kw: Any) -> CarrierState:
    base = CarrierState(serial, "o1", 0, "L0N0", 2, False, False, 80.0, False, None, order_finished=True)
    return replace(base, **kw)


@pytest.fixture
def link(broker: Broker) -> Iterator[VehicleLink]:
    lk = VehicleLink("127.0.0.1", broker.port, MAKER, {"AGV-1": "2.1.0", "AGV-2": "2.0.0"}, state_timeout_s=1.0)
    lk.start()
    yield lk
    lk.stop()


def test_orders_reach_the_vehicle_valid_in_its_own_version(broker: Broker, link: VehicleLink) -> None:
    v1, v2 = FakeVehicle(broker.port, "AGV-1"), FakeVehicle(broker.port, "AGV-2")
    for v in (v1, v2):
        v.send("connection", v.connection("ONLINE"))
    wait_for(lambda: all(s.online for s in link.status.values()))
    link.port_for("AGV-1").accept(order("AGV-1"))
    link.port_for("AGV-2").accept(InstantActions("AGV-2", (Action("startPause", "p1"),)))
    wait_for(lambda: any(k == "order" for k, _ in v1.received) and any(k == "instantActions" for k, _ in v2.received))
    sent_order = next(m for k, m in v1.received if k == "order")
    assert schema_errors("order", sent_order) == [] and sent_order["version"] == "2.1.0"
    assert "report" not in sent_order["nodes"][1]
    actions = next(m for k, m in v2.received if k == "instantActions")
    assert schema_errors("instantActions", actions) == [] and actions["version"] == "2.0.0"


def test_states_come_to_the_controllers_only_through_drain(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    v.send("state", state_message(state("AGV-1"), 5, MAKER))
    wait_for(lambda: not link.inbox.empty())
    sink = Sink()
    assert link.drain(sink) == 1
    assert sink.events == [state("AGV-1")]


def test_bad_messages_are_counted_and_dropped_and_the_link_goes_on(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    bad = state_message(state("AGV-1"), 5, MAKER)
    bad["driving"] = "yes"
    for payload in (b"{oops", json.dumps(bad).encode(), b"x" * 300_000, json.dumps([1]).encode()):
        v.send("state", payload)
    v.send("state", state_message(state("AGV-1", battery_pct=55.0), 6, MAKER))
    wait_for(lambda: not link.inbox.empty())
    sink = Sink()
    link.drain(sink)
    assert link.dropped == 4
    assert [e.battery_pct for e in sink.events] == [55.0]  # type: ignore[union-attr]


def test_a_lost_vehicle_is_reported_its_orders_held_and_sent_once_it_is_back(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    v.send("state", state_message(state("AGV-1"), 5, MAKER))
    wait_for(lambda: link.status["AGV-1"].online)
    v.drop_dead()  # the broker publishes its last will: CONNECTIONBROKEN
    wait_for(lambda: not link.status["AGV-1"].online)
    sink = Sink()
    link.drain(sink)
    assert CONNECTION_BROKEN in sink.events[-1].errors  # type: ignore[union-attr]
    sent = link.sent  # its factsheet was asked for when it first came online
    link.port_for("AGV-1").accept(order("AGV-1", update=1))
    assert link.status["AGV-1"].held and link.sent == sent
    back = FakeVehicle(broker.port, "AGV-1")
    back.send("state", state_message(state("AGV-1"), 9, MAKER))  # its first state after reconnecting
    wait_for(lambda: link.drain(sink) >= 0 and any(k == "order" for k, _ in back.received))
    assert link.sent == sent + 1 and not link.status["AGV-1"].held
    link.drain(sink)
    assert sink.events[-1] == state("AGV-1")


def test_a_vehicle_whose_state_goes_stale_counts_as_disconnected(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    v.send("state", state_message(state("AGV-1"), 5, MAKER))
    wait_for(lambda: link.status["AGV-1"].online)
    time.sleep(1.2)
    link.check_timeouts()
    assert not link.status["AGV-1"].online
    sink = Sink()
    link.drain(sink)
    assert CONNECTION_BROKEN in sink.events[-1].errors  # type: ignore[union-attr]


def test_no_broker_is_a_clear_error() -> None:
    from broker import free_port

    lk = VehicleLink("127.0.0.1", free_port(), MAKER, {"AGV-1": "2.1.0"})
    with pytest.raises(ConnectionError, match="no MQTT broker answered"):
        lk.start(timeout_s=1.0)


def _refusing_state(serial: str, errors: list[dict[str, Any]], header: int, **extra: Any) -> dict[str, Any]:
    message = state_message(state(serial, order_id="", order_finished=False), header, MAKER)
    message.update(errors=errors, **extra)
    assert schema_errors("state", message) == []
    return message


def _error(kind: str, level: str, description: str, **refs: str) -> dict[str, Any]:
    return {
        "errorType": kind, "errorLevel": level, "errorDescription": description,
        "errorReferences": [{"referenceKey": k, "referenceValue": v} for k, v in refs.items()],
    }


def test_a_refusal_is_told_to_the_controllers_once_with_the_vehicles_words(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    v.send("state", state_message(state("AGV-1", order_id="", order_finished=False), 1, MAKER))
    wait_for(lambda: link.status["AGV-1"].online)
    link.port_for("AGV-1").accept(order("AGV-1"))
    link.port_for("AGV-1").accept(InstantActions("AGV-1", (Action("startPause", "p1"),)))
    wait_for(lambda: len(v.received) == 2)
    refusal = _error("noRouteError", "WARNING", "order route is not traversable: missing nodePosition",
                     topic="order", headerId="1", orderId="o1", orderUpdateId="0")
    other = _error("batteryLow", "WARNING", "charge soon")  # about no command of ours
    foreign = _error("orderError", "WARNING", "not ours", orderId="o-someone-else")
    # the vehicle keeps its errors in every state that follows, as vehicles do
    for header in (2, 3, 4):
        v.send("state", _refusing_state("AGV-1", [refusal, other, foreign], header))
    failed = {"actionId": "p1", "actionType": "startPause", "actionStatus": "FAILED", "resultDescription": "not while charging"}
    for header in (5, 6):
        v.send("state", _refusing_state("AGV-1", [refusal, other, foreign], header, actionStates=[failed]))
    sink = Sink()
    wait_for(lambda: (link.drain(sink), len(sink.states()) >= 6)[1])
    refused = [e for e in sink.events if isinstance(e, CommandRefused)]
    assert [(r.command, r.device_id) for r in refused] == [("Order", "AGV-1"), ("InstantActions", "AGV-1")]
    assert refused[0].reference("orderId") == "o1" and refused[0].reference("orderUpdateId") == "0"
    assert "missing nodePosition" in refused[0].reason and refused[0].reason.startswith("WARNING noRouteError")
    assert refused[1].reference("actionId") == "p1" and "not while charging" in refused[1].reason
    # a refusal comes before the state that carried it
    assert isinstance(sink.events[sink.events.index(refused[0]) + 1], CarrierState)
    # WARNING errors are shown, they do not make the carrier faulty; the texts keep the references
    last = sink.states()[-1]
    assert last.errors == () and set(last.warnings) == {"noRouteError", "batteryLow", "orderError"}
    assert any("orderId o1" in t for t in last.error_texts)
    # the order sent again and refused again: a new error (its header differs), told again
    link.port_for("AGV-1").accept(order("AGV-1"))
    again = _error("noRouteError", "WARNING", "order route is not traversable: missing nodePosition",
                   topic="order", headerId="3", orderId="o1", orderUpdateId="0")
    v.send("state", _refusing_state("AGV-1", [refusal, again], 7))
    fatal = _error("driveError", "FATAL", "motor")
    v.send("state", _refusing_state("AGV-1", [refusal, again, fatal], 8))
    wait_for(lambda: (link.drain(sink), len(sink.states()) >= 8)[1])
    assert len([e for e in sink.events if isinstance(e, CommandRefused)]) == 3
    assert sink.states()[-1].errors == ("driveError",)  # FATAL: the carrier cannot work


def test_a_message_in_another_version_than_the_vehicles_is_dropped(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")  # speaks 2.1.0, on the v2 topics
    v.send("state", state_message(state("AGV-1"), 1, MAKER, version="3.0.0"))  # valid 3.0, on a v2 topic
    v3 = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="v3-impostor")
    v3.connect("127.0.0.1", broker.port)
    v3.loop_start()
    v3.publish(f"uagv/v3/{MAKER}/AGV-1/state", json.dumps(state_message(state("AGV-1"), 2, MAKER, version="3.0.0")), qos=1).wait_for_publish(5)
    v3.loop_stop()
    v3.disconnect()
    v.send("state", state_message(state("AGV-1", battery_pct=42.0), 3, MAKER))
    sink = Sink()
    wait_for(lambda: (link.drain(sink), bool(sink.states()))[1])
    assert [s.battery_pct for s in sink.states()] == [42.0]
    assert link.dropped == 1  # the one on its own topics; the link takes no v3 topic for a 2.1 fleet


def test_vehicles_of_two_makers_each_with_its_identity_and_header_ids_per_topic(broker: Broker) -> None:
    from hardware_bridge.mqtt_vehicles import VehicleIdentity
    from hardware_bridge.vda5050 import factsheet_message

    link = VehicleLink("127.0.0.1", broker.port, MAKER, {
        "AGV-1": "2.1.0",
        "AGV-7": VehicleIdentity("3.0.0", manufacturer="OtherWorks", serial="SN-0042", interface="fleet2"),
    }, state_timeout_s=5.0)
    link.start()
    try:
        ours = FakeVehicle(broker.port, "AGV-1")
        theirs = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="other-works")
        got: list[tuple[str, dict[str, Any]]] = []
        theirs.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
        theirs.connect("127.0.0.1", broker.port)
        theirs.subscribe("fleet2/v3/OtherWorks/SN-0042/#")
        theirs.loop_start()
        time.sleep(0.3)
        # its state under its own identity reaches the controllers under the carrier id
        st7 = state_message(state("SN-0042"), 1, "OtherWorks", version="3.0.0")
        theirs.publish("fleet2/v3/OtherWorks/SN-0042/state", json.dumps(st7), qos=1).wait_for_publish(5)
        ours.send("state", state_message(state("AGV-1"), 1, MAKER))
        sink = Sink()
        wait_for(lambda: (link.drain(sink), {s.device_id for s in sink.states()} == {"AGV-1", "AGV-7"})[1])
        # both were asked for their factsheet when they came online; its answer is read
        wait_for(lambda: any(t.endswith("/instantActions") for t, _ in got))
        ask = next(m for t, m in got if t.endswith("/instantActions"))
        assert [a["actionType"] for a in ask["actions"]] == ["factsheetRequest"]
        assert ask["serialNumber"] == "SN-0042" and ask["manufacturer"] == "OtherWorks" and ask["version"] == "3.0.0"
        sheet = factsheet_message("OtherWorks", "SN-0042", "3.0.0", 1.5, ("startPause", "stopPause"))
        theirs.publish("fleet2/v3/OtherWorks/SN-0042/factsheet", json.dumps(sheet), qos=1).wait_for_publish(5)
        wait_for(lambda: link.status["AGV-7"].factsheet is not None)
        notes = link.status["AGV-7"].factsheet_notes
        assert any("startCharging" in n for n in notes) and any("initPosition" in n for n in notes)
        # orders go out on each one's topics, headerId counting per vehicle and topic
        for k in range(3):
            link.port_for("AGV-7").accept(order("AGV-7", update=k))
            link.port_for("AGV-1").accept(order("AGV-1", update=k))
        link.port_for("AGV-7").accept(InstantActions("AGV-7", (Action("startPause", "p1"),)))
        link.drain(sink)
        wait_for(lambda: sum(t.endswith("/order") for t, _ in got) == 3 and sum(k == "order" for k, _ in ours.received) == 3)
        wait_for(lambda: sum(t.endswith("/instantActions") for t, _ in got) == 2)
        theirs_orders = [m for t, m in got if t.endswith("/order")]
        assert [m["headerId"] for m in theirs_orders] == [1, 2, 3]
        assert all(m["serialNumber"] == "SN-0042" and schema_errors("order", m) == [] for m in theirs_orders)
        assert [m["headerId"] for t, m in got if t.endswith("/instantActions")] == [1, 2]
        ours_orders = [m for k, m in ours.received if k == "order"]
        assert [m["headerId"] for m in ours_orders] == [1, 2, 3]
        assert all(m["manufacturer"] == MAKER and m["serialNumber"] == "AGV-1" for m in ours_orders)
        # a message on its topic that names another vehicle is dropped
        wrong = state_message(state("SN-0043"), 2, "OtherWorks", version="3.0.0")
        theirs.publish("fleet2/v3/OtherWorks/SN-0042/state", json.dumps(wrong), qos=1).wait_for_publish(5)
        wait_for(lambda: link.dropped == 1)
        theirs.loop_stop()
        theirs.disconnect()
    finally:
        link.stop()


def test_two_carriers_with_one_identity_on_the_broker_are_refused() -> None:
    from hardware_bridge.mqtt_vehicles import VehicleIdentity

    with pytest.raises(ValueError, match="AGV-1 and AGV-2 are both uagv/LangSonTwin/AGV-1"):
        VehicleLink("127.0.0.1", 1, MAKER, {"AGV-1": "2.1.0", "AGV-2": VehicleIdentity("2.1.0", serial="AGV-1")})


def test_action_states_are_told_on_each_change_and_a_cancelled_order_is_not_finished(broker: Broker, link: VehicleLink) -> None:
    v = FakeVehicle(broker.port, "AGV-1")
    time.sleep(0.3)  # any retained last will of an earlier vehicle AGV-1 has come by now
    v.send("connection", v.connection("ONLINE"))
    wait_for(lambda: link.status["AGV-1"].online)
    link.port_for("AGV-1").accept(order("AGV-1"))
    link.port_for("AGV-1").accept(InstantActions("AGV-1", (Action("startPause", "p1"), Action("cancelOrder", "c1"))))
    wait_for(lambda: len([k for k, _ in v.received if k != "instantActions" or _["actions"][0]["actionType"] != "factsheetRequest"]) == 2)

    def with_actions(header: int, *status: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
        message = state_message(state("AGV-1", order_finished=False), header, MAKER)
        message["actionStates"] = [{"actionId": i, "actionType": t, "actionStatus": s} for i, t, s in status]
        message.update(extra)
        assert schema_errors("state", message) == []
        return message

    v.send("state", with_actions(2, ("p1", "startPause", "RUNNING"), ("c1", "cancelOrder", "WAITING"), ("x9", "pick", "RUNNING")))
    v.send("state", with_actions(3, ("p1", "startPause", "FINISHED"), ("c1", "cancelOrder", "WAITING")))
    # its order cancelled: it stands, nothing of the order left, as a finished order would look
    position = {"x": 12.5, "y": -3.0, "theta": 0.5, "mapId": "huu-nghi", "positionInitialized": True}
    v.send("state", with_actions(4, ("p1", "startPause", "FINISHED"), ("c1", "cancelOrder", "FINISHED"), agvPosition=position))
    sink = Sink()
    wait_for(lambda: (link.drain(sink), len(sink.states()) >= 3)[1])
    told = [(e.action_id, e.action_type, e.status) for e in sink.events if isinstance(e, ActionState)]
    # each change once, only of actions this link sent
    assert told == [("p1", "startPause", "RUNNING"), ("c1", "cancelOrder", "WAITING"), ("p1", "startPause", "FINISHED"),
                    ("c1", "cancelOrder", "FINISHED")]
    last = sink.states()[-1]
    assert last.order_cancelled and not last.order_finished
    assert last.position == (12.5, -3.0, 0.5) and last.position_initialized
    # the cancel's answer comes after the state that says where it stands
    assert sink.events.index(last) < max(i for i, e in enumerate(sink.events) if isinstance(e, ActionState))
    # a vehicle that says it is not localised
    v.send("state", with_actions(5, agvPosition={**position, "positionInitialized": False}))
    wait_for(lambda: (link.drain(sink), len(sink.states()) >= 4)[1])
    assert not sink.states()[-1].position_initialized


def test_orders_keep_to_the_protocol_limits_of_the_vehicles_factsheet(link: VehicleLink, broker: Broker) -> None:
    from controllers.messages import Edge
    from hardware_bridge.vda5050 import factsheet_message

    v = FakeVehicle(broker.port, "AGV-1")
    v.send("connection", v.connection("ONLINE"))
    sheet = factsheet_message(MAKER, "AGV-1", "2.1.0", 10.0, ("startPause", "stopPause", "startCharging", "initPosition"))
    sheet["protocolLimits"]["maxArrayLens"] = {"order.nodes": 4}
    sheet["protocolLimits"]["maxStringLens"] = {"idNumericalOnly": True}
    assert schema_errors("factsheet", sheet) == []
    v.send("factsheet", sheet)
    wait_for(lambda: link.status["AGV-1"].factsheet is not None)
    assert link.status["AGV-1"].factsheet.max_order_nodes == 4  # type: ignore[union-attr]

    def route(released: int) -> Order:  # six nodes, the first `released` of them released
        ids = ["VN", *(f"L0N{k}" for k in range(5))]
        nodes = tuple(Node(n, 2 * i, i < released) for i, n in enumerate(ids))
        edges = tuple(Edge(f"E{i}", 2 * i + 1, i + 1 < released, ids[i], ids[i + 1], 50.0) for i in range(5))
        return Order("AGV-1", f"o{released}", 0, nodes, edges)

    link.port_for("AGV-1").accept(route(released=3))  # a horizon of 3: one of it is left out
    wait_for(lambda: any(k == "order" for k, _ in v.received))
    sent = next(m for k, m in v.received if k == "order")
    assert [n["nodeId"] for n in sent["nodes"]] == ["VN", "L0N0", "L0N1", "L0N2"]
    assert [e["edgeId"] for e in sent["edges"]] == ["E0", "E1", "E2"] and schema_errors("order", sent) == []
    assert [n["released"] for n in sent["nodes"]] == [True, True, True, False]
    notes = link.status["AGV-1"].factsheet_notes
    assert any("numerical ids only" in n for n in notes)
    assert not any("at most 4 nodes" in n for n in notes)
    # a base longer than it takes cannot be cut: sent whole, and said once
    link.port_for("AGV-1").accept(route(released=6))
    link.port_for("AGV-1").accept(replace(route(released=6), order_update_id=1))
    wait_for(lambda: sum(k == "order" for k, _ in v.received) == 3)
    assert len([m for k, m in v.received if k == "order"][1]["nodes"]) == 6
    assert sum("at most 4 nodes" in n for n in link.status["AGV-1"].factsheet_notes) == 1
    assert sum("numerical ids only" in n for n in link.status["AGV-1"].factsheet_notes) == 1
