"""A gate lane's barrier and weighbridge over Modbus TCP: an emulator and the bridge client.

Holding registers of device 1 (one gate lane):

    0       barrier command: 0 close, 1 open (written by master control)
    1       barrier position, % open (0..100)
    2       barrier fault (0/1)
    10-11   weight on the bridge, kg (32 bits, high word first)
    12      weight stable (0/1)
    20-21   emulator only: the load a truck puts on the bridge, kg (what a test drives)
    30      emulator only: 1 answers every read with a Modbus exception (device failure)

The emulator runs pymodbus's `ModbusTcpServer` with a `SimDevice`; a task moves the
barrier toward its command at `barrier_speed` %/s and lets the weight settle on the
load with a little noise before it reports it stable.

`ModbusGate` is the controllers' barrier port (a `BarrierCommand` writes the command
register) and reads the bridge. A thread of its own talks to the device: it writes
what the loop asked for and reads the registers every `poll_s`; the loop reads what it
read last and never waits on the wire. Nothing it meets on the wire is raised into
the run: a lost link, a timeout or an exception response makes the gate faulted, a
`BarrierState` with the reason goes to its inbox, and it tries again after a back-off
(0.5 s doubling to 10 s). Once the device answers again the barrier is told to close
(a truck goes through only on a command sent since), the load on the bridge is
written again, and a `BarrierState` without fault says the gate is back.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Final

from pymodbus.client import ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from controllers.messages import BarrierCommand, BarrierState, Command, Event, Side, WeightReading
from controllers.ports import EventSink, not_taken
from hardware_bridge.backoff import Backoff
from hardware_bridge.downtime import Downtime
from hardware_bridge.inbox import drain

log = logging.getLogger(__name__)
DEVICE = 1
HOLDING = 3  # function code: read holding registers
COMMAND, POSITION, FAULT, WEIGHT, STABLE, LOAD, ERRORS = 0, 1, 2, 10, 12, 20, 30


def _split(kg: int) -> list[int]:
    return [(kg >> 16) & 0xFFFF, kg & 0xFFFF]


def _join(words: list[int]) -> int:
    return (words[0] << 16) | words[1]


def _covers(address: int, count: int, register: int) -> bool:
    return address <= register < address + count


class GateEmulator:
    """A gate lane as a Modbus TCP server on 127.0.0.1. With `exception_responses` (or
    once 1 is written to register 30) it answers every read with an exception response,
    as a device that has failed behind a working link does."""

    def __init__(
        self, port: int, barrier_speed: float = 50.0, settle_s: float = 1.0, seed: int = 1,
        exception_responses: bool = False,
    ) -> None:
        self.port = port
        self.speed = barrier_speed
        self.settle_s = settle_s
        self.rng = random.Random(seed)
        self.exception_responses = exception_responses
        device = SimDevice(
            DEVICE, [SimData(0, count=32, values=0, datatype=DataType.REGISTERS)], action=self._on_access
        )
        self.server = ModbusTcpServer(device, address=("127.0.0.1", port), trace_pdu=self._answer)

    async def _on_access(
        self, function_code: int, start: int, address: int, count: int,
        registers: list[int], values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if values is None:
            return None
        if _covers(address, count, LOAD) or _covers(address, count, LOAD + 1):
            registers[STABLE - start] = 0  # a truck drives on or off: not stable from this write on
        if _covers(address, count, ERRORS):
            self.exception_responses = bool(values[ERRORS - address])
        return None

    def _answer(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """What goes back to a client: a read's answer, or an exception while misbehaving."""
        if sending and self.exception_responses and pdu.function_code == HOLDING:
            return ExceptionResponse(HOLDING, ExcCodes.DEVICE_FAILURE, device_id=pdu.dev_id, transaction=pdu.transaction_id)
        return pdu

    async def _get(self, address: int, count: int = 1) -> list[int]:
        return list(await self.server.async_getValues(DEVICE, HOLDING, address, count))

    async def _set(self, address: int, values: list[int]) -> None:
        await self.server.async_setValues(DEVICE, 6 if len(values) == 1 else 16, address, values)

    async def _physics(self, tick_s: float = 0.05) -> None:
        load_since, last_load = time.monotonic(), -1
        while True:
            await asyncio.sleep(tick_s)
            command, position, fault = await self._get(COMMAND, 3)
            if not fault:
                target = 100 if command == 1 else 0
                step = int(self.speed * tick_s) or 1
                if position != target:
                    position = min(target, position + step) if target > position else max(target, position - step)
                    await self._set(POSITION, [position])
            load = _join(await self._get(LOAD, 2))
            now = time.monotonic()
            if load != last_load:
                load_since, last_load = now, load
            settled = now - load_since >= self.settle_s
            noise = 0 if settled or load == 0 else int(self.rng.uniform(-0.05, 0.05) * load)
            await self._set(WEIGHT, _split(max(0, load + noise)))
            await self._set(STABLE, [1 if settled else 0])

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until `stop`. A port that cannot be listened on raises `OSError` at once,
        naming the port and why."""
        _check_free(self.port)  # before pymodbus tries: it would only log its failure
        try:
            await self.server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"the gate emulator cannot listen on 127.0.0.1:{self.port}: {exc}") from None
        if self.exception_responses:
            await self._set(ERRORS, [1])
        physics = asyncio.create_task(self._physics())
        try:
            await stop.wait()
        finally:
            physics.cancel()
            await self.server.shutdown()


def _check_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(f"the gate emulator cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None


@dataclass(frozen=True, slots=True)
class _Reading:
    """The registers as the thread last read them."""

    command: int
    position: int
    fault: bool
    kg: int
    stable: bool
    load_version: int  # the load written before this read


class _Unanswered(Exception):
    """The device did not answer as it should: the link is lost, or it sent an error."""


class ModbusGate:
    """The controllers' barrier port, and the weighbridge reader, for one gate lane."""

    kind: Final = "barrier"

    def __init__(
        self, host: str, port: int, barrier_id: str, weighbridge_id: str, yard: Side, *,
        poll_s: float = 0.05, timeout_s: float = 1.0, backoff: Backoff | None = None,
    ) -> None:
        self.device_id = barrier_id
        self.weighbridge_id = weighbridge_id
        self.yard = yard
        self.poll_s = poll_s
        self.endpoint = f"{host}:{port}"
        self.timeout_s = timeout_s
        # no retries of its own: one missed answer is a fault, and the back-off takes over
        self.client = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        self.backoff = backoff or Backoff(0.5, 10.0)
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.downtime = Downtime()  # how often, and how long, the gate has been faulted
        self.reconnects = 0  # times the link was made again after a loss
        self.epoch = 0  # times it came back: a command sent before may never have reached it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"modbus-{barrier_id}", daemon=True)
        self._linked = False  # the link is made and the device answered its last request
        self._reason = ""  # why it is faulted, "" when it is not
        self._reading: _Reading | None = None
        # what the loop asked for, each with a version; the thread writes what is newer
        self._command, self._command_version, self._command_written = 0, 0, 0
        self._load, self._load_version, self._load_written = 0, 0, 0

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect, then talk to the device from a thread of its own. A device that does not
        take the connection stops the run before it starts; one that answers badly starts faulted."""
        if not self.client.connect():
            raise ConnectionError(f"no Modbus gate answered at {self.endpoint}")
        # pymodbus warns of every failed try; the gate says once, in its own words, what happened
        logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)
        with self._lock:
            self._command_version += 1  # master control takes over with the barrier closed
        self._linked = True
        self._exchange_or_fault()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.client.close()

    @property
    def connected(self) -> bool:
        """The link is made and the device answers."""
        return self._linked and self._reading is not None

    @property
    def faulted(self) -> bool:
        return bool(self._reason)

    @property
    def faults(self) -> int:
        """Times the gate went from working to faulted."""
        return self.downtime.faults

    def fault_s(self) -> float:
        """Wall seconds the gate has been faulted, all its faults together, the one now too."""
        return self.downtime.seconds()

    @property
    def reason(self) -> str:
        """Why the gate is faulted, in words ("" when it is not)."""
        return self._reason

    def drain(self, sink: EventSink) -> int:
        """Hand the gate's events (its faults, and that it is back) to the runtime, in order."""
        return drain(self.inbox, sink)

    # --- the barrier port --------------------------------------------------------------------

    def accept(self, command: Command) -> None:
        if not isinstance(command, BarrierCommand):
            raise not_taken(self.kind, self.device_id, command)
        with self._lock:
            # while faulted the barrier is held closed: the mirror opens it again once it is back
            self._command = 1 if command.open and not self.faulted else 0
            self._command_version += 1
        self._wake.set()

    def barrier_position(self) -> int | None:
        """The barrier's position, % open, as last read; None while the gate is faulted
        (what it was before cannot be trusted)."""
        reading = self._reading
        return None if reading is None or self.faulted else reading.position

    def barrier_fault(self) -> bool | None:
        """Whether the barrier says it is broken; None while it cannot be read."""
        reading = self._reading
        return None if reading is None else reading.fault

    # --- the weighbridge -----------------------------------------------------------------------

    def weight(self) -> tuple[int, bool] | None:
        """The weight on the bridge, kg, and whether it is stable, as read since the last
        load was put on it; None while there is no such reading (a failed read is never 0 kg)."""
        reading = self._reading
        if reading is None or self.faulted or reading.load_version != self._load_version:
            return None
        return reading.kg, reading.stable

    def weigh(self, truck_id: str, declared_kg: float, timeout_s: float = 10.0) -> WeightReading:
        """Wait for a stable weight and report it with the declaration."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = self.weight()
            if now is not None and now[1] and now[0] > 0:
                return WeightReading(self.weighbridge_id, self.yard, truck_id, float(now[0]), declared_kg)
            time.sleep(0.05)
        raise TimeoutError(f"{self.weighbridge_id}: no stable weight for {truck_id} within {timeout_s} s")

    def put_load(self, kg: int) -> None:
        """Emulator only: a truck of `kg` drives onto the bridge (0: it leaves). Written again
        after a lost link: the truck is still there."""
        if not 0 <= kg < 1 << 32:
            raise ValueError(f"{self.weighbridge_id}: a load must be 0 to {(1 << 32) - 1} kg, not {kg}")
        with self._lock:
            self._load = kg
            self._load_version += 1
        self._wake.set()

    # --- the thread ------------------------------------------------------------------------------

    def _work(self) -> None:
        wait = 0.0
        while not self._stop.is_set():
            try:
                if not self._linked:
                    if self._stop.wait(wait):
                        return
                    wait = self._reconnect()
                    continue
                self._exchange_or_fault()
            except Exception as exc:  # whatever it was, the run goes on with the gate faulted
                log.exception("%s: the gate client failed", self.device_id)
                self.client.close()
                self._linked, self._reading = False, None
                self._fault(f"{self.device_id} at {self.endpoint}: the client failed: {type(exc).__name__}: {exc}")
            if self._linked:
                self._wake.wait(self.poll_s)
                self._wake.clear()
            else:
                wait = self.backoff.next()

    def _reconnect(self) -> float:
        """Make the link again; the wait before the next try if it failed."""
        if not self.client.connect():
            self.client.close()
            return self.backoff.next()
        with self._lock:
            self._command_written = -1  # closed, as the fault left it, whatever the device was told before
            self._load_written = -1 if self._load_version else 0  # the truck on the bridge, again
        self._linked = True
        self.reconnects += 1
        self._exchange_or_fault()
        if not self._linked:
            return self.backoff.next()
        self.backoff.reset()
        return 0.0

    def _exchange_or_fault(self) -> None:
        try:
            reading = self._exchange()
        except _Unanswered as exc:
            self.client.close()
            self._linked = False
            self._reading = None
            self._fault(str(exc))
            return
        self._reading = reading
        self._fault("the barrier reports a fault (register 2)" if reading.fault else "")

    def _exchange(self) -> _Reading:
        """Write what is newer than what was written, then read the registers."""
        with self._lock:
            command, command_version = self._command, self._command_version
            load, load_version = self._load, self._load_version
            load_due = self._load_written != load_version
        try:
            if self._command_written != command_version:
                self._write(COMMAND, [command])
                self._command_written = command_version
            if load_due:
                self._write(LOAD, _split(load))
                self._load_written = load_version
            command, position, fault = self._read(COMMAND, 3)
            words = self._read(WEIGHT, 3)
        except (ModbusException, OSError) as exc:  # a lost link, or no answer in time
            raise _Unanswered(f"{self.device_id} at {self.endpoint}: {self._lost(exc)}") from None
        return _Reading(command, position, bool(fault), _join(words[:2]), words[2] == 1, load_version)

    def _lost(self, exc: ModbusException | OSError) -> str:
        """What went wrong on the wire, in a few words (pymodbus's own run to a paragraph)."""
        if isinstance(exc, ConnectionException):
            return "link lost: the connection was closed or refused"
        if isinstance(exc, ModbusIOException):
            return f"no answer within {self.timeout_s:g} s"
        if isinstance(exc, ModbusException):
            return f"link lost: {exc.string}"
        return f"link lost: {exc.strerror or exc}"

    def _read(self, address: int, count: int) -> list[int]:
        reply = self.client.read_holding_registers(address, count=count, device_id=DEVICE)
        if reply.isError():
            raise _Unanswered(f"{self.device_id} at {self.endpoint}: {_error('a read', address, reply)}")
        return list(reply.registers)

    def _write(self, address: int, values: list[int]) -> None:
        reply = (
            self.client.write_register(address, values[0], device_id=DEVICE)
            if len(values) == 1
            else self.client.write_registers(address, values, device_id=DEVICE)
        )
        if reply.isError():
            raise _Unanswered(f"{self.device_id} at {self.endpoint}: {_error('a write', address, reply)}")

    def _fault(self, reason: str) -> None:
        """Say when the gate faults and when it is back (once each), with the reason."""
        was = self._reason
        if bool(reason) == bool(was):
            if reason:
                self._reason = reason  # still faulted: the latest reason
            return
        if reason:
            with self._lock:
                self._command, self._command_version = 0, self._command_version + 1  # held closed
            self.downtime.began()
            log.warning("%s faulted: %s", self.device_id, reason)
        else:
            self.downtime.ended()
            self.epoch += 1
            log.warning("%s is back", self.device_id)
        self._reason = reason
        self.inbox.put(BarrierState(self.device_id, self.yard, bool(reason), reason or "it answers again"))


def _error(what: str, address: int, reply: ModbusPDU) -> str:
    """An error answer in words: which request, which register, which exception."""
    if isinstance(reply, ExceptionResponse):
        try:
            name = ExcCodes(reply.exception_code).name.lower().replace("_", " ")
        except ValueError:
            name = "unknown"
        return f"answered {what} of register {address} with Modbus exception {reply.exception_code} ({name})"
    return f"{what} of register {address} failed: {reply}"


def serve_gate(port: int, barrier_speed: float = 50.0, settle_s: float = 1.0, exception_responses: bool = False) -> None:
    """Run a gate-lane emulator until interrupted (the `checkpoint emulate gate` command).
    A port that cannot be listened on raises `OSError` at once."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await GateEmulator(port, barrier_speed, settle_s, exception_responses=exception_responses).serve(stop)

    asyncio.run(main())
