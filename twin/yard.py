"""A transfer yard: its stations, cranes, stack and the trucks that bring and take cargo.

A truck bringing a container waits outside if the staging yard is full, then passes
the plate camera and barrier, the weighbridge, the scanner (every container) and the
inspection of its customs risk channel, and waits until a crane lifts its container
onto a carrier; then it leaves. At the far yard a crane puts the container on the
receiving truck if that truck is already there, else on the stack; the receiving
truck (called when the container set off) comes through the gate, is loaded and
leaves: the container is delivered.

The barrier, the weighbridge and the cranes are devices: they act only on commands
from the controllers, through the runtime.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal, Protocol

import simpy

from controllers.layout import ORIGIN, YARD_NODE, other_side
from controllers.messages import (
    BarrierCommand,
    Cargo,
    Command,
    CommandRefused,
    ContainerReady,
    CraneCommand,
    CraneState,
    Direction,
    Event,
    PickupArrived,
    PlateEvidence,
    PlateRead,
    ScannerState,
    Side,
    WeighDecision,
    WeightReading,
)
from controllers.ports import BarrierPort, CameraPort, CranePort, Refusal, WeighbridgePort, not_taken
from twin.carrier import CommandRejected
from twin.meters import DirectionStats, Level, Samples
from twin.sampling import Sampler, sampler
from twin.scenario import Station as StationSpec
from twin.scenario import Yard as YardSpec

Placement = Literal["carrier", "truck", "stack"]


@dataclass(slots=True)
class Container:
    container_id: str
    direction: Direction
    cargo: Cargo
    arrived_at: float
    deadline: float | None
    declared_kg: float
    measured_kg: float
    truck_id: str
    plate: str
    location: str = "truck"  # truck, carrier, stack, pickup, delivered
    step: str = "arrived"
    departed_at: float | None = None
    delivered_at: float | None = None
    history: list[tuple[float, str]] = field(default_factory=list)  # (model time, step) for tracking

    @property
    def pickup_truck_id(self) -> str:
        """The truck that takes it away from the far yard."""
        return f"P{self.truck_id}"

    def reach(self, step: str, now: float) -> None:
        """The container has reached `step` of its journey."""
        self.step = step
        self.history.append((now, step))


class Station:
    """A group of identical servers (gate lanes, weighbridges, scanners, red bays)."""

    def __init__(self, env: simpy.Environment, name: str, servers: int, service: Sampler) -> None:
        self.env = env
        self.name = name
        self.servers = servers
        self.resource = simpy.PriorityResource(env, capacity=servers)
        self.service = service
        self.busy = Level()
        self.waits = Samples()
        self.faults = 0

    def use(self, duration: float | None = None) -> Generator[simpy.Event, None, None]:
        arrived = self.env.now
        with self.resource.request(priority=1) as req:
            yield req
            self.waits.add(self.env.now - arrived)
            self.busy.change(self.env.now, 1)
            yield self.env.timeout(self.service() if duration is None else duration)
            self.busy.change(self.env.now, -1)

    def outage(self, repair_s: float, until: float | None = None) -> Generator[simpy.Event, None, None]:
        """A breakdown takes one server out once it finishes its current truck, for
        `repair_s` (or, for an injected fault, until the model time `until`)."""
        with self.resource.request(priority=0) as req:
            yield req
            yield self.env.timeout(repair_s if until is None else max(0.0, until - self.env.now))


class Scanners(Station):
    """The yard's container scanners: a station, and a device that reports its faults
    (the scanner port, `controllers.ports.ScannerPort`)."""

    kind: Final = "scanner"

    @property
    def device_id(self) -> str:
        return self.name


class SimCamera:
    """The gate's plate camera in the twin: it reads every plate right, except while a
    fault makes it misread some (`misreading`): such a read has a character wrong and a
    low confidence, so the officer at the gate checks the truck's papers, and the
    controllers get the plate the officer confirmed with the camera's evidence, as a
    bridged camera's flagged read reaches them."""

    kind: Final = "camera"
    OFFICER_S = 45.0  # model seconds an officer needs to check or type a plate (est., as for a bridged camera)

    def __init__(self, yard: YardModel) -> None:
        self.yard = yard
        self.device_id = f"{yard.prefix}-camera"
        # the faults that make it misread now: each draws from its own stream whether a plate is misread
        self.misreading: list[Callable[[str], str | None]] = []
        self.misreads = 0  # reads an officer had to check

    def show(self, truck_id: str, plate: str, purpose: Literal["deliver", "pickup"]) -> None:
        yard = self.yard
        read = PlateRead(yard.gate.device_id, yard.side, truck_id, plate, purpose)
        wrong = next((w for w in (misread(plate) for misread in self.misreading) if w is not None), None)
        if wrong is None:
            yard.links.publish(read)
            return
        self.misreads += 1
        evidence = PlateEvidence(
            read=wrong, raw=wrong, confidence=0.4, frames=3, votes=2, needs_officer=True,
            reasons=(f"read {wrong!r} with low confidence: the officer checked the truck's papers",),
            readings=(wrong, "", wrong),
        )
        yard.env.process(self._officer(replace(read, evidence=evidence)))

    def _officer(self, read: PlateRead) -> Generator[simpy.Event, None, None]:
        yield self.yard.env.timeout(self.OFFICER_S)
        self.yard.links.publish(read)


