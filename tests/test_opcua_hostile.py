"""A crane over OPC UA that is lost or misbehaves is a device fault, never the end of the run.

Each test runs a real asyncua server on 127.0.0.1: in this process where the test needs
to time the crane's misbehaviour to a motion, else `checkpoint emulate crane` as its own
process (killed with SIGKILL, stopped with SIGSTOP). The client must turn every bad
answer into a crane fault with its reason (a `CraneState`), back off and connect again,
and finish a move broken off by a lost link exactly once, from the crane's own state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Client, ua
from broker import free_port
from conftest import ROOT, make_scenario
from net import bridging_only, kill, listening, run_losing
from test_hil import run_mixed

from checkpoint.mixed import MixedRun
from controllers.messages import CraneCommand, CraneState
from hardware_bridge.backoff import Backoff
from hardware_bridge.opcua_crane import BAY, NAMESPACE, CraneEmulator, OpcUaCrane, misbehaviour
from twin.kpi import summarise

CRANE = "VN-crane-1"
CONTAINER = "VNLU0000011"
LOAD = CraneCommand(CRANE, "load", CONTAINER, "AGV-001")  # truck -> carrier
SPEED = 60.0  # model seconds per wall second, in the mixed runs


def _until(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def _client(url: str, *, timeout_s: float = 1.0) -> OpcUaCrane:
    return OpcUaCrane(url, CRANE, "vietnam", timeout_s=timeout_s, backoff=Backoff(0.2, 1.0))


class Events:
    """What a crane client told the controllers, gathered as the runtime would."""

    def __init__(self, crane: OpcUaCrane) -> None:
        self.crane = crane
        self.all: list[CraneState] = []

    def take(self) -> list[CraneState]:
        while not self.crane.inbox.empty():
            event = self.crane.inbox.get_nowait()
            assert isinstance(event, CraneState)  # the crane tells nothing else
            self.all.append(event)
        return self.all

    def faults(self) -> list[bool]:
        """The faults and backs, in order (the reports that end a move left out)."""
        return [e.fault for e in self.take() if e.done_op is None]

    def done(self) -> list[CraneState]:
        return [e for e in self.take() if e.done_op is not None]


@pytest.fixture(scope="module")
def served() -> Iterator[CraneEmulator]:
    """A crane emulator in this process, on a loop of its own (fast: 0.4 s a pick or place),
    shared by the tests of this module (an asyncua server takes a second or more to set up)."""
    crane = CraneEmulator(free_port(), move_s=0.4, down_s=0.6)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    server = threading.Thread(target=loop.run_until_complete, args=(crane.serve(stop),), daemon=True)
    server.start()
    _until(lambda: crane.online, 20.0, "the emulator did not start")
    try:
        yield crane
    finally:
        loop.call_soon_threadsafe(stop.set)
        server.join(10)
        loop.close()


@pytest.fixture
def emulator(served: CraneEmulator) -> CraneEmulator:
    """The shared emulator, as new: idle, empty, at 0 m, behaving."""
    _until(lambda: served.online and not served._tasks, 10.0, "the emulator is still at work")
    for patched in ("_start", "_answer"):
        served.__dict__.pop(patched, None)
    served.misbehave = ""
    served.drops = 0
    served.state.update(Position=0.0, Spreader="open", Load="", Fault=False, Busy=False)
    return served


@pytest.fixture
def crane(emulator: CraneEmulator) -> Iterator[OpcUaCrane]:
    client = _client(emulator.url)
    client.start()
    try:
        yield client
    finally:
        client.stop()


def _placed_on_carrier(emulator: CraneEmulator) -> bool:
    state = emulator.state
    return state["Load"] == "" and state["Position"] == BAY["carrier"] and not state["Busy"]


# --- bad status codes, wrong types, values out of range -------------------------------------------


@pytest.mark.parametrize("code", ["BadInternalError", "BadNodeIdUnknown", "BadTimeout"])
def test_a_bad_status_code_is_a_fault_and_the_move_goes_on_once_the_crane_answers(
    emulator: CraneEmulator, crane: OpcUaCrane, code: str
) -> None:
    events = Events(crane)
    crane.accept(LOAD)
    _until(lambda: emulator.state["Busy"], what="the move did not start")
    emulator.misbehave = code  # every read and every call answered with it
    _until(lambda: crane.faulted, 3.0, f"no fault on {code}")
    assert crane.reason.endswith(f"answered a read of Position with {code}") and crane.reason.startswith(CRANE)
    assert crane.reading is None and not crane.connected  # nothing it read before is taken as true
    time.sleep(1.0)  # a few tries, backed off: the fault stays, told once
    assert events.faults() == [True] and events.all[0].busy  # the move holds: the crane is not idle
    emulator.misbehave = ""
    _until(lambda: len(events.done()) == 1, 10.0, "the move was not finished")
    assert events.faults() == [True, False] and events.all[1].reason == "it answers again"
    done = events.done()[0]
    assert (done.done_op, done.container_id, done.carrier_id, done.placed_on) == ("load", CONTAINER, "AGV-001", "carrier")
    assert crane.faults == 1 and crane.reconnects >= 1 and crane.fault_s() > 1.0
    assert _placed_on_carrier(emulator)


def test_bad_status_codes_for_the_method_calls_alone_are_a_fault_too(emulator: CraneEmulator, crane: OpcUaCrane) -> None:
    events = Events(crane)
    emulator.misbehave = "calls:BadInternalError"  # its variables read well; no call is taken
    crane.accept(LOAD)
    _until(lambda: crane.faulted, 3.0, "no fault on a call answered BadInternalError")
    assert crane.reason.endswith(f"answered Move({BAY['truck']}) with BadInternalError")
    assert emulator.state["Position"] == 0.0 and not emulator.state["Busy"]
    emulator.misbehave = ""
    _until(lambda: len(events.done()) == 1, 10.0, "the move was not finished")
    assert events.faults() == [True, False] and _placed_on_carrier(emulator)


@pytest.mark.parametrize(("mode", "reason"), [
    ("wrong-types", "Position is a String ('12.5'), not a Double"),
    ("out-of-range", "Position -1000.0 m is outside its bay (0 to 50 m)"),
])
def test_values_of_the_wrong_type_or_out_of_range_are_a_fault_not_a_crash(
    emulator: CraneEmulator, crane: OpcUaCrane, mode: str, reason: str
) -> None:
    events = Events(crane)
    emulator.misbehave = mode
    _until(lambda: crane.faulted, 3.0, f"no fault on {mode}")
    assert crane.reason.endswith(reason)
    crane.accept(LOAD)  # taken, and held while the crane cannot be read
    time.sleep(0.5)
    assert not emulator.state["Busy"] and emulator.state["Position"] == 0.0
    emulator.misbehave = ""
    _until(lambda: len(events.done()) == 1, 10.0, "the move was not finished")
    assert events.faults() == [True, False]


def test_what_the_client_checks_of_each_value(emulator: CraneEmulator, crane: OpcUaCrane) -> None:
    """Beyond the first variable: every one is checked, a method's answer, and what the crane holds."""
    events = Events(crane)
    emulator.state["Spreader"] = "half"
    _until(lambda: crane.faulted, 3.0, "no fault on a Spreader neither open nor locked")
    assert crane.reason.endswith("Spreader 'half' is neither open nor locked")
    emulator.state["Load"] = "X" * 500
    emulator.state["Spreader"] = "open"
    _until(lambda: crane.reason.endswith("Load is no container id (500 characters)"), 3.0, "a Load of 500 characters")
    emulator.state["Load"] = ""
    _until(lambda: not crane.faulted, 5.0, "not back")
    assert events.faults() == [True, False]  # one fault: its reason follows the latest
    answer = emulator._answer
    emulator._answer = lambda accepted: ua.Variant("true", ua.VariantType.String)  # type: ignore[method-assign]
    crane.accept(LOAD)
    _until(lambda: crane.faulted, 3.0, "no fault on a call answered with a String")
    assert crane.reason.endswith(f"answered Move({BAY['truck']}) with a String ('true'), not a Boolean")
    emulator._answer = answer  # type: ignore[method-assign]
    _until(lambda: len(events.done()) == 1, 10.0, "the move was not finished")
    assert events.faults() == [True, False] * 2
    emulator.state["Load"] = "MSKU0000001"  # it holds another container than it is told to move
    crane.accept(CraneCommand(CRANE, "unload", CONTAINER, "AGV-001"))
    _until(lambda: crane.faulted, 3.0, "no fault on a crane holding another container")
    assert crane.reason.endswith(f"it holds 'MSKU0000001', not {CONTAINER}: an engineer must clear it")
    time.sleep(0.5)
    assert crane.faulted and emulator.state["Load"] == "MSKU0000001"  # nothing done with what it holds
    emulator.state["Load"] = CONTAINER  # an engineer put it right: the move goes on
    _until(lambda: len(events.done()) == 2, 10.0, "the move was not finished")
    assert events.faults() == [True, False] * 3 and events.done()[1].placed_on == "stack"


