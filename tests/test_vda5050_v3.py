"""VDA 5050 3.0 beside 2.x: the same trips driven by emulated vehicles that speak 3.0.0
and 2.1.0 on one broker, every message on the wire valid against its version's schema.

The emulators run as their own processes (`checkpoint emulate vehicle --version ...`);
the twin's controllers drive them beside the simulated carriers, `SPEED` times the wall
clock. A wire tap on the broker checks each message as it passes.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from broker import Broker
from conftest import make_scenario
from test_hil import CARRIER_MPS, HIL, SPEED, _emulate, run_mixed

from checkpoint.bridged import CarrierMirror
from checkpoint.mixed import MixedRun
from hardware_bridge.vda5050 import schema_errors
from twin.kpi import summarise

VERSIONS = {"AGV-001": "3.0.0", "AGV-005": "2.1.0"}


class Tap:
    """Every message on the broker: its topic, whether it is valid against the schema of
    the version it says it is, and the version it says."""

    def __init__(self, port: int) -> None:
        self.topics: collections.Counter[str] = collections.Counter()
        self.invalid: list[tuple[str, list[str]]] = []
        self.versions: dict[str, set[str]] = collections.defaultdict(set)  # topic level -> versions
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="v3-wire-tap")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("uagv/#")
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        _, level, _maker, serial, topic = msg.topic.split("/")
        message = json.loads(msg.payload)
        self.topics[f"{level}/{serial}/{topic}"] += 1
        self.versions[level].add(message["version"])
        problems = schema_errors(topic, message)  # type: ignore[arg-type]
        if problems:
            self.invalid.append((msg.topic, problems[:3]))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def mixed_versions(broker: Broker) -> Iterator[tuple[MixedRun, Tap]]:
    data: dict[str, Any] = yaml.safe_load(HIL.read_text(encoding="utf-8"))
    devices = data["devices"]
    devices["vehicles"]["broker"]["port"] = broker.port
    devices["vehicles"]["carriers"] = [{"carrier": c, "version": v} for c, v in VERSIONS.items()]
    for kind in ("cranes", "gates", "cameras"):  # the vehicles alone are under test here
        devices.pop(kind)
    scenario = make_scenario(data)
    tap = Tap(broker.port)
    where = {"AGV-001": "VN", "AGV-005": "CN"}
    processes = [
        _emulate("vehicle", "--broker", f"127.0.0.1:{broker.port}", "--serial", serial, "--start-node", where[serial],
                 "--version", version, "--speed", str(CARRIER_MPS * SPEED), "--state-period", "0.5")
        for serial, version in VERSIONS.items()
    ]
    try:
        yield MixedRun(scenario, speed=SPEED), tap
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.wait(timeout=10)
        tap.close()


def test_vehicles_speaking_3_0_and_2_1_drive_the_same_trips_with_every_message_valid(
    mixed_versions: tuple[MixedRun, Tap],
) -> None:
    mixed, tap = mixed_versions
    world = mixed.open()
    run_mixed(mixed, minutes=60)
    s = summarise(world)
    assert s["safety_violations"] == 0 and s["containers_lost"] == 0 and s["deadlocks"] == 0
    assert s["commands_refused"] == 0
    corridor = world.geometry.lanes[0].length_m
    for serial in VERSIONS:
        mirror = world.carriers[serial]
        assert isinstance(mirror, CarrierMirror)
        assert mirror.distance_m >= corridor and mirror.containers_carried > 0, serial
    # each on its own version's topics, in its version, and nothing invalid either way
    assert tap.invalid == []
    assert tap.versions == {"v3": {"3.0.0"}, "v2": {"2.1.0"}}
    for level, serial in (("v3", "AGV-001"), ("v2", "AGV-005")):
        for topic in ("order", "state", "connection"):
            assert tap.topics[f"{level}/{serial}/{topic}"] > 0, (level, serial, topic)
    assert tap.topics["v2/AGV-001/order"] == 0 and tap.topics["v3/AGV-005/order"] == 0
    assert mixed.device_summary()["vehicles"]["messages_dropped"] == 0
    # each was asked for its factsheet in its version, and read it
    for device in mixed.devices():
        assert device["factsheet"] and device["factsheet_notes"] == [], device
        assert tap.topics[f"{'v3' if device['id'] == 'AGV-001' else 'v2'}/{device['id']}/factsheet"] > 0
