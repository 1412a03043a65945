"""The twin's side of bridged devices: mirrors that keep the world true to real ones.

In mixed mode some devices are real or emulated machines behind the hardware bridge.
The controllers drive them through the same runtime as simulated ones; the world
stands in front of them as their physical surroundings:

- a carrier mirror forwards orders to its vehicle, and follows the vehicle's states:
  where it is, which blocks it occupies (for the safety monitor), the container a crane
  put on it (an emulated vehicle has no load sensor);
- a crane mirror forwards commands and, when the crane reports a move done, moves the
  container in the world (once: a move the crane finishes after a lost link is reported
  done once); while the crane is faulted its move holds and the container stays where
  the world has it;
- a gate mirror opens the barrier over the bridge and lets the truck through once the
  barrier reports itself open; it puts the truck's weight on the weighbridge and reports
  the stable weight the weighbridge gives. While the gate is faulted (its link lost, or
  errors for answers) no truck goes through and no weight is read: the trucks wait, the
  opening under way is made again once the gate is back, and a failed read is read again;
- a camera mirror triggers the camera as each truck arrives, hands it the truck's frames
  (rendered as the camera takes them), and stands in for the officer when the plate
  cannot be read or the camera flags it.

Events from the bridge reach the world through `DeviceEvents.publish`, in the loop that
owns the controllers; the mirrors pass them on to the runtime.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, Protocol

import simpy

from controllers.codes import country_of
from controllers.layout import YARD_NODE
from controllers.messages import (
    CONNECTION_BROKEN,
    ActionState,
    BarrierCommand,
    BarrierState,
    CarrierState,
    Command,
    CommandRefused,
    CraneCommand,
    CraneState,
    Event,
    Order,
    PlateRead,
    Side,
    VehiclePosition,
    WeighDecision,
    WeightReading,
)
from controllers.ports import DevicePort, Refusal, not_taken
from hardware_bridge.plate_camera import CameraResult
from hardware_bridge.plate_scenes import plate_scene
from twin.carrier import CarrierLinks, CarrierSpec, CommandRejected
from twin.devices import SimulatedDevices, WorldCamera, WorldCarrier, WorldCrane, WorldGate, WorldWeighbridge
from twin.safety import INF
from twin.sampling import Sampler
from twin.yard import Gate, Weighbridge, YardModel, crane_command


class LinkedDevice(Protocol):
    """A bridged device that may be lost or misbehave: how its link is, and its faults."""

    device_id: str

    @property
    def connected(self) -> bool: ...

    @property
    def faulted(self) -> bool: ...

    @property
    def reconnects(self) -> int:
        """Times its link was made again after a loss."""

    def fault_s(self) -> float:
        """Wall seconds it has been faulted."""

    def accept(self, command: Command) -> None: ...


class GateDevice(LinkedDevice, Protocol):
    """A gate lane's barrier and weighbridge as the bridge offers them: what it read last,
    None for what it cannot tell (while faulted)."""

    @property
    def epoch(self) -> int:
        """Times it came back from a fault: a command sent before may not have reached it."""

    def barrier_position(self) -> int | None: ...

    def put_load(self, kg: int) -> None: ...

    def weight(self) -> tuple[int, bool] | None: ...


class CraneDevice(LinkedDevice, Protocol):
    """A crane as the bridge offers it: it takes crane commands, and tells how its link is."""


class CameraDevice(Protocol):
    """A plate camera as the bridge offers it: triggered for a truck, it takes its frames
    and reports what it matched."""

    def expect(self, truck_id: str, plate: str, purpose: Literal["deliver", "pickup"]) -> None: ...

    def trigger(
        self, truck_id: str | None = None, *, by: Literal["loop", "barrier", "manual"] = "loop",
        lane: int | None = None, frames: Iterable[Any] | None = None,
    ) -> bool: ...

    def forget(self, truck_id: str) -> None: ...


@dataclass
class Bridges:
    """The bridged devices of a mixed-mode run, by the id the controllers know them by."""

    vehicles: dict[str, DevicePort] = field(default_factory=dict)
    cranes: dict[str, CraneDevice] = field(default_factory=dict)
    gates: dict[Side, GateDevice] = field(default_factory=dict)
    cameras: dict[Side, CameraDevice] = field(default_factory=dict)
    camera_retries: dict[Side, int] = field(default_factory=dict)
    barrier_timeout_s: dict[Side, float] = field(default_factory=dict)


# --- carriers ----------------------------------------------------------------------------


class CarrierMirror:
    """A bridged vehicle as the world sees it. It has the attributes the world's KPIs,
    deadlock watch and map read from a simulated carrier."""

    kind: Final = "carrier"

    def __init__(self, links: CarrierLinks, device_id: str, vehicle: DevicePort, node_id: str) -> None:
        self.links = links
        self.env = links.env
        self.device_id = device_id
        self.vehicle = vehicle
        self._load: str | None = None
        self.containers_carried = 0
        self.paused = self.broken = self.charging = self.moving = False
        self.in_use = self.under_crane = False
        self.energy_used_kwh = {"export": 0.0, "import": 0.0}
        self.distance_m = 0.0
        self.order_id = ""
        self.update_id = -1
        self.nodes: list[str] = [node_id]
        self.seq_index: dict[int, int] = {0: 0}
        self.edge_block: list[int] = []
        self.edge_length: list[float] = []
        self.released_upto = 0
        self.idx = 0
        self.occupied = -1  # the block it stands or drives in
        self.departed = False  # it has left nodes[idx] onto the next edge
        self.occupied_since = 0.0
        self.stopped_block = -1
        self.last_state: CarrierState | None = None
        self.position: tuple[float, float] | None = None  # (x, y) in the site's map, as it said

    @property
    def node_id(self) -> str:
        return self.nodes[self.idx]

    @property
    def battery_pct(self) -> float:
        return self.last_state.battery_pct if self.last_state is not None else 100.0

    @property
    def link_lost(self) -> bool:
        return self.last_state is not None and CONNECTION_BROKEN in self.last_state.errors

    @property
    def vehicle_errors(self) -> tuple[str, ...]:
        s = self.last_state
        return s.error_texts + s.information if s is not None else ()

    @property
    def warned(self) -> bool:
        return self.last_state is not None and bool(self.last_state.warnings)

    @property
    def map_position(self) -> tuple[float, float] | None:
        """Where it last said it was in the site's map (agvPosition in its state or its
        visualization), while it knows where it is."""
        return self.position

    @property
    def load(self) -> str | None:
        """The container a crane put on it (the world's truth: an emulated vehicle has no
        load sensor)."""
        return self._load

    @load.setter
    def load(self, container_id: str | None) -> None:
        self.containers_carried += container_id is not None
        self._load = container_id

    def accept(self, command: Command) -> None:
        if isinstance(command, Order):
            self._route(command)
        self.vehicle.accept(command)

    def _route(self, order: Order) -> None:
        """Keep the order's route and tell the safety monitor which blocks it releases."""
        if order.order_id == self.order_id and order.order_update_id <= self.update_id:
            return  # sent again, or stale: the vehicle ignores it too, as VDA 5050 asks
        self.update_id = order.order_update_id
        if order.order_id != self.order_id:
            first = order.nodes[0]
            self.order_id = order.order_id
            self.nodes, self.seq_index = [first.node_id], {first.sequence_id: 0}
            self.edge_block, self.edge_length = [], []
            self.idx = self.released_upto = 0
            self.departed = False
        else:
            start = self.seq_index.get(order.nodes[0].sequence_id)
            if start is None:
                return  # not stitched to what we know: the vehicle will refuse it too
            del self.nodes[start + 1 :], self.edge_block[start:], self.edge_length[start:]
            self.released_upto = min(self.released_upto, start)
        for node, edge in zip(order.nodes[1:], order.edges):
            if not node.released:
                break
            block = self.links.blocks.get(edge.edge_id, -1)
            self.seq_index[node.sequence_id] = len(self.nodes)
            self.nodes.append(node.node_id)
            self.edge_block.append(block)
            self.edge_length.append(edge.length_m)
            if block >= 0:
                self.links.safety.release(block, self.device_id)
            self.released_upto = len(self.nodes) - 1
        self.update_use()

    def observe(self, state: CarrierState) -> None:
        """A state from the vehicle: follow it through the blocks, then report it."""
        now = self.env.now
        if state.order_id == self.order_id:
            reached = self.seq_index.get(state.last_node_sequence_id, self.idx)
            for e in range(self.idx, reached):
                self.distance_m += self.edge_length[e]
                block = self.edge_block[e]
                if block >= 0 and block != self.occupied:  # passed between two reports
                    self.links.safety.move(self.device_id, [block], [now], [now])
            if reached > self.idx:
                self.idx, self.departed = reached, False
        # the block it is in: the next edge once it has set off on it (a vehicle that stops
        # on an edge, or reports its stop before the node it reached, is still on it), else
        # the one it came by
        ahead = state.driving and self.idx < self.released_upto
        self.departed = self.departed or ahead
        on_edge = self.departed and self.idx < len(self.edge_block)
        block = self.edge_block[self.idx] if on_edge else self.edge_block[self.idx - 1] if self.idx > 0 else -1
        if state.last_node_id in YARD_NODE.values() and not on_edge:
            block = -1
        if block != self.occupied:
            if self.occupied >= 0:
                self.links.safety.leave(self.occupied, now, self.occupied_since)
            if block >= 0:
                self.links.safety.move(self.device_id, [block], [now], [INF])
            self.occupied, self.occupied_since = block, now
        if state.order_cancelled and state.order_id == self.order_id and not state.driving:
            self.released_upto = min(self.released_upto, self.idx)  # nothing ahead is its any more
        self.stopped_block = block if not state.driving else -1
        self.moving = state.driving
        self.paused = state.paused
        self.broken = bool(state.errors)
        self.charging = state.charging
        self.last_state = state
        if not state.position_initialized:  # lost: its marker goes back to its last node
            self.position = None
        elif state.position is not None:  # else its visualization may say
            self.position = (state.position[0], state.position[1])
        self.update_use()
        self.links.publish(replace(state, load=self.load) if state.load is None else state)

    def update_use(self) -> None:
        in_use = self.load is not None or self.idx < self.released_upto or self.charging or self.under_crane
        if in_use != self.in_use:
            self.in_use = in_use
            self.links.fleet.busy.change(self.env.now, 1 if in_use else -1)


