"""The VDA 5050 vehicle emulator as its own process, driven by master control over Mosquitto."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from broker import Broker, Sink
from conftest import ROOT

from controllers.messages import Action, CommandRefused, Edge, InstantActions, Node, Order
from controllers.vehicle_map import VehicleMap
from hardware_bridge.mqtt_vehicles import CONNECTION_BROKEN, VehicleLink

MAKER = "LangSonTwin"


@contextmanager
def emulated(
    broker: Broker, serial: str, *flags: str, version: str = "2.1.0", site: VehicleMap | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], VehicleLink, Sink]]:
    """The emulator as its own process, and master control's link to it (orders with the
    node positions of `site`, if given), once it is online and its first state is in hand
    (checks read the last state)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "emulate", "vehicle", "--broker", f"127.0.0.1:{broker.port}",
         "--serial", serial, "--speed", "20", "--state-period", "0.2", "--version", version, *flags],
        cwd=ROOT,
    )
    link = VehicleLink("127.0.0.1", broker.port, MAKER, {serial: version}, state_timeout_s=2.0, site=site)
    link.start()
    sink = Sink()
    try:
        until(link, sink, lambda: link.status[serial].online and bool(sink.states()), 15)
        yield proc, link, sink
    finally:
        link.stop()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def vehicle(broker: Broker) -> Iterator[tuple[subprocess.Popen[bytes], VehicleLink, Sink]]:
    with emulated(broker, "AGV-900") as rig:
        yield rig


def until(link: VehicleLink, sink: Sink, check, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        link.drain(sink)
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; last states: {sink.states()[-3:]}")


def route(order_id: str, metres: float, released: int, update: int = 0, start: int = 0) -> Order:
    """VN -> N1 -> N2 -> N3, each edge `metres` long, the first `released` edges released."""
    names = ["VN", "N1", "N2", "N3"]
    nodes = tuple(Node(names[i], 2 * i, i <= released) for i in range(start, 4))
    edges = tuple(Edge(f"E{i}", 2 * i + 1, i < released, names[i], names[i + 1], metres) for i in range(start, 3))
    return Order("AGV-900", order_id, update, nodes, edges)


def test_the_emulator_drives_its_base_and_stops_at_its_end_until_extended(vehicle) -> None:  # type: ignore[no-untyped-def]
    _, link, sink = vehicle
    port = link.port_for("AGV-900")
    port.accept(route("o1", 10.0, released=1))
    until(link, sink, lambda: sink.states()[-1].last_node_id == "N1" and not sink.states()[-1].driving)
    time.sleep(0.5)
    link.drain(sink)
    assert sink.states()[-1].last_node_id == "N1"  # the horizon is not driven
    port.accept(route("o1", 10.0, released=3, update=1, start=1))
    until(link, sink, lambda: sink.states()[-1].order_finished and sink.states()[-1].last_node_id == "N3")


def test_pause_holds_the_vehicle_and_cancel_stops_it_at_the_next_node(vehicle) -> None:  # type: ignore[no-untyped-def]
    _, link, sink = vehicle
    port = link.port_for("AGV-900")
    port.accept(route("o2", 40.0, released=3))
    until(link, sink, lambda: sink.states()[-1].driving)
    port.accept(InstantActions("AGV-900", (Action("startPause", "p1"),)))
    until(link, sink, lambda: sink.states()[-1].paused)
    held = sink.states()[-1].last_node_id
    time.sleep(2.5)  # 50 m at 20 m/s if it did not hold
    link.drain(sink)
    assert sink.states()[-1].last_node_id == held and not sink.states()[-1].driving
    port.accept(InstantActions("AGV-900", (Action("stopPause", "p2"), Action("cancelOrder", "c1"))))
    until(link, sink, lambda: sink.states()[-1].order_cancelled)
    assert not sink.states()[-1].order_finished  # a cancelled order is not a finished one
    stopped = sink.states()[-1].last_node_id
    assert stopped != "N3" and stopped in ("N1", "N2")
    time.sleep(1.0)
    link.drain(sink)
    assert sink.states()[-1].last_node_id == stopped


def test_a_killed_emulator_is_reported_broken_by_its_last_will(vehicle) -> None:  # type: ignore[no-untyped-def]
    proc, link, sink = vehicle
    proc.kill()
    until(link, sink, lambda: any(CONNECTION_BROKEN in s.errors for s in sink.states()), 15)
    assert not link.status["AGV-900"].online


def test_after_a_broker_restart_both_sides_reconnect_and_orders_flow_again(vehicle, broker: Broker) -> None:  # type: ignore[no-untyped-def]
    _, link, sink = vehicle
    broker.stop()
    until(link, sink, lambda: any(CONNECTION_BROKEN in s.errors for s in sink.states()), 15)
    assert not link.status["AGV-900"].online
    link.port_for("AGV-900").accept(route("o9", 5.0, released=3))  # held while the broker is away
    assert link.status["AGV-900"].held
    broker.start()  # the same port
    until(link, sink, lambda: link.status["AGV-900"].online, 30)
    until(link, sink, lambda: sink.states()[-1].order_id == "o9" and sink.states()[-1].order_finished, 15)


def test_an_emulator_told_to_fail_reports_the_error_and_drives_no_more(broker: Broker) -> None:
    import threading

    from hardware_bridge.vehicle_emulator import VehicleEmulator

    emulator = VehicleEmulator("127.0.0.1", broker.port, MAKER, "AGV-901", speed_mps=20.0, state_period_s=0.2)
    runner = threading.Thread(target=emulator.run, daemon=True)
    link = VehicleLink("127.0.0.1", broker.port, MAKER, {"AGV-901": "2.1.0"})
    link.start()
    runner.start()
    sink = Sink()
    try:
        until(link, sink, lambda: link.status["AGV-901"].online and bool(sink.states()), 15)
        emulator.fail("E-DRIVE")
        until(link, sink, lambda: "E-DRIVE" in sink.states()[-1].errors)
        order = Order("AGV-901", "o1", 0, (Node("VN", 0, True), Node("N1", 2, True)), (Edge("E0", 1, True, "VN", "N1", 10.0),))
        link.port_for("AGV-901").accept(order)
        time.sleep(1.0)  # 20 m at 20 m/s if it still drove
        link.drain(sink)
        assert sink.states()[-1].last_node_id == "VN" and not sink.states()[-1].driving
        emulator.recover()
        until(link, sink, lambda: sink.states()[-1].last_node_id == "N1" and not sink.states()[-1].errors)
    finally:
        emulator.stop()
        runner.join(10)
        link.stop()


def test_a_free_navigating_emulator_refuses_an_order_without_positions_in_the_standards_words(broker: Broker) -> None:
    with emulated(broker, "AGV-902", "--free-navigation") as (_, link, sink):
        link.port_for("AGV-902").accept(replace(route("o1", 10, 3), device_id="AGV-902"))  # no map: no positions
        until(link, sink, lambda: any(isinstance(e, CommandRefused) for e in sink.events))
        time.sleep(1.0)  # several more states, all carrying the refusal
        link.drain(sink)
        refused = [e for e in sink.events if isinstance(e, CommandRefused)]
        assert len(refused) == 1  # told once
        assert refused[0].command == "Order" and refused[0].reference("orderId") == "o1"
        assert "nodePosition" in refused[0].reason and refused[0].reason.startswith("WARNING noRouteError")
        last = sink.states()[-1]
        assert last.order_id == "" and last.errors == () and last.warnings == ("noRouteError",)  # it can take another
        assert any("orderUpdateId 0" in t for t in last.error_texts)
