"""A crane over OPC UA: the emulator as its own process, the bridge client as the device port."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from asyncua import Client
from broker import Sink, free_port
from conftest import ROOT

from controllers.messages import CraneCommand, CraneState
from hardware_bridge.opcua_crane import NAMESPACE, OpcUaCrane


@pytest.fixture
def crane() -> Iterator[tuple[OpcUaCrane, str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "emulate", "crane", "--port", str(port), "--move-s", "0.4"], cwd=ROOT
    )
    url = f"opc.tcp://127.0.0.1:{port}/crane/"
    client = OpcUaCrane(url, "VN-crane-1", "vietnam")
    deadline = time.monotonic() + 20
    while True:
        try:
            client.start(timeout_s=5)
            break
        except ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            client = OpcUaCrane(url, "VN-crane-1", "vietnam")
            time.sleep(0.3)
    try:
        yield client, url
    finally:
        client.stop()
        proc.terminate()
        proc.wait(timeout=10)


def until(crane: OpcUaCrane, sink: Sink, check, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        crane.drain(sink)
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; events: {sink.events}")


def set_fault(url: str, on: bool) -> None:
    async def go() -> None:
        async with Client(url) as client:
            idx = await client.get_namespace_index(NAMESPACE)
            crane = await client.nodes.objects.get_child([f"{idx}:Crane"])
            await crane.call_method(f"{idx}:SetFault", on)

    asyncio.run(go())


def test_a_load_command_moves_the_container_and_reports_done(crane) -> None:  # type: ignore[no-untyped-def]
    port, _ = crane
    sink = Sink()
    port.accept(CraneCommand("VN-crane-1", "load", "VNLU0000011", "AGV-001"))
    until(port, sink, lambda: any(isinstance(e, CraneState) and e.done_op for e in sink.events))
    done = [e for e in sink.events if isinstance(e, CraneState) and e.done_op][0]
    assert (done.done_op, done.container_id, done.carrier_id, done.placed_on) == ("load", "VNLU0000011", "AGV-001", "carrier")
    port.accept(CraneCommand("VN-crane-1", "unload", "VNLU0000011", "AGV-001", to_truck=False))
    until(port, sink, lambda: sum(1 for e in sink.events if isinstance(e, CraneState) and e.done_op) == 2)
    assert [e for e in sink.events if isinstance(e, CraneState) and e.done_op][-1].placed_on == "stack"


def test_a_fault_is_reported_and_a_faulty_crane_holds_its_move_until_it_is_cleared(crane) -> None:  # type: ignore[no-untyped-def]
    port, url = crane
    sink = Sink()
    set_fault(url, True)
    until(port, sink, lambda: any(isinstance(e, CraneState) and e.fault for e in sink.events))
    assert port.reason == "VN-crane-1 reports a fault (Fault)"
    port.accept(CraneCommand("VN-crane-1", "deliver", "VNLU0000011"))
    time.sleep(1.0)  # longer than the move: it is not begun while the crane is faulted
    port.drain(sink)
    assert not any(isinstance(e, CraneState) and e.done_op for e in sink.events)
    set_fault(url, False)
    until(port, sink, lambda: any(isinstance(e, CraneState) and e.done_op for e in sink.events))
    states = [e for e in sink.events if isinstance(e, CraneState)]
    assert [(e.fault, e.reason) for e in states if e.done_op is None] == [
        (True, "VN-crane-1 reports a fault (Fault)"), (False, "its fault is cleared")]
    assert [e.placed_on for e in states if e.done_op] == ["truck"] and port.refused == 0


def test_no_server_is_a_clear_error() -> None:
    port = OpcUaCrane(f"opc.tcp://127.0.0.1:{free_port()}/crane/", "VN-crane-1", "vietnam")
    with pytest.raises(ConnectionError, match="no OPC UA crane answered"):
        port.start(timeout_s=10)
