"""The runtime: the one loop that owns decisions.

It delivers device events to the controller in the order they happen, on a clock it
is given (the SimPy environment's virtual time in the twin, wall time under asyncio
in the bridge), and routes the controller's commands to device ports. Events that
devices publish while a command is being handled are queued, never handled
re-entrantly, so the controller always sees one event at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from controllers.messages import Command, CommandRefused, Event, SetTimer, TimerFired
from controllers.ports import Controller, DevicePort, Refusal


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the start of the run."""

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Run `callback` once, `delay_s` seconds from now."""


class JournalPort(Protocol):
    """Where a runtime writes what it does, each entry before it is acted on: the start,
    every event before the controller sees it, every answer before it reaches a device."""

    def started(self, now: float) -> None: ...

    def delivered(self, now: float, event: Event) -> None: ...

    def issued(self, now: float, commands: Sequence[Command]) -> None: ...


class UnknownDevice(LookupError):
    """A command named a device the runtime has no port for."""


class Runtime:
    def __init__(self, clock: Clock, controller: Controller, journal: JournalPort | None = None) -> None:
        self.clock = clock
        self.controller = controller
        self.journal = journal
        self.ports: dict[str, DevicePort] = {}
        self.events_delivered = 0
        self.commands_sent = 0
        self.commands_refused = 0
        self._pending: deque[Event] = deque()
        self._busy = False

    def attach(self, port: DevicePort) -> None:
        if port.device_id in self.ports:
            raise ValueError(f"device {port.device_id!r} is attached twice")
        self.ports[port.device_id] = port

    def start(self) -> None:
        self._busy = True
        try:
            now = self.clock.now()
            if self.journal is not None:
                self.journal.started(now)
            self._dispatch(self.controller.start(now))
        finally:
            self._busy = False
        self._drain()

    def publish(self, event: Event) -> None:
        self._pending.append(event)
        if not self._busy:
            self._drain()

    def _drain(self) -> None:
        self._busy = True
        try:
            while self._pending:
                ev = self._pending.popleft()
                now = self.clock.now()
                if self.journal is not None:
                    self.journal.delivered(now, ev)
                self.events_delivered += 1
                self._dispatch(self.controller.on_event(ev, now))
        finally:
            self._busy = False

    def _dispatch(self, commands: list[Command]) -> None:
        if self.journal is not None:  # the clock stands still while an event is handled
            self.journal.issued(self.clock.now(), commands)
        for cmd in commands:
            self.commands_sent += 1
            if isinstance(cmd, SetTimer):
                self.clock.call_later(cmd.delay_s, partial(self.publish, TimerFired(cmd.tag)))
                continue
            port = self.ports.get(cmd.device_id)
            if port is None:
                raise UnknownDevice(f"{type(cmd).__name__} for unknown device {cmd.device_id!r}")
            try:
                port.accept(cmd)
            except Refusal as refusal:  # reported as an event, handled after this one
                self.commands_refused += 1
                self.publish(CommandRefused(cmd.device_id, type(cmd).__name__, str(refusal)))
