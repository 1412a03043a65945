"""A gate lane over Modbus TCP: the emulator as its own process, the client as the barrier port."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from broker import free_port
from conftest import ROOT
from test_fifo import make_layout

from controllers.fifo import FifoController
from controllers.messages import BarrierCommand, WeighDecision
from hardware_bridge.modbus_gate import ModbusGate


@pytest.fixture
def gate() -> Iterator[ModbusGate]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "checkpoint", "emulate", "gate", "--port", str(port)], cwd=ROOT)
    client = ModbusGate("127.0.0.1", port, "VN-gate", "VN-weighbridge", "vietnam")
    deadline = time.monotonic() + 20
    while True:
        try:
            client.start()
            break
        except ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)
    try:
        yield client
    finally:
        client.stop()
        proc.terminate()
        proc.wait(timeout=10)


def until(check, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_barrier_opens_and_closes_on_command(gate: ModbusGate) -> None:
    assert gate.barrier_position() == 0
    gate.accept(BarrierCommand("VN-gate", "T1", True))
    until(lambda: gate.barrier_position() == 100)
    gate.accept(BarrierCommand("VN-gate", "T1", False))
    until(lambda: gate.barrier_position() == 0)
    assert not gate.barrier_fault()


def test_a_stable_weight_goes_to_the_gate_logic_which_compares_it_with_the_declaration(gate: ModbusGate) -> None:
    controller = FifoController(make_layout())  # tolerance 5 %
    gate.put_load(25_000)
    reading = gate.weigh("T1", declared_kg=25_500)
    assert reading.measured_kg == 25_000 and reading.truck_id == "T1"
    assert controller.on_event(reading, 0.0) == [WeighDecision("VN-weighbridge", "T1", True)]
    gate.put_load(0)
    until(lambda: gate.weight() == (0, True))
    gate.put_load(31_000)
    reading = gate.weigh("T2", declared_kg=25_000)
    assert controller.on_event(reading, 1.0) == [WeighDecision("VN-weighbridge", "T2", False)]


def test_no_weight_is_a_clear_timeout_and_no_server_a_clear_error(gate: ModbusGate) -> None:
    with pytest.raises(TimeoutError, match="no stable weight for T9"):
        gate.weigh("T9", declared_kg=20_000, timeout_s=0.5)
    lost = ModbusGate("127.0.0.1", free_port(), "VN-gate", "VN-weighbridge", "vietnam")
    with pytest.raises(ConnectionError, match="no Modbus gate answered"):
        lost.start()
