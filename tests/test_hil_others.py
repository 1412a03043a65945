"""Hardware in the loop with a VDA 5050 vehicle the project did not write.

The vehicle is the AgvController with the VirtualAgvAdapter of the npm package
vda-5050-lib (installed by .ci/run into tests/peers/ from the npm registry), run as its
own Node.js process against a real Mosquitto. It navigates freely: it refuses an order
whose nodes have no position, and drives from node position to node position. The
twin's controllers drive it beside the simulated carriers, `SPEED` times the wall clock;
the vehicle runs at the same pace (its time lapse).
"""

from __future__ import annotations

import asyncio
import collections
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from broker import Broker
from conftest import ROOT, make_scenario
from test_hil import run_mixed

from checkpoint.bridged import CarrierMirror
from checkpoint.live import ConsoleDevice
from checkpoint.mixed import MixedRun
from checkpoint.snapshot import carrier_view
from controllers.messages import OperatorRequest
from controllers.vehicle_map import VehicleMap
from twin.geometry import SiteGeometry
from twin.kpi import summarise
from twin.map_frame import vehicle_map
from twin.scenario import Scenario

HIL = ROOT / "scenarios" / "hil_huu_nghi.yaml"
PEERS = ROOT / "tests" / "peers"
SPEED = 60.0  # model seconds per wall second
CARRIER_MPS = 22 / 3.6
SERIAL = "AGV-001"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "vda-5050-lib").is_dir():
        raise RuntimeError("Node.js and tests/peers/node_modules are needed: .ci/run installs them (npm ci)")
    return node


@dataclass
class Wire:
    """Every VDA 5050 message on the broker, counted by topic, and the errors states carried."""

    counts: collections.Counter[str]
    errors: list[dict[str, Any]]
    client: mqtt.Client
    actions: list[dict[str, Any]] = field(default_factory=list)  # every instant action sent


@dataclass
class Rig:
    scenario: Scenario
    site: VehicleMap
    broker: Broker
    wire: Wire
    vehicle: subprocess.Popen[bytes]
    start: Callable[..., subprocess.Popen[bytes]]  # the vehicle process, standing on a node


