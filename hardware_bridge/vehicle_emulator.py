"""A VDA 5050 vehicle emulator: an MQTT client that drives its orders like a vehicle.

It takes order and instantActions messages on its topics, drives the released base of
its order edge by edge at a constant speed (edge lengths from the order), and sends
its state every `state_period_s` and whenever it passes a node or stops. It honours
startPause, stopPause, cancelOrder (stop at the next node), startCharging
(it charges where it stands until full), stopCharging, initPosition (it stands at the
lastNodeId given, when it has no order to drive) and factsheetRequest (it publishes its
factsheet), announces itself
ONLINE on its connection topic with a last will of CONNECTIONBROKEN, and can be told
to fail: an error in its state, or a dropped connection.

As the standard asks of a vehicle, it reports every action in its state: the actions on
its order's nodes (WAITING, FINISHED once it reaches the node, FAILED when the order is
cancelled first) and every instant action (cancelOrder RUNNING until it stands, FAILED
with a noOrderToCancel error when it has no order; an action type it does not know
FAILED with an error naming the action). Where the order gives node positions it
reports agvPosition along its way. Started not localised (`localized=False`) it
reports positionInitialized false and refuses every order until an initPosition.

It speaks the VDA 5050 version it is given (2.0.0, 2.1.0 or 3.0.0), on that version's
topics and in its message shapes.

Run as its own process: `checkpoint emulate vehicle --broker 127.0.0.1:1883 --serial AGV-900`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from controllers.messages import CarrierState, Edge, Node
from hardware_bridge.vda5050 import (
    BadMessage,
    connection_broken,
    decode,
    factsheet_message,
    major,
    state_message,
    timestamp,
    topic_name,
    visualization_message,
)

ACTIONS = ("startPause", "stopPause", "cancelOrder", "startCharging", "stopCharging", "initPosition", "factsheetRequest")
KEPT_INSTANT_STATES = 16  # the latest instant actions' states: a state message stays small

log = logging.getLogger(__name__)


@dataclass
class Drive:
    """What the vehicle has of its order: nodes and edges still ahead, and where it is."""

    order_id: str = ""
    update_id: int = 0
    last_node: str = ""
    last_seq: int = 0
    nodes: list[Node] = field(default_factory=list)  # ahead, the first is the next to reach
    edges: list[Edge] = field(default_factory=list)  # ahead, the first leads to nodes[0]
    along_m: float = 0.0  # metres driven on edges[0]


class VehicleEmulator:
    def __init__(
        self,
        host: str,
        port: int,
        manufacturer: str,
        serial: str,
        *,
        speed_mps: float = 6.0,
        state_period_s: float = 1.0,
        start_node: str = "VN",
        version: str = "2.1.0",
        charge_pct_per_s: float = 2.0,
        free_navigation: bool = False,
        localized: bool = True,
        visualization_period_s: float = 0.0,
    ) -> None:
        self.host, self.port = host, port
        self.manufacturer, self.serial, self.version = manufacturer, serial, version
        self.speed = speed_mps
        self.period = state_period_s
        self.drive = Drive(last_node=start_node)
        self.paused = False
        self.cancel = False
        self.errors: list[str] = []
        self.free_navigation = free_navigation
        # the orders it refused, as VDA 5050 errors (WARNING: it can take another order),
        # kept until it takes an order, as the standard keeps an error while it stands
        self.refusals: list[dict[str, Any]] = []
        self.localized = localized
        self.visualization_period = visualization_period_s  # 0: it sends no visualization
        # as a person at the vehicle sets them: it drives only in AUTOMATIC with no e-stop
        self.operating_mode, self.e_stop = "AUTOMATIC", "NONE"
        # where it stands in its map (x, y, theta, mapId) once an order or initPosition said
        self.position: dict[str, Any] | None = None
        self.node_positions: dict[int, dict[str, Any]] = {}  # sequenceId: nodePosition, of its order
        self.order_actions: dict[str, dict[str, Any]] = {}  # actionId: its state, for the order's nodes
        self.node_actions: dict[int, list[str]] = {}  # sequenceId: the action ids on that node
        self.instant_actions: dict[str, dict[str, Any]] = {}  # actionId: its state
        self.battery = 100.0
        self.charging = False
        self.charge_rate = charge_pct_per_s
        self._headers: Counter[str] = Counter()  # the last headerId sent, per topic
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state_due = False
        self._online_due = False
        self._factsheet_due = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"emulator-{serial}")
        self.client.will_set(self._topic("connection"), json.dumps(self._connection(connection_broken(version))), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)  # back soon after a broker restart

    # --- MQTT ------------------------------------------------------------------------------

    def _topic(self, kind: str) -> str:
        return topic_name(self.manufacturer, self.serial, kind, major(self.version))  # type: ignore[arg-type]

    def _connection(self, state: str) -> dict[str, Any]:
        self._headers["connection"] += 1
        return {
            "headerId": self._headers["connection"],
            "timestamp": timestamp(),
            "version": self.version,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial,
            "connectionState": state,
        }

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(self._topic("order"), 0), (self._topic("instantActions"), 0)])
        self._online_due = True

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        kind = msg.topic.rsplit("/", 1)[1]
        try:
            message = decode(kind, msg.payload)  # type: ignore[arg-type]
        except BadMessage as exc:
            log.warning("%s ignored a message: %s", self.serial, exc)
            return
        with self._lock:
            if kind == "order":
                why = self._refusal(message)
                if why is None:
                    self.refusals.clear()
                    self._take_order(message)
                else:
                    self._refuse(message, *why)
            else:
                for action in message["actions"]:
                    self._instant(action, {p["key"]: p["value"] for p in action.get("actionParameters") or []})
            self._state_due = True  # sent by the driving loop: never publish from a paho callback

    # --- orders ------------------------------------------------------------------------------

    def _refusal(self, m: dict[str, Any]) -> tuple[str, str] | None:
        """Why it refuses an order, as (errorType, errorDescription), if it does."""
        d = self.drive
        if not self.localized:
            return "noRouteError", "position not initialised: it needs an initPosition before it takes an order"
        if self.free_navigation and any("nodePosition" not in n for n in m["nodes"]):
            return "noRouteError", "order route is not traversable: a node has no nodePosition"
        if m["orderId"] == d.order_id and m["orderUpdateId"] < d.update_id:
            return "orderUpdateError", f"orderUpdateId {m['orderUpdateId']} is older than the {d.update_id} it has"
        if m["orderId"] != d.order_id and m["nodes"][0]["nodeId"] != d.last_node:
            return "noRouteError", f"the order starts at {m['nodes'][0]['nodeId']}, not at {d.last_node} where it stands"
        return None

    def _refuse(self, m: dict[str, Any], kind: str, description: str) -> None:
        references = [
            {"referenceKey": "topic", "referenceValue": "order"},
            {"referenceKey": "headerId", "referenceValue": str(m["headerId"])},
            {"referenceKey": "orderId", "referenceValue": m["orderId"]},
            {"referenceKey": "orderUpdateId", "referenceValue": str(m["orderUpdateId"])},
        ]
        self.refusals.append({"errorType": kind, "errorLevel": "WARNING", "errorDescription": description, "errorReferences": references})
        del self.refusals[:-8]  # the latest few: a state stays small
        log.warning("%s refused order %s: %s", self.serial, m["orderId"], description)

    def _take_order(self, m: dict[str, Any]) -> None:
        d = self.drive
        nodes = [Node(n["nodeId"], n["sequenceId"], n["released"]) for n in m["nodes"]]
        # a 3.0 edge names no nodes: it joins the nodes before and after it in sequence
        ids = [n.node_id for n in nodes] + [""] * len(m["edges"])
        edges = [
            Edge(
                e["edgeId"], e["sequenceId"], e["released"], e.get("startNodeId", ids[i]),
                e.get("endNodeId", ids[i + 1]), float(e.get("length", 0.0)),
            )
            for i, e in enumerate(m["edges"])
        ]
        if m["orderId"] != d.order_id:  # it starts where it stands: `_refusal` saw to that
            d.order_id, d.update_id = m["orderId"], m["orderUpdateId"]
            d.nodes, d.edges, d.along_m = nodes[1:], edges, 0.0
            d.last_seq = nodes[0].sequence_id
            self.cancel = False
            self.order_actions, self.node_actions, self.node_positions = {}, {}, {}
            self._node_details(m["nodes"])
            self._reached(nodes[0].sequence_id)  # the actions on the node it stands at
            return
        if m["orderUpdateId"] <= d.update_id:
            return
        # an update starts at the last released node: keep what is driven, replace the rest
        stitch = next((k for k, n in enumerate(d.nodes) if n.sequence_id == nodes[0].sequence_id), None)
        if stitch is None and nodes[0].sequence_id != d.last_seq:
            log.warning("%s refused update %s: it does not start at the base end", self.serial, m["orderUpdateId"])
            return
        keep = 0 if stitch is None else stitch + 1
        d.update_id = m["orderUpdateId"]
        d.nodes = d.nodes[:keep] + nodes[1:]
        d.edges = d.edges[:keep] + edges
        self._node_details(m["nodes"][1:])

    def _node_details(self, nodes: list[dict[str, Any]]) -> None:
        """The positions and actions an order gives its nodes: each action WAITING."""
        for n in nodes:
            seq = n["sequenceId"]
            if "nodePosition" in n:
                self.node_positions[seq] = n["nodePosition"]
            for a in n.get("actions") or []:
                self.node_actions.setdefault(seq, []).append(a["actionId"])
                self.order_actions[a["actionId"]] = {"actionId": a["actionId"], "actionType": a["actionType"], "actionStatus": "WAITING"}

    def _reached(self, seq: int) -> None:
        """At a node: its actions are done (this vehicle does them at once), and where the
        order gave the node a position, that is where it stands."""
        for action_id in self.node_actions.pop(seq, []):
            self.order_actions[action_id]["actionStatus"] = "FINISHED"
        at = self.node_positions.get(seq)
        if at is not None:
            theta = at.get("theta", self.position["theta"] if self.position else 0.0)
            self.position = {"x": at["x"], "y": at["y"], "theta": theta, "mapId": at["mapId"]}

    def _instant(self, action: dict[str, Any], parameters: dict[str, Any]) -> None:
        action_type, action_id = action["actionType"], action["actionId"]
        status, why = "FINISHED", ""
        if action_type == "factsheetRequest":
            self._factsheet_due = True
        elif action_type == "initPosition":
            status, why = self._init_position(parameters)
        elif action_type == "startPause":
            self.paused = True
        elif action_type == "stopPause":
            self.paused = False
        elif action_type == "cancelOrder":
            if not self._has_order():
                status, why = "FAILED", "no order to cancel"
                self._error("noOrderToCancel", why, action)
            else:
                self.cancel, status = True, "RUNNING"  # FINISHED once it stands
        elif action_type == "startCharging":
            if self._released_ahead():
                status, why = "FAILED", "it is driving an order"
            else:
                self.charging = True
        elif action_type == "stopCharging":
            self.charging = False
        else:
            status, why = "FAILED", f"actionType {action_type} is not supported"
            self._error("validationError", why, action)
        state = {"actionId": action_id, "actionType": action_type, "actionStatus": status}
        if why:
            state["resultDescription"] = why
        self.instant_actions[action_id] = state
        while len(self.instant_actions) > KEPT_INSTANT_STATES:
            del self.instant_actions[next(iter(self.instant_actions))]

    def _init_position(self, parameters: dict[str, Any]) -> tuple[str, str]:
        node = parameters.get("lastNodeId")
        if not isinstance(node, str) or not node:
            return "FAILED", "initPosition needs a lastNodeId"
        if self.drive.edges:  # never while it drives an order
            return "FAILED", "it is driving an order"
        self.drive.last_node, self.localized = node, True
        if all(isinstance(parameters.get(k), (int, float)) for k in ("x", "y", "theta")):
            self.position = {k: float(parameters[k]) for k in ("x", "y", "theta")} | {"mapId": str(parameters.get("mapId", ""))}
        return "FINISHED", ""

    def _has_order(self) -> bool:
        return bool(self.drive.order_id) and bool(self.drive.nodes) and not self.cancel_done()

    def _error(self, kind: str, description: str, action: dict[str, Any]) -> None:
        references = [
            {"referenceKey": "topic", "referenceValue": "instantActions"},
            {"referenceKey": "actionId", "referenceValue": action["actionId"]},
            {"referenceKey": "actionType", "referenceValue": action["actionType"]},
        ]
        self.refusals.append({"errorType": kind, "errorLevel": "WARNING", "errorDescription": description, "errorReferences": references})
        del self.refusals[:-8]

    # --- failures an engineer can inject ----------------------------------------------------

    def fail(self, error: str = "E-EMULATED") -> None:
        with self._lock:
            self.errors.append(error)
            self._state_due = True

    def set_operating_mode(self, mode: str) -> None:
        """A person at the vehicle takes it over (MANUAL, SERVICE, ...) or hands it back."""
        with self._lock:
            self.operating_mode = mode
            self._state_due = True

    def emergency_stop(self, kind: str = "MANUAL") -> None:
        """An emergency stop (AUTOACK, MANUAL, REMOTE; 3.0 has no AUTOACK), or NONE once
        acknowledged."""
        kinds = ("MANUAL", "REMOTE", "NONE") if self.version.startswith("3") else ("AUTOACK", "MANUAL", "REMOTE", "NONE")
        if kind not in kinds:
            raise ValueError(f"VDA 5050 {self.version} has no emergency stop {kind!r}: one of {kinds}")
        with self._lock:
            self.e_stop = kind
            self._state_due = True

    def _information(self) -> list[dict[str, Any]]:
        """What it says for people: who has it, when it is not master control."""
        if self.operating_mode == "AUTOMATIC":
            return []
        return [{"infoType": "localControl", "infoLevel": "INFO", "infoDescription": f"in {self.operating_mode} mode at the vehicle"}]

    def _held(self) -> bool:
        return self.operating_mode != "AUTOMATIC" or self.e_stop != "NONE"

    def recover(self) -> None:
        with self._lock:
            self.errors.clear()
            self._state_due = True

    def drop_connection(self) -> None:
        """Vanish without a goodbye: the broker sends the last will."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    # --- driving -------------------------------------------------------------------------------

    def _released_ahead(self) -> bool:
        d = self.drive
        return bool(d.edges) and d.edges[0].released and not self.cancel_done()

    def cancel_done(self) -> bool:
        return self.cancel and self.drive.along_m == 0.0

    def step(self, dt: float) -> bool:
        """Drive for `dt` seconds; True if a node was reached (a state is due)."""
        with self._lock:
            d = self.drive
            if self.charging:  # at a charger until full
                self.battery = min(100.0, self.battery + self.charge_rate * dt)
                self.charging = self.battery < 100.0
                return not self.charging
            if self.cancel and d.along_m == 0.0 and d.nodes:
                self._cancelled()  # told to cancel while it stood at a node
                return True
            if self.paused or self.errors or self._held() or not self._released_ahead():
                return False
            d.along_m += self.speed * dt
            self.battery = max(0.0, self.battery - 0.0005 * self.speed * dt)
            reached = False
            while d.edges and d.edges[0].released and d.along_m >= d.edges[0].length_m:
                d.along_m -= d.edges[0].length_m
                d.edges.pop(0)
                node = d.nodes.pop(0)
                d.last_node, d.last_seq = node.node_id, node.sequence_id
                self._reached(node.sequence_id)
                reached = True
                if self.cancel or not (d.edges and d.edges[0].released):
                    d.along_m = 0.0
                    if self.cancel:
                        self._cancelled()
                    break
            if d.edges and d.along_m > 0.0:
                self._between_nodes()
            return reached

    def _cancelled(self) -> None:
        """It stands at a node after a cancelOrder: the order's other actions will not be done."""
        d = self.drive
        d.nodes, d.edges = [], []
        for state in self.order_actions.values():
            if state["actionStatus"] == "WAITING":
                state["actionStatus"] = "FAILED"
        self.node_actions.clear()
        for state in self.instant_actions.values():
            if state["actionType"] == "cancelOrder" and state["actionStatus"] == "RUNNING":
                state["actionStatus"] = "FINISHED"

    def _between_nodes(self) -> None:
        """Its position on the edge it drives, where the order placed both ends."""
        d = self.drive
        a, b = self.node_positions.get(d.last_seq), self.node_positions.get(d.nodes[0].sequence_id)
        length = d.edges[0].length_m
        if a is None or b is None or length <= 0:
            return
        f = min(1.0, d.along_m / length)
        theta = math.atan2(b["y"] - a["y"], b["x"] - a["x"])
        self.position = {"x": a["x"] + (b["x"] - a["x"]) * f, "y": a["y"] + (b["y"] - a["y"]) * f, "theta": theta, "mapId": a["mapId"]}

    def state(self) -> CarrierState:
        d = self.drive
        driving = not self.paused and not self.errors and not self._held() and bool(d.edges) and d.edges[0].released
        return CarrierState(
            self.serial, d.order_id, d.update_id, d.last_node, d.last_seq, driving, self.paused,
            self.battery, self.charging, None, tuple(self.errors), bool(d.order_id) and not d.nodes,
        )

    def publish_state(self) -> None:
        with self._lock:
            self._headers["state"] += 1
            d = self.drive
            actions = ([dict(a) for a in self.order_actions.values()], [dict(a) for a in self.instant_actions.values()])
            position = self._position_report()
            message = state_message(
                self.state(), self._headers["state"], self.manufacturer, (list(d.nodes), list(d.edges)), self.version,
                actions=actions, position=position, operating_mode=self.operating_mode, e_stop=self.e_stop,
                information=self._information(),
            )
            message["errors"].extend(self.refusals)
        self.client.publish(self._topic("state"), json.dumps(message), qos=0)

    def _position_report(self) -> dict[str, Any] | None:
        """agvPosition as it reports it: where it is, or, not localised, that it does not know."""
        if self.position is None and self.localized:
            return None
        at = self.position or {"x": 0.0, "y": 0.0, "theta": 0.0, "mapId": ""}
        return {**at, "positionInitialized": self.localized}

    def publish_visualization(self) -> None:
        with self._lock:
            position = self._position_report()
            if position is None:
                return
            self._headers["visualization"] += 1
            message = visualization_message(
                self.manufacturer, self.serial, self._headers["visualization"], self.version, position, self._headers["state"]
            )
        self.client.publish(self._topic("visualization"), json.dumps(message), qos=0)

    def run(self, tick_s: float = 0.05) -> None:
        """Connect and drive until `stop` is called."""
        self.client.connect(self.host, self.port, keepalive=5)
        self.client.loop_start()
        last_state = last_visualization = time.monotonic()
        last = time.monotonic()
        while not self._stop.is_set():
            time.sleep(tick_s)
            now = time.monotonic()
            reached = self.step(now - last)
            last = now
            if self._online_due:
                self._online_due = False
                message = json.dumps(self._connection("ONLINE"))
                self.client.publish(self._topic("connection"), message, qos=1, retain=True)
                reached = True
            if self._factsheet_due:
                self._factsheet_due = False
                self._headers["factsheet"] += 1
                sheet = factsheet_message(self.manufacturer, self.serial, self.version, self.speed, ACTIONS, self._headers["factsheet"])
                self.client.publish(self._topic("factsheet"), json.dumps(sheet), qos=1, retain=True)
            if self.visualization_period > 0 and now - last_visualization >= self.visualization_period:
                self.publish_visualization()
                last_visualization = now
            if reached or self._state_due or now - last_state >= self.period:
                self._state_due = False
                self.publish_state()
                last_state = now
        self.client.disconnect()
        self.client.loop_stop()

    def stop(self) -> None:
        self._stop.set()