def test_the_emulator_knows_its_misbehaviours() -> None:
    assert [misbehaviour(m) for m in ("", "BadTimeout", "calls:BadNodeIdUnknown", "drop-mid-move")] == [
        "", "BadTimeout", "calls:BadNodeIdUnknown", "drop-mid-move"]
    for bad in ("Good", "BadNoSuchCode", "calls:", "wrong"):
        with pytest.raises(ValueError, match="unknown crane misbehaviour"):
            misbehaviour(bad)


# --- a link dropped mid-move ------------------------------------------------------------------------


@pytest.mark.parametrize("during", ["pick", "place"])
def test_a_link_dropped_mid_move_is_a_fault_and_the_move_is_reported_done_once(
    emulator: CraneEmulator, crane: OpcUaCrane, during: str
) -> None:
    """The server closes halfway through the pick (or the place) and opens again; the
    crane finishes the motion meanwhile. Back, the client reads what the crane holds and
    where it stands: it places what it holds, or reports placed what it placed unseen."""
    events = Events(crane)
    start = emulator._start

    def drop_during(seconds: float, **after: Any) -> None:  # drop the link in this one motion
        phase = {CONTAINER: "pick", "": "place"}.get(after.get("Load"))  # None: a Move
        emulator.misbehave = "drop-mid-move" if phase == during else ""
        start(seconds, **after)
        emulator.misbehave = ""

    emulator._start = drop_during  # type: ignore[method-assign]
    crane.accept(LOAD)
    _until(lambda: crane.faulted, 5.0, "no fault when the link was dropped")
    assert "link lost" in crane.reason
    _until(lambda: len(events.done()) == 1, 10.0, "the move was not finished")
    time.sleep(0.5)  # nothing more comes: not done twice
    assert emulator.drops == 1 and crane.reconnects == 1 and crane.moves_restarted == 0
    assert events.faults() == [True, False] and len(events.done()) == 1
    assert _placed_on_carrier(emulator)


