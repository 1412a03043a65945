"""Master control for VDA 5050 vehicles over MQTT.

One `VehicleLink` holds one MQTT connection for a fleet; each vehicle has its own
identity on the broker (`VehicleIdentity`: interface name, manufacturer, serial number,
protocol version), so vehicles of several makers and versions share one link. Each
gets a `VehiclePort`, the device port the runtime sends its orders and instant actions
to, exactly as it does to a simulated carrier, under the carrier id the controllers
know it by. headerId counts per vehicle and topic, as the standard asks.

Factsheets: when a vehicle first comes online it is sent a factsheetRequest; the
factsheet it publishes (or has left retained on the broker) is read, and what it says
it cannot do of what the controllers will ask (the speed orders allow, the instant
actions they send) is kept as `VehicleStatus.factsheet_notes` for the control room.

Incoming messages arrive on the MQTT network thread. They are decoded there — a
payload that is too large, not JSON or not valid against the schema is logged,
counted and dropped — and the events they carry wait in `inbox` until the loop that
owns the controllers takes them with `drain`: controllers are never called from a
protocol thread.

Connection loss (the vehicle's connection topic says CONNECTIONBROKEN, as its last
will does, its state is older than `state_timeout_s`, or the broker is gone): the controllers are told
with a state carrying the error CONNECTION_BROKEN, so that the vehicle keeps its
reserved blocks and gets no job; orders for it are held, not sent, and go out (at the next
`drain`) once it is back online; its first state after that is passed on for the controllers to
reconcile with their plan.

Action states: each change of status of an action this link sent is told as an
`ActionState`, after the state it came in; an order stopped by a cancelOrder is then
reported cancelled, not finished.

Refusals: a vehicle that refuses an order or an instant action says so in an error whose
errorReferences name it (orderId, or actionId), or with an action state FAILED. Each
such answer to a command this link sent is told to the controllers once, as a
`CommandRefused` with the vehicle's own words and references, however many states
still carry the error.

Hostile or broken traffic: beyond the schema, each message is held to what the standard
means (`vda5050_checks`: finite numbers, uint32 ids, a real timestamp, a charge in
0..100, a position near the site), taken only in headerId order per vehicle and topic (a
replayed or late one is dropped; a restarted vehicle may count from 0 again), and
checked for plausibility: a position the vehicle could not have driven to since the
last (a teleport; except after an initPosition this link sent), or an order this link
never sent it (a foreign order), is refused. A refused message is refused whole:
nothing of it is applied, the last good state stands. Each is counted, logged once per
vehicle and reason (then at most once a minute), and shown to the operator as a WARNING
in the vehicle's states (errorTypes `LINK_WARNINGS`) for a minute after the last one.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import paho.mqtt.client as mqtt

from controllers.messages import (
    CONNECTION_BROKEN,
    Action,
    ActionState,
    CarrierState,
    Command,
    CommandRefused,
    Event,
    InstantActions,
    Order,
    VehiclePosition,
)
from controllers.ports import EventSink, not_taken
from controllers.vehicle_map import VehicleMap
from hardware_bridge.inbox import drain
from hardware_bridge.vda5050 import (
    INTERFACE,
    BadMessage,
    Factsheet,
    Topic,
    action_states,
    carrier_state,
    decode,
    error_references,
    error_text,
    factsheet_facts,
    instant_actions_message,
    localised,
    major,
    order_message,
    robot_position,
    schema_errors,
    topic_name,
)
from hardware_bridge.vda5050_checks import (
    DEFAULT_SPEED_MPS,
    FOREIGN_ORDER,
    REFUSED,
    Alarm,
    Fix,
    HeaderOrder,
    LogOnce,
    Problem,
    jump_problem,
    live_alarms,
    message_problem,
    raise_alarm,
    site_area,
)

log = logging.getLogger(__name__)


# the instant actions the controllers send a vehicle (pause, resume, charge, place it)
ACTIONS_ASKED = ("startPause", "stopPause", "cancelOrder", "startCharging", "stopCharging", "initPosition")


@dataclass(frozen=True, slots=True)
class VehicleIdentity:
    """Who a bridged vehicle is on the broker; unset fields are the link's manufacturer
    and the carrier id."""

    version: str = "2.1.0"
    manufacturer: str | None = None
    serial: str | None = None
    interface: str = INTERFACE


@dataclass
class VehicleStatus:
    serial: str  # the carrier id the controllers know it by
    version: str = "2.1.0"  # most vehicles in service speak 2.0.0
    manufacturer: str = ""
    serial_number: str = ""  # its serialNumber on the broker
    interface: str = INTERFACE
    online: bool = False
    last_state: CarrierState | None = None
    last_state_at: float = 0.0
    held: list[Command] = field(default_factory=list)  # commands waiting for the vehicle to be back
    # what was sent to it, to tell its refusals of those from other errors (the latest few)
    orders_sent: dict[str, int] = field(default_factory=dict)  # orderId -> latest orderUpdateId
    actions_sent: dict[str, str] = field(default_factory=dict)  # actionId -> actionType
    node_actions_sent: dict[str, str] = field(default_factory=dict)  # actionId -> the orderId it came in
    errors_seen: frozenset[str] = frozenset()  # the errors of its previous state
    failed_seen: set[str] = field(default_factory=set)  # action ids already told FAILED
    foreign_map: str | None = None  # the other map it last placed itself in, told once
    action_status: dict[str, str] = field(default_factory=dict)  # actionId -> the status last told
    cancelled: dict[str, None] = field(default_factory=dict)  # orders it cancelled (the latest few)
    headers: Counter[str] = field(default_factory=Counter)  # the last headerId sent, per topic
    factsheet: Factsheet | None = None
    factsheet_notes: list[str] = field(default_factory=list)  # what it cannot do of what is asked
    factsheet_asked: bool = False
    # what its messages are checked against: headerIds taken per topic, its last position
    header_order: HeaderOrder = field(default_factory=lambda: HeaderOrder(10.0))
    fix: Fix | None = None
    relocate_until: float = -math.inf  # an initPosition was sent: its position may jump until then
    refused: Counter[str] = field(default_factory=Counter)  # messages not taken, per LINK_WARNINGS code
    alarms: dict[str, Alarm] = field(default_factory=dict)  # shown to the operator while they go on

    def topic(self, topic: Topic) -> str:
        return topic_name(self.manufacturer, self.serial_number, topic, major(self.version), self.interface)


REMEMBERED = 32  # orders and instant actions per vehicle whose refusal can still be told
RELOCATE_S = 30.0  # wall seconds after an initPosition within which a vehicle's position may jump


def _remember(sent: dict[str, Any], key: str, value: Any) -> None:
    sent.pop(key, None)
    sent[key] = value
    while len(sent) > REMEMBERED:
        del sent[next(iter(sent))]


class VehiclePort:
    """The runtime's device port for one vehicle behind the link."""

    kind: Final = "carrier"

    def __init__(self, link: VehicleLink, serial: str) -> None:
        self.link = link
        self.device_id = serial

    def accept(self, command: Command) -> None:
        if not isinstance(command, (Order, InstantActions)):
            raise not_taken(self.kind, self.device_id, command)
        self.link.send(self.device_id, command)