# --- faults of bridged devices ---------------------------------------------------------


class FaultPeriods:
    """What a mirror keeps of its device's faults for the run's figures, in model time."""

    yard: YardModel
    faults: int  # times it faulted
    fault_periods: list[tuple[float, float | None]]  # (from, to) model seconds; None: not over
    reason: str  # why it is faulted, "" when it is not

    def _no_faults(self) -> None:
        self.faults, self.fault_periods, self.reason = 0, [], ""

    @property
    def faulted(self) -> bool:
        return bool(self.reason)

    def fault_s(self) -> float:
        """Model seconds the device has been faulted, all its faults together."""
        now = self.yard.env.now
        return sum((now if end is None else end) - begin for begin, end in self.fault_periods)

    def _note_fault(self, fault: bool, reason: str) -> None:
        now = self.yard.env.now
        if fault and not self.faulted:
            self.faults += 1
            self.fault_periods.append((now, None))
        elif not fault and self.faulted:
            self.fault_periods[-1] = (self.fault_periods[-1][0], now)
        self.reason = (reason or "faulted") if fault else ""


# --- cranes ------------------------------------------------------------------------------


class CraneMirror(FaultPeriods):
    """A bridged crane: commands go to it; a move it reports done moves the container.
    A fault holds the move (the crane finishes it once back); the container stays put."""

    kind: Final = "crane"

    def __init__(self, yard: YardModel, device_id: str, crane: DevicePort) -> None:
        self.yard = yard
        self.env = yard.env
        self.device_id = device_id
        self.crane = crane
        self.busy = self.fault = False
        self.moves = 0
        self.doing: CraneCommand | None = None
        self._no_faults()

    def accept(self, command: Command) -> None:
        command = crane_command(self.device_id, self.busy, command)
        self.busy, self.doing = True, command
        self.yard.crane_work(command, True)
        self.crane.accept(command)

    def observe(self, state: CraneState) -> None:
        cmd = self.doing
        self.fault = state.fault
        self._note_fault(state.fault, state.reason)
        if cmd is not None and state.done_op == cmd.op and state.container_id == cmd.container_id:
            try:
                placed_on = self.yard.crane_effect(cmd)  # the container is where the crane put it
            except Refusal as refusal:  # the world cannot follow the move: said, not raised
                self._refused(str(refusal))
                state = replace(state, done_op=None, container_id=None, carrier_id=None, placed_on=None)
            else:
                self.moves += 1
                if placed_on != state.placed_on:
                    self._refused(f"{self.device_id} placed {cmd.container_id} on {state.placed_on}, not {placed_on}")
            self._done(cmd)
        elif cmd is not None and state.fault and not state.busy:
            self._done(cmd)  # the move failed: the container stays where it was
        self.yard.links.publish(state)

    def _done(self, cmd: CraneCommand) -> None:
        self.busy, self.doing = False, None
        self.yard.crane_work(cmd, False)

    def tell_again(self) -> None:
        """After the control process was restarted: its new client knows nothing of the
        move under way, so it is told again; the crane carries it on from where it stands."""
        if self.doing is not None:
            self.crane.accept(self.doing)

    def _refused(self, reason: str) -> None:
        self.yard.links.publish(CommandRefused(self.device_id, "CraneCommand", reason))