class Gate:
    """The barrier: it opens only on a controller command."""

    kind: Final = "barrier"

    def __init__(self, yard: YardModel, device_id: str) -> None:
        self.yard = yard
        self.device_id = device_id
        self.waiting: dict[str, simpy.Event] = {}
        self.opened = 0

    def arrive(self, truck_id: str) -> simpy.Event:
        """A truck stops at the barrier; the event fires when it may drive through."""
        opened = self.yard.env.event()
        self.waiting[truck_id] = opened
        return opened

    def accept(self, command: Command) -> None:
        if not isinstance(command, BarrierCommand):
            raise not_taken(self.kind, self.device_id, command)
        event = self.waiting.pop(command.truck_id, None)
        if event is None:
            raise CommandRejected(f"{self.device_id}: no truck {command.truck_id} at the barrier")
        if command.open:
            self.opened += 1
            event.succeed()


class Weighbridge:
    """The weighbridge: it holds a truck until the controllers accept its weight."""

    kind: Final = "weighbridge"

    def __init__(self, yard: YardModel, device_id: str) -> None:
        self.yard = yard
        self.device_id = device_id
        self.waiting: dict[str, simpy.Event] = {}
        self.rejected = 0
        self.drifts: list[tuple[float, float]] = []  # drifts in force: (relative span, kg at zero)
        self.drifted = 0  # readings taken while it drifted

    def weigh(self, truck_id: str, measured_kg: float, declared_kg: float) -> simpy.Event:
        """A truck of `measured_kg` stands on the bridge; the event fires with the
        controllers' decision. A drifting weighbridge reads it off."""
        decision = self.yard.env.event()
        self.waiting[truck_id] = decision
        yard = self.yard
        reading = measured_kg
        if self.drifts:
            self.drifted += 1
            for span, zero in self.drifts:
                reading = reading * (1 + span) + zero
            reading = max(0.0, round(reading))  # a load cell shows no weight below an empty deck
        yard.links.publish(WeightReading(self.device_id, yard.side, truck_id, reading, declared_kg))
        return decision

    def accept(self, command: Command) -> None:
        if not isinstance(command, WeighDecision):
            raise not_taken(self.kind, self.device_id, command)
        event = self.waiting.pop(command.truck_id, None)
        if event is None:
            raise CommandRejected(f"{self.device_id}: no truck {command.truck_id} on the weighbridge")
        if not command.accepted:
            self.rejected += 1
        event.succeed(command.accepted)