# --- the emulator as its own process ----------------------------------------------------------------


def _emulate(port: int, *extra: str, move_s: float = 0.6) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "emulate", "crane", "--port", str(port), "--move-s", str(move_s), *extra],
        cwd=ROOT,
    )
    listening(port)
    return proc


@pytest.fixture
def process() -> Iterator[dict[str, Any]]:
    """`checkpoint emulate crane` at a free port; `start` starts one there (again)."""
    port = free_port()
    rig: dict[str, Any] = {"port": port, "url": f"opc.tcp://127.0.0.1:{port}/crane/", "proc": None}

    def start(*extra: str) -> None:
        rig["proc"] = _emulate(port, *extra)

    rig["start"] = start
    try:
        yield rig
    finally:
        proc = rig["proc"]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            proc.wait(timeout=10)


@contextlib.contextmanager
def _linked(process: dict[str, Any], *extra: str, timeout_s: float = 1.0) -> Iterator[tuple[OpcUaCrane, Events]]:
    """The emulator started (with `extra`), and a client linked to it, stopped after."""
    process["start"](*extra)
    crane = _client(process["url"], timeout_s=timeout_s)
    crane.start()
    try:
        yield crane, Events(crane)
    finally:
        crane.stop()


def _call(url: str, method: str, *args: Any) -> Any:
    async def go() -> Any:
        async with Client(url, timeout=2) as client:
            idx = await client.get_namespace_index(NAMESPACE)
            node = await client.nodes.objects.get_child([f"{idx}:Crane"])
            return await node.call_method(f"{idx}:{method}", *args)

    return asyncio.run(go())


