"""VDA 5050 at the edge: the controllers' message types to and from the protocol's JSON.

Conversions are pure functions. Outgoing messages are built from `Order`,
`InstantActions` and `CarrierState` and can be checked against the official 2.1 JSON
schemas (vendored in `vda5050_schemas/`); incoming ones go through `decode`, which
refuses a payload that is too large, not JSON, or not valid against the schema, with a
`BadMessage` that says why and where — never anything the controllers would choke on.

Each message is built for the version its vehicle speaks (the `version` field): 2.0 and
2.1 share the v2 topics and schemas (the 2.1 ones); 3.0 has topics of its own (v3) and
the 3.0 schemas (vendored in `vda5050_schemas/3.0/`), and renames what it changed: an
edge's `maximumSpeed`, a node's allowed deviation as an ellipse, `powerSupply` for the
battery, `instantActionStates` beside `actionStates`, instant actions always
`blockingType` NONE, `activeEmergencyStop`, CONNECTION_BROKEN. Incoming messages are
checked against the schemas of the version they say they are. The non-standard `report` flag of a node (where a simulated
carrier should report) is dropped: a real vehicle reports every node.

Given the site's `VehicleMap`, an order is one a free-navigating vehicle can drive:
every node carries its `nodePosition` (x, y, mapId, the allowed deviation; theta, the
heading it is reached with, on every node but the first, where the vehicle already
stands), and every edge its `maxSpeed` and `orientation` (0: forwards along the edge).
2.0 spells the deviation `allowedDeviationXy`, 2.1 `allowedDeviationXY`. Without a map
the order is the line-guided one: node ids only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator

from controllers.messages import Action, CarrierState, Edge, InstantActions, Node, Order
from controllers.vehicle_map import VehicleMap

SCHEMAS = Path(__file__).resolve().parent / "vda5050_schemas"
Topic = Literal["order", "instantActions", "state", "connection", "visualization", "factsheet"]
MAX_PAYLOAD_BYTES = 256 * 1024  # far above any state or order this site sends
INTERFACE = "uagv"


class BadMessage(ValueError):
    """An incoming message that cannot be used; the text says why."""


VERSIONS = ("2.0.0", "2.1.0", "3.0.0")  # what a bridged vehicle may speak


def major(version: str) -> str:
    """The topic level of a protocol version: "v2" for 2.x, "v3" for 3.x."""
    return f"v{version.split('.', 1)[0]}"


def is_v3(version: str) -> bool:
    return major(version) == "v3"


@cache
def validator(topic: Topic, level: str = "v2") -> Draft202012Validator:
    folder = SCHEMAS / "3.0" if level == "v3" else SCHEMAS
    schema = json.loads((folder / f"{topic}.schema").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_errors(topic: Topic, message: dict[str, Any]) -> list[str]:
    """Every way `message` breaks the official schema of `topic` in the version the
    message says it is (3.x: the 3.0 schemas, else the 2.1 ones), as 'path: reason'."""
    version = message.get("version")
    level = major(version) if isinstance(version, str) and version[:2] == "3." else "v2"
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(top level)'}: {err.message}"
        for err in sorted(validator(topic, level).iter_errors(message), key=lambda e: list(e.absolute_path))
    ]


def topic_name(manufacturer: str, serial: str, topic: Topic, major: str = "v2", interface: str = INTERFACE) -> str:
    """interfaceName/majorVersion/manufacturer/serialNumber/topic"""
    return f"{interface}/{major}/{manufacturer}/{serial}/{topic}"


def connection_broken(version: str) -> str:
    """The connectionState of a lost connection: 3.0 spells it with an underscore."""
    return "CONNECTION_BROKEN" if is_v3(version) else "CONNECTIONBROKEN"


def timestamp(seconds: float | None = None) -> str:
    """ISO 8601 in UTC with milliseconds, as VDA 5050 writes it."""
    moment = datetime.now(UTC) if seconds is None else datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _header(header_id: int, manufacturer: str, serial: str, version: str, at: float | None) -> dict[str, Any]:
    return {
        "headerId": header_id,
        "timestamp": timestamp(at),
        "version": version,
        "manufacturer": manufacturer,
        "serialNumber": serial,
    }


def _action(a: Action, site: VehicleMap | None = None, instant_v3: bool = False) -> dict[str, Any]:
    # 3.0: an instant action never blocks (its schema allows NONE only)
    blocking = "NONE" if instant_v3 else a.blocking_type
    action: dict[str, Any] = {"actionType": a.action_type, "actionId": a.action_id, "blockingType": blocking}
    parameters = dict(a.parameters)
    node = parameters.get("lastNodeId")
    if a.action_type == "initPosition" and site is not None and isinstance(node, str) and node in site.nodes:
        # the node's place in the vehicle's map; at a yard it faces along the site's x axis
        p = site.nodes[node]
        parameters = {"x": p.x, "y": p.y, "theta": 0.0, "mapId": site.map_id, **parameters}
    if parameters:
        action["actionParameters"] = [{"key": k, "value": v} for k, v in parameters.items()]
    return action


def _node(n: Node) -> dict[str, Any]:
    return {"nodeId": n.node_id, "sequenceId": n.sequence_id, "released": n.released, "actions": [_action(a) for a in n.actions]}


def _edge(e: Edge, v3: bool) -> dict[str, Any]:
    edge: dict[str, Any] = {"edgeId": e.edge_id, "sequenceId": e.sequence_id, "released": e.released}
    if not v3:  # 3.0 edges name no nodes: they join their neighbours in sequence
        edge["startNodeId"], edge["endNodeId"] = e.start_node_id, e.end_node_id
    return {**edge, "length": e.length_m, "actions": []}


def _node_position(site: VehicleMap, node_id: str, came_from: str | None, version: str) -> dict[str, Any]:
    p = site.nodes[node_id]
    position: dict[str, Any] = {"x": p.x, "y": p.y, "mapId": site.map_id}
    if is_v3(version):  # an ellipse: a circle here
        position["allowedDeviationXY"] = {"a": p.allowed_deviation_xy, "b": p.allowed_deviation_xy, "theta": 0.0}
    else:
        position["allowedDeviationXy" if version.startswith("2.0") else "allowedDeviationXY"] = p.allowed_deviation_xy
    if came_from is not None and came_from != node_id:
        position["theta"] = round(site.heading(came_from, node_id), 6)
        position["allowedDeviationTheta"] = round(site.allowed_deviation_theta, 6)
    return position


def order_message(
    order: Order,
    header_id: int,
    manufacturer: str,
    version: str = "2.1.0",
    at: float | None = None,
    site: VehicleMap | None = None,
) -> dict[str, Any]:
    """The order as VDA 5050 JSON; with the site's map, one a free-navigating vehicle can
    drive (a node the map does not know is sent without a position)."""
    v3 = is_v3(version)
    nodes = [_node(n) for n in order.nodes]
    edges = [_edge(e, v3) for e in order.edges]
    if site is not None:
        for i, node in enumerate(nodes):
            if node["nodeId"] in site.nodes:
                came_from = order.nodes[i - 1].node_id if i > 0 else None
                if came_from is not None and came_from not in site.nodes:
                    came_from = None
                node["nodePosition"] = _node_position(site, node["nodeId"], came_from, version)
        for edge in edges:
            edge["maximumSpeed" if v3 else "maxSpeed"] = round(site.max_speed_mps, 3)
            edge["orientation"] = 0.0  # forwards: carriers never drive the corridor backwards
            edge["orientationType"] = "TANGENTIAL"
    return {
        **_header(header_id, manufacturer, order.device_id, version, at),
        "orderId": order.order_id,
        "orderUpdateId": order.order_update_id,
        "nodes": nodes,
        "edges": edges,
    }


def instant_actions_message(
    msg: InstantActions,
    header_id: int,
    manufacturer: str,
    version: str = "2.1.0",
    at: float | None = None,
    site: VehicleMap | None = None,
) -> dict[str, Any]:
    """The instant actions as VDA 5050 JSON. The 2.0 JSON schema names the list
    `instantActions` where the 2.0 text (and 2.1) name it `actions`: a 2.0 vehicle is sent
    both, so that it finds the list whichever it was built from. With the site's map an
    initPosition at a node carries that node's x, y, theta and mapId."""
    actions = [_action(a, site, is_v3(version)) for a in msg.actions]
    message = {**_header(header_id, manufacturer, msg.device_id, version, at), "actions": actions}
    if version.startswith("2.0"):
        message["instantActions"] = actions
    return message