# --- the gate: barrier, weighbridge, camera ----------------------------------------------------


class BarrierMirror(FaultPeriods, Gate):
    """A bridged barrier: it opens for one truck at a time; the truck drives through once
    the barrier reports itself fully open, and the barrier closes behind it. A fault
    before the barrier said it was open leaves the truck waiting; once the gate is back
    the barrier is told again."""

    POLL_S = 0.5  # model seconds between reads of the barrier's position
    PASS_S = 4.0  # model seconds a truck needs to clear the barrier

    def __init__(self, yard: YardModel, device: GateDevice, timeout_s: float) -> None:
        super().__init__(yard, device.device_id)
        self.device = device
        self.timeout_s = timeout_s
        self.lane = simpy.Resource(yard.env, capacity=1)
        self.stuck = 0
        self.admitted: list[tuple[float, str]] = []  # (model time, truck): each let through on a barrier it read open
        self._no_faults()

    def observe(self, state: BarrierState) -> None:
        """The gate faulted or is back: kept for the run's figures, passed on to the controllers."""
        self._note_fault(state.fault, state.reason)
        self.yard.links.publish(state)

    def accept(self, command: Command) -> None:
        if not isinstance(command, BarrierCommand):
            raise not_taken(self.kind, self.device_id, command)
        event = self.waiting.pop(command.truck_id, None)
        if event is None:
            raise CommandRejected(f"{self.device_id}: no truck {command.truck_id} at the barrier")
        if command.open:
            self.yard.env.process(self._let_through(command, event))

    def _let_through(self, command: BarrierCommand, passed: simpy.Event) -> Generator[simpy.Event, None, None]:
        env = self.yard.env
        with self.lane.request() as turn:
            yield turn
            yield from self._until_position(command, 100)
            self.opened += 1
            self.admitted.append((env.now, command.truck_id))
            yield env.timeout(self.PASS_S)
            passed.succeed()
            yield from self._until_position(BarrierCommand(self.device_id, command.truck_id, False), 0)

    def _until_position(self, command: BarrierCommand, target: int) -> Generator[simpy.Event, None, None]:
        """Tell the barrier `command` and wait until it reads `target`; told again after a
        fault (the gate holds its barrier closed once back). A faulted gate reads nothing."""
        device = self.device
        waited, told = 0.0, None
        while True:
            # up once the device answers and the world has heard it is back, as the controllers have
            up = not device.faulted and not self.faulted
            if up and told != device.epoch:
                told = device.epoch
                device.accept(command)
            elif up and told == device.epoch and device.barrier_position() == target:
                return
            if waited >= self.timeout_s:
                self.stuck += 1  # reported once per move; the truck keeps waiting
                waited = -INF
            yield self.yard.env.timeout(self.POLL_S)
            if up:  # a fault is no stuck barrier
                waited += self.POLL_S


