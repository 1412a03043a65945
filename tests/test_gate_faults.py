"""A Modbus gate that is lost or misbehaves is a device fault, never the end of the run.

The gate emulator runs as its own process on 127.0.0.1 (killed with SIGKILL where a test
loses it); the controllers hold the gate's trucks while it is faulted, with an alarm, and
let them on once it is back. A weighbridge read that failed is read again, never taken
as 0 kg. The mixed runs bridge the Vietnamese gate lane alone and go `SPEED` times the
wall clock.
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
from broker import free_port
from conftest import ROOT, make_scenario
from net import bridging_only, kill, listening, run_losing
from pymodbus.client import ModbusTcpClient
from test_fifo import make_layout
from test_hil import run_mixed

from checkpoint.mixed import MixedRun
from controllers.fifo import FifoController
from controllers.messages import BarrierCommand, BarrierState, Journal, PlateRead, WeightReading
from hardware_bridge.backoff import Backoff
from hardware_bridge.modbus_gate import COMMAND, ERRORS, GateEmulator, ModbusGate
from twin.kpi import summarise
from twin.scenario import Scenario

SPEED = 60.0  # model seconds per wall second
GATE = "VN-gate"


def _emulate(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "emulate", "gate", "--port", str(port),
         "--barrier-speed", str(25 * SPEED), "--settle-s", "0.1"],
        cwd=ROOT,
    )


def _until(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def _misbehave(port: int, on: bool) -> None:
    """Tell the emulator (register 30) to answer every read with an exception response, or not."""
    raw = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
    assert raw.connect()
    try:
        assert not raw.write_register(ERRORS, 1 if on else 0, device_id=1).isError()
    finally:
        raw.close()


@contextlib.contextmanager
def _linked(port: int, **options: Any) -> Iterator[ModbusGate]:
    """A gate client linked to the emulator at `port`, backing off from 0.2 s to 1 s; stopped after."""
    gate = ModbusGate("127.0.0.1", port, GATE, "VN-weighbridge", "vietnam", backoff=Backoff(0.2, 1.0), **options)
    gate.start()
    try:
        yield gate
    finally:
        gate.stop()


@pytest.fixture
def emulator() -> Iterator[dict[str, Any]]:
    """A gate emulator at a free port; `restart` starts another on the same port."""
    port = free_port()
    rig: dict[str, Any] = {"port": port, "proc": _emulate(port)}

    def restart() -> None:
        rig["proc"] = _emulate(port)
        listening(port)

    rig["restart"] = restart
    listening(port)
    try:
        yield rig
    finally:
        proc = rig["proc"]
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _events(gate: ModbusGate) -> list[BarrierState]:
    out: list[BarrierState] = []
    while not gate.inbox.empty():
        event = gate.inbox.get_nowait()
        assert isinstance(event, BarrierState)  # the gate tells nothing else
        out.append(event)
    return out


# --- the controllers ----------------------------------------------------------------------


def test_a_faulted_gate_holds_its_trucks_with_an_alarm_and_lets_them_on_once_back() -> None:
    ctrl = FifoController(make_layout())

    def read(truck: str) -> PlateRead:
        return PlateRead(GATE, "vietnam", truck, f"29C-{truck}", "deliver")

    assert ctrl.on_event(read("T1"), 0.0) == [BarrierCommand(GATE, "T1", True)]
    assert ctrl.on_event(BarrierState(GATE, "vietnam", True, "link lost"), 1.0) == []
    assert ctrl.on_event(BarrierState(GATE, "vietnam", True, "link lost again"), 1.5) == []  # one alarm
    assert ctrl.on_event(read("T2"), 2.0) == []  # no truck through a faulted gate
    assert ctrl.on_event(read("T3"), 3.0) == []
    assert ctrl.on_event(PlateRead("CN-gate", "china", "T4", "ABC", "deliver"), 3.5) == [BarrierCommand("CN-gate", "T4", True)]
    assert ctrl.gates.held(GATE) == 2 and ctrl.gates.down == {GATE: "link lost again"}
    assert [(a.device_id, a.kind, a.text, a.at) for a in ctrl.gates.alarms] == [(GATE, "fault", "link lost", 1.0)]
    back = ctrl.on_event(BarrierState(GATE, "vietnam", False, "it answers again"), 9.0)
    assert back == [BarrierCommand(GATE, "T2", True), BarrierCommand(GATE, "T3", True)]  # first come first
    assert ctrl.gates.held(GATE) == 0 and not ctrl.gates.down
    assert [a.kind for a in ctrl.gates.alarms] == ["fault", "back"] and ctrl.gates.faults == {GATE: 1}
    assert ctrl.on_event(BarrierState(GATE, "vietnam", False), 10.0) == []  # back twice: nothing more


def test_the_back_off_doubles_to_its_bound_and_starts_again_once_the_device_answers() -> None:
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next() == 0.5
    with pytest.raises(ValueError, match="back-off: first_s must be more than 0"):
        Backoff(0.0, 10.0)


# --- the client against a real emulator ------------------------------------------------------


def test_a_killed_gate_is_a_fault_and_a_restarted_one_comes_back_closed_with_its_load(emulator: dict[str, Any]) -> None:
    port = emulator["port"]
    with _linked(port) as gate:
        gate.put_load(24_000)
        gate.accept(BarrierCommand(GATE, "T1", True))
        _until(lambda: gate.barrier_position() == 100 and gate.weight() == (24_000, True), what="open, weighed")
        kill(emulator["proc"])
        _until(lambda: gate.faulted, 3.0, "no fault after the kill")
        assert [e.fault for e in _events(gate)] == [True] and "link lost" in gate.reason
        # the loop's calls never raise, and nothing is taken for a reading while it is gone
        assert gate.barrier_position() is None and gate.weight() is None and not gate.connected
        gate.accept(BarrierCommand(GATE, "T2", True))
        gate.put_load(24_000)
        time.sleep(1.5)  # some tries, backed off
        assert gate.faulted and gate.reconnects == 0
        emulator["restart"]()
        _until(lambda: not gate.faulted, 5.0, "the gate did not come back")
        assert [(e.fault, e.reason) for e in _events(gate)] == [(False, "it answers again")]
        assert gate.epoch == 1 and gate.reconnects == 1 and gate.faults == 1 and gate.fault_s() >= 1.5
        # back with its barrier held closed, whatever it was told while gone; the truck's load again
        raw = ModbusTcpClient("127.0.0.1", port=port)
        assert raw.connect()
        assert raw.read_holding_registers(COMMAND, count=1, device_id=1).registers == [0]
        raw.close()
        _until(lambda: gate.weight() == (24_000, True), what="the load was not written again")
        assert gate.barrier_position() == 0
        gate.accept(BarrierCommand(GATE, "T2", True))  # a command sent once back goes through
        _until(lambda: gate.barrier_position() == 100, what="open after the restart")


def test_exception_responses_are_a_device_fault_not_a_crash(emulator: dict[str, Any]) -> None:
    port = emulator["port"]
    with _linked(port) as gate:
        gate.put_load(18_000)
        _until(lambda: gate.weight() == (18_000, True), what="weighed")
        _misbehave(port, True)
        _until(lambda: gate.faulted, 3.0, "no fault on exception responses")
        assert "with Modbus exception 4 (device failure)" in gate.reason
        assert gate.weight() is None and gate.barrier_position() is None  # never 0 kg
        assert [e.fault for e in _events(gate)] == [True]
        _misbehave(port, False)
        _until(lambda: not gate.faulted, 5.0, "the gate did not come back")
        assert [e.fault for e in _events(gate)] == [False]
        _until(lambda: gate.weight() == (18_000, True), what="weighed again")  # written again: it settles anew


def test_a_gate_that_stops_answering_is_a_fault_within_its_timeout_and_back_when_it_answers(
    emulator: dict[str, Any],
) -> None:
    proc = emulator["proc"]
    with _linked(emulator["port"], timeout_s=0.5) as gate:
        proc.send_signal(signal.SIGSTOP)  # the link stays up; nothing answers on it
        began = time.monotonic()
        _until(lambda: gate.faulted, 3.0, "no fault when the gate stopped answering")
        assert time.monotonic() - began < 2.0 and gate.reason.endswith("no answer within 0.5 s")
        proc.send_signal(signal.SIGCONT)
        _until(lambda: not gate.faulted, 5.0, "the gate did not come back")
        assert [e.fault for e in _events(gate)] == [True, False]


def test_a_gate_that_answers_only_with_exceptions_from_the_start_starts_faulted() -> None:
    port = free_port()

    async def serve(stop: asyncio.Event) -> None:
        await GateEmulator(port, exception_responses=True).serve(stop)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    server = threading.Thread(target=loop.run_until_complete, args=(serve(stop),), daemon=True)
    server.start()
    listening(port)
    gate = ModbusGate("127.0.0.1", port, GATE, "VN-weighbridge", "vietnam")
    try:
        gate.start()  # the link is made: the run may start, with the gate faulted
        assert gate.faulted and not gate.connected and gate.barrier_position() is None
        assert [e.fault for e in _events(gate)] == [True]
    finally:
        gate.stop()
        loop.call_soon_threadsafe(stop.set)
        server.join(10)


def test_the_emulator_on_a_busy_port_fails_at_once_with_one_clear_line(emulator: dict[str, Any]) -> None:
    began = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "checkpoint", "emulate", "gate", "--port", str(emulator["port"])],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert second.returncode != 0
    assert time.monotonic() - began < 15  # at once: no hang (the interpreter's start-up is most of it)
    lines = second.stderr.strip().splitlines()
    assert lines == [f"checkpoint: error: the gate emulator cannot listen on 127.0.0.1:{emulator['port']}: Address already in use"]
    assert "Failed to start server" not in second.stdout + second.stderr


# --- a mixed run -----------------------------------------------------------------------------


def _gate_only(port: int) -> dict[str, Any]:
    """The HIL scenario with the Vietnamese gate lane its one bridged device."""
    data = bridging_only("gates")
    data["devices"]["gates"][0]["endpoint"]["port"] = port
    return data


def _scenario(port: int) -> Scenario:
    return make_scenario(_gate_only(port))


def test_a_gate_killed_mid_run_holds_its_trucks_and_lets_them_on_once_restarted(emulator: dict[str, Any]) -> None:
    mixed = MixedRun(_scenario(emulator["port"]), speed=SPEED)
    world = mixed.open()
    world.runtime.journal = journal = Journal()
    barrier = mixed.mirrors.gates["vietnam"]
    ctrl = world.controller
    seen: dict[str, Any] = {}

    async def outage(_: MixedRun) -> None:
        deadline = time.monotonic() + 30
        while not barrier.admitted:  # a truck went through, then the gate is lost
            assert time.monotonic() < deadline, "no truck came through the gate"
            await asyncio.sleep(0.05)
        kill(emulator["proc"])
        lost = time.monotonic()
        while GATE not in ctrl.gates.down:
            assert time.monotonic() - lost < 3, "the controllers were not told of the lost gate"
            await asyncio.sleep(0.02)
        while ctrl.gates.held(GATE) == 0:  # trucks come to the faulted gate, and wait
            assert time.monotonic() - lost < 20, "no truck waited at the faulted gate"
            await asyncio.sleep(0.05)
        seen["admitted_while_down"] = len(barrier.admitted)
        seen["held"] = ctrl.gates.held(GATE)
        seen["device"] = next(d for d in mixed.devices() if d["id"] == GATE)  # as the control room shows it
        await asyncio.sleep(3)  # three model minutes more without it: the client backs off
        await asyncio.to_thread(emulator["restart"])
        back = time.monotonic()
        while GATE in ctrl.gates.down:
            assert time.monotonic() - back < 15, "the gate did not come back"
            await asyncio.sleep(0.05)
        seen["back_at"] = world.env.now

    run_mixed(mixed, minutes=30, during=outage)
    summary = summarise(world)  # the run ended and its summary is whole
    summary["devices"] = mixed.device_summary()
    gate = summary["devices"]["gates"]["vietnam"]
    assert gate["faults"] == 1 and gate["fault_s"] > 180 and gate["alarms_raised"] == 1 and not gate["faulted_at_end"]
    assert gate["reconnects"] == 1 and gate["fault_wall_s"] > 3
    assert summary["safety_violations"] == 0 and summary["containers_lost"] == 0
    assert [(a.device_id, a.kind) for a in ctrl.gates.alarms] == [(GATE, "fault"), (GATE, "back")]
    device = seen["device"]
    assert device["fault"] and not device["online"] and "link lost" in device["alarm"] and device["waiting"] >= 1
    # no truck went through while it was faulted; the held ones went on once it was back
    (begin, end), = barrier.fault_periods
    assert end is not None and end <= seen["back_at"]
    assert not [(t, truck) for t, truck in barrier.admitted if begin <= t < end]
    after = [truck for t, truck in barrier.admitted if t >= end]
    assert len(after) >= seen["held"], (after, seen["held"])
    # every weight the controllers were given was a stable one read from the device: the truck's own
    readings = [ev for _, ev in journal.entries if isinstance(ev, WeightReading) and ev.yard == "vietnam"]
    by_truck = {c.truck_id: c for c in world.containers.values()}
    assert readings and all(r.measured_kg == round(by_truck[r.truck_id].measured_kg) for r in readings)
    states = [ev for _, ev in journal.entries if isinstance(ev, BarrierState)]
    assert [s.fault for s in states] == [True, False]


def test_checkpoint_run_outlives_its_gate_and_writes_its_summary(emulator: dict[str, Any], tmp_path: Path) -> None:
    scenario = tmp_path / "gate_only.yaml"
    scenario.write_text(yaml.safe_dump(_gate_only(emulator["port"]), allow_unicode=True), encoding="utf-8")
    summary, stderr = run_losing(scenario, tmp_path / "out", lambda: kill(emulator["proc"]), speed=SPEED, minutes=20)
    assert "ConnectionException" not in stderr
    gate = summary["devices"]["gates"]["vietnam"]
    assert gate["faults"] == 1 and gate["faulted_at_end"] and gate["fault_s"] > 0 and gate["alarms_raised"] == 1