def state_message(
    state: CarrierState,
    header_id: int,
    manufacturer: str,
    remaining: tuple[list[Node], list[Edge]] = ([], []),
    version: str = "2.1.0",
    at: float | None = None,
    actions: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], []),
    position: dict[str, Any] | None = None,
    operating_mode: str = "AUTOMATIC",
    e_stop: str = "NONE",
    information: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A vehicle's state (what an emulated vehicle sends); `remaining` are the nodes and
    edges of its order not yet traversed. `actions` are its order's action states and its
    instant actions' (2.x lists both in actionStates; resultDescription is 3.0's
    actionResult); `position` is its agvPosition (x, y, theta, mapId, positionInitialized)."""
    nodes, edges = remaining
    v3 = is_v3(version)
    information = information or []
    order_states, instant_states = ([_action_state(a, v3) for a in group] for group in actions)
    battery: dict[str, Any] = {"charging": state.charging}
    battery["stateOfCharge" if v3 else "batteryCharge"] = round(state.battery_pct, 2)
    return {
        **_header(header_id, manufacturer, state.device_id, version, at),
        "orderId": state.order_id,
        "orderUpdateId": state.order_update_id,
        "lastNodeId": state.last_node_id,
        "lastNodeSequenceId": state.last_node_sequence_id,
        "driving": state.driving,
        "paused": state.paused,
        "operatingMode": operating_mode,
        "nodeStates": [{"nodeId": n.node_id, "sequenceId": n.sequence_id, "released": n.released} for n in nodes],
        "edgeStates": [{"edgeId": e.edge_id, "sequenceId": e.sequence_id, "released": e.released} for e in edges],
        "loads": [{"loadId": state.load, "loadType": "container"}] if state.load else [],
        "actionStates": order_states if v3 else order_states + instant_states,
        **({"instantActionStates": instant_states, "powerSupply": battery} if v3 else {"batteryState": battery}),
        **(_position(position, v3) if position is not None else {}),
        "errors": [{"errorType": e, "errorLevel": "FATAL"} for e in state.errors]
        + [{"errorType": e, "errorLevel": "WARNING"} for e in state.warnings],
        "safetyState": {"activeEmergencyStop" if v3 else "eStop": e_stop, "fieldViolation": False},
        "information": information,
    }


def visualization_message(
    manufacturer: str, serial: str, header_id: int, version: str, position: dict[str, Any], state_header_id: int
) -> dict[str, Any]:
    """A vehicle's position between its states (what an emulated vehicle sends); 3.0 names
    the state it follows."""
    v3 = is_v3(version)
    message = {**_header(header_id, manufacturer, serial, version, None), **_position(position, v3)}
    if v3:
        message["referenceStateHeaderId"] = state_header_id
    return message


def _action_state(state: dict[str, Any], v3: bool) -> dict[str, Any]:
    out = {k: v for k, v in state.items() if k != "resultDescription"}
    if state.get("resultDescription"):
        out["actionResult" if v3 else "resultDescription"] = state["resultDescription"]
    return out


def _position(p: dict[str, Any], v3: bool) -> dict[str, Any]:
    """agvPosition, in 3.0 mobileRobotPosition, with 3.0's `localized` for positionInitialized."""
    at = {k: p[k] for k in ("x", "y", "theta", "mapId")}
    if v3:
        return {"mobileRobotPosition": {**at, "localized": p["positionInitialized"]}}
    return {"agvPosition": {**at, "positionInitialized": p["positionInitialized"]}}