def crane_command(device_id: str, busy: bool, command: Command) -> CraneCommand:
    """The command, if a crane can take it now (anything else is a controller bug)."""
    if not isinstance(command, CraneCommand):
        raise not_taken("crane", device_id, command)
    if busy:
        raise CommandRejected(f"{device_id} is busy and was given {command.op}")
    return command


class Crane:
    """An automated transfer crane: one move at a time, on command."""

    kind: Final = "crane"

    def __init__(self, yard: YardModel, device_id: str, move: Sampler) -> None:
        self.yard = yard
        self.env = yard.env
        self.device_id = device_id
        self.move = move
        self.busy = False
        self.fault = False
        self.moves = 0
        self._faults = 0  # breakdowns in force (a random one and an injected one may overlap)
        self._repaired: simpy.Event | None = None
        self._work: simpy.Process | None = None

    def accept(self, command: Command) -> None:
        command = crane_command(self.device_id, self.busy, command)
        self.busy = True
        self.yard.crane_work(command, True)
        self._work = self.env.process(self._do(command))

    def _do(self, command: CraneCommand) -> Generator[simpy.Event, None, None]:
        remaining = self.move()
        while remaining > 0:
            if self.fault:
                self._repaired = self.env.event()
                yield self._repaired
            start = self.env.now
            try:
                yield self.env.timeout(remaining)
                remaining = 0.0
            except simpy.Interrupt:
                remaining -= self.env.now - start
        placed_on: Placement | None = None
        try:
            placed_on = self.yard.crane_effect(command)
        except Refusal as refusal:  # the port's contract: reported as an event, never raised
            self.yard.links.publish(CommandRefused(self.device_id, "CraneCommand", str(refusal)))
        self.yard.crane_work(command, False)
        self.busy = False
        self._work = None
        if placed_on is None:
            self.yard.links.publish(CraneState(self.device_id, self.yard.side, False, self.fault))
            return
        self.moves += 1
        self.yard.links.publish(
            CraneState(
                self.device_id,
                self.yard.side,
                False,
                self.fault,
                command.op,
                command.container_id,
                command.carrier_id,
                placed_on,
            )
        )

    def break_down(self) -> None:
        self._faults += 1
        if self._faults > 1:
            return  # already broken
        self.fault = True
        if self._work is not None and self._work.is_alive:
            self._work.interrupt("breakdown")
        self.yard.links.publish(CraneState(self.device_id, self.yard.side, self.busy, True))

    def repair(self) -> None:
        if self._faults == 0:
            return
        self._faults -= 1
        if self._faults:
            return  # another breakdown still holds it
        self.fault = False
        if self._repaired is not None and not self._repaired.triggered:
            self._repaired.succeed()
        self.yard.links.publish(CraneState(self.device_id, self.yard.side, self.busy, False))


class CarrierAtCrane(Protocol):
    """A carrier as a crane move sees it: where it stands and what it carries."""

    device_id: str
    under_crane: bool

    @property
    def node_id(self) -> str: ...

    @property
    def load(self) -> str | None: ...

    @load.setter
    def load(self, container_id: str | None) -> None: ...

    def update_use(self) -> None: ...


class WorldCrane(CranePort, Protocol):
    """A crane as the yard reads it: a simulated one, or the mirror of a bridged one."""

    busy: bool
    fault: bool
    moves: int


class WorldCamera(CameraPort, Protocol):
    """The camera at a gate: shown each arriving truck, it reports the plate it read."""

    def show(self, truck_id: str, plate: str, purpose: Literal["deliver", "pickup"]) -> None: ...


class WorldGate(BarrierPort, Protocol):
    """A barrier as the yard uses it: a truck waits at it until it opens."""

    opened: int

    def arrive(self, truck_id: str) -> simpy.Event: ...