class VehicleLink:
    def __init__(
        self,
        host: str,
        port: int,
        manufacturer: str,
        vehicles: dict[str, str | VehicleIdentity],
        *,
        client_id: str = "master-control",
        state_timeout_s: float = 10.0,
        site: VehicleMap | None = None,
        pace: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`vehicles` maps each carrier id to the VDA 5050 version its vehicle speaks, or to
        its whole identity; `site` is the map whose node positions every order carries
        (none: line-guided orders). `pace` is how many times the wall clock the vehicles
        live (a run sped up N times has them drive N times as fast): their top speed is
        scaled by it when a position jump is judged."""
        if not (math.isfinite(pace) and pace > 0):
            raise ValueError(f"pace must be a positive number, not {pace}")
        self.host, self.port, self.manufacturer = host, port, manufacturer
        self.site = site
        self.pace = pace
        self.clock = clock
        self._area = site_area(site)
        self.status: dict[str, VehicleStatus] = {}
        for carrier, who in vehicles.items():
            who = VehicleIdentity(who) if isinstance(who, str) else who
            self.status[carrier] = VehicleStatus(
                carrier, who.version, who.manufacturer or manufacturer, who.serial or carrier, who.interface
            )
        # a message's topic names interface, manufacturer and serial: the vehicle it is from
        self._by_topic: dict[tuple[str, str, str], VehicleStatus] = {}
        for v in self.status.values():
            key = (v.interface, v.manufacturer, v.serial_number)
            if key in self._by_topic:
                raise ValueError(f"carriers {self._by_topic[key].serial} and {v.serial} are both {'/'.join(key)} on the broker")
            self._by_topic[key] = v
        self.state_timeout_s = state_timeout_s
        for v in self.status.values():  # a silence past the timeout may be a restart
            v.header_order.gap_s = state_timeout_s
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.received = 0  # messages handled to the end: what they gave is in the inbox
        self.dropped = 0  # every message not taken, refused ones included
        self.refused: Counter[str] = Counter()  # of those, the ones from a vehicle, per LINK_WARNINGS code
        self.sent = 0
        self._log = LogOnce(log, clock=clock)
        self._lock = threading.Lock()
        self._connected = threading.Event()
        # held commands of vehicles back online, sent by `drain`: never publish from a paho callback
        self._release: list[tuple[VehicleStatus, Command]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout_s: float = 5.0) -> None:
        self.client.connect_async(self.host, self.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(timeout_s):
            self.stop()
            raise ConnectionError(f"no MQTT broker answered at {self.host}:{self.port} within {timeout_s} s")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def port_for(self, serial: str) -> VehiclePort:
        if serial not in self.status:
            raise KeyError(f"vehicle {serial} is not on this link")
        return VehiclePort(self, serial)

    # --- outgoing -------------------------------------------------------------------------

    def send(self, serial: str, command: Command) -> None:
        vehicle = self.status[serial]
        with self._lock:
            if not vehicle.online:
                vehicle.held.append(command)  # no new order goes out until it is back
                return
        self._publish(vehicle, command)

    def _within_limits(self, vehicle: VehicleStatus, order: Order) -> Order:
        """The order as the vehicle's factsheet lets it take one: horizon nodes beyond its
        order.nodes limit are left out (the horizon is advice; the base is the order).
        What cannot be fitted is noted once for the control room, and sent as it is: the
        vehicle's refusal then takes its usual way."""
        facts = vehicle.factsheet
        if facts is None:
            return order
        notes: list[str] = []
        limit = facts.max_order_nodes
        if limit and len(order.nodes) > limit:
            released = sum(n.released for n in order.nodes)
            keep = max(limit, released)
            order = replace(order, nodes=order.nodes[:keep], edges=order.edges[: keep - 1])
            if released > limit:
                notes.append(f"takes orders of at most {limit} nodes; a base of {released} nodes was sent")
        ids = [order.order_id, *(n.node_id for n in order.nodes), *(e.edge_id for e in order.edges)]
        if facts.max_id_length and max(map(len, ids)) > facts.max_id_length:
            notes.append(f"takes ids of at most {facts.max_id_length} characters; this site's are up to {max(map(len, ids))}")
        if facts.numerical_ids_only and not all(i.isdigit() for i in ids):
            notes.append("takes numerical ids only; this site's node and edge ids are not")
        for note in notes:
            if note.split(";")[0] not in " ".join(vehicle.factsheet_notes):
                vehicle.factsheet_notes.append(note)
                log.warning("%s factsheet: %s", vehicle.serial, note)
        return order

    def _publish(self, vehicle: VehicleStatus, command: Command) -> None:
        topic: Topic = "order" if isinstance(command, Order) else "instantActions"
        vehicle.headers[topic] += 1
        header = vehicle.headers[topic]
        if isinstance(command, Order):
            command = self._within_limits(vehicle, command)
            message = order_message(command, header, vehicle.manufacturer, vehicle.version, site=self.site)
        elif isinstance(command, InstantActions):
            message = instant_actions_message(command, header, vehicle.manufacturer, vehicle.version, site=self.site)
        else:
            raise TypeError(f"a vehicle takes orders and instant actions, not {type(command).__name__}")
        message["serialNumber"] = vehicle.serial_number
        problems = schema_errors(topic, message)
        if problems:  # never send what the standard does not allow
            raise ValueError(f"{topic} for {vehicle.serial} breaks the VDA 5050 schema: {problems[:3]}")
        with self._lock:
            if isinstance(command, Order):
                _remember(vehicle.orders_sent, command.order_id, command.order_update_id)
                for node in command.nodes:
                    for a in node.actions:
                        _remember(vehicle.actions_sent, a.action_id, a.action_type)
                        _remember(vehicle.node_actions_sent, a.action_id, command.order_id)
            else:
                for a in command.actions:
                    _remember(vehicle.actions_sent, a.action_id, a.action_type)
                    if a.action_type == "initPosition":  # it is placed anew: its position may jump
                        vehicle.relocate_until = self.clock() + RELOCATE_S
        self.client.publish(vehicle.topic(topic), json.dumps(message), qos=0)
        self.sent += 1

    # --- incoming (MQTT network thread) -----------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        for interface, level, maker in sorted({(v.interface, major(v.version), v.manufacturer) for v in self.status.values()}):
            for topic in ("state", "connection", "factsheet", "visualization"):
                client.subscribe(f"{interface}/{level}/{maker}/+/{topic}", qos=1)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        """Without the broker no vehicle can be reached: each counts as disconnected until
        it speaks again (paho reconnects on its own)."""
        for vehicle in self.status.values():
            self._broken(vehicle)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self.receive(msg.topic, bytes(msg.payload))
        except Exception:  # whatever a message does, the network thread must live on
            self.dropped += 1
            kind = msg.topic.rsplit("/", 1)[-1][:40]
            self._log.warning(("unreadable", kind), f"dropped a message on {msg.topic[:200]} that could not be read", exc_info=True)

    def receive(self, topic: str, payload: bytes) -> None:
        """Take in one message from the broker (on the network thread)."""
        try:
            self._receive(topic, payload)
        finally:  # counted only once what it gave is in the inbox, so a reader can wait on it
            self.received += 1

    def _receive(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 5:
            return self._drop(f"{topic[:200]}: not a vehicle of this link")
        kind = parts[4]
        vehicle = self._by_topic.get((parts[0], parts[2], parts[3]))
        if vehicle is None or kind not in ("state", "connection", "factsheet", "visualization"):
            return self._drop(f"{topic[:200]}: not a vehicle of this link")
        serial = vehicle.serial
        if parts[1] != major(vehicle.version):
            return self._refuse(vehicle, Problem(REFUSED, "version", f"{topic}: it speaks VDA 5050 {vehicle.version}, not {parts[1]}"))
        try:
            message = decode(kind, payload)  # type: ignore[arg-type]
        except BadMessage as exc:
            return self._refuse(vehicle, Problem(REFUSED, f"{kind} schema", str(exc)))
        if (message["manufacturer"], message["serialNumber"]) != (vehicle.manufacturer, vehicle.serial_number):
            named = f"{message['manufacturer']} {message['serialNumber']}"[:200]
            return self._refuse(vehicle, Problem(REFUSED, "identity", f"the message names {named}"))
        if major(str(message["version"])) != parts[1]:
            return self._refuse(vehicle, Problem(REFUSED, "version", f"a version {str(message['version'])[:40]} message on a {parts[1]} topic"))
        now = self.clock()
        problem = self._problem(vehicle, kind, message, now)
        if problem is not None:
            return self._refuse(vehicle, problem)
        self._taken(vehicle, kind, message, now)
        if kind == "connection":
            self._on_connection(vehicle, message["connectionState"])
        elif kind == "factsheet":
            self._on_factsheet(vehicle, factsheet_facts(message))
        elif kind == "visualization":
            self._on_visualization(vehicle, message)
        else:
            for refusal in self._refusals(vehicle, message):
                self.inbox.put(refusal)
            reports = self._action_reports(vehicle, message)
            state = replace(carrier_state(message), device_id=serial)
            if state.position is not None and not self._on_site_map(vehicle, message):
                state = replace(state, position=None)
            if state.order_id in vehicle.cancelled:  # stopped by a cancelOrder: not finished
                state = replace(state, order_cancelled=True, order_finished=False)
            self._on_state(vehicle, state)
            for report in reports:  # after the state that says where it stands
                self.inbox.put(report)

    # --- what a message must be before it is taken --------------------------------------------

    def _problem(self, vehicle: VehicleStatus, kind: str, message: dict[str, Any], now: float) -> Problem | None:
        """Why a valid message is not to be taken: out of range, out of order, implausible."""
        problem = message_problem(kind, message, self._area)
        if problem is not None:
            return problem
        # a lost connection is taken whatever its headerId: a last will carries the one it was set up with
        if not (kind == "connection" and message["connectionState"] != "ONLINE"):
            problem = vehicle.header_order.problem(kind, message["headerId"], now)
            if problem is not None:
                return problem
        if kind == "state" and self._foreign(vehicle, message["orderId"]):
            return Problem(FOREIGN_ORDER, "foreign order", f"its state names order {message['orderId']!r}, which master control never sent it")
        at = robot_position(message) if kind in ("state", "visualization") else None
        if at is not None and localised(message, at) and now >= vehicle.relocate_until:
            return jump_problem(vehicle.fix, Fix(float(at["x"]), float(at["y"]), str(at["mapId"]), now), self._top_speed(vehicle))
        return None

    def _foreign(self, vehicle: VehicleStatus, order_id: str) -> bool:
        """An order it was never sent, nor the one it last said it drives, nor none. Before
        its first state is taken any order is its own: one from before master control
        started, for the controllers to reconcile."""
        if order_id == "" or vehicle.last_state is None or order_id == vehicle.last_state.order_id:
            return False
        with self._lock:
            return order_id not in vehicle.orders_sent

    def _top_speed(self, vehicle: VehicleStatus) -> float:
        """Its factsheet's top speed, else a default above any carrier's, at the run's pace."""
        facts = vehicle.factsheet
        speed = facts.speed_max_mps if facts is not None and math.isfinite(facts.speed_max_mps) and facts.speed_max_mps > 0 else DEFAULT_SPEED_MPS
        return speed * self.pace

    def _taken(self, vehicle: VehicleStatus, kind: str, message: dict[str, Any], now: float) -> None:
        """What the checks of the next messages go by: its headerId, its position."""
        if kind == "connection":
            if message["connectionState"] != "ONLINE":
                return
            vehicle.header_order.restart()  # back online: a restarted vehicle counts again from 0
        vehicle.header_order.take(kind, message["headerId"], now)
        at = robot_position(message) if kind in ("state", "visualization") else None
        if at is not None and localised(message, at):
            vehicle.fix = Fix(float(at["x"]), float(at["y"]), str(at["mapId"]), now)

    def _refuse(self, vehicle: VehicleStatus, problem: Problem) -> None:
        """Not taken: counted, logged once per vehicle and reason, shown to the operator."""
        self.dropped += 1
        self.refused[problem.code] += 1
        vehicle.refused[problem.code] += 1
        with self._lock:
            raise_alarm(vehicle.alarms, problem, self.clock())
        self._log.warning((vehicle.serial, problem.key), f"dropped a message of {vehicle.serial}: {problem.text}")

    def _on_visualization(self, vehicle: VehicleStatus, message: dict[str, Any]) -> None:
        """Its position between states, for its marker: only where it knows where it is,
        in the site's map."""
        at = robot_position(message)
        if not at or not localised(message, at) or not self._on_site_map(vehicle, message):
            return
        self.inbox.put(VehiclePosition(vehicle.serial, float(at["x"]), float(at["y"]), float(at["theta"])))

    def _on_site_map(self, vehicle: VehicleStatus, message: dict[str, Any]) -> bool:
        """Whether the position it reports is in the site's map: a position in another map
        (its own, or a map not yet switched) would put its marker in the wrong place."""
        at = robot_position(message) or {}
        if self.site is None or at.get("mapId") == self.site.map_id:
            return True
        if vehicle.foreign_map != at.get("mapId"):
            vehicle.foreign_map = at.get("mapId")
            log.warning("%s reports its position in map %r, not the site's %r: not shown", vehicle.serial, at.get("mapId"), self.site.map_id)
        return False

    def _on_factsheet(self, vehicle: VehicleStatus, facts: Factsheet) -> None:
        """What the vehicle says it can do, against what the controllers will ask of it."""
        notes = [f"does not list the instant action {a}" for a in ACTIONS_ASKED if a not in facts.actions]
        if self.site is not None and facts.speed_max_mps < self.site.max_speed_mps:
            notes.append(f"drives at most {facts.speed_max_mps:g} m/s; orders allow {self.site.max_speed_mps:g} m/s")
        vehicle.factsheet, vehicle.factsheet_notes = facts, notes
        for note in notes:
            log.warning("%s factsheet: %s", vehicle.serial, note)

    def _refusals(self, vehicle: VehicleStatus, message: dict[str, Any]) -> list[CommandRefused]:
        """The vehicle's answers in this state that refuse a command this link sent and
        that its previous state did not already carry."""
        with self._lock:
            orders, actions = dict(vehicle.orders_sent), dict(vehicle.actions_sent)
            node_actions = dict(vehicle.node_actions_sent)
        out: list[CommandRefused] = []
        seen: set[str] = set()
        for error in message["errors"]:
            key = json.dumps(error, sort_keys=True)
            seen.add(key)
            if key in vehicle.errors_seen:
                continue
            references = error_references(error)
            named = dict(references)
            if "orderId" not in named and named.get("topic") == "order" and orders:
                # refused before the order could be read: the latest one sent
                named["orderId"] = next(reversed(orders))
                references = (*references, ("orderId", named["orderId"]))
            if named.get("orderId") in orders:
                out.append(CommandRefused(vehicle.serial, "Order", error_text(error), references))
            elif named.get("actionId") in actions or named.get("topic") == "instantActions":
                out.append(CommandRefused(vehicle.serial, "InstantActions", error_text(error), references))
                if named.get("actionId") in actions:  # its FAILED state says the same: told once
                    vehicle.failed_seen.add(named["actionId"])
        vehicle.errors_seen = frozenset(seen)
        vehicle.failed_seen.intersection_update(actions)  # only those it may still report
        states = action_states(message)
        # a cancelOrder fails what is left of the order's actions, as it should: no refusal
        cancelling = any(
            actions.get(s["actionId"]) == "cancelOrder" and s["actionStatus"] in ("RUNNING", "FINISHED") for s in states
        )
        for state in states:
            action_id = state["actionId"]
            if state["actionStatus"] != "FAILED" or action_id not in actions or action_id in vehicle.failed_seen:
                continue
            vehicle.failed_seen.add(action_id)
            if action_id in node_actions and (cancelling or node_actions[action_id] in vehicle.cancelled):
                continue
            why = f"{state.get('actionType') or actions[action_id]} {action_id} FAILED"
            result = state.get("resultDescription") or state.get("actionResult")  # 2.x, 3.0
            if result:
                why += f": {result}"
            if action_id in node_actions:
                references = (("orderId", node_actions[action_id]), ("actionId", action_id))
                out.append(CommandRefused(vehicle.serial, "Order", why, references))
            else:
                out.append(CommandRefused(vehicle.serial, "InstantActions", why, (("actionId", action_id),)))
        return out

    def _action_reports(self, vehicle: VehicleStatus, message: dict[str, Any]) -> list[ActionState]:
        """Each change of status of an action this link sent (actionStates, and in 3.0
        instantActionStates). A cancelOrder FINISHED marks the order it stood on as
        cancelled, so that its empty remainder is not read as the order done."""
        with self._lock:
            actions = dict(vehicle.actions_sent)
        out: list[ActionState] = []
        for state in action_states(message):
            action_id, status = state["actionId"], state["actionStatus"]
            if action_id not in actions or vehicle.action_status.get(action_id) == status:
                continue
            _remember(vehicle.action_status, action_id, status)
            kind = state.get("actionType") or actions[action_id]
            result = str(state.get("resultDescription") or state.get("actionResult") or "")  # 2.x, 3.0
            out.append(ActionState(vehicle.serial, action_id, kind, status, result))
            if kind == "cancelOrder" and status == "FINISHED" and message["orderId"]:
                _remember(vehicle.cancelled, message["orderId"], None)
        return out

    def _drop(self, why: str) -> None:
        self.dropped += 1
        self._log.warning(why.split(":", 1)[0], f"dropped a message: {why}")

    def _on_state(self, vehicle: VehicleStatus, state: CarrierState) -> None:
        now = self.clock()
        with self._lock:
            alarms = live_alarms(vehicle.alarms, now)
        if alarms:  # shown as its own warnings are: the carrier works on
            state = replace(
                state,
                warnings=state.warnings + tuple(a.code for a in alarms),
                error_texts=state.error_texts + tuple(a.words(now) for a in alarms),
            )
        vehicle.last_state, vehicle.last_state_at = state, now
        if not vehicle.online:
            self._back_online(vehicle)
        self.inbox.put(state)

    def _on_connection(self, vehicle: VehicleStatus, connection_state: str) -> None:
        if connection_state == "ONLINE":
            self._back_online(vehicle)
        else:
            self._broken(vehicle)

    def _back_online(self, vehicle: VehicleStatus) -> None:
        with self._lock:
            vehicle.online = True
            self._release.extend((vehicle, command) for command in vehicle.held)
            vehicle.held = []
            if not vehicle.factsheet_asked:  # once: a retained factsheet may already be here
                vehicle.factsheet_asked = True
                ask = InstantActions(vehicle.serial, (Action("factsheetRequest", f"factsheet-{vehicle.serial}", "NONE"),))
                self._release.append((vehicle, ask))

    def _broken(self, vehicle: VehicleStatus) -> None:
        with self._lock:
            was_online, vehicle.online = vehicle.online, False
            vehicle.header_order.restart()  # when it is back it may have restarted its counts
        if was_online and vehicle.last_state is not None:
            errors = (*vehicle.last_state.errors, CONNECTION_BROKEN)
            self.inbox.put(replace(vehicle.last_state, errors=errors, driving=False))

    # --- for the loop that owns the controllers ---------------------------------------------

    def check_timeouts(self) -> None:
        """A vehicle whose last state is older than the timeout counts as disconnected."""
        now = self.clock()
        for vehicle in self.status.values():
            if vehicle.online and vehicle.last_state is not None and now - vehicle.last_state_at > self.state_timeout_s:
                self._broken(vehicle)

    def drain(self, sink: EventSink) -> int:
        """Send the commands held for vehicles now back, then hand every waiting event to
        the runtime, in arrival order."""
        with self._lock:
            release, self._release = self._release, []
        for vehicle, command in release:
            self._publish(vehicle, command)
        return drain(self.inbox, sink)