def decode(topic: Topic, payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """An incoming payload as a valid message of `topic`, or BadMessage saying why."""
    if len(payload) > max_bytes:
        raise BadMessage(f"{topic}: {len(payload)} bytes, more than the {max_bytes} accepted")
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadMessage(f"{topic}: not JSON ({exc})") from None
    except RecursionError:  # nested deeper than the reader goes: no message of the standard is
        raise BadMessage(f"{topic}: nested too deep") from None
    if not isinstance(message, dict):
        raise BadMessage(f"{topic}: a JSON object is required, not {type(message).__name__}")
    problems = schema_errors(topic, message)
    if problems:
        raise BadMessage(f"{topic}: " + "; ".join(problems[:5]))
    return message


def speaks_v3(message: dict[str, Any]) -> bool:
    """Whether a message is read by the 3.0 names, as its schema was chosen (`schema_errors`):
    a field of the other version is no more than an unknown property, of any shape."""
    version = message.get("version")
    return isinstance(version, str) and version[:2] == "3."


def robot_position(message: dict[str, Any]) -> dict[str, Any] | None:
    """Its agvPosition (3.0: mobileRobotPosition), if it gives one."""
    at = message.get("mobileRobotPosition" if speaks_v3(message) else "agvPosition")
    return at if isinstance(at, dict) else None


def localised(message: dict[str, Any], at: dict[str, Any]) -> bool:
    """Whether the vehicle says it knows where it is (2.x positionInitialized, 3.0 localized)."""
    return bool(at.get("localized" if speaks_v3(message) else "positionInitialized", True))


def action_states(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Its actionStates, and in 3.0 its instantActionStates."""
    states = list(message.get("actionStates") or [])
    return states + list(message.get("instantActionStates") or []) if speaks_v3(message) else states


# levels at which a vehicle cannot go on with its order (3.0 adds URGENT and CRITICAL)
STOPPING_LEVELS = frozenset({"FATAL", "CRITICAL"})


def carrier_state(message: dict[str, Any]) -> CarrierState:
    """A decoded state message (2.x or 3.0) as the controllers see it. The order is
    finished when nothing of it is left to traverse. FATAL and CRITICAL errors stop the
    carrier; WARNING and URGENT ones are shown while it works on, as is a violated
    protective field. A vehicle not in an operating mode master control drives in, or
    under an emergency stop, is stopped too. The vehicle's position (agvPosition, in 3.0
    mobileRobotPosition) is kept in its map frame; a vehicle that says it is not
    localised does not know where it stands. Its information is kept for people only."""
    loads = message.get("loads") or []
    v3 = speaks_v3(message)
    battery = message["powerSupply" if v3 else "batteryState"]
    held = _not_under_control(message)
    violated = message["safetyState"]["fieldViolation"]
    at = robot_position(message)
    position = (float(at["x"]), float(at["y"]), float(at["theta"])) if at else None
    initialized = localised(message, at) if at else True
    return CarrierState(
        device_id=message["serialNumber"],
        order_id=message["orderId"],
        order_update_id=message["orderUpdateId"],
        last_node_id=message["lastNodeId"],
        last_node_sequence_id=message["lastNodeSequenceId"],
        driving=message["driving"],
        paused=bool(message.get("paused", False)),
        battery_pct=float(battery["stateOfCharge" if v3 else "batteryCharge"]),
        charging=battery["charging"],
        load=loads[0].get("loadId") if loads else None,
        errors=tuple(e["errorType"] for e in message["errors"] if e["errorLevel"] in STOPPING_LEVELS) + tuple(held),
        order_finished=bool(message["orderId"]) and not message["nodeStates"] and not message["edgeStates"],
        warnings=tuple(e["errorType"] for e in message["errors"] if e["errorLevel"] not in STOPPING_LEVELS)
        + (("fieldViolation",) if violated else ()),
        error_texts=tuple(error_text(e) for e in message["errors"])
        + tuple(held.values())
        + (("fieldViolation: its protective field is violated",) if violated else ()),
        position=position,
        position_initialized=initialized,
        new_base_request=bool(message.get("newBaseRequest", False)),
        information=tuple(info_text(i) for i in message.get("information") or []),
    )


UNDER_CONTROL = ("AUTOMATIC", "SEMIAUTOMATIC")  # the operating modes master control drives in
E_STOPS = {
    "AUTOACK": "released by the vehicle once its field is clear",
    "MANUAL": "to be acknowledged at the vehicle",
    "REMOTE": "to be acknowledged by the facility",
}


def _not_under_control(message: dict[str, Any]) -> dict[str, str]:
    """Each way the vehicle says it is not master control's to drive now (an operating
    mode other than AUTOMATIC or SEMIAUTOMATIC; an emergency stop), as type: the
    operator's text. While any holds it counts as stopped, like a FATAL error."""
    held: dict[str, str] = {}
    mode = message["operatingMode"]
    if mode not in UNDER_CONTROL:
        held[f"operatingMode {mode}"] = f"operatingMode {mode}: not under master control until it is AUTOMATIC again"
    safety = message["safetyState"]
    stop = safety["activeEmergencyStop" if speaks_v3(message) else "eStop"]
    if stop != "NONE":
        held[f"eStop {stop}"] = f"emergency stop {stop}: {E_STOPS.get(stop, 'to be acknowledged')}"
    return held


