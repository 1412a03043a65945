"""Message types between devices and controllers.

Carriers speak a model of VDA 5050: an `Order` is a graph of nodes and edges, the
released ones form the *base* the vehicle may drive, the rest the *horizon* it may
not yet enter; an order update keeps the order id, raises `order_update_id` and
starts at the last released node. `InstantActions` pause, resume, cancel and start
charging; `CarrierState` is what a vehicle reports. Cranes, barriers, weighbridges
and scanners have small command and state types of their own. The operator console
is a device too: it publishes `OperatorRequest` events and takes `OperatorReply`
commands, so operator actions go through the same runtime path as everything else.

These are plain frozen dataclasses: they cross the boundary between controllers and
devices thousands of times a simulated hour, and the hardware bridge converts them
to and from the protocols at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Side = Literal["vietnam", "china"]
Direction = Literal["export", "import"]  # export: Vietnam -> China
Cargo = Literal["fruit", "electronics", "other"]


# --- carriers (VDA 5050 model) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    action_type: str  # startPause, stopPause, cancelOrder, startCharging, initPosition, ...
    action_id: str
    blocking_type: Literal["NONE", "SOFT", "HARD"] = "HARD"
    # (key, value) pairs, as VDA 5050's actionParameters; initPosition names the lastNodeId
    # and the bridge adds that node's place in the vehicle's map
    parameters: tuple[tuple[str, str | float | bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    sequence_id: int  # even numbers, as in VDA 5050
    released: bool
    actions: tuple[Action, ...] = ()
    # Not part of VDA 5050 (a real vehicle reports every node): asks a simulated
    # carrier to report passing this node, so the twin spends events only where
    # the controller needs to know.
    report: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    edge_id: str
    sequence_id: int  # odd numbers, between its two nodes
    released: bool
    start_node_id: str
    end_node_id: str
    length_m: float


@dataclass(frozen=True, slots=True)
class Order:
    device_id: str  # the vehicle's serial number
    order_id: str
    order_update_id: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def base_end(self) -> Node:
        """The last released node: where the vehicle must stop if not extended."""
        last = self.nodes[0]
        for node in self.nodes:
            if not node.released:
                break
            last = node
        return last


@dataclass(frozen=True, slots=True)
class InstantActions:
    device_id: str
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class CarrierState:
    device_id: str
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    driving: bool
    paused: bool
    battery_pct: float
    charging: bool
    load: str | None  # container id
    # the types of its FATAL errors: while any is reported the carrier cannot work
    errors: tuple[str, ...] = ()
    order_finished: bool = False  # the whole base was driven and nothing is left
    warnings: tuple[str, ...] = ()  # the types of its WARNING errors: shown, it works on
    # every error as the vehicle worded it, level, description and references, for the operator
    error_texts: tuple[str, ...] = ()
    # its order was cancelled (cancelOrder FINISHED): nothing is left of it, yet it is not finished
    order_cancelled: bool = False
    # where it says it is in the site's map (agvPosition), if it says: x, y metres, theta radians
    position: tuple[float, float, float] | None = None
    position_initialized: bool = True  # False: it does not know where it is
    new_base_request: bool = False  # it nears the end of its base and asks for more
    # what it says for people to read (VDA 5050 information): shown, never acted upon
    information: tuple[str, ...] = ()


ActionStatus = Literal["WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED"]


@dataclass(frozen=True, slots=True)
class VehiclePosition:
    """Where a vehicle says it is between its states (VDA 5050 visualization), in the
    site's map: x, y metres, theta radians. For its marker on the map; the controllers
    plan by the nodes its states report."""

    device_id: str
    x: float
    y: float
    theta: float


@dataclass(frozen=True, slots=True)
class ActionState:
    """How far a vehicle got with an action it was sent (VDA 5050 actionStates): told
    when the status changes, so that the controllers know a pause took effect, an order
    was cancelled, a charge began or ended."""

    device_id: str
    action_id: str
    action_type: str
    status: ActionStatus
    result: str = ""  # the vehicle's words, for a FAILED action


# --- cranes, barriers, weighbridges, scanners -----------------------------------

CraneOp = Literal["load", "unload", "deliver"]


@dataclass(frozen=True, slots=True)
class CraneCommand:
    """load: truck -> carrier; unload: carrier -> truck (to_truck) or stack; deliver: stack -> truck."""

    device_id: str
    op: CraneOp
    container_id: str
    carrier_id: str | None = None
    to_truck: bool = False


@dataclass(frozen=True, slots=True)
class CraneState:
    """How a crane is: `busy` while it has a move to finish, `fault` while it is broken or
    cannot be told or read (a bridged crane's link is lost, it answers with bad status
    codes or values it cannot have), with `reason` in words. A faulted crane holds its
    move and finishes it once it is back; a state without fault says it is back."""

    device_id: str
    yard: Side
    busy: bool
    fault: bool
    done_op: CraneOp | None = None  # set on the report that ends a move
    container_id: str | None = None
    carrier_id: str | None = None
    placed_on: Literal["carrier", "truck", "stack"] | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BarrierCommand:
    device_id: str
    truck_id: str
    open: bool


@dataclass(frozen=True, slots=True)
class BarrierState:
    """How a gate lane's barrier (and the weighbridge behind it, on the same device) is:
    `fault` while it cannot be told or read (its link is lost, it does not answer in time,
    it answers with errors) or says it is broken, with `reason` in words. A state without
    fault says it is back. While a gate is faulted no truck is let through it."""

    device_id: str  # the barrier
    yard: Side
    fault: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class WeighDecision:
    device_id: str
    truck_id: str
    accepted: bool  # False sends the truck to physical inspection


@dataclass(frozen=True, slots=True)
class ScannerState:
    device_id: str
    yard: Side
    fault: bool


# --- events from the site --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlateEvidence:
    """Why a gate camera's reading of a truck was accepted or sent to an officer: what an
    officer looks at. Plain data (the crop is JPEG bytes, a few KB at most)."""

    read: str  # the plate the frames' votes chose, "" when no frame read one
    raw: str  # what the recogniser read in the best frame, before normalising
    confidence: float  # the vote's, 0..1: the winner's summed confidences over the frames that read a plate
    frames: int  # frames read for the truck
    votes: int  # of them, the frames that read `read`
    needs_officer: bool
    reasons: tuple[str, ...] = ()  # why an officer must look, in words (empty when accepted)
    readings: tuple[str, ...] = ()  # each frame's read, in order, "" for a frame with none
    crop_jpeg: bytes = b""  # the plate's region in the best frame, as a small JPEG
    crop_path: str = ""  # the same region at full size, where the camera was told to keep crops


@dataclass(frozen=True, slots=True)
class PlateRead:
    """A licence-plate camera read a truck at a yard gate; its barrier waits for a command."""

    device_id: str  # the gate's barrier
    yard: Side
    truck_id: str
    plate: str
    purpose: Literal["deliver", "pickup"]
    evidence: PlateEvidence | None = None  # how a bridged camera came to it; None: the twin's own camera


@dataclass(frozen=True, slots=True)
class WeightReading:
    device_id: str
    yard: Side
    truck_id: str
    measured_kg: float
    declared_kg: float


@dataclass(frozen=True, slots=True)
class ContainerReady:
    """A container cleared scanning and inspection and waits on its truck for a carrier."""

    container_id: str
    yard: Side
    direction: Direction
    cargo: Cargo
    arrived_at: float  # model seconds, arrival at the first yard
    deadline: float | None  # model seconds, perishable cargo only
    truck_id: str = ""  # the truck that brought it


@dataclass(frozen=True, slots=True)
class PickupArrived:
    """The truck that takes a container away from the far yard is at the transfer area."""

    yard: Side
    truck_id: str
    container_id: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    tag: str


@dataclass(frozen=True, slots=True)
class CommandRefused:
    """A device could not carry out a command: which device, which kind of command, why."""

    device_id: str
    command: str  # the command's kind: "Order", "CraneCommand", ...
    reason: str
    # what the device said the refusal is about, as (key, value) pairs: a VDA 5050
    # vehicle's errorReferences ("orderId", "orderUpdateId", "actionId", ...)
    refers_to: tuple[tuple[str, str], ...] = ()

    def reference(self, key: str) -> str | None:
        return next((value for k, value in self.refers_to if k == key), None)


# --- the operator console ------------------------------------------------------------

OperatorAction = Literal[
    "pause_corridor",
    "resume_corridor",
    "pause_carrier",
    "resume_carrier",
    "estop_all",
    "release_estop",
    "send_to_charger",
    "send_to_maintenance",
    "return_to_service",
    "close_lane",
    "open_lane",
    "set_lane_direction",
    "place_carrier",
    "abort_trip",
    "stop_charging",
]
LaneHeading = Literal["to_china", "to_vietnam"]
# the error a vehicle's state carries while its link to master control is lost
CONNECTION_BROKEN = "CONNECTION_BROKEN"


@dataclass(frozen=True, slots=True)
class OperatorRequest:
    """An operator action, published by the control-room console like any device event.

    The fields an action needs (`carrier_id`, `lane`, `direction`) may be missing or
    wrong: the request comes from a person through a web form, and the controller
    answers a bad one with a refusal, never an exception."""

    console_id: str  # the console's device id, where the reply goes
    request_id: str
    action: OperatorAction
    carrier_id: str | None = None
    lane: int | None = None  # lane index, as in `SiteLayout.lanes` (0-based)
    direction: LaneHeading | None = None
    yard: Side | None = None  # where an operator places a carrier the controllers could not locate


@dataclass(frozen=True, slots=True)
class OperatorReply:
    """The one answer to each `OperatorRequest`, a command to the console device."""

    device_id: str  # the request's console_id
    request_id: str
    ok: bool
    detail: str  # what was done, or why it was refused, in English (logs, API clients)
    # A stable key for the sentence and the values it uses, so that a console can say it
    # in the operator's language; `detail` stays the English wording of the same.
    code: str = ""
    args: tuple[tuple[str, str | int], ...] = ()


# --- commands that are not for a device ------------------------------------------


@dataclass(frozen=True, slots=True)
class SetTimer:
    delay_s: float
    tag: str


Event = (
    CarrierState
    | CraneState
    | BarrierState
    | ScannerState
    | PlateRead
    | WeightReading
    | ContainerReady
    | PickupArrived
    | TimerFired
    | OperatorRequest
    | CommandRefused
    | ActionState
    | VehiclePosition
)
Command = Order | InstantActions | CraneCommand | BarrierCommand | WeighDecision | OperatorReply | SetTimer


@dataclass(slots=True)
class Journal:
    """A record in memory of what a runtime delivered and what the controller answered."""

    entries: list[tuple[float, Event]] = field(default_factory=list)
    answers: list[tuple[float, tuple[Command, ...]]] = field(default_factory=list)  # the start's first

    def started(self, now: float) -> None:
        pass

    def delivered(self, now: float, event: Event) -> None:
        self.entries.append((now, event))

    def issued(self, now: float, commands: Sequence[Command]) -> None:
        self.answers.append((now, tuple(commands)))
