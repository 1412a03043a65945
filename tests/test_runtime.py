"""The runtime loop: `controllers.runtime.Runtime` with a fake clock and fake devices."""

from __future__ import annotations

import heapq
from collections.abc import Callable

import pytest

from controllers.messages import (
    BarrierCommand,
    Command,
    CommandRefused,
    Event,
    Journal,
    PickupArrived,
    PlateRead,
    ScannerState,
    SetTimer,
    TimerFired,
    WeighDecision,
)
from controllers.ports import Refusal
from controllers.runtime import Runtime, UnknownDevice

# --- fakes -----------------------------------------------------------------------------


class FakeClock:
    """A list-based scheduler: callbacks run when the test advances the time."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._n = 0
        self.scheduled: list[float] = []

    def now(self) -> float:
        return self.t

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._n += 1
        self.scheduled.append(delay_s)
        heapq.heappush(self._queue, (self.t + delay_s, self._n, callback))

    def advance(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            at, _, cb = heapq.heappop(self._queue)
            self.t = at
            cb()
        self.t = until

    @property
    def pending(self) -> int:
        return len(self._queue)


class FakeDevice:
    """Records commands; may publish events back while it takes one."""

    def __init__(self, device_id: str, runtime: Runtime | None = None) -> None:
        self.device_id = device_id
        self.runtime = runtime
        self.accepted: list[Command] = []
        self.reactions: dict[Command, list[Event]] = {}
        self.log: list[str] | None = None

    def accept(self, command: Command) -> None:
        self.accepted.append(command)
        if self.log is not None:
            self.log.append(f"{self.device_id} accepts {_name(command)}")
        for ev in self.reactions.get(command, []):
            assert self.runtime is not None
            self.runtime.publish(ev)
        if self.log is not None:
            self.log.append(f"{self.device_id} done {_name(command)}")


class ScriptedController:
    """Answers each event with scripted commands; logs entry and exit of every call."""

    def __init__(self) -> None:
        self.script: dict[Event, list[Command]] = {}
        self.on_start: list[Command] = []
        self.seen: list[tuple[float, Event]] = []
        self.log: list[str] = []
        self.depth = 0
        self.max_depth = 0

    def start(self, now: float) -> list[Command]:
        self.log.append(f"start at {now}")
        return list(self.on_start)

    def on_event(self, event: Event, now: float) -> list[Command]:
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        self.log.append(f"enter {_name(event)}")
        self.seen.append((now, event))
        out = list(self.script.get(event, []))
        self.log.append(f"leave {_name(event)}")
        self.depth -= 1
        return out


def _name(x: object) -> str:
    for attr in ("tag", "truck_id", "container_id"):
        if hasattr(x, attr):
            return f"{type(x).__name__}({getattr(x, attr)})"
    return type(x).__name__


def plate(truck: str, gate: str = "VN-gate") -> PlateRead:
    return PlateRead(gate, "vietnam", truck, f"29C-{truck}", "deliver")


def setup(*device_ids: str) -> tuple[FakeClock, ScriptedController, Runtime, dict[str, FakeDevice]]:
    clock = FakeClock()
    ctrl = ScriptedController()
    rt = Runtime(clock, ctrl)
    devices = {d: FakeDevice(d, rt) for d in device_ids}
    for dev in devices.values():
        rt.attach(dev)
    return clock, ctrl, rt, devices


# --- tests -------------------------------------------------------------------------------


def test_events_published_during_a_command_are_queued_not_reentrant() -> None:
    clock, ctrl, rt, dev = setup("VN-gate", "VN-weighbridge")
    e1, e2, e3, e4 = plate("T1"), plate("T2"), plate("T3"), plate("T4")
    open1 = BarrierCommand("VN-gate", "T1", True)
    weigh = WeighDecision("VN-weighbridge", "T1", True)
    ctrl.script[e1] = [open1, weigh]
    ctrl.script[e2] = [BarrierCommand("VN-gate", "T2", True)]
    # the gate reports two more trucks while it takes the first command
    dev["VN-gate"].reactions[open1] = [e2, e3]
    dev["VN-weighbridge"].reactions[weigh] = [e4]
    shared: list[str] = []
    ctrl.log = shared
    dev["VN-gate"].log = shared
    dev["VN-weighbridge"].log = shared
    rt.publish(e1)
    assert ctrl.max_depth == 1  # never inside on_event twice
    assert [ev for _, ev in ctrl.seen] == [e1, e2, e3, e4]  # one at a time, in order
    assert shared == [
        "enter PlateRead(T1)",
        "leave PlateRead(T1)",
        "VN-gate accepts BarrierCommand(T1)",
        "VN-gate done BarrierCommand(T1)",
        # all of e1's commands are dispatched before e2 is handled
        "VN-weighbridge accepts WeighDecision(T1)",
        "VN-weighbridge done WeighDecision(T1)",
        "enter PlateRead(T2)",
        "leave PlateRead(T2)",
        "VN-gate accepts BarrierCommand(T2)",
        "VN-gate done BarrierCommand(T2)",
        "enter PlateRead(T3)",
        "leave PlateRead(T3)",
        "enter PlateRead(T4)",
        "leave PlateRead(T4)",
    ]
    assert rt.events_delivered == 4
    assert rt.commands_sent == 3


def test_publishing_again_after_a_dispatch_works() -> None:
    clock, ctrl, rt, dev = setup("VN-gate")
    rt.publish(plate("T1"))
    rt.publish(plate("T2"))
    assert [ev.truck_id for _, ev in ctrl.seen] == ["T1", "T2"]  # type: ignore[attr-defined]


def test_commands_are_routed_by_device_id() -> None:
    clock, ctrl, rt, dev = setup("VN-gate", "CN-gate", "VN-weighbridge")
    ev = plate("T1")
    cmds: list[Command] = [
        BarrierCommand("CN-gate", "T1", True),
        WeighDecision("VN-weighbridge", "T1", False),
        BarrierCommand("VN-gate", "T1", True),
        BarrierCommand("CN-gate", "T2", False),
    ]
    ctrl.script[ev] = cmds
    rt.publish(ev)
    assert dev["CN-gate"].accepted == [cmds[0], cmds[3]]
    assert dev["VN-weighbridge"].accepted == [cmds[1]]
    assert dev["VN-gate"].accepted == [cmds[2]]
    assert rt.commands_sent == 4


def test_start_dispatches_the_controllers_first_commands() -> None:
    clock, ctrl, rt, dev = setup("VN-gate")
    clock.t = 7.0
    ctrl.on_start = [BarrierCommand("VN-gate", "T0", False)]
    rt.start()
    assert ctrl.log == ["start at 7.0"]
    assert dev["VN-gate"].accepted == ctrl.on_start


def test_set_timer_comes_back_as_timer_fired_after_the_delay() -> None:
    clock, ctrl, rt, dev = setup("VN-gate")
    clock.t = 100.0
    ev = plate("T1")
    ctrl.script[ev] = [SetTimer(10.0, "soon"), BarrierCommand("VN-gate", "T1", True)]
    ctrl.script[TimerFired("soon")] = [BarrierCommand("VN-gate", "T9", False)]
    rt.publish(ev)
    assert clock.scheduled == [10.0]
    assert dev["VN-gate"].accepted == [BarrierCommand("VN-gate", "T1", True)]  # a timer goes to no device
    assert len(ctrl.seen) == 1
    clock.advance(109.9)
    assert len(ctrl.seen) == 1
    clock.advance(110.0)
    assert ctrl.seen[1] == (110.0, TimerFired("soon"))
    # the timer event goes through the runtime like any other: its commands are dispatched
    assert dev["VN-gate"].accepted[-1] == BarrierCommand("VN-gate", "T9", False)
    assert clock.pending == 0
    assert rt.events_delivered == 2


def test_two_timers_set_by_one_event_keep_their_tags() -> None:
    clock, ctrl, rt, dev = setup()
    ev = plate("T1")
    ctrl.script[ev] = [SetTimer(30.0, "late"), SetTimer(10.0, "soon")]
    rt.publish(ev)
    assert clock.scheduled == [30.0, 10.0]
    clock.advance(200.0)
    assert ctrl.seen[1:] == [(10.0, TimerFired("soon")), (30.0, TimerFired("late"))]


def test_timer_tags_are_not_mixed_up_across_timers() -> None:
    clock, ctrl, rt, dev = setup()
    evs = [plate(f"T{i}") for i in range(5)]
    for i, ev in enumerate(evs):
        ctrl.script[ev] = [SetTimer(float(5 - i), f"tag{i}")]
        rt.publish(ev)
    clock.advance(10.0)
    fired = [(t, ev.tag) for t, ev in ctrl.seen if isinstance(ev, TimerFired)]  # type: ignore[union-attr]
    assert fired == [(1.0, "tag4"), (2.0, "tag3"), (3.0, "tag2"), (4.0, "tag1"), (5.0, "tag0")]


def test_a_timer_can_set_the_next_timer() -> None:
    clock, ctrl, rt, dev = setup()
    ctrl.script[TimerFired("a")] = [SetTimer(5.0, "b")]
    ctrl.on_start = [SetTimer(2.0, "a")]
    rt.start()
    clock.advance(100.0)
    assert ctrl.seen == [(2.0, TimerFired("a")), (7.0, TimerFired("b"))]


def test_command_for_an_unknown_device_raises() -> None:
    clock, ctrl, rt, dev = setup("VN-gate")
    ev = plate("T1")
    ctrl.script[ev] = [BarrierCommand("XX-gate", "T1", True)]
    with pytest.raises(UnknownDevice, match="XX-gate"):
        rt.publish(ev)
    assert issubclass(UnknownDevice, LookupError)
    assert dev["VN-gate"].accepted == []
    # the runtime is not left busy: the next event is handled
    rt.publish(plate("T2"))
    assert [e.truck_id for _, e in ctrl.seen] == ["T1", "T2"]  # type: ignore[attr-defined]


def test_start_command_for_an_unknown_device_raises() -> None:
    clock, ctrl, rt, dev = setup()
    ctrl.on_start = [WeighDecision("nowhere", "T1", True)]
    with pytest.raises(UnknownDevice):
        rt.start()


def test_attaching_a_device_twice_raises() -> None:
    clock, ctrl, rt, dev = setup("VN-gate")
    with pytest.raises(ValueError, match="VN-gate"):
        rt.attach(FakeDevice("VN-gate"))
    with pytest.raises(ValueError):
        rt.attach(dev["VN-gate"])
    assert rt.ports["VN-gate"] is dev["VN-gate"]
    rt.attach(FakeDevice("CN-gate"))  # another id is fine
    assert set(rt.ports) == {"VN-gate", "CN-gate"}


def test_journal_records_time_and_event_of_every_delivery() -> None:
    clock = FakeClock(start=3.0)
    ctrl = ScriptedController()
    journal = Journal()
    rt = Runtime(clock, ctrl, journal)
    gate = FakeDevice("VN-gate", rt)
    rt.attach(gate)
    e1, e2 = plate("T1"), PickupArrived("china", "P1", "X1")
    ctrl.script[e1] = [BarrierCommand("VN-gate", "T1", True), SetTimer(4.0, "t")]
    gate.reactions[BarrierCommand("VN-gate", "T1", True)] = [e2]
    rt.publish(e1)
    clock.advance(5.0)
    rt.publish(ScannerState("VN-scanner", "vietnam", True))
    assert journal.entries == [
        (3.0, e1),
        (3.0, e2),
        (5.0, ScannerState("VN-scanner", "vietnam", True)),
    ]
    clock.advance(10.0)
    assert journal.entries[-1] == (7.0, TimerFired("t"))
    # the journal is what the controller saw, in the same order and times
    assert journal.entries == ctrl.seen


def test_runtime_without_journal_still_counts() -> None:
    clock, ctrl, rt, dev = setup()
    assert rt.journal is None
    rt.publish(plate("T1"))
    assert rt.events_delivered == 1 and rt.commands_sent == 0


def test_events_published_during_start_wait_for_the_start_commands() -> None:
    clock, ctrl, rt, dev = setup("VN-gate", "CN-gate")
    first = BarrierCommand("VN-gate", "T0", True)
    second = BarrierCommand("CN-gate", "T0", False)
    ctrl.on_start = [first, second]
    ev = plate("T1")
    later = BarrierCommand("CN-gate", "T1", True)
    ctrl.script[ev] = [later]
    dev["VN-gate"].reactions[first] = [ev]
    rt.start()
    # the CN gate must get the start command before the command issued after it
    assert dev["CN-gate"].accepted == [second, later]


class RefusingDevice(FakeDevice):
    def accept(self, command: Command) -> None:
        super().accept(command)
        raise Refusal(f"{self.device_id}: no truck {getattr(command, 'truck_id', '?')} at the barrier")


def test_a_refused_command_comes_back_as_an_event_not_an_exception() -> None:
    clock, ctrl, rt, dev = setup("CN-gate")
    gate = RefusingDevice("VN-gate", rt)
    rt.attach(gate)
    ev = plate("T1")
    ctrl.script[ev] = [BarrierCommand("VN-gate", "T1", True), BarrierCommand("CN-gate", "T1", True)]
    rt.publish(ev)  # raises nothing
    assert dev["CN-gate"].accepted == [ctrl.script[ev][1]]  # the commands after the refused one still go out
    refused = [e for _, e in ctrl.seen if isinstance(e, CommandRefused)]
    assert refused == [CommandRefused("VN-gate", "BarrierCommand", "VN-gate: no truck T1 at the barrier")]
    assert [type(e).__name__ for _, e in ctrl.seen] == ["PlateRead", "CommandRefused"]  # after the event that caused it
    assert rt.commands_refused == 1 and ctrl.max_depth == 1