def info_text(info: dict[str, Any]) -> str:
    """One information entry as the operator reads it: level, type, description."""
    text = f"{info['infoLevel']} {info['infoType']}"
    return text + (f": {info['infoDescription']}" if info.get("infoDescription") else "")


def error_references(error: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """An error's errorReferences as (key, value) pairs."""
    return tuple((str(r["referenceKey"]), str(r["referenceValue"])) for r in error.get("errorReferences") or [])


def error_text(error: dict[str, Any]) -> str:
    """One error as the operator reads it: level, type, the vehicle's own description,
    what it refers to."""
    text = f"{error['errorLevel']} {error['errorType']}"
    if error.get("errorDescription"):
        text += f": {error['errorDescription']}"
    references = error_references(error)
    if references:
        text += " (" + ", ".join(f"{k} {v}" for k, v in references) + ")"
    return text


@dataclass(frozen=True, slots=True)
class Factsheet:
    """What master control reads of a vehicle's factsheet (2.x or 3.0 names)."""

    speed_max_mps: float
    actions: frozenset[str]  # the action types it lists
    length_m: float
    width_m: float
    # its protocolLimits (0: no limit): the most nodes an order may have, the longest id
    max_order_nodes: int = 0
    max_id_length: int = 0
    numerical_ids_only: bool = False


def factsheet_facts(message: dict[str, Any]) -> Factsheet:
    """The facts of a decoded factsheet that master control checks its orders against."""
    physical = message["physicalParameters"]
    features = message["protocolFeatures"]
    actions = features.get("agvActions", features.get("mobileRobotActions", []))
    limits = message["protocolLimits"]
    arrays = limits.get("maxArrayLens", limits.get("maximumArrayLengths", {}))
    strings = limits.get("maxStringLens", limits.get("maximumStringLengths", {}))
    return Factsheet(
        speed_max_mps=float(physical.get("speedMax", physical.get("maximumSpeed", 0.0))),
        actions=frozenset(a["actionType"] for a in actions),
        length_m=float(physical["length"]),
        width_m=float(physical["width"]),
        max_order_nodes=int(arrays.get("order.nodes", 0)),
        max_id_length=int(strings.get("idLen", strings.get("maximumIdLength", 0))),
        numerical_ids_only=bool(strings.get("idNumericalOnly", False)),
    )


def factsheet_message(
    manufacturer: str, serial: str, version: str, speed_max_mps: float, actions: tuple[str, ...], header_id: int = 1
) -> dict[str, Any]:
    """A factsheet for an emulated carrier (a 12.2 m x 2.5 m container carrier, est.), in
    the names of `version`."""
    scopes = ["INSTANT", "NODE"]
    if is_v3(version):
        return {
            **_header(header_id, manufacturer, serial, version, None),
            "typeSpecification": {
                "seriesName": "emulated carrier", "mobileRobotKinematics": "DIFFERENTIAL", "mobileRobotClass": "CARRIER",
                "maximumLoadMass": 32500, "localizationTypes": ["NATURAL"], "navigationTypes": ["AUTONOMOUS"],
            },
            "physicalParameters": {
                "minimumSpeed": 0.1, "maximumSpeed": speed_max_mps, "maximumAcceleration": 0.5,
                "maximumDeceleration": 1.0, "minimumHeight": 1.0, "maximumHeight": 1.5, "width": 2.5, "length": 12.2,
            },
            "protocolLimits": {
                "maximumStringLengths": {}, "maximumArrayLengths": {},
                "timing": {"minimumOrderInterval": 0.5, "minimumStateInterval": 0.1},
            },
            "protocolFeatures": {
                "optionalParameters": [],
                "mobileRobotActions": [
                    {"actionType": a, "actionScopes": scopes, "pauseAllowed": False, "cancelAllowed": False} for a in actions
                ],
            },
            "mobileRobotGeometry": {},
            "loadSpecification": {},
        }
    return {
        **_header(header_id, manufacturer, serial, version, None),
        "typeSpecification": {
            "seriesName": "emulated carrier", "agvKinematic": "DIFF", "agvClass": "CARRIER",
            "maxLoadMass": 32500, "localizationTypes": ["NATURAL"], "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.1, "speedMax": speed_max_mps, "accelerationMax": 0.5, "decelerationMax": 1.0,
            "heightMin": 1.0, "heightMax": 1.5, "width": 2.5, "length": 12.2,
        },
        "protocolLimits": {"maxStringLens": {}, "maxArrayLens": {}, "timing": {"minOrderInterval": 0.5, "minStateInterval": 0.1}},
        "protocolFeatures": {
            "optionalParameters": [],
            "agvActions": [{"actionType": a, "actionScopes": scopes} for a in actions],
        },
        "agvGeometry": {},
        "loadSpecification": {},
    }