class WorldWeighbridge(WeighbridgePort, Protocol):
    """A weighbridge as the yard uses it: a truck waits on it for the controllers' decision."""

    rejected: int

    def weigh(self, truck_id: str, measured_kg: float, declared_kg: float) -> simpy.Event: ...


class YardDevices(Protocol):
    """Which device stands in each place of a yard (see `twin.devices`)."""

    def crane(self, yard: YardModel, device_id: str, move: Sampler) -> WorldCrane: ...

    def gate(self, yard: YardModel, device_id: str) -> WorldGate: ...

    def weighbridge(self, yard: YardModel, device_id: str) -> WorldWeighbridge: ...

    def camera(self, yard: YardModel) -> WorldCamera: ...


@dataclass(frozen=True, slots=True)
class YardLinks:
    """What a yard is given of the rest of the world, and nothing more."""

    publish: Callable[[Event], None]  # to the controllers, through the runtime
    stats: Mapping[str, DirectionStats]  # the KPIs of the containers it sends, by direction
    containers: Mapping[str, Container]
    carriers: Mapping[str, CarrierAtCrane]
    yards: Mapping[Side, YardModel]  # the far yard calls the receiving truck
    delivered: Callable[[Container], None]  # a container has left on its receiving truck


class YardModel:
    def __init__(
        self,
        env: simpy.Environment,
        side: Side,
        spec: YardSpec,
        rng: random.Random,
        devices: YardDevices,
        links: YardLinks,
    ) -> None:
        self.env = env
        self.links = links
        self.side = side
        self.node_id = YARD_NODE[side]
        self.spec = spec
        self.rng = rng
        prefix = "VN" if side == "vietnam" else "CN"
        self.prefix = prefix
        st = spec.stations

        def station(name: str, s: StationSpec) -> Station:
            return Station(self.env, f"{prefix}-{name}", s.servers, sampler(s.service, rng))

        self.gate_lanes = station("gate", st.gate)
        self.weighbridges = station("weighbridge", st.weighbridge)
        self.scanners = Scanners(self.env, f"{prefix}-scanner", st.scanner.servers, sampler(st.scanner.service, rng))
        inspection = st.inspection
        self.red_bays = Station(self.env, f"{prefix}-red-bays", inspection.red_bays, sampler(inspection.red.check, rng))
        self.yellow_check = sampler(inspection.yellow.check, rng)
        self.p_yellow = inspection.yellow.share
        self.p_red = inspection.red.share
        self.misdeclared = st.weighbridge.misdeclared_share
        self.tolerance = st.weighbridge.tolerance_pct / 100
        self.pickup_delay = sampler(spec.pickup_delay, rng)
        self.staging = simpy.Resource(self.env, capacity=spec.staging_capacity_trucks)
        self.staging_used = Level()
        self.gate = devices.gate(self, f"{prefix}-gate")
        self.weighbridge = devices.weighbridge(self, f"{prefix}-weighbridge")
        self.camera = devices.camera(self)
        self.cranes_busy = Level()
        move = sampler(spec.crane_move, rng)
        self.cranes = [devices.crane(self, f"{prefix}-crane-{i + 1}", move) for i in range(spec.cranes)]
        self.stack: set[str] = set()
        self.stack_level = Level()
        self.chargers_used = Level()
        self.stack_overflows = 0
        self.awaiting_carrier = Level()  # containers cleared and waiting for a carrier
        self.loaded: dict[str, simpy.Event] = {}  # truck waiting for its container to be lifted
        self.pickup_waiting: dict[str, simpy.Event] = {}  # receiving truck waiting for its container
        self.channels = {"green": 0, "yellow": 0, "red": 0}
        self.weights_missed = 0
        self.weights_flagged_wrongly = 0

    # --- the truck that brings a container -------------------------------------------

    def deliver_truck(self, c: Container) -> Generator[simpy.Event, None, None]:
        env = self.env
        stats = self.links.stats[c.direction]
        stats.arrived += 1
        stats.in_yard.change(env.now, 1)
        with self.staging.request() as parking:
            yield parking
            self.staging_used.change(env.now, 1)
            c.reach("gate", env.now)
            yield from self.gate_lanes.use()
            yield from self._through_barrier(c.truck_id, c.plate, "deliver")
            c.reach("weighbridge", env.now)
            yield from self.weighbridges.use()
            accepted = bool((yield self.weighbridge.weigh(c.truck_id, c.measured_kg, c.declared_kg)))
            self._audit_weight(c, accepted)
            c.reach("scanner", env.now)
            yield from self.scanners.use()
            channel = self._risk_channel(accepted)
            self.channels[channel] += 1
            c.reach(f"inspection ({channel})", env.now)
            if channel == "yellow":
                yield env.timeout(self.yellow_check())
            elif channel == "red":
                yield from self.red_bays.use()
            c.reach("awaiting carrier", env.now)
            lifted = env.event()
            self.loaded[c.container_id] = lifted
            self.awaiting_carrier.change(env.now, 1)
            self.links.publish(
                ContainerReady(c.container_id, self.side, c.direction, c.cargo, c.arrived_at, c.deadline, c.truck_id)
            )
            yield lifted
            self.staging_used.change(env.now, -1)
        stats.released += 1
        stats.in_yard.change(env.now, -1)
        stats.truck_waits.add(env.now - c.arrived_at)

    def _through_barrier(
        self, truck_id: str, plate: str, purpose: Literal["deliver", "pickup"]
    ) -> Generator[simpy.Event, None, None]:
        opened = self.gate.arrive(truck_id)
        self.camera.show(truck_id, plate, purpose)
        yield opened

    def _audit_weight(self, c: Container, accepted: bool) -> None:
        """What the world knows and the controllers cannot: was the decision right?"""
        off = abs(c.measured_kg - c.declared_kg) > self.tolerance * c.declared_kg
        if accepted and off:
            self.weights_missed += 1  # a declaration off beyond the tolerance waved through
        elif not accepted and not off:
            self.weights_flagged_wrongly += 1  # an honest truck sent to inspection

    def _risk_channel(self, weight_accepted: bool) -> str:
        if not weight_accepted:
            return "red"  # a weight that does not match the declaration is inspected
        u = self.rng.random()
        if u < self.p_red:
            return "red"
        if u < self.p_red + self.p_yellow:
            return "yellow"
        return "green"

    # --- the truck that takes a container away -------------------------------------------

    def pickup_truck(self, c: Container) -> Generator[simpy.Event, None, None]:
        env = self.env
        yield env.timeout(self.pickup_delay())
        truck_id = c.pickup_truck_id
        yield from self.gate_lanes.use()
        yield from self._through_barrier(truck_id, c.plate, "pickup")
        on_truck = env.event()
        self.pickup_waiting[c.container_id] = on_truck
        self.links.publish(PickupArrived(self.side, truck_id, c.container_id))
        yield on_truck
        c.reach("leaving", env.now)
        yield from self.gate_lanes.use()
        self.links.delivered(c)

    # --- what a crane move does to the world ----------------------------------------------

    def crane_work(self, command: CraneCommand, working: bool) -> None:
        """A crane starts or ends a move: the yard's busy cranes, and the carrier under it."""
        self.cranes_busy.change(self.env.now, 1 if working else -1)
        carrier = self.links.carriers.get(command.carrier_id or "")
        if carrier is not None:
            carrier.under_crane = working
            carrier.update_use()

    def crane_refusal(self, cmd: CraneCommand) -> str | None:
        """Why the move cannot be made as the world stands, or None if it can."""
        links = self.links
        c = links.containers.get(cmd.container_id)
        if c is None:
            return f"unknown container {cmd.container_id}"
        if cmd.op in ("load", "unload"):
            carrier = links.carriers.get(cmd.carrier_id or "")
            if carrier is None:
                return f"no carrier {cmd.carrier_id!r}"
            if carrier.node_id != self.node_id:
                return f"{carrier.device_id} is at {carrier.node_id}, not under the crane at {self.node_id}"
            if cmd.op == "load" and c.container_id not in self.loaded:
                return f"{c.container_id} is not waiting on a truck at {self.prefix}"
            if cmd.op == "load" and carrier.load is not None:
                return f"{carrier.device_id} already carries {carrier.load}"
            if cmd.op == "unload" and carrier.load != c.container_id:
                return f"{carrier.device_id} does not carry {c.container_id}"
        elif c.container_id not in self.stack:
            return f"{c.container_id} is not on the stack at {self.prefix}"
        to_truck = cmd.op == "deliver" or (cmd.op == "unload" and cmd.to_truck)
        if to_truck and c.container_id not in self.pickup_waiting:
            return f"no receiving truck for {c.container_id} at {self.prefix}"
        return None

    def crane_effect(self, cmd: CraneCommand) -> Placement:
        """Move the container as the crane did. A move the world cannot follow changes
        nothing and raises `CommandRejected` with the reason."""
        reason = self.crane_refusal(cmd)
        if reason is not None:
            raise CommandRejected(f"{cmd.device_id}: {reason}")
        links = self.links
        c = links.containers[cmd.container_id]
        now = self.env.now
        if cmd.op == "load":
            carrier = links.carriers[cmd.carrier_id or ""]
            lifted = self.loaded.pop(c.container_id)
            carrier.load = c.container_id
            carrier.update_use()
            c.location, c.departed_at = "carrier", now
            c.reach(f"on {carrier.device_id}", now)
            self.awaiting_carrier.change(now, -1)
            lifted.succeed()
            far = links.yards[other_side(ORIGIN[c.direction])]  # where it is going
            self.env.process(far.pickup_truck(c))
            return "carrier"
        if cmd.op == "unload":
            carrier = links.carriers[cmd.carrier_id or ""]
            carrier.load = None
            carrier.update_use()
            if cmd.to_truck:
                return self._onto_pickup(c)
            if len(self.stack) >= self.spec.stack_capacity_containers:
                self.stack_overflows += 1
            self.stack.add(c.container_id)
            self.stack_level.change(now, 1)
            c.location = "stack"
            c.reach(f"stack at {self.prefix}", now)
            return "stack"
        # deliver: stack -> receiving truck
        self.stack.discard(c.container_id)
        self.stack_level.change(now, -1)
        return self._onto_pickup(c)

    def _onto_pickup(self, c: Container) -> Placement:
        event = self.pickup_waiting.pop(c.container_id)
        c.location = "pickup"
        c.reach(f"on the receiving truck at {self.prefix}", self.env.now)
        event.succeed()
        return "truck"

    def station_faults(
        self, station: Station, mtbf_s: float, mttr_s: float, rng: random.Random
    ) -> Generator[simpy.Event, None, None]:
        """Breakdowns of one server of a station (a scanner, a weighbridge, a gate lane)."""
        while True:
            yield self.env.timeout(rng.expovariate(1 / mtbf_s))
            repair = rng.expovariate(1 / mttr_s)
            station.faults += 1
            if station is self.scanners:
                self.links.publish(ScannerState(station.name, self.side, True))
            yield from station.outage(repair)
            if station is self.scanners:
                self.links.publish(ScannerState(station.name, self.side, False))

    def crane_faults(self, crane: Crane, mtbf_s: float, mttr_s: float, rng: random.Random) -> Generator[simpy.Event, None, None]:
        while True:
            yield self.env.timeout(rng.expovariate(1 / mtbf_s))
            crane.break_down()
            yield self.env.timeout(rng.expovariate(1 / mttr_s))
            crane.repair()
