"""Hardware in the loop: the twin on the wall clock with bridged devices, all real processes.

Mosquitto, two VDA 5050 vehicle emulators, an OPC UA crane emulator and a Modbus gate
emulator run as their own processes on 127.0.0.1; the plate camera reads rendered
frames. The same controller drives them and the six simulated carriers. The run goes
`SPEED` times the wall clock, and the emulators are set to the same pace.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from broker import Broker, free_port
from conftest import ROOT, make_scenario
from net import listening

from checkpoint.bridged import CarrierMirror
from checkpoint.mixed import MixedRun
from controllers.messages import CarrierState
from twin.kpi import summarise
from twin.map_frame import from_map, to_map
from twin.scenario import Scenario

HIL = ROOT / "scenarios" / "hil_huu_nghi.yaml"
SPEED = 60.0  # model seconds per wall second
CARRIER_MPS = 22 / 3.6
CRANE_MOVE_S = 100 / 4  # the scenario's mean crane cycle, over its four motions
BRIDGED = ("AGV-001", "AGV-005")


@dataclass
class Rig:
    scenario: Scenario
    broker: Broker
    processes: dict[str, subprocess.Popen[bytes]]


def _emulate(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "checkpoint", "emulate", *args], cwd=ROOT)


@pytest.fixture
def rig(broker: Broker) -> Iterator[Rig]:
    crane_port, gate_port = free_port(), free_port()
    data: dict[str, Any] = yaml.safe_load(HIL.read_text(encoding="utf-8"))
    devices = data["devices"]
    devices["vehicles"]["broker"]["port"] = broker.port
    devices["cranes"][0]["endpoint"] = f"opc.tcp://127.0.0.1:{crane_port}/crane/"
    devices["gates"][0]["endpoint"]["port"] = gate_port
    scenario = make_scenario(data)
    mqtt = f"127.0.0.1:{broker.port}"
    processes = {
        "AGV-001": _emulate("vehicle", "--broker", mqtt, "--serial", "AGV-001", "--start-node", "VN",
                            "--version", "2.0.0", "--speed", str(CARRIER_MPS * SPEED), "--state-period", "0.5"),
        "AGV-005": _emulate("vehicle", "--broker", mqtt, "--serial", "AGV-005", "--start-node", "CN",
                            "--speed", str(CARRIER_MPS * SPEED), "--state-period", "0.5", "--visualization-period", "0.1"),
        "crane": _emulate("crane", "--port", str(crane_port), "--move-s", str(CRANE_MOVE_S / SPEED)),
        "gate": _emulate("gate", "--port", str(gate_port), "--barrier-speed", str(25 * SPEED), "--settle-s", "0.1"),
    }
    try:
        listening(crane_port)
        listening(gate_port)
        yield Rig(scenario, broker, processes)
    finally:
        for proc in processes.values():
            proc.terminate()
        for proc in processes.values():
            proc.wait(timeout=10)


def run_mixed(mixed: MixedRun, minutes: float, during: Any = None) -> None:
    async def main() -> None:
        run = asyncio.create_task(mixed.run(minutes * 60))
        if during is not None:
            await during(mixed)
        await run

    try:
        asyncio.run(main())
    finally:
        mixed.close()


def _check_world(mixed: MixedRun) -> dict[str, Any]:
    """What every HIL run must show: safe, nothing lost, nothing twice."""
    world = mixed.world
    s = summarise(world)
    assert s["safety_violations"] == 0, world.safety.violations[:3]
    assert s["blocks_checked"] > 500
    assert s["containers_lost"] == 0
    assert s["deadlocks"] == 0
    assert s["commands_refused"] == 0
    delivered = [c for c in world.containers.values() if c.location == "delivered"]
    assert world.delivered_count == len(delivered)  # none delivered twice
    loads = [c.load for c in world.carriers.values() if c.load is not None]
    assert len(loads) == len(set(loads))  # no container on two carriers
    for cid in loads:
        assert world.containers[cid].location == "carrier"
    return s


def test_hil_run_moves_containers_through_bridged_devices(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    markers: list[tuple[tuple[float, float], tuple[float, float]]] = []  # (shown, from its agvPosition)

    async def watch_markers(mixed: MixedRun) -> None:
        for _ in range(300):  # 30 s of the run, a sample each tenth of a second
            await asyncio.sleep(0.1)
            for cid in BRIDGED:
                at = world.carriers[cid].map_position
                if at is not None:
                    markers.append((world.carrier_wgs84(cid), from_map(world.geometry, *at)))

    run_mixed(mixed, minutes=80, during=watch_markers)
    s = _check_world(mixed)
    devices = mixed.device_summary()
    assert s["containers_delivered"] > 0
    corridor = world.geometry.lanes[0].length_m
    for cid in BRIDGED:  # each emulated vehicle crossed the border under the controllers
        mirror = world.carriers[cid]
        assert isinstance(mirror, CarrierMirror)
        assert mirror.distance_m >= corridor, devices
        assert mirror.containers_carried > 0, devices
    assert devices["vehicles"]["messages_dropped"] == 0
    assert devices["vehicles"]["messages_refused"] == {cid: {} for cid in BRIDGED}  # per vehicle, per reason
    assert devices["vehicles"]["messages_sent"] > 0
    # each bridged vehicle's marker is where it said it was (agvPosition), between nodes too
    assert markers and all(shown == said for shown, said in markers)
    nodes = [to_map(world.geometry, *world.node_wgs84(n)) for c in BRIDGED for n in world.carriers[c].nodes]
    off_node = [m for m, _ in markers if min(math.dist(to_map(world.geometry, *m), n) for n in nodes) > 1.0]
    assert off_node, "every marker stood on a node: positions between nodes were not shown"
    crane = devices["cranes"]["VN-crane-1"]
    assert crane["moves"] > 0 and crane["faults"] == 0  # the OPC UA crane moved containers
    gate = devices["gates"]["vietnam"]
    assert gate["barrier_openings"] > 0 and gate["weighings"] > 0 and gate["barrier_stuck"] == 0
    camera = devices["cameras"]["vietnam"]
    assert camera["frames"] > 0 and camera["read_first_time"] > 0
    assert camera["misread"] == 0
    # the export trucks came through the bridged gate: every delivery from Vietnam did
    assert world.stats["export"].arrived > 0 and world.stats["export"].released > 0


def test_broker_restart_mid_run_stops_carriers_safely_and_loses_nothing(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    seen: dict[str, Any] = {}

    async def outage(mixed: MixedRun) -> None:
        mirrors = [world.carriers[cid] for cid in BRIDGED]
        # wait until an emulated carrier drives on the corridor, then take the broker away
        deadline = time.monotonic() + 40
        while not any(m.moving and 0 < m.idx for m in mirrors):  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no emulated carrier set off"
            await asyncio.sleep(0.05)
        rig.broker.stop()
        await asyncio.sleep(1.0)
        seen["told"] = {m.device_id: m.broken for m in mirrors}  # type: ignore[union-attr]
        seen["allowed"] = {
            m.device_id: (m.order_id, m.released_upto, m.distance_m) for m in mirrors  # type: ignore[union-attr]
        }
        await asyncio.sleep(5.0)  # 5 model minutes without a broker
        rig.broker.start()
        deadline = time.monotonic() + 20
        while not all(m.last_state is not None and not m.broken for m in mirrors):  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the vehicles did not come back"
            await asyncio.sleep(0.05)
        seen["back"] = {m.device_id: m.last_state for m in mirrors}  # type: ignore[union-attr]
        seen["back_idx"] = {m.device_id: m.idx for m in mirrors}  # type: ignore[union-attr]

    run_mixed(mixed, minutes=70, during=outage)
    s = _check_world(mixed)
    # the controllers were told at once that both vehicles were gone
    assert seen["told"] == {cid: True for cid in BRIDGED}
    for cid in BRIDGED:
        mirror = world.carriers[cid]
        assert isinstance(mirror, CarrierMirror)
        order_id, allowed, distance = seen["allowed"][cid]
        first: CarrierState = seen["back"][cid]
        # on its own, it went no further than the base it had been given
        if first.order_id == order_id:
            assert seen["back_idx"][cid] <= allowed
        # after reconnecting it took up its work again
        assert mirror.distance_m > distance, f"{cid} never moved after the broker came back"
    assert s["containers_delivered"] > 0


def test_a_vehicle_restarted_mid_crossing_is_given_the_rest_of_its_trip(rig: Rig) -> None:
    mixed = MixedRun(rig.scenario, speed=SPEED)
    world = mixed.open()
    seen: dict[str, Any] = {}
    mqtt = f"127.0.0.1:{rig.broker.port}"

    async def restart(mixed: MixedRun) -> None:
        mirror = world.carriers["AGV-001"]
        assert isinstance(mirror, CarrierMirror)
        deadline = time.monotonic() + 40
        while not (mirror.moving and 3 < mirror.idx < len(mirror.nodes) - 3):
            assert time.monotonic() < deadline, "AGV-001 never set off"
            await asyncio.sleep(0.02)
        old = rig.processes["AGV-001"]
        old.kill()  # a power cut: no goodbye, the broker sends its last will
        old.wait(timeout=10)
        await asyncio.sleep(1.0)
        seen["told"] = mirror.broken
        seen["node"], seen["order"], seen["distance"] = mirror.node_id, mirror.order_id, mirror.distance_m
        # it comes back where it last reported, with no order, as a restarted vehicle does
        rig.processes["AGV-001"] = _emulate(
            "vehicle", "--broker", mqtt, "--serial", "AGV-001", "--start-node", seen["node"],
            "--version", "2.0.0", "--speed", str(CARRIER_MPS * SPEED), "--state-period", "0.5",
        )

    run_mixed(mixed, minutes=45, during=restart)
    _check_world(mixed)
    mirror = world.carriers["AGV-001"]
    assert isinstance(mirror, CarrierMirror)
    assert seen["told"] is True  # the controllers knew it was gone
    traffic = world.controller.traffic  # type: ignore[attr-defined]
    assert traffic.reissued >= 1 and "AGV-001" not in traffic.lost
    assert mirror.order_id != seen["order"]  # the rest of its trip came as a new order
    assert mirror.distance_m > seen["distance"] + 1000, "it did not go on after the restart"
