"""The simulated unmanned carrier: a SimPy process that obeys VDA 5050 order semantics.

It drives only the released base of its order, one SimPy timeout per stretch up to
the next node it must report (the base end, or a node the controller flagged), and
tells the safety monitor the entry and exit time of every block on the stretch.
A breakdown or a pause interrupts the stretch and leaves it standing in its block.
Batteries drain with distance and charge at a yard charger (stopCharging ends a charge
early). Each instant action is answered with its `ActionState`, as a vehicle reports
its actionStates: a cancelOrder once the carrier stands at the node it stops at, then
its state says the order was cancelled, not finished.

Faults (a twin-only power, used by the random faults and the fault campaign): a
breakdown stops it where it is until repaired; breakdowns may overlap, and it works
again once the last is repaired. A lost connection is told to the controllers as the
VDA 5050 link tells it, its last state with the error CONNECTION_BROKEN; meanwhile it
drives on the base it was given and stops at its end, and reports nothing, and the
commands sent to it wait, as the link holds them. When it is back it takes them, in
order, then reports its state and what became of its actions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Final

import simpy

from controllers.layout import YARD_NODE
from controllers.messages import (
    CONNECTION_BROKEN,
    Action,
    ActionState,
    ActionStatus,
    CarrierState,
    Command,
    CommandRefused,
    Event,
    InstantActions,
    Order,
)
from controllers.ports import Refusal, not_taken
from twin.meters import FleetStats, Level
from twin.safety import SafetyMonitor

BREAKDOWN = "E-BREAKDOWN"


class CommandRejected(Refusal):
    """A simulated device was given a command it cannot carry out: a controller bug,
    which the controllers hear of as a `CommandRefused` event."""


@dataclass(slots=True)
class CarrierSpec:
    speed_mps: float
    battery_kwh: float
    consumption_kwh_per_m: float
    charge_rate_kw: float


@dataclass(frozen=True, slots=True)
class CarrierLinks:
    """What a carrier is given of the rest of the world, and nothing more."""

    env: simpy.Environment
    publish: Callable[[Event], None]  # to the controllers, through the runtime
    blocks: Mapping[str, int]  # edge id -> global block index, -1 for a yard access
    safety: SafetyMonitor
    chargers: Mapping[str, Level]  # yard node -> its chargers in use
    fleet: FleetStats


class SimCarrier:
    """An unmanned carrier in the twin (the carrier port, `controllers.ports.CarrierPort`)."""

    kind: Final = "carrier"

    def __init__(self, links: CarrierLinks, device_id: str, node_id: str, spec: CarrierSpec) -> None:
        self.links = links
        self.env = links.env
        self.device_id = device_id
        self.spec = spec
        self.energy_kwh = spec.battery_kwh
        self.load: str | None = None
        self.paused = False
        self.broken = False
        self.charging = False
        self.moving = False
        self.in_use = False
        self.under_crane = False
        self.moved_at = 0.0  # when the current stretch began
        self.waiting_since = -1.0  # stopped at the end of its base since, or -1
        self.energy_used_kwh = {"export": 0.0, "import": 0.0}
        self.distance_m = 0.0
        # the order being driven: parallel lists over route nodes / edges
        self.order_id = ""
        self.update_id = 0
        self.nodes: list[str] = [node_id]
        self.seq: list[int] = [0]
        self.cum: list[float] = [0.0]  # distance from the route start to each node
        self.report: list[bool] = [False]
        self.edge_block: list[int] = []  # global block of each edge, -1 for yard access
        self.released_upto = 0
        self.has_horizon = False
        self.idx = 0  # last node reached
        self.pos = 0.0  # metres along the route (beyond cum[idx] after a stop mid-edge)
        self.direction = "export"
        self.stopped_block = -1
        self.stopped_since = 0.0
        self._wake: simpy.Event | None = None
        self._interrupted = False  # an interrupt is on its way to the process
        self._charge_requested = False
        self._cancel_requested = False
        self._cancels: list[str] = []  # cancelOrder action ids to answer once it stands
        self._stop_charges: list[Action] = []  # stopCharging actions to answer once it has stopped
        self.cancelled = False  # its order was cancelled
        self._breakdowns = 0  # breakdowns in force (a random one and an injected one may overlap)
        self._links_lost = 0  # connection losses in force
        self._held: list[Order | InstantActions] = []  # sent while its link was lost: taken once it is back
        self._unsent: list[Event] = []  # what it could not report while its link was lost
        self._last_state: CarrierState | None = None  # the last state the controllers had from it
        self.link_losses = 0
        self.process = self.env.process(self._run())

    # --- the device port ---------------------------------------------------------------

    def accept(self, command: Command) -> None:
        if not isinstance(command, (Order, InstantActions)):
            raise not_taken(self.kind, self.device_id, command)
        if self._links_lost:
            self._held.append(command)  # the link holds it until the vehicle is back
            return
        self._take(command)

    def _take(self, command: Order | InstantActions) -> None:
        if isinstance(command, Order):
            self._take_order(command)
        else:
            for action in command.actions:
                self._instant(action)
        self._kick()

    def _take_order(self, order: Order) -> None:
        blocks = self.links.blocks
        if order.order_id != self.order_id:
            if self.released_upto > self.idx or self.has_horizon:
                raise CommandRejected(f"{self.device_id}: new order {order.order_id} before finishing {self.order_id}")
            if order.nodes[0].node_id != self.nodes[self.idx]:
                raise CommandRejected(
                    f"{self.device_id}: order {order.order_id} starts at {order.nodes[0].node_id}, "
                    f"the carrier is at {self.nodes[self.idx]}"
                )
            first = order.nodes[0]
            self.cancelled = False
            self.order_id, self.update_id = order.order_id, order.order_update_id
            self.nodes, self.seq, self.cum, self.report = [first.node_id], [first.sequence_id], [0.0], [False]
            self.edge_block = []
            self.idx = self.released_upto = 0
            self.pos = 0.0
            self.direction = "export" if first.node_id == YARD_NODE["vietnam"] else "import"
        else:
            if order.order_update_id <= self.update_id:
                return  # a duplicate or stale update is ignored, as VDA 5050 asks
            if order.nodes[0].node_id != self.nodes[self.released_upto]:
                raise CommandRejected(f"{self.device_id}: update does not start at the base end")
            self.update_id = order.order_update_id
        self.report[self.released_upto] = self.report[self.released_upto] or order.nodes[0].report
        edges = order.edges
        for k in range(1, len(order.nodes)):
            node = order.nodes[k]
            if not node.released:
                break
            edge = edges[k - 1]
            g = blocks.get(edge.edge_id, -1)
            self.nodes.append(node.node_id)
            self.seq.append(node.sequence_id)
            self.cum.append(self.cum[-1] + edge.length_m)
            self.report.append(node.report)
            self.edge_block.append(g)
            if g >= 0:
                self.links.safety.release(g, self.device_id)
            self.released_upto += 1
        self.has_horizon = not order.nodes[-1].released

    def _instant(self, action: Action) -> None:
        kind = action.action_type
        if kind == "startPause":
            self.paused = True
            if self.moving:
                self._interrupt("pause")  # it stands from this moment
        elif kind == "stopPause":
            self.paused = False
        elif kind == "cancelOrder":
            if not self.order_id or self.cancelled or (self.idx >= self.released_upto and not self.has_horizon):
                return self._answer(action, "FAILED", "noOrderToCancel: it has no order to cancel")
            # VDA 5050: stop at the next node; nothing beyond it stays released
            self.has_horizon = False
            self._cancels.append(action.action_id)
            if self.moving:
                self._cancel_requested = True
                self._interrupt("cancel")
                return None  # answered once it stands
            self.released_upto = self.idx
            return self._publish()  # it stands: the cancel is done
        elif kind == "startCharging":
            if self.moving or self.idx < self.released_upto or self.node_id not in self.links.chargers:
                raise CommandRejected(f"{self.device_id}: startCharging while on the move")
            self._charge_requested = True
        elif kind == "stopCharging":
            self._charge_requested = False
            if self.charging:
                self._stop_charges.append(action)
                self._interrupt("stop charging")
                return None  # answered once it has let go of the charger
        else:
            raise CommandRejected(f"{self.device_id}: unknown instant action {kind}")
        return self._answer(action, "FINISHED")

    def _answer(self, action: Action, status: ActionStatus, result: str = "") -> None:
        self._report(ActionState(self.device_id, action.action_id, action.action_type, status, result))

    def _report(self, event: Event) -> None:
        if self._links_lost:
            self._unsent.append(event)  # in its first state once it is back
        else:
            self.links.publish(event)

    # --- reporting ---------------------------------------------------------------------

    @property
    def battery_pct(self) -> float:
        return 100.0 * self.energy_kwh / self.spec.battery_kwh

    @property
    def link_lost(self) -> bool:
        return self._links_lost > 0

    @property
    def vehicle_errors(self) -> tuple[str, ...]:
        return ()  # its breakdowns are the world's own, shown as broken

    @property
    def warned(self) -> bool:
        return False

    @property
    def map_position(self) -> tuple[float, float] | None:
        return None  # the world knows where it is along its route

    def state(self, driving: bool = False) -> CarrierState:
        finished = self.idx == self.released_upto and not self.has_horizon and self.idx > 0 and not self.cancelled
        return CarrierState(
            device_id=self.device_id,
            order_id=self.order_id,
            order_update_id=self.update_id,
            last_node_id=self.nodes[self.idx],
            last_node_sequence_id=self.seq[self.idx],
            driving=driving,
            paused=self.paused,
            battery_pct=100.0 * self.energy_kwh / self.spec.battery_kwh,
            charging=self.charging,
            load=self.load,
            errors=(BREAKDOWN,) if self.broken else (),
            order_finished=finished,
            order_cancelled=self.cancelled,
        )

    def _publish(self, driving: bool = False) -> None:
        # standing at the node a cancelOrder stopped it at: the order is cancelled, and the
        # cancel is answered after the state that says where it stands
        settled = bool(self._cancels) and not driving and self.idx >= self.released_upto
        self.cancelled = self.cancelled or settled
        self.update_use()
        if not self._links_lost:
            self._last_state = self.state(driving)
            self.links.publish(self._last_state)
        if settled:
            for action_id in self._cancels:
                self._report(ActionState(self.device_id, action_id, "cancelOrder", "FINISHED"))
            self._cancels.clear()

    def update_use(self) -> None:
        """Keep the fleet's busy count: a carrier is in use while it drives, carries a
        container, is worked by a crane or charges; idle only when parked and free."""
        in_use = (
            self.load is not None
            or self.idx < self.released_upto
            or self.has_horizon
            or self.charging
            or self.under_crane
        )
        if in_use != self.in_use:
            self.in_use = in_use
            self.links.fleet.busy.change(self.env.now, 1 if in_use else -1)

    @property
    def node_id(self) -> str:
        return self.nodes[self.idx]

    # --- faults (a twin-only power) -----------------------------------------------------

    def break_down(self) -> None:
        self._breakdowns += 1
        self.links.fleet.breakdowns += 1
        if self._breakdowns > 1:
            return  # already stands broken
        self.broken = True
        if self.moving:
            self._interrupt("breakdown")
        else:
            self._publish()

    def repair(self) -> None:
        if self._breakdowns == 0:
            return
        self._breakdowns -= 1
        if self._breakdowns:
            return  # another breakdown still holds it
        self.broken = False
        self._publish()
        self._kick()

    def lose_link(self) -> None:
        """Master control loses its link to the carrier."""
        self._links_lost += 1
        if self._links_lost > 1:
            return
        self.link_losses += 1
        last = self._last_state or self.state()
        # as the link tells it: the last state it had, with the error, standing
        self.links.publish(replace(last, errors=(*last.errors, CONNECTION_BROKEN), driving=False))

    def restore_link(self) -> None:
        """The link is back: the carrier takes what was held for it, then reports."""
        if self._links_lost == 0:
            return
        if self._links_lost > 1:
            self._links_lost -= 1
            return
        for command in self._held:  # still unheard: what it says of them waits for its state
            try:
                self._take(command)
            except Refusal as refusal:
                self._unsent.append(CommandRefused(self.device_id, type(command).__name__, str(refusal)))
        self._held.clear()
        self._links_lost = 0
        self._publish(driving=self.moving)
        unsent, self._unsent = self._unsent, []
        for event in unsent:
            self.links.publish(event)
        self._kick()

    # --- the process ---------------------------------------------------------------------

    def _interrupt(self, cause: str) -> None:
        """Stop the drive or the charge under way. Once: SimPy delivers an interrupt later
        in the same instant, and a second one (a pause and a cancel together, two pauses)
        would reach the process where nothing catches it. The first one's handler reads
        every flag set meanwhile."""
        if not self._interrupted:
            self._interrupted = True
            self.process.interrupt(cause)

    def _kick(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _run(self) -> Generator[simpy.Event, None, None]:
        env = self.env
        speed = self.spec.speed_mps
        safety = self.links.safety
        while True:
            if self._charge_requested and not self.broken:
                self._charge_requested = False
                yield from self._charge()
                continue
            if self.paused or self.broken or self.idx >= self.released_upto:
                self._wake = env.event()
                yield self._wake
                self._wake = None
                continue
            # drive to the next node that must be reported
            target = self.idx + 1
            while target < self.released_upto and not self.report[target]:
                target += 1
            t0 = env.now
            pos0 = self.pos
            cum = self.cum
            blocks: list[int] = []
            entries: list[float] = []
            exits: list[float] = []
            for e in range(self.idx, target):
                g = self.edge_block[e]
                if g >= 0:
                    blocks.append(g)
                    entries.append(t0 + max(0.0, cum[e] - pos0) / speed)
                    exits.append(t0 + (cum[e + 1] - pos0) / speed)
            if self.stopped_block >= 0:
                safety.leave(self.stopped_block, t0, self.stopped_since)
                self.stopped_block = -1
            if self.waiting_since >= 0:
                self.links.fleet.block_wait_s += t0 - self.waiting_since
                self.waiting_since = -1.0
            record = safety.move(self.device_id, blocks, entries, exits)
            self.moving = True
            self.moved_at = t0
            try:
                yield env.timeout((cum[target] - pos0) / speed)
            except simpy.Interrupt:
                self._interrupted = False
                self.moving = False
                self.pos = pos0 + (env.now - t0) * speed
                while self.idx + 1 <= target and cum[self.idx + 1] <= self.pos:
                    self.idx += 1
                self._drain(self.pos - pos0)
                self.stopped_block = safety.cut(record, env.now)
                self.stopped_since = env.now
                if self._cancel_requested:
                    self._cancel_requested = False
                    mid_edge = self.pos > cum[self.idx]
                    self.released_upto = min(self.released_upto, self.idx + (1 if mid_edge else 0))
                self._publish()
                continue
            self.moving = False
            self._drain(cum[target] - pos0)
            self.pos = cum[target]
            self.idx = target
            if target < self.released_upto:
                # a node the controller asked about, or a base end that was extended
                # meanwhile (then nobody needs a report: drive on)
                if self.report[target]:
                    self._publish(driving=True)
                continue
            self._publish()  # at the base end: the controller may extend it right now
            if self.idx >= self.released_upto and self.has_horizon:
                self.waiting_since = env.now  # stopped short of its goal, waiting for blocks
            if self.idx >= self.released_upto:
                last = self.edge_block[target - 1]
                if last >= 0:
                    safety.hold(last)
                    self.stopped_block = last
                    self.stopped_since = env.now

    def _drain(self, metres: float) -> None:
        kwh = metres * self.spec.consumption_kwh_per_m
        self.energy_kwh -= kwh
        self.energy_used_kwh[self.direction] += kwh
        self.distance_m += metres
        if self.energy_kwh < 0:
            self.links.fleet.flat_batteries += 1
            self.energy_kwh = 0.0

    def _charge(self) -> Generator[simpy.Event, None, None]:
        chargers = self.links.chargers[self.node_id]  # startCharging is only accepted at a yard
        self.charging = True
        chargers.change(self.env.now, 1)
        self._publish()
        hours = (self.spec.battery_kwh - self.energy_kwh) / self.spec.charge_rate_kw
        began = self.env.now
        try:
            yield self.env.timeout(hours * 3600)
            self.energy_kwh = self.spec.battery_kwh
        except simpy.Interrupt:  # stopCharging: what it took so far
            self._interrupted = False
            gained = (self.env.now - began) / 3600 * self.spec.charge_rate_kw
            self.energy_kwh = min(self.spec.battery_kwh, self.energy_kwh + gained)
        self.charging = False
        chargers.change(self.env.now, -1)
        self._publish()
        for action in self._stop_charges:
            self._answer(action, "FINISHED")
        self._stop_charges.clear()


def breakdowns(
    env: simpy.Environment, carrier: SimCarrier, mtbf_s: float, mttr_s: float, rng: random.Random
) -> Generator[simpy.Event, None, None]:
    """Breakdowns at exponential intervals of calendar time, repaired after MTTR."""
    while True:
        yield env.timeout(rng.expovariate(1 / mtbf_s))
        carrier.break_down()
        yield env.timeout(rng.expovariate(1 / mttr_s))
        carrier.repair()