class WeighbridgeMirror(Weighbridge):
    """A bridged weighbridge: the world puts the truck's weight on it, and the stable
    weight the device reports goes to the controllers."""

    POLL_S = 0.5

    def __init__(self, yard: YardModel, device: GateDevice, device_id: str) -> None:
        super().__init__(yard, device_id)
        self.device = device
        self.lane = simpy.Resource(yard.env, capacity=1)
        self.weighed = 0

    def weigh(self, truck_id: str, measured_kg: float, declared_kg: float) -> simpy.Event:
        decision = self.yard.env.event()
        self.yard.env.process(self._weigh(truck_id, measured_kg, declared_kg, decision))
        return decision

    def _weigh(
        self, truck_id: str, measured_kg: float, declared_kg: float, decided: simpy.Event
    ) -> Generator[simpy.Event, None, None]:
        yard = self.yard
        with self.lane.request() as turn:  # one truck at a time on the one bridge
            yield turn
            self.device.put_load(round(measured_kg))
            yield yard.env.timeout(self.POLL_S)
            while True:  # until a stable weight is read: a failed read is read again, never 0 kg
                reading = self.device.weight()
                if reading is not None and reading[1] and reading[0] > 0:
                    kg = reading[0]
                    break
                yield yard.env.timeout(self.POLL_S)
            own = yard.env.event()
            self.waiting[truck_id] = own
            yard.links.publish(WeightReading(self.device_id, yard.side, truck_id, float(kg), declared_kg))
            accepted = yield own
            self.weighed += 1
            self.device.put_load(0)
        decided.succeed(accepted)

    def accept(self, command: Command) -> None:
        if not isinstance(command, WeighDecision):
            raise not_taken(self.kind, self.device_id, command)
        super().accept(command)


