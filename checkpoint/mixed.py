"""Mixed mode: the twin on the wall clock, with some devices bridged to real ones.

The scenario's `devices` section names the bridged devices and their endpoints; every
other device stays simulated. The same World and the same controller objects run as
in pure simulation; only the clock differs: an asyncio loop advances the SimPy
environment to the wall clock (times `speed`) every tick, then hands the events the
bridge has gathered since the last tick to the world's mirrors, which pass them on to
the runtime. Protocol threads never call the controllers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from checkpoint.bridged import Bridges, FaultPeriods, LinkedDevice, MirroredDevices
from checkpoint.journal import Entry, JournalDb, JournalWriter, RunHeader
from checkpoint.tape import ResumedJournal, Tape
from controllers.gates import DeviceWatch
from controllers.layout import YARD_NODE
from controllers.limits import SPEED_MAX
from controllers.messages import Side
from controllers.ports import EventSink
from twin.geometry import SiteGeometry
from twin.map_frame import vehicle_map
from twin.scenario import Devices, Scenario
from twin.world import World

log = logging.getLogger(__name__)
STEP_WALL_S = 0.25  # the most wall time of the pace one step of the world covers


class Source(Protocol):
    """A bridge client whose events wait for the loop."""

    def drain(self, sink: EventSink) -> int: ...

    def stop(self) -> None: ...


@dataclass
class MixedRun:
    scenario: Scenario
    speed: float | None = None  # model seconds per wall second; the scenario's by default
    seed: int | None = None
    controller: str | None = None
    connect_timeout_s: float = 10.0
    journal: JournalDb | None = None  # where every event and command is written before it is acted on
    mode: str = "run"  # the journal's name for what kind of run this is
    world: World = field(init=False)
    journal_writer: JournalWriter | None = field(default=None, init=False)
    tape: Tape | None = field(default=None, init=False)  # with a journal: what the devices give the world
    sink: EventSink = field(init=False)  # where the bridge's events go: the mirrors, by the tape
    _begun: bool = field(default=False, init=False)
    sources: list[Source] = field(default_factory=list, init=False)
    vehicle_link: Any = field(default=None, init=False)
    bridges: Bridges = field(default_factory=Bridges, init=False)
    mirrors: MirroredDevices = field(init=False)
    ticks: int = field(default=0, init=False)
    lag_s: float = field(default=0.0, init=False)  # the longest step: the most the world lagged the clock
    paused: bool = field(default=False, init=False)
    # the clock: model time `_model_at` at wall time `_wall_at`, then `speed` model s per wall s
    _model_at: float = field(default=0.0, init=False)
    _wall_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.speed is None:
            self.speed = self.scenario.realtime.speed
        _check_speed(self.speed)

    @property
    def bridged(self) -> bool:
        return bool(self.sources)

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on. Bridged devices keep their own pace: a run with
        any is held at the speed it started with."""
        _check_speed(speed)
        if self.bridged and speed != self.speed:
            raise ValueError("a run with bridged devices keeps the speed it started with")
        self._anchor()
        self.speed = speed

    def pause(self) -> None:
        """Hold the model clock (bridged devices go on; their events wait in the bridge)."""
        self._anchor()
        self.paused = True

    def resume(self) -> None:
        self._anchor()
        self.paused = False

    def _anchor(self) -> None:
        self._model_at, self._wall_at = self.model_time(), time.monotonic()

    def model_time(self) -> float:
        """Where the clock says the model should be now."""
        if self.paused:
            return self._model_at
        return self._model_at + (time.monotonic() - self._wall_at) * (self.speed or 1.0)

    # --- connecting -------------------------------------------------------------------------

    def open(self) -> World:
        """Connect to every bridged device, then build the world around them. A device that
        does not answer stops the run before it starts, naming the device."""
        self._connect_all()
        writer = None
        if self.journal is not None:
            header = RunHeader(self.mode, self.scenario.name, self.scenario.model_dump(mode="json"),
                               self.controller or self.scenario.controller, self._seed())
            writer = self.journal.writer(self.journal.new_run(header), durable=True)
        return self._build(writer, [])

    def recover(self, run: RunHeader) -> World:
        """After the control process died: connect to the devices, build the same world and
        play the journal's tape back into it, checking that the controllers answer as they
        did, up to where the process stopped. The run then goes on from there; what the
        devices did meanwhile reaches the world as their next states."""
        assert self.journal is not None
        self._connect_all()
        recorded = list(self.journal.entries(run.run_id))
        world = self._build(self.journal.writer(run.run_id, durable=True), recorded)
        assert self.tape is not None
        world.begin()
        self._begun = True
        while self.tape.drains:
            t, event = self.tape.drains.popleft()
            if t > world.env.now:
                world.env.run(until=t)
            self.mirrors.events.publish(event)
        last = max((e.t for e in recorded), default=0.0)
        if last > world.env.now:
            world.env.run(until=last)
        for crane in self.mirrors.events.cranes.values():  # a gate's opening is made again by its mirror
            crane.tell_again()
        self._model_at, self._wall_at = world.env.now, time.monotonic()
        return world

    def _seed(self) -> int:
        return self.scenario.seed if self.seed is None else self.seed

    def _connect_all(self) -> None:
        try:
            self._connect(self.scenario.devices or Devices())
        except BaseException:
            self.close()
            raise

    def _build(self, writer: JournalWriter | None, recorded: list[Entry]) -> World:
        """The world around the devices; with a journal, the world calls them through the tape."""
        bridges = self.bridges
        if writer is not None:
            self.tape = tape = Tape(writer, recorded)
            bridges = Bridges(
                vehicles={c: tape.device(p, c, "vehicle") for c, p in bridges.vehicles.items()},
                cranes={c: tape.device(d, c, "crane") for c, d in bridges.cranes.items()},
                gates={side: tape.device(g, f"{side}-gate", "gate") for side, g in bridges.gates.items()},
                cameras={side: tape.device(c, f"{side}-camera", "camera") for side, c in bridges.cameras.items()},
                camera_retries=bridges.camera_retries, barrier_timeout_s=bridges.barrier_timeout_s,
            )
        self.mirrors = MirroredDevices(bridges, self._seed())
        self.world = World(self.scenario, seed=self.seed, controller=self.controller, devices=self.mirrors)
        self.sink = self.mirrors.events
        if writer is not None and self.tape is not None:
            world = self.world
            self.tape.now = lambda: world.env.now
            self.sink = self.tape.sink(self.mirrors.events)
            self.journal_writer = writer
            self.world.runtime.journal = ResumedJournal(writer, recorded) if recorded else writer
        return self.world

    def _connect(self, devices: Devices) -> None:
        timeout = self.connect_timeout_s
        if devices.vehicles is not None:
            from hardware_bridge.mqtt_vehicles import VehicleIdentity, VehicleLink

            v = devices.vehicles
            site = vehicle_map(self.scenario, SiteGeometry.from_scenario(self.scenario))
            link = VehicleLink(
                v.broker.host, v.broker.port, v.manufacturer,
                {c.carrier: VehicleIdentity(c.version, c.manufacturer, c.serial, c.interface) for c in v.carriers},
                client_id=f"master-control-{self.scenario.name}", state_timeout_s=v.state_timeout_s, site=site, pace=self.speed or 1.0,
            )
            link.start(timeout)
            self.vehicle_link = link
            self.sources.append(link)
            self.bridges.vehicles = {c.carrier: link.port_for(c.carrier) for c in v.carriers}
        for c in devices.cranes:
            from hardware_bridge.opcua_crane import OpcUaCrane

            yard: Side = "vietnam" if c.crane.startswith("VN") else "china"
            crane = OpcUaCrane(c.endpoint, c.crane, yard)
            crane.start(timeout)
            self.sources.append(crane)  # its moves, its faults and that it is back wait for the loop
            self.bridges.cranes[c.crane] = crane
        for g in devices.gates:
            from hardware_bridge.modbus_gate import ModbusGate

            prefix = YARD_NODE[g.yard]
            gate = ModbusGate(g.endpoint.host, g.endpoint.port, f"{prefix}-gate", f"{prefix}-weighbridge", g.yard)
            gate.start()
            self.sources.append(gate)  # its faults, and that it is back, wait for the loop
            self.bridges.gates[g.yard] = gate
            self.bridges.barrier_timeout_s[g.yard] = g.barrier_timeout_s
        for cam in devices.cameras:
            from hardware_bridge.plate_camera import PlateCamera

            camera = PlateCamera(
                f"{YARD_NODE[cam.yard]}-gate", cam.yard,
                frames_per_truck=cam.frames_per_truck, agree=cam.agree, crop_dir=cam.crop_dir,
            )
            camera.start()
            self.sources.append(camera)
            self.bridges.cameras[cam.yard] = camera
            self.bridges.camera_retries[cam.yard] = cam.retries

    def close(self, ended: bool = True) -> None:
        """Let the devices go; `ended`: the run is over (its journal says so)."""
        for source in reversed(self.sources):
            try:
                source.stop()
            except Exception as exc:  # closing must reach every device
                log.warning("closing %s: %s", type(source).__name__, exc)
        self.sources.clear()
        if self.journal_writer is not None:  # stopped as it should: the run is marked ended
            self.journal_writer.close(ended)
            self.journal_writer = None

    # --- running ----------------------------------------------------------------------------

    def step(self, end_s: float) -> None:
        """Bring the world to the clock, then take in what the devices said. A step goes
        at most STEP_WALL_S of the pace ahead: on a machine too busy to keep the pace the
        world falls behind the clock, but frames and commands keep coming between steps.
        Without bridged devices the clock then waits for the world (the run goes slower
        than asked, and never rushes to catch up); with them it cannot: devices keep the
        wall clock."""
        world = self.world
        target = min(end_s, self.model_time(), world.env.now + (self.speed or 1.0) * STEP_WALL_S)
        if not self.bridged and not self.paused and self.model_time() > target:
            self._model_at, self._wall_at = target, time.monotonic()
        if target > world.env.now:
            world.env.run(until=target)
        if self.vehicle_link is not None:
            self.vehicle_link.check_timeouts()
        for source in self.sources:
            source.drain(self.sink)
        self.ticks += 1

    def start(self, from_s: float = 0.0) -> None:
        """Start the controllers and the clock; with `from_s`, first simulate up to that
        model time as fast as the machine can (a run with bridged devices cannot: the
        devices live on the wall clock from the first second)."""
        if not self._begun:  # a resumed run has begun already
            self.world.begin()
            self._begun = True
        if from_s > 0:
            if self.bridged:
                raise ValueError("a run with bridged devices starts at model time 0")
            self.world.env.run(until=from_s)
        self._model_at, self._wall_at = self.world.env.now, time.monotonic()

    async def run(self, duration_s: float | None = None, stop: asyncio.Event | None = None) -> World:
        """Run for `duration_s` model seconds (the scenario's duration by default), or
        until `stop` is set."""
        world = self.world
        end = duration_s if duration_s is not None else self.scenario.duration_h * 3600
        tick = self.scenario.realtime.tick_s
        self.start()
        while world.env.now < end and not (stop is not None and stop.is_set()):
            began = time.monotonic()
            self.step(end)
            self.lag_s = max(self.lag_s, time.monotonic() - began)
            await asyncio.sleep(tick)
        world.finish()
        return world

    def devices(self) -> list[dict[str, Any]]:
        """The bridged devices and how they are, for the control room."""
        spec = self.scenario.devices
        if spec is None or not self.sources:
            return []
        world = self.world
        out: list[dict[str, Any]] = []
        if spec.vehicles is not None and self.vehicle_link is not None:
            v = spec.vehicles
            for c in v.carriers:
                status = self.vehicle_link.status[c.carrier]
                out.append({
                    "id": c.carrier, "kind": "vehicle", "protocol": f"VDA 5050 {c.version} over MQTT",
                    "endpoint": f"{v.broker.host}:{v.broker.port}",
                    "online": status.online,
                    "fault": bool(world.carriers[c.carrier].broken),
                    "identity": f"{status.interface}/{status.manufacturer}/{status.serial_number}",
                    "factsheet": status.factsheet is not None,
                    "factsheet_notes": list(status.factsheet_notes),  # what it cannot do of what is asked
                    "refused": dict(status.refused),  # its messages not taken, per reason (vda5050_checks)
                })
        for crane in spec.cranes:
            mirror = self.mirrors.events.cranes[crane.crane]
            out.append({"id": crane.crane, "kind": "crane", "protocol": "OPC UA", "endpoint": crane.endpoint,
                        "online": self.bridges.cranes[crane.crane].connected, "fault": bool(mirror.fault),
                        "alarm": world.controller.cranes.down.get(crane.crane, "")})  # the controllers' alarm
        gates = world.controller.gates
        for g in spec.gates:
            client = self.bridges.gates[g.yard]
            barrier = self.mirrors.gates[g.yard]
            alarm = gates.down.get(barrier.device_id, "")  # the controllers' alarm: why its trucks wait
            out.append({"id": barrier.device_id, "kind": "gate", "protocol": "Modbus TCP",
                        "endpoint": f"{g.endpoint.host}:{g.endpoint.port}", "online": client.connected,
                        "fault": bool(barrier.stuck or barrier.faulted or alarm),
                        "alarm": alarm, "waiting": gates.held(barrier.device_id)})
        for cam in spec.cameras:
            camera = self.mirrors.events.cameras[cam.yard]
            out.append({"id": f"{YARD_NODE[cam.yard]}-camera", "kind": "camera", "protocol": "frames, OCR",
                        "endpoint": cam.frames, "online": True, "fault": False,
                        "frames": camera.frames, "officer_checks": camera.officer_checks})
        return out

    def device_summary(self) -> dict[str, Any]:
        """What the bridged devices did, for the run's report."""
        world = self.world
        out: dict[str, Any] = {"speed": self.speed, "ticks": self.ticks, "max_lag_s": round(self.lag_s, 3)}
        link = self.vehicle_link
        if link is not None:
            out["vehicles"] = {
                "messages_received": link.received,
                "messages_dropped": link.dropped,
                "messages_sent": link.sent,
                "messages_refused": {cid: dict(link.status[cid].refused) for cid in self.bridges.vehicles},
                "distance_m": {cid: round(world.carriers[cid].distance_m) for cid in self.bridges.vehicles},
                "containers_carried": {
                    cid: mirror.containers_carried for cid, mirror in self.mirrors.events.carriers.items()
                },
            }
        mirrors = self.mirrors
        for cid, crane in mirrors.events.cranes.items():
            out.setdefault("cranes", {})[cid] = {
                "moves": crane.moves,
                **_faults(crane, self.bridges.cranes[cid], world.controller.cranes),
            }
        for side, gate in mirrors.gates.items():
            out.setdefault("gates", {})[side] = {
                "barrier_openings": gate.opened,
                "weighings": mirrors.weighbridges[side].weighed,
                "barrier_stuck": gate.stuck,
                **_faults(gate, self.bridges.gates[side], world.controller.gates),
            }
        for side, cam in mirrors.events.cameras.items():
            out.setdefault("cameras", {})[side] = {
                "frames": cam.frames,
                "read_first_time": cam.read_first_time,
                "officer_checks": cam.officer_checks,
                "flagged": cam.flagged,
                "misread": cam.misread,
            }
        return out


def _faults(mirror: FaultPeriods, client: LinkedDevice, watch: DeviceWatch) -> dict[str, Any]:
    """A bridged device's faults for the run's report: as the world, the bridge and the operators saw them."""
    return {
        "faults": mirror.faults,
        "fault_s": round(mirror.fault_s(), 1),  # model seconds
        "fault_wall_s": round(client.fault_s(), 1),
        "reconnects": client.reconnects,
        "faulted_at_end": mirror.faulted,
        "alarms_raised": watch.faults.get(client.device_id, 0),  # for the operators
    }


def _check_speed(speed: float) -> None:
    if not 0 < speed <= SPEED_MAX:
        raise ValueError(f"speed must be more than 0 and at most {SPEED_MAX:g}, not {speed}")