def test_a_crane_restarted_empty_mid_move_picks_again_and_reports_the_move_once(process: dict[str, Any]) -> None:
    with _linked(process) as (crane, events):
        crane.accept(LOAD)
        _until(lambda: crane.reading is not None and crane.reading.load == CONTAINER, 10.0, "the crane never lifted it")
        kill(process["proc"])  # with the container on its spreader
        _until(lambda: crane.faulted, 5.0, "no fault when the crane was killed")
        process["start"]()  # a fresh crane: empty, at 0 m
        _until(lambda: len(events.done()) == 1, 15.0, "the move was not finished")
        assert crane.moves_restarted == 1 and crane.reconnects >= 1 and crane.moves_done == 1
        assert events.faults() == [True, False]
        assert crane.reading is not None and crane.reading.position == BAY["carrier"] and crane.reading.load == ""


def test_a_crane_that_never_comes_back_stays_faulted_and_its_client_backs_off(process: dict[str, Any]) -> None:
    with _linked(process) as (crane, events):
        crane.accept(LOAD)
        _until(lambda: crane.busy and crane.reading is not None and crane.reading.busy, 5.0, "the move did not start")
        kill(process["proc"])
        began = time.monotonic()
        _until(lambda: crane.faulted, 3.0, "no fault when the crane was killed")
        assert time.monotonic() - began < 2.0 and "link lost" in crane.reason
        crane.accept(CraneCommand(CRANE, "deliver", "VNLU0000022"))  # the port never raises
        time.sleep(3.0)  # tries at 0.2, 0.4, 0.8, 1.0 s: then once a second
        assert crane.faulted and crane.reconnects == 0 and events.faults() == [True]
        assert crane.busy and not events.done()  # the moves wait: nothing is reported done that was not
        assert crane.backoff.next() == 1.0  # backed off to its bound
        began = time.monotonic()
    assert time.monotonic() - began < 5.0  # stopping does not wait on a crane that is gone


def test_a_crane_that_stops_answering_is_a_fault_within_its_timeout(process: dict[str, Any]) -> None:
    with _linked(process, timeout_s=0.5) as (crane, events):
        proc = process["proc"]
        proc.send_signal(signal.SIGSTOP)  # the link stays up; nothing answers on it
        began = time.monotonic()
        _until(lambda: crane.faulted, 3.0, "no fault when the crane stopped answering")
        assert time.monotonic() - began < 2.0
        assert events.take()[0].reason.endswith("no answer within 0.5 s")  # (a try to connect again waits 1 s)
        proc.send_signal(signal.SIGCONT)
        _until(lambda: not crane.faulted, 10.0, "the crane did not come back")
        assert events.faults() == [True, False]


def test_a_crane_that_misbehaves_from_the_start_starts_faulted(process: dict[str, Any]) -> None:
    with _linked(process, "--misbehave", "BadInternalError") as (crane, events):  # the link is made: it starts faulted
        assert crane.faulted and crane.reason.endswith("answered a read of Position with BadInternalError")
        assert events.faults() == [True]
        assert _call(process["url"], "Misbehave", "") is True  # told to behave, over the wire
        _until(lambda: not crane.faulted, 5.0, "the crane did not come back")
        assert events.faults() == [True, False]


def test_the_emulator_refuses_an_unknown_misbehaviour_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "checkpoint", "emulate", "crane", "--misbehave", "BadNoSuchCode"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "unknown crane misbehaviour 'BadNoSuchCode'" in result.stderr
    assert "Traceback" not in result.stderr


# --- mixed runs ---------------------------------------------------------------------------------------


def _crane_only(port: int) -> dict[str, Any]:
    """The HIL scenario with VN-crane-1 its one bridged device."""
    data = bridging_only("cranes")
    data["devices"]["cranes"][0]["endpoint"] = f"opc.tcp://127.0.0.1:{port}/crane/"
    return data


def _emulate_paced(port: int) -> subprocess.Popen[bytes]:
    return _emulate(port, move_s=25 / SPEED)  # the scenario's mean cycle, over its four motions, at the run's pace


