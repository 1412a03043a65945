"""A gate lane's barrier and weighbridge over Modbus TCP: an emulator and the bridge client.

Holding registers of device 1 (one gate lane):

    0       barrier command: 0 close, 1 open (written by master control)
    1       barrier position, % open (0..100)
    2       barrier fault (0/1)
    10-11   weight on the bridge, kg (32 bits, high word first)
    12      weight stable (0/1)
    20-21   emulator only: the load a truck puts on the bridge, kg (what a test drives)

The emulator runs pymodbus's `ModbusTcpServer` with a `SimDevice`; a task moves the
barrier toward its command at `barrier_speed` %/s and lets the weight settle on the
load with a little noise before it reports it stable. `ModbusGate` is the controllers'
barrier port (a `BarrierCommand` writes the command register) and reads the bridge:
`weigh` waits for a stable weight and returns the `WeightReading` the gate logic
compares with the declaration.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Final

from pymodbus.client import ModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from controllers.messages import BarrierCommand, Command, Side, WeightReading
from controllers.ports import not_taken

DEVICE = 1
HOLDING = 3  # function code: read holding registers
COMMAND, POSITION, FAULT, WEIGHT, STABLE, LOAD = 0, 1, 2, 10, 12, 20


def _split(kg: int) -> list[int]:
    return [(kg >> 16) & 0xFFFF, kg & 0xFFFF]


def _join(words: list[int]) -> int:
    return (words[0] << 16) | words[1]


class GateEmulator:
    def __init__(self, port: int, barrier_speed: float = 50.0, settle_s: float = 1.0, seed: int = 1) -> None:
        self.port = port
        self.speed = barrier_speed
        self.settle_s = settle_s
        self.rng = random.Random(seed)
        device = SimDevice(DEVICE, [SimData(0, count=32, values=0, datatype=DataType.REGISTERS)])
        self.server = ModbusTcpServer(device, address=("127.0.0.1", port))

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
        physics = asyncio.create_task(self._physics())
        serving = asyncio.create_task(self.server.serve_forever())
        await stop.wait()
        physics.cancel()
        await self.server.shutdown()
        serving.cancel()


class ModbusGate:
    """The controllers' barrier port, and the weighbridge reader, for one gate lane."""

    kind: Final = "barrier"

    def __init__(self, host: str, port: int, barrier_id: str, weighbridge_id: str, yard: Side) -> None:
        self.device_id = barrier_id
        self.weighbridge_id = weighbridge_id
        self.yard = yard
        self.client = ModbusTcpClient(host, port=port, timeout=2)

    def start(self) -> None:
        if not self.client.connect():
            raise ConnectionError(f"no Modbus gate answered at {self.client.comm_params.host}:{self.client.comm_params.port}")

    def stop(self) -> None:
        self.client.close()

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    def _read(self, address: int, count: int = 1) -> list[int]:
        reply = self.client.read_holding_registers(address, count=count, device_id=DEVICE)
        if reply.isError():
            raise OSError(f"{self.device_id}: reading register {address} failed: {reply}")
        return list(reply.registers)

    def _write(self, address: int, values: list[int]) -> None:
        reply = (
            self.client.write_register(address, values[0], device_id=DEVICE)
            if len(values) == 1
            else self.client.write_registers(address, values, device_id=DEVICE)
        )
        if reply.isError():
            raise OSError(f"{self.device_id}: writing register {address} failed: {reply}")

    # --- the barrier port --------------------------------------------------------------------

    def accept(self, command: Command) -> None:
        if not isinstance(command, BarrierCommand):
            raise not_taken(self.kind, self.device_id, command)
        self._write(COMMAND, [1 if command.open else 0])

    def barrier_position(self) -> int:
        return self._read(POSITION)[0]

    def barrier_fault(self) -> bool:
        return bool(self._read(FAULT)[0])

    # --- the weighbridge -----------------------------------------------------------------------

    def weight(self) -> tuple[int, bool]:
        """The weight on the bridge now, kg, and whether it is stable."""
        words = self._read(WEIGHT, 3)
        return _join(words[:2]), words[2] == 1

    def weigh(self, truck_id: str, declared_kg: float, timeout_s: float = 10.0) -> WeightReading:
        """Wait for a stable weight and report it with the declaration."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            kg, stable = self.weight()
            if stable and kg > 0:
                return WeightReading(self.weighbridge_id, self.yard, truck_id, float(kg), declared_kg)
            time.sleep(0.05)
        raise TimeoutError(f"{self.weighbridge_id}: no stable weight for {truck_id} within {timeout_s} s")

    def put_load(self, kg: int) -> None:
        """Emulator only: a truck of `kg` drives onto the bridge (0: it leaves)."""
        self._write(LOAD, _split(kg))


def serve_gate(port: int, barrier_speed: float = 50.0, settle_s: float = 1.0) -> None:
    """Run a gate-lane emulator until interrupted (the `checkpoint emulate gate` command)."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await GateEmulator(port, barrier_speed, settle_s).serve(stop)

    asyncio.run(main())
