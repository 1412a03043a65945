"""The narrow ports between the runtime and devices.

A device — a SimPy process in the twin, a protocol adapter in the bridge, a real
machine behind it — takes commands through `DevicePort.accept` and reports events
through the `EventSink` it was given. Nothing else crosses: the controllers never
learn which kind of device they drive.
"""

from __future__ import annotations

from typing import Protocol

from controllers.messages import Command, Event


class Refusal(Exception):
    """What a device's `accept` raises when it cannot carry out a command. The runtime
    hands it back to the controllers as a `CommandRefused` event: to them a refusal is
    an event like any other, never an exception."""


class DevicePort(Protocol):
    device_id: str

    def accept(self, command: Command) -> None:
        """Take a command; one it cannot carry out is refused (`Refusal`), and the
        controllers hear of it as an event."""


class EventSink(Protocol):
    def publish(self, event: Event) -> None:
        """Hand an event from a device to the controllers."""


class Controller(Protocol):
    def start(self, now: float) -> list[Command]:
        """Commands to issue when the run begins."""

    def on_event(self, event: Event, now: float) -> list[Command]:
        """React to one device event; return the commands it calls for."""
