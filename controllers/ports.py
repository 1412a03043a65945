"""The narrow ports between the runtime and devices.

A device — a SimPy process in the twin, a protocol adapter in the bridge, a real
machine behind it — takes commands through `DevicePort.accept` and reports events
through the `EventSink` it was given. Nothing else crosses: the controllers never
learn which kind of device they drive.

Each kind of device has a port of its own below (`CarrierPort`, `CranePort`, ...):
what it takes is written once, in `TAKES`, and what it reports in `REPORTS`. The
simulated devices of the twin and the bridged ones implement the same port, so the
world is handed one or the other when it is built and never tells them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from controllers.messages import (
    ActionState,
    BarrierCommand,
    BarrierState,
    CarrierState,
    Command,
    CraneCommand,
    CraneState,
    Event,
    InstantActions,
    OperatorReply,
    OperatorRequest,
    Order,
    PlateRead,
    ScannerState,
    WeighDecision,
    WeightReading,
)

DeviceKind = Literal["carrier", "crane", "barrier", "weighbridge", "scanner", "camera", "console"]

TAKES: Mapping[DeviceKind, tuple[type[Command], ...]] = {
    "carrier": (Order, InstantActions),
    "crane": (CraneCommand,),
    "barrier": (BarrierCommand,),
    "weighbridge": (WeighDecision,),
    "scanner": (),  # reports its faults; the controllers route around them
    "camera": (),  # reports what it read; the barrier beside it takes the decision
    "console": (OperatorReply,),
}
"""The commands each kind of device takes."""

REPORTS: Mapping[DeviceKind, tuple[type[Event], ...]] = {
    "carrier": (CarrierState, ActionState),
    "crane": (CraneState,),
    "barrier": (BarrierState,),  # its faults, and that it is back
    "weighbridge": (WeightReading,),
    "scanner": (ScannerState,),
    "camera": (PlateRead,),
    "console": (OperatorRequest,),
}
"""The events each kind of device reports (any device may also hear `CommandRefused`
sent back for it)."""


class Refusal(Exception):
    """What a device's `accept` raises when it cannot carry out a command. The runtime
    hands it back to the controllers as a `CommandRefused` event: to them a refusal is
    an event like any other, never an exception."""


class DevicePort(Protocol):
    device_id: str

    def accept(self, command: Command) -> None:
        """Take a command; one it cannot carry out is refused (`Refusal`), and the
        controllers hear of it as an event."""


def not_taken(kind: DeviceKind, device_id: str, command: Command) -> Refusal:
    """The refusal of a command this kind of device does not take, in one wording."""
    takes = ", ".join(t.__name__ for t in TAKES[kind]) or "no commands"
    return Refusal(f"{device_id} is a {kind} and takes {takes}, not {type(command).__name__}")


class CarrierPort(DevicePort, Protocol):
    """An unmanned carrier (VDA 5050): takes orders and instant actions, reports its state."""

    @property
    def kind(self) -> Literal["carrier"]: ...


class CranePort(DevicePort, Protocol):
    """An automated transfer crane: takes one move at a time, reports when it ends and its faults."""

    @property
    def kind(self) -> Literal["crane"]: ...


class BarrierPort(DevicePort, Protocol):
    """A yard gate's barrier: opens for a truck, or keeps it out, on command."""

    @property
    def kind(self) -> Literal["barrier"]: ...


class WeighbridgePort(DevicePort, Protocol):
    """A weighbridge: reports a truck's weight, and holds it until it is accepted or sent to inspection."""

    @property
    def kind(self) -> Literal["weighbridge"]: ...


class ScannerPort(Protocol):
    """A container scanner: it takes no commands and reports its faults."""

    @property
    def device_id(self) -> str: ...

    @property
    def kind(self) -> Literal["scanner"]: ...


class CameraPort(Protocol):
    """A gate's plate camera: it takes no commands and reports the plates it reads, in the
    name of the barrier it stands at."""

    @property
    def device_id(self) -> str: ...

    @property
    def kind(self) -> Literal["camera"]: ...


class ConsolePort(DevicePort, Protocol):
    """The control room: it sends operator requests and takes the replies."""

    @property
    def kind(self) -> Literal["console"]: ...


class EventSink(Protocol):
    def publish(self, event: Event) -> None:
        """Hand an event from a device to the controllers."""


class Controller(Protocol):
    def start(self, now: float) -> list[Command]:
        """Commands to issue when the run begins."""

    def on_event(self, event: Event, now: float) -> list[Command]:
        """React to one device event; return the commands it calls for."""
