"""Cranes over OPC UA: an emulator (an asyncua server) and the bridge client.

The crane object exposes its state as variables — Position (m along the bay), Spreader
("open" or "locked"), Load (container id, "" when empty), Fault, Busy — and methods
Pick(container), Place(target), Move(position) and, for engineers, SetFault(on). A
method starts the motion and answers at once whether it was accepted; Busy falls back
to false when the motion ends.

`OpcUaCrane` is the controllers' device port for such a crane: a `CraneCommand`
becomes Move/Pick/Move/Place, and the end of the sequence, or a fault, comes back as a
`CraneState` event. Like the vehicle link it runs its protocol work on a thread of its
own and leaves the events in `inbox` for the loop that owns the controllers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from typing import Any, Final

from asyncua import Client, Server, ua
from asyncua.common.methods import uamethod

from controllers.messages import Command, CraneCommand, CraneState, Event, Side
from controllers.ports import EventSink, not_taken
from hardware_bridge.inbox import drain

log = logging.getLogger(__name__)
NAMESPACE = "urn:langson:checkpoint:crane"
# where a crane reaches each place in its bay, metres (est.)
BAY = {"truck": 5.0, "carrier": 15.0, "stack": 30.0}


class CraneEmulator:
    """An automated crane as an OPC UA server."""

    def __init__(self, port: int, move_s: float = 2.0, name: str = "Crane") -> None:
        self.url = f"opc.tcp://127.0.0.1:{port}/crane/"
        self.move_s = move_s
        self.name = name
        self.server = Server()
        self.vars: dict[str, Any] = {}

    async def setup(self) -> None:
        await self.server.init()
        self.server.set_endpoint(self.url)
        self.server.set_server_name("Lang Son checkpoint crane emulator")
        idx = await self.server.register_namespace(NAMESPACE)
        crane = await self.server.nodes.objects.add_object(idx, self.name)
        for name, value in (("Position", 0.0), ("Spreader", "open"), ("Load", ""), ("Fault", False), ("Busy", False)):
            self.vars[name] = await crane.add_variable(idx, name, value)
        string, double, boolean = ua.VariantType.String, ua.VariantType.Double, ua.VariantType.Boolean
        await crane.add_method(idx, "Pick", self._pick, [string], [boolean])
        await crane.add_method(idx, "Place", self._place, [string], [boolean])
        await crane.add_method(idx, "Move", self._move, [double], [boolean])
        await crane.add_method(idx, "SetFault", self._set_fault, [boolean], [boolean])

    async def _get(self, name: str) -> Any:
        return await self.vars[name].read_value()

    async def _set(self, name: str, value: Any) -> None:
        await self.vars[name].write_value(value)

    async def _can_start(self) -> bool:
        return not await self._get("Busy") and not await self._get("Fault")

    async def _motion(self, seconds: float, **after: Any) -> None:
        await self._set("Busy", True)
        await asyncio.sleep(seconds)
        while await self._get("Fault"):  # a fault stops the motion until it is cleared
            await asyncio.sleep(0.05)
        for name, value in after.items():
            await self._set(name, value)
        await self._set("Busy", False)

    @uamethod
    async def _pick(self, parent: Any, container: str) -> bool:
        if not await self._can_start() or await self._get("Load"):
            return False
        asyncio.ensure_future(self._motion(self.move_s / 2, Load=container, Spreader="locked"))
        return True

    @uamethod
    async def _place(self, parent: Any, target: str) -> bool:
        if not await self._can_start() or not await self._get("Load"):
            return False
        asyncio.ensure_future(self._motion(self.move_s / 2, Load="", Spreader="open"))
        return True

    @uamethod
    async def _move(self, parent: Any, position: float) -> bool:
        if not await self._can_start():
            return False
        distance = abs(position - await self._get("Position"))
        asyncio.ensure_future(self._motion(self.move_s * distance / 50.0, Position=float(position)))
        return True

    @uamethod
    async def _set_fault(self, parent: Any, on: bool) -> bool:
        await self._set("Fault", bool(on))
        return True

    async def serve(self, stop: asyncio.Event) -> None:
        await self.setup()
        async with self.server:
            await stop.wait()


class OpcUaCrane:
    """The device port for one crane behind an OPC UA server."""

    kind: Final = "crane"

    def __init__(self, url: str, device_id: str, yard: Side, poll_s: float = 0.05, name: str = "Crane") -> None:
        self.url, self.device_id, self.yard, self.poll_s, self.name = url, device_id, yard, poll_s, name
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"opcua-{device_id}", daemon=True)
        self._client: Client | None = None
        self._crane: Any = None
        self._idx = 0
        self._busy = False
        self._fault = False
        self._watch: concurrent.futures.Future[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(timeout_s)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._close_loop()
            raise
        self._watch = asyncio.run_coroutine_threadsafe(self._watch_fault(), self._loop)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.disconnect(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._close_loop()

    def _close_loop(self) -> None:
        """Close the stopped loop now: one left to the collector at exit fails on its
        already closed descriptors and prints a traceback."""
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    async def _connect(self) -> None:
        client = Client(self.url, timeout=5)
        try:
            await client.connect()
        except (TimeoutError, OSError) as exc:
            raise ConnectionError(f"no OPC UA crane answered at {self.url}: {exc}") from None
        self._client = client
        self._idx = await client.get_namespace_index(NAMESPACE)
        self._crane = await client.nodes.objects.get_child([f"{self._idx}:{self.name}"])

    async def _read(self, name: str) -> Any:
        node = await self._crane.get_child([f"{self._idx}:{name}"])
        return await node.read_value()

    async def _call(self, method: str, *args: Any) -> None:
        accepted = await self._crane.call_method(f"{self._idx}:{method}", *args)
        if not accepted:
            raise RuntimeError(f"{self.device_id} refused {method}{args}")
        await asyncio.sleep(self.poll_s)
        while await self._read("Busy"):
            await asyncio.sleep(self.poll_s)

    # --- the device port -------------------------------------------------------------------

    def accept(self, command: Command) -> None:
        if not isinstance(command, CraneCommand):
            raise not_taken(self.kind, self.device_id, command)
        self._busy = True
        asyncio.run_coroutine_threadsafe(self._run(command), self._loop)

    async def _run(self, cmd: CraneCommand) -> None:
        source, target = {
            "load": ("truck", "carrier"),
            "unload": ("carrier", "truck" if cmd.to_truck else "stack"),
            "deliver": ("stack", "truck"),
        }[cmd.op]
        try:
            await self._call("Move", BAY[source])
            await self._call("Pick", cmd.container_id)
            await self._call("Move", BAY[target])
            await self._call("Place", target)
        except Exception as exc:  # a refusal or a lost server: the controllers learn of a fault
            log.warning("%s: %s", self.device_id, exc)
            self.refused += 1
            self.inbox.put(CraneState(self.device_id, self.yard, False, True))
            return
        self._busy = False
        self.inbox.put(
            CraneState(self.device_id, self.yard, False, self._fault, cmd.op, cmd.container_id, cmd.carrier_id, target)  # type: ignore[arg-type]
        )

    async def _watch_fault(self) -> None:
        while True:
            fault = bool(await self._read("Fault"))
            if fault != self._fault:
                self._fault = fault
                self.inbox.put(CraneState(self.device_id, self.yard, self._busy, fault))
            await asyncio.sleep(self.poll_s)

    def drain(self, sink: EventSink) -> int:
        """Hand the crane's events to the runtime, in arrival order."""
        return drain(self.inbox, sink)


def serve_crane(port: int, move_s: float) -> None:
    """Run a crane emulator until interrupted (the `checkpoint emulate crane` command)."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await CraneEmulator(port, move_s).serve(stop)

    asyncio.run(main())