_render_lock = threading.Lock()  # the scene renderer's fonts are shared: one camera thread at a time


def truck_frames(plate: str, rng: random.Random) -> Iterator[Any]:
    """Frames of a truck with `plate` as the gate camera would take them, one new scene
    each, rendered only when the camera asks for the next (in its worker thread)."""
    country = country_of(plate)
    while True:
        with _render_lock:
            scene = plate_scene(country, rng, text=plate)
        yield scene.image


class CameraMirror:
    """Triggers a bridged plate camera as each truck reaches the barrier (the loop in
    front of it) and hands it the truck's frames. A capture with no plate read is taken
    again; after `retries` captures, or when the camera flags the read, the officer at
    the gate checks the truck's papers."""

    kind: Final = "camera"

    RETRY_S = 3.0  # model seconds before the camera's next capture
    OFFICER_S = 45.0  # model seconds an officer needs to check or type a plate (est.)

    def __init__(self, yard: YardModel, camera: CameraDevice, retries: int, seed: int) -> None:
        self.yard = yard
        self.device_id = f"{yard.prefix}-camera"
        self.camera = camera
        self.retries = retries
        self.rng = random.Random(seed)
        self.plates: dict[str, str] = {}
        self.tries: dict[str, int] = {}
        self.frames = 0  # frames the camera read
        self.read_first_time = 0
        self.officer_checks = 0
        self.flagged = 0  # reads the camera sent to an officer: frames disagreed, low confidence, a confusion
        self.misread = 0  # reads that matched another declared truck

    def show(self, truck_id: str, plate: str, purpose: Literal["deliver", "pickup"]) -> None:
        self.plates[truck_id] = plate
        self.tries[truck_id] = 0
        self.camera.expect(truck_id, plate, purpose)
        self._capture(truck_id, purpose)

    def _capture(self, truck_id: str, purpose: Literal["deliver", "pickup"]) -> None:
        self.tries[truck_id] += 1
        # each capture its own generator, seeded here: the loop's draws stay in order
        frames = truck_frames(self.plates[truck_id], random.Random(self.rng.getrandbits(64)))
        if not self.camera.trigger(truck_id, by="loop", frames=frames):  # the camera said why
            plate = self.plates[truck_id]
            self.officer_checks += 1
            self._done(truck_id)
            self.camera.forget(truck_id)
            self.yard.env.process(self._officer(PlateRead(self.yard.gate.device_id, self.yard.side, truck_id, plate, purpose)))

    def observe(self, result: CameraResult) -> None:
        truck = result.shown
        if truck not in self.plates:
            return
        self.frames += result.evidence.frames
        read = PlateRead(result.device_id, result.yard, truck, self.plates[truck], result.purpose, result.evidence)
        if result.truck_id == truck and not result.needs_officer:
            self.read_first_time += self.tries[truck] == 1
            self._done(truck)
            self.yard.links.publish(read)
        elif result.plate is None and self.tries[truck] <= self.retries:
            self.yard.env.process(self._again(truck, result.purpose))
        else:  # a flagged or wrong match, or no read at all: the officer checks the papers
            self.officer_checks += 1
            self.flagged += result.plate is not None
            self.misread += result.truck_id is not None and result.truck_id != truck
            self._done(truck)
            self.camera.forget(truck)
            self.yard.env.process(self._officer(read))

    def _done(self, truck_id: str) -> None:
        del self.plates[truck_id], self.tries[truck_id]

    def _again(self, truck_id: str, purpose: Literal["deliver", "pickup"]) -> Generator[simpy.Event, None, None]:
        yield self.yard.env.timeout(self.RETRY_S)
        self._capture(truck_id, purpose)

    def _officer(self, read: PlateRead) -> Generator[simpy.Event, None, None]:
        yield self.yard.env.timeout(self.OFFICER_S)
        self.yard.links.publish(read)