def test_a_crane_killed_mid_move_and_restarted_loses_no_container_and_counts_the_move_once() -> None:
    port = free_port()
    proc = _emulate_paced(port)
    mixed = MixedRun(make_scenario(_crane_only(port)), speed=SPEED)
    world = mixed.open()
    mirror = mixed.mirrors.events.cranes[CRANE]
    ctrl = world.controller
    seen: dict[str, Any] = {}

    async def outage(_: MixedRun) -> None:
        nonlocal proc
        deadline = time.monotonic() + 30
        while mirror.doing is None or mirror.moves == 0:  # a move done, then one under way is broken off
            assert time.monotonic() < deadline, "the bridged crane was given no second move"
            await asyncio.sleep(0.02)
        seen["moves_before"], seen["doing"] = mirror.moves, mirror.doing
        seen["was"] = world.containers[mirror.doing.container_id].location
        kill(proc)
        lost = time.monotonic()
        while CRANE not in ctrl.cranes.down:
            assert time.monotonic() - lost < 3, "the controllers were not told of the lost crane"
            await asyncio.sleep(0.02)
        seen["device"] = next(d for d in mixed.devices() if d["id"] == CRANE)  # as the control room shows it
        await asyncio.sleep(2)  # two model minutes without it
        proc = await asyncio.to_thread(_emulate_paced, port)
        back = time.monotonic()
        while CRANE in ctrl.cranes.down:
            assert time.monotonic() - back < 15, "the crane did not come back"
            await asyncio.sleep(0.05)

    try:
        run_mixed(mixed, minutes=30, during=outage)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    summary = summarise(world)
    devices = mixed.device_summary()
    crane = devices["cranes"][CRANE]
    assert crane["faults"] == 1 and crane["alarms_raised"] == 1 and not crane["faulted_at_end"]
    assert crane["reconnects"] >= 1 and crane["fault_s"] > 60
    assert crane["moves"] > seen["moves_before"]  # the broken-off move was finished, and more after it
    assert summary["containers_lost"] == 0 and summary["safety_violations"] == 0
    assert summary["commands_refused"] == 0  # no move the world could not follow: none done twice
    delivered = [c for c in world.containers.values() if c.location == "delivered"]
    assert world.delivered_count == len(delivered)
    assert [(a.device_id, a.kind) for a in ctrl.cranes.alarms] == [(CRANE, "fault"), (CRANE, "back")]
    device = seen["device"]
    assert device["fault"] and not device["online"] and "link lost" in device["alarm"]
    assert world.containers[seen["doing"].container_id].location != seen["was"]  # the move was made, once


def test_checkpoint_run_outlives_its_crane_and_writes_its_summary(process: dict[str, Any], tmp_path: Path) -> None:
    port = process["port"]
    process["proc"] = _emulate_paced(port)
    scenario = tmp_path / "crane_only.yaml"
    scenario.write_text(yaml.safe_dump(_crane_only(port), allow_unicode=True), encoding="utf-8")
    summary, stderr = run_losing(scenario, tmp_path / "out", lambda: kill(process["proc"]), speed=SPEED, minutes=15)
    assert "ConnectionError" not in stderr
    crane = summary["devices"]["cranes"][CRANE]
    assert crane["faults"] == 1 and crane["faulted_at_end"] and crane["fault_s"] > 0 and crane["alarms_raised"] == 1
    assert crane["reconnects"] == 0 and summary["containers_lost"] == 0


# --- the controllers -------------------------------------------------------------------------------


def test_the_controllers_give_a_faulted_crane_no_task_with_one_alarm_and_take_it_back() -> None:
    from test_fifo import make_layout

    from controllers.fifo import FifoController

    ctrl = FifoController(make_layout())
    desk = ctrl.yards["vietnam"]
    crane = desk.idle_cranes[0]
    assert ctrl.on_event(CraneState(crane, "vietnam", True, True, reason="link lost"), 1.0) == []
    assert ctrl.on_event(CraneState(crane, "vietnam", True, True, reason="link lost again"), 2.0) == []  # one alarm
    assert crane not in desk.idle_cranes and crane in desk.faulty_cranes
    assert ctrl.cranes.down == {crane: "link lost again"} and ctrl.cranes.faults == {crane: 1}
    ctrl.on_event(CraneState(crane, "vietnam", True, False, reason="it answers again"), 3.0)
    assert crane not in desk.idle_cranes and not ctrl.cranes.down  # back, with its move still to finish
    ctrl.on_event(CraneState(crane, "vietnam", False, False), 4.0)
    assert crane in desk.idle_cranes
    assert [(a.kind, a.text, a.at) for a in ctrl.cranes.alarms] == [("fault", "link lost", 1.0), ("back", "it answers again", 3.0)]