def _listen(broker: Broker) -> Wire:
    wire = Wire(collections.Counter(), [], mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wire-tap"))

    def on_message(_client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic.rsplit("/", 1)[-1]
        wire.counts[topic] += 1
        if topic == "instantActions":
            wire.actions.extend(json.loads(msg.payload).get("actions", []))
        if topic == "state":
            for error in json.loads(msg.payload).get("errors", []):
                if error not in wire.errors:
                    wire.errors.append(error)

    wire.client.on_message = on_message
    wire.client.connect("127.0.0.1", broker.port)
    wire.client.subscribe("uagv/#")
    wire.client.loop_start()
    return wire


@pytest.fixture
def rig(broker: Broker, tmp_path: Path) -> Iterator[Rig]:
    node = _node()
    data: dict[str, Any] = yaml.safe_load(HIL.read_text(encoding="utf-8"))
    devices = data["devices"]
    devices["vehicles"]["broker"]["port"] = broker.port
    devices["vehicles"]["carriers"] = [{"carrier": SERIAL, "version": "2.0.0"}]  # the library speaks 2.0
    for kind in ("cranes", "gates", "cameras"):  # the vehicle alone is under test here
        devices.pop(kind)
    scenario = make_scenario(data)
    site = vehicle_map(scenario, SiteGeometry.from_scenario(scenario))
    log = (tmp_path / "vehicle.log").open("ab")

    def start(node_id: str, last_node: str | None = None) -> subprocess.Popen[bytes]:
        """The vehicle at `node_id`'s place; it believes its last node is `last_node`."""
        p = site.nodes[node_id]
        args = [
            node, str(PEERS / "vda5050_lib_vehicle.js"), "--broker", f"127.0.0.1:{broker.port}",
            "--manufacturer", devices["vehicles"]["manufacturer"], "--serial", SERIAL,
            "--map-id", site.map_id, "--x", str(p.x), "--y", str(p.y), "--last-node", last_node or node_id,
            "--speed", str(CARRIER_MPS), "--time-lapse", str(SPEED), "--state-period-ms", "500",
        ]
        return subprocess.Popen(args, cwd=PEERS, stdout=log, stderr=log)

    wire = _listen(broker)
    vehicle = start("VN")
    r = Rig(scenario, site, broker, wire, vehicle, start)
    try:
        deadline = time.monotonic() + 20
        while wire.counts["state"] == 0:  # online
            assert time.monotonic() < deadline, "the vda-5050-lib vehicle never sent a state"
            time.sleep(0.05)
        yield r
    finally:
        r.vehicle.terminate()
        r.vehicle.wait(timeout=10)
        wire.client.loop_stop()
        wire.client.disconnect()
        log.close()


def _mirror(mixed: MixedRun) -> CarrierMirror:
    mirror = mixed.world.carriers[SERIAL]
    assert isinstance(mirror, CarrierMirror)
    return mirror


def _check(mixed: MixedRun, rig: Rig) -> dict[str, Any]:
    world = mixed.world
    s = summarise(world)
    assert s["safety_violations"] == 0, world.safety.violations[:3]
    assert s["containers_lost"] == 0
    assert s["deadlocks"] == 0
    assert s["commands_refused"] == 0
    assert rig.wire.errors == []  # the vehicle refused nothing it was sent
    return s


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def test_a_vehicle_written_by_others_drives_trips_end_to_end(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    run_mixed(mixed, minutes=70)
    s = _check(mixed, rig)
    mirror = _mirror(mixed)
    corridor = world.geometry.lanes[0].length_m
    assert mirror.distance_m >= corridor  # it crossed the border at least once
    assert mirror.containers_carried > 0
    # the containers counted on it are the ones the twin's records say it moved
    moved = [c for c in world.containers.values() if any(step == f"on {SERIAL}" for _, step in c.history)]
    assert len(moved) == mirror.containers_carried
    # and each one it set down is at the far yard: on the stack, a receiving truck, or gone
    set_down = [c for c in moved if c.container_id != mirror.load]
    assert set_down and all(c.location in ("stack", "pickup", "delivered") for c in set_down)
    assert s["containers_delivered"] > 0
    assert rig.wire.counts["order"] > 0 and rig.wire.counts["state"] > 0
    # it was asked for its factsheet, and nothing in it falls short of what is asked of it
    status = mixed.vehicle_link.status[SERIAL]
    assert status.factsheet is not None and status.factsheet_notes == []
    assert mixed.device_summary()["vehicles"]["messages_dropped"] == 0


def test_a_vehicle_written_by_others_pauses_and_resumes_on_an_operator_command(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    console = ConsoleDevice()
    world.runtime.attach(console)
    seen: dict[str, Any] = {}

    async def pause_and_resume(mixed: MixedRun) -> None:
        mirror = _mirror(mixed)
        await _until(lambda: mirror.moving and 2 < mirror.idx < len(mirror.nodes) - 3, f"{SERIAL} never set off")
        world.runtime.publish(OperatorRequest(console.device_id, "p1", "pause_carrier", carrier_id=SERIAL))
        await _until(lambda: mirror.paused and not mirror.moving, "the vehicle never reported itself paused", 10)
        state = mirror.last_state
        assert state is not None
        seen["paused_at"] = (state.last_node_id, mirror.distance_m)
        await asyncio.sleep(3.0)  # three model minutes: it would have driven a kilometre
        state = mirror.last_state
        assert state is not None
        seen["after_pause"] = (state.last_node_id, mirror.distance_m)
        world.runtime.publish(OperatorRequest(console.device_id, "p2", "resume_carrier", carrier_id=SERIAL))
        await _until(lambda: not mirror.paused and mirror.moving, "the vehicle never drove on", 10)
        seen["resumed_at"] = mirror.distance_m

    run_mixed(mixed, minutes=40, during=pause_and_resume)
    _check(mixed, rig)
    assert console.replies["p1"].ok and console.replies["p2"].ok
    assert seen["after_pause"] == seen["paused_at"]  # it stood still while paused
    assert _mirror(mixed).distance_m > seen["resumed_at"] + 500  # and went on when resumed


def test_a_vehicle_written_by_others_comes_back_after_kill_9_and_restart(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    seen: dict[str, Any] = {}

    async def power_cut(mixed: MixedRun) -> None:
        mirror = _mirror(mixed)
        await _until(lambda: mirror.moving and 3 < mirror.idx < len(mirror.nodes) - 3, f"{SERIAL} never set off")
        rig.vehicle.kill()  # SIGKILL: no goodbye, the broker sends its last will
        rig.vehicle.wait(timeout=10)
        await _until(lambda: mirror.broken, "the controllers were never told the vehicle was gone", 15)
        seen["node"], seen["order"], seen["distance"] = mirror.node_id, mirror.order_id, mirror.distance_m
        # it comes back where it last reported, with no order, as a restarted vehicle does
        rig.vehicle = rig.start(seen["node"])

    run_mixed(mixed, minutes=45, during=power_cut)
    _check(mixed, rig)
    mirror = _mirror(mixed)
    traffic = world.controller.traffic  # type: ignore[attr-defined]
    assert traffic.reissued >= 1 and SERIAL not in traffic.lost
    assert mirror.order_id != seen["order"]  # the rest of its trip came as a new order
    assert mirror.distance_m > seen["distance"] + 1000, "it did not go on after the restart"


def test_a_refused_order_raises_one_alarm_with_the_vehicles_reason_and_a_bounded_number_of_resends(rig: Rig) -> None:
    """Orders without node positions, which this free-navigating vehicle refuses: the
    controllers send each at most `max_resends` times more, then the carrier stands with
    the vehicle's reason and one alarm. Returned to service with orders it can drive, it
    drives."""
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    link = mixed.vehicle_link
    link.site = None  # line-guided orders: node ids only, no positions
    console = ConsoleDevice()
    world.runtime.attach(console)
    traffic = world.controller.traffic  # type: ignore[attr-defined]
    seen: dict[str, Any] = {}

    async def refuse_then_recover(mixed: MixedRun) -> None:
        await _until(lambda: SERIAL in traffic.standing, f"{SERIAL} never stood after its refusals", 90)
        await asyncio.sleep(2.0)  # two model minutes more: nothing else goes out
        seen["orders"] = rig.wire.counts["order"]
        seen["alarms"] = [a for a in traffic.alarms if a.carrier_id == SERIAL]
        seen["view"] = carrier_view(world, SERIAL)
        seen["distance"] = _mirror(mixed).distance_m
        link.site = rig.site  # the map is back: orders it can drive
        world.runtime.publish(OperatorRequest(console.device_id, "r1", "return_to_service", carrier_id=SERIAL))
        await _until(lambda: _mirror(mixed).distance_m > 500, f"{SERIAL} did not drive once returned to service", 60)

    run_mixed(mixed, minutes=60, during=refuse_then_recover)
    # every order it was sent went out at most 1 + max_resends times: no storm
    assert seen["orders"] == 1 + traffic.max_resends
    assert seen["distance"] == 0.0  # it drove nothing of the order it refused
    alarms = seen["alarms"]
    assert len(alarms) == 1 and alarms[0].kind == "stands"
    assert "missing nodePosition" in alarms[0].text  # the vehicle's own words
    # the operator sees why, and the vehicle's error with its references
    view = seen["view"]
    assert "stands" in view.alarms and "warning" in view.alarms
    assert any("missing nodePosition" in n for n in view.notes) and any("orderId" in n for n in view.notes)
    # each refusal reached the controllers once, and every one refused this vehicle's orders
    refused = [r for r in world.controller.refusals if r.device_id == SERIAL]
    assert len(refused) == 1 + traffic.max_resends
    assert all(r.command == "Order" and "missing nodePosition" in r.reason for r in refused)
    assert console.replies["r1"].ok
    s = summarise(world)
    assert s["safety_violations"] == 0 and s["containers_lost"] == 0
    assert SERIAL not in traffic.standing


def test_a_vehicle_that_starts_where_no_node_is_known_is_placed_by_init_position(rig: Rig) -> None:
    """The vehicle comes online standing at the Vietnam yard, but reports lastNodeId "0"
    (its own default): it is shown with an alarm and gets no job until an operator places
    it; the initPosition it is sent carries the yard's place in the map."""
    rig.vehicle.terminate()
    rig.vehicle.wait(timeout=10)
    rig.vehicle = rig.start("VN", last_node="0")
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    console = ConsoleDevice()
    world.runtime.attach(console)
    ctrl = world.controller
    seen: dict[str, Any] = {}

    async def place(mixed: MixedRun) -> None:
        await _until(lambda: SERIAL in ctrl.unplaced, f"{SERIAL} was never shown as unplaced", 30)  # type: ignore[attr-defined]
        await asyncio.sleep(2.0)  # two model minutes: no job for it meanwhile
        seen["orders"] = rig.wire.counts["order"]
        seen["view"] = carrier_view(world, SERIAL)
        world.runtime.publish(OperatorRequest(console.device_id, "r1", "place_carrier", carrier_id=SERIAL, yard="vietnam"))
        await _until(lambda: SERIAL not in ctrl.unplaced, "it never reported from the yard it was placed at", 20)  # type: ignore[attr-defined]
        await _until(lambda: _mirror(mixed).distance_m > 500, f"{SERIAL} did not drive once placed", 60)

    run_mixed(mixed, minutes=45, during=place)
    assert seen["orders"] == 0  # no order while nobody knew where it stood
    assert "unplaced" in seen["view"].alarms and any("'0'" in n for n in seen["view"].notes)
    alarms = [a for a in ctrl.traffic.alarms if a.carrier_id == SERIAL]  # type: ignore[attr-defined]
    assert [a.kind for a in alarms] == ["unplaced"]
    assert console.replies["r1"].ok
    placed = [a for a in rig.wire.actions if a["actionType"] == "initPosition"]
    assert len(placed) == 1
    params = {p["key"]: p["value"] for p in placed[0]["actionParameters"]}
    vn = rig.site.nodes["VN"]
    assert params == {"x": vn.x, "y": vn.y, "theta": 0.0, "mapId": rig.site.map_id, "lastNodeId": "VN"}
    s = _check(mixed, rig)
    assert s["commands_refused"] == 0 and _mirror(mixed).distance_m > 500