# --- wiring ------------------------------------------------------------------------------------


class DeviceEvents:
    """Where the bridge's events enter the world: each goes to its device's mirror, which
    updates the world and hands it to the runtime."""

    def __init__(self) -> None:
        self.carriers: dict[str, CarrierMirror] = {}
        self.cranes: dict[str, CraneMirror] = {}
        self.cameras: dict[Side, CameraMirror] = {}
        self.gates: dict[str, BarrierMirror] = {}

    def publish(self, event: Event | CameraResult) -> None:
        if isinstance(event, CarrierState) and event.device_id in self.carriers:
            self.carriers[event.device_id].observe(event)
        elif isinstance(event, VehiclePosition) and event.device_id in self.carriers:
            self.carriers[event.device_id].position = (event.x, event.y)  # its marker, nothing more
        elif isinstance(event, (CommandRefused, ActionState)) and event.device_id in self.carriers:
            # the vehicle said no, or how an action it was sent went: for the controllers
            self.carriers[event.device_id].links.publish(event)
        elif isinstance(event, CraneState) and event.device_id in self.cranes:
            self.cranes[event.device_id].observe(event)
        elif isinstance(event, BarrierState) and event.device_id in self.gates:
            self.gates[event.device_id].observe(event)
        elif isinstance(event, CameraResult) and event.yard in self.cameras:
            self.cameras[event.yard].observe(event)
        else:
            raise ValueError(f"an event from a device that is not bridged: {event!r}")


class MirroredDevices:
    """The device factory of a mixed-mode world: a mirror where a device is bridged, a
    simulated device everywhere else. The mirrors it builds are where the bridge's
    events go (`events`)."""

    def __init__(self, bridges: Bridges, seed: int) -> None:
        self.bridges = bridges
        self.seed = seed
        self.simulated = SimulatedDevices()
        self.events = DeviceEvents()
        self.gates: dict[Side, BarrierMirror] = {}
        self.weighbridges: dict[Side, WeighbridgeMirror] = {}

    def carrier(self, links: CarrierLinks, carrier_id: str, node_id: str, spec: CarrierSpec) -> WorldCarrier:
        vehicle = self.bridges.vehicles.get(carrier_id)
        if vehicle is None:
            return self.simulated.carrier(links, carrier_id, node_id, spec)
        mirror = CarrierMirror(links, carrier_id, vehicle, node_id)  # the world follows its states
        self.events.carriers[carrier_id] = mirror
        return mirror

    def crane(self, yard: YardModel, device_id: str, move: Sampler) -> WorldCrane:
        crane = self.bridges.cranes.get(device_id)
        if crane is None:
            return self.simulated.crane(yard, device_id, move)
        mirror = CraneMirror(yard, device_id, crane)
        self.events.cranes[device_id] = mirror
        return mirror

    def gate(self, yard: YardModel, device_id: str) -> WorldGate:
        device = self.bridges.gates.get(yard.side)
        if device is None:
            return self.simulated.gate(yard, device_id)
        mirror = BarrierMirror(yard, device, self.bridges.barrier_timeout_s.get(yard.side, 30.0))
        self.gates[yard.side] = mirror
        self.events.gates[device.device_id] = mirror
        return mirror

    def weighbridge(self, yard: YardModel, device_id: str) -> WorldWeighbridge:
        device = self.bridges.gates.get(yard.side)
        if device is None:
            return self.simulated.weighbridge(yard, device_id)
        mirror = WeighbridgeMirror(yard, device, device_id)
        self.weighbridges[yard.side] = mirror
        return mirror

    def camera(self, yard: YardModel) -> WorldCamera:
        camera = self.bridges.cameras.get(yard.side)
        if camera is None:
            return self.simulated.camera(yard)
        mirror = CameraMirror(yard, camera, self.bridges.camera_retries.get(yard.side, 2), self.seed)
        self.events.cameras[yard.side] = mirror
        return mirror
