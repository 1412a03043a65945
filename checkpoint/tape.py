"""The tape: everything that crosses from bridged devices into a mixed-mode world, kept
in the journal so that a killed control process can be rebuilt.

The world and the controllers are deterministic; what is not is the device side: which
events the bridge hands over at which model time, and what a device answers when the
world calls it (a barrier's position, a weight, whether a command was taken). A run
with a journal records each as an `input` entry, in order, as it happens. A process
restarted on that journal builds the same world with the same seed and plays the tape
back: the events at their model times, each call answered as it was then, without
reaching the device (it had that command already). The controllers' answers are checked
against the recorded ones on the way. Once the tape runs out, the world is where the
killed process left it, and every call goes to the device again, and onto the tape.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from checkpoint.journal import Entry, JournalWriter
from controllers.codec import BadMessage, from_plain, to_plain
from controllers.messages import Command, Event
from controllers.ports import EventSink, Refusal
from hardware_bridge.plate_camera import CameraResult, Trigger

# what of each kind of bridged device the world calls from inside the simulation: the
# answers decide what the world does next, so they go on the tape
TAPED_MEMBERS: dict[str, frozenset[str]] = {
    "vehicle": frozenset({"accept"}),
    "crane": frozenset({"accept", "faulted", "connected"}),
    "gate": frozenset({"accept", "put_load", "weight", "barrier_position", "faulted", "epoch", "connected"}),
    "camera": frozenset({"expect", "trigger", "forget"}),
}
# counters by which a device tells the world that a command sent before may not have
# reached it (a gate's epoch grows each time it comes back). A restarted process has new
# clients that count from 0 again: past the tape their counts are shifted beyond every
# count the tape played, so that the world sends again what was under way.
GENERATIONS = frozenset({"epoch"})
DEVICE_TYPES = {"CameraResult": CameraResult, "Trigger": Trigger}


class RecoveryDiverged(RuntimeError):
    """The rebuilt controllers answered otherwise than the journal says they did: the
    journal is not of this code, or of this scenario, and cannot be trusted to recover."""


class Tape:
    """The inputs of one run: recorded as they come, and played back after a restart."""

    def __init__(self, writer: JournalWriter, recorded: Iterable[Entry] = ()) -> None:
        self.writer = writer
        self.now: Callable[[], float] = lambda: 0.0
        self.drains: deque[tuple[float, Event | CameraResult]] = deque()
        self.calls: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        for entry in recorded:
            if entry.kind != "input" or entry.body is None:
                continue
            body = entry.body
            if "event" in body:
                self.drains.append((entry.t, _event(body["event"], entry.seq)))
            else:
                self.calls.setdefault((body["device"], body["member"]), deque()).append(body)
        self._shift: dict[tuple[str, str], int] = {}
        for key, bodies in self.calls.items():
            if key[1] in GENERATIONS:
                self._shift[key] = 1 + max((int(b["value"]) for b in bodies if isinstance(b.get("value"), int)), default=-1)

    @property
    def playing(self) -> bool:
        return bool(self.drains) or any(self.calls.values())

    # --- the device side -------------------------------------------------------------------

    def sink(self, sink: EventSink) -> EventSink:
        """A sink that puts each event on the tape before the world takes it."""
        tape = self

        class Recording:
            def publish(self, event: Event) -> None:
                tape.writer.input(tape.now(), {"event": to_plain(event)})
                sink.publish(event)

        return Recording()

    def device(self, device: Any, name: str, kind: str) -> Any:
        """The device as the world will call it: through the tape."""
        return TapedDevice(self, device, name, TAPED_MEMBERS[kind])

    def answer(self, name: str, member: str, live: Callable[[], Any]) -> Any:
        recorded = self.calls.get((name, member))
        if recorded:
            return _outcome(recorded.popleft())
        try:
            value = live()
            if (name, member) in self._shift:
                value += self._shift[(name, member)]
        except Refusal as refusal:
            self.writer.input(self.now(), {"device": name, "member": member, "refused": str(refusal)})
            raise
        self.writer.input(self.now(), {"device": name, "member": member, "value": _plain_value(value)})
        return value


class TapedDevice:
    """A bridged device whose taped members answer from the tape while it plays, and
    are recorded when they reach the device; every other member is the device's own."""

    def __init__(self, tape: Tape, device: Any, name: str, members: frozenset[str]) -> None:
        self._tape, self._device, self._name, self._members = tape, device, name, members

    def __getattr__(self, member: str) -> Any:
        device = object.__getattribute__(self, "_device")
        if member not in object.__getattribute__(self, "_members"):
            return getattr(device, member)
        tape, name = object.__getattribute__(self, "_tape"), object.__getattribute__(self, "_name")
        if not callable(getattr(type(device), member, None)):  # a property or a plain attribute: a read
            return tape.answer(name, member, lambda: getattr(device, member))
        method = getattr(device, member)

        def call(*args: Any, **kwargs: Any) -> Any:
            return tape.answer(name, member, lambda: method(*args, **kwargs))

        return call


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str | list):
        return value
    raise TypeError(f"a device answered with {type(value).__name__}, which the tape cannot keep")


def _outcome(body: dict[str, Any]) -> Any:
    if "refused" in body:
        raise Refusal(body["refused"])
    value = body["value"]
    return tuple(value) if isinstance(value, list) else value


def _event(plain: Any, seq: int) -> Event | CameraResult:
    try:
        return from_plain(plain, DEVICE_TYPES)  # type: ignore[return-value]
    except BadMessage as exc:
        raise RecoveryDiverged(f"entry {seq}: {exc}") from None


class ResumedJournal:
    """The runtime's journal while a restarted run catches up: each entry the rebuilt
    controllers make is checked against the recorded one; past the last, appended."""

    def __init__(self, writer: JournalWriter, recorded: Iterable[Entry]) -> None:
        self.writer = writer
        self.expected: deque[Entry] = deque(e for e in recorded if e.kind != "input")

    def _check(self, kind: str, now: float, event: Event | None = None, commands: tuple[Command, ...] = ()) -> bool:
        """True when this entry was recorded (and matches); False when it is new."""
        if not self.expected:
            return False
        entry = self.expected.popleft()
        if entry.kind != kind or entry.event != event or entry.commands != commands or entry.t != now:
            self.expected.clear()
            raise RecoveryDiverged(
                f"entry {entry.seq}: the journal has {entry.kind} at t = {entry.t:.3f} s, "
                f"the rebuilt run {kind} at t = {now:.3f} s ({_short(event or commands)} against "
                f"{_short(entry.event or entry.commands)})"
            )
        return True

    def started(self, now: float) -> None:
        if not self._check("start", now):
            self.writer.started(now)

    def delivered(self, now: float, event: Event) -> None:
        if not self._check("event", now, event=event):
            self.writer.delivered(now, event)

    def issued(self, now: float, commands: Any) -> None:
        if not self._check("commands", now, commands=tuple(commands)):
            self.writer.issued(now, commands)


def _short(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
