"""How much the VDA 5050 bridge absorbs, and how fast commands reach a vehicle, through
a real Mosquitto broker started on 127.0.0.1 for the run.

1. State messages per second the master-control link decodes, schema-checks and queues:
   a publisher sends `--states` valid state messages of 20 vehicles as fast as it can.
2. Controller-to-vehicle command latency: `--orders` orders, one at a time, from the
   device port's `accept` to the vehicle's MQTT client receiving it; p50 and p99.

3. Plate reads per second through a gate camera's device port (`PlateCamera`): `--frames`
   rendered 1280×720 truck scenes submitted as trucks arrive, each read in the camera's
   worker thread and matched against the declared plates; reads/s and the share matched.

    python benchmarks/bridge.py [--record] [--states N] [--orders N] [--frames N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from broker import Broker  # noqa: E402

from benchmarks.results import NA, cell, provenance, record  # noqa: E402
from controllers.messages import CarrierState, Node, Order  # noqa: E402
from hardware_bridge.mqtt_vehicles import VehicleLink  # noqa: E402
from hardware_bridge.vda5050 import state_message, topic_name  # noqa: E402

MAKER = "LangSonTwin"


def absorb(port: int, count: int) -> tuple[float, int]:
    serials = [f"AGV-{i:03d}" for i in range(20)]
    link = VehicleLink("127.0.0.1", port, MAKER, {s: "2.1.0" for s in serials}, client_id="bench-master")
    link.start()
    # each vehicle's headerIds count up, as the link takes states only in order
    payloads = [
        (topic_name(MAKER, s, "state"), json.dumps(state_message(CarrierState(s, "o1", 0, "VN", 0, False, False, 80.0, False, None), k // len(serials) + 1, MAKER)))
        for k, s in ((k, serials[k % len(serials)]) for k in range(count))
    ]
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-vehicles")
    sender.max_queued_messages_set(0)
    sender.connect("127.0.0.1", port)
    sender.loop_start()
    start = time.perf_counter()
    for k in range(count):
        topic, payload = payloads[k]
        sender.publish(topic, payload, qos=0)
    deadline = time.monotonic() + 120
    while link.received + link.dropped < count and time.monotonic() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    got = link.inbox.qsize()
    sender.loop_stop()
    sender.disconnect()
    link.stop()
    return got / elapsed, got


def latency(port: int, count: int) -> list[float]:
    link = VehicleLink("127.0.0.1", port, MAKER, {"AGV-900": "2.1.0"}, client_id="bench-master-2")
    link.start()
    link.status["AGV-900"].online = True
    arrived = threading.Event()
    vehicle = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-vehicle")
    ready = threading.Event()

    def subscribed(client: mqtt.Client, *_: object) -> None:
        client.subscribe(topic_name(MAKER, "AGV-900", "order"), qos=0)
        ready.set()

    vehicle.on_connect = subscribed
    vehicle.on_message = lambda *_: arrived.set()
    vehicle.connect("127.0.0.1", port)
    vehicle.loop_start()
    ready.wait(5)
    time.sleep(0.3)  # let the subscription settle
    port_ = link.port_for("AGV-900")
    out = []
    for k in range(count):
        order = Order("AGV-900", "o1", k, (Node("VN", 0, True), Node("L0N0", 2, True)), ())
        arrived.clear()
        start = time.perf_counter()
        port_.accept(order)
        if arrived.wait(5):
            out.append(time.perf_counter() - start)
    vehicle.loop_stop()
    vehicle.disconnect()
    link.stop()
    return out


def plate_reads(count: int) -> tuple[float, float]:
    """Reads per second of one camera port, and the share of trucks it matched."""
    import random

    from hardware_bridge.plate_camera import PlateCamera
    from hardware_bridge.plate_scenes import plate_scene, plate_text

    rng = random.Random(7)
    trucks = []
    for k in range(count):
        country = "vietnam" if k % 2 else "china"
        text = plate_text(country, rng)  # type: ignore[arg-type]
        trucks.append((f"T{k:04d}", text, plate_scene(country, rng, text=text).image))  # type: ignore[arg-type]
    camera = PlateCamera("VN-gate", "vietnam")
    camera.start()
    start = time.perf_counter()
    for truck, text, image in trucks:
        camera.expect(truck, text, "deliver")
        camera.submit(truck, image)
    results = [camera.inbox.get(timeout=60) for _ in trucks]
    elapsed = time.perf_counter() - start
    camera.stop()
    matched = sum(1 for r in results if r.truck_id == r.shown and not r.needs_officer)
    return count / elapsed, matched / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the figures into benchmarks/RESULTS.md")
    parser.add_argument("--states", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder))
        broker.start()
        try:
            rate, queued = absorb(broker.port, args.states)
            lat = sorted(latency(broker.port, args.orders))
        finally:
            broker.stop()
    reads, matched = plate_reads(args.frames)
    p50 = statistics.median(lat) * 1000 if lat else None
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))] * 1000 if lat else None
    table = "\n".join(
        [
            "| figure | value |",
            "|---|---:|",
            f"| state messages absorbed (decoded, schema-checked, queued), {args.states:,} sent, {queued:,} queued "
            f"| {rate:,.0f} per s |",
            f"| order latency, accept to vehicle, p50 ({len(lat)} of {args.orders} orders arrived within 5 s) "
            f"| {cell(p50, '.2f', ' ms')} |",
            f"| order latency, p99 | {cell(p99, '.2f', ' ms')} |",
            f"| plate reads per second, one camera port, {args.frames} frames of 1280×720 | {reads:.1f} per s |",
            f"| trucks matched to their declaration at the first frame | {matched:.0%} |",
        ]
    )
    print(table)
    if args.record:
        note = (
            "Absorbed per second: the messages queued over the time from the first send until every message "
            "was received or dropped by the link (at most 120 s). Latencies are taken over the orders that arrived; "
            f"\"{NA}\" where none did."
        )
        record(
            "## Bridge",
            f"## Bridge (benchmarks/bridge.py)\n\n{provenance('Mosquitto on 127.0.0.1')}\n\n{table}\n\n{note}\n",
        )


if __name__ == "__main__":
    main()
