"""Cranes over OPC UA: an emulator (an asyncua server) and the bridge client.

The crane object exposes its state as variables — Position (m along the bay, a
Double), Spreader ("open" or "locked"), Load (container id, "" when empty), Fault,
Busy — and methods Pick(container), Place(target), Move(position) and, for engineers,
SetFault(on) and Misbehave(mode). A method starts the motion and answers at once
whether it was accepted; Busy is true from then until the motion ends.

The emulator keeps the crane's state itself and answers every read of a variable from
it, so it can misbehave on demand (`Misbehave`, or `checkpoint emulate crane
--misbehave MODE` from the start; "" behaves again):

- a Bad status code's name (`BadInternalError`, `BadNodeIdUnknown`, `BadTimeout`, any
  other): every read of the crane's variables and every method call is answered with it;
  `calls:CODE` answers only the method calls so;
- `wrong-types`: every variable, and every method's answer, of a type it should not be
  (Position a String, Busy a Double, ...);
- `out-of-range`: values it cannot have (Position outside the bay, Spreader "half", a
  Load 500 characters long);
- `drop-mid-move`: halfway through each motion the server closes (its sessions and its
  port) and opens again `down_s` later; the crane finishes the motion meanwhile, as a
  real one behind a lost link does.

`OpcUaCrane` is the controllers' device port for such a crane: a `CraneCommand`
becomes Move/Pick/Move/Place, and the end of the move, or a fault, comes back as a
`CraneState` event. Like the vehicle link it runs its protocol work on a thread of its
own and leaves the events in `inbox` for the loop that owns the controllers. Nothing it
meets on the wire is raised into the run: a lost link, a request unanswered within
`timeout_s`, a bad status code, a value of the wrong type or out of range, or a call
the crane refuses makes the crane faulted (a `CraneState` with fault and the reason);
then it drops the session (but for a refusal) and tries again after a back-off (0.5 s
doubling to 10 s). A move under way is held, never given up: once the crane answers
again the client reads the crane's own state — where it stands, what it holds — and
goes on from there. A container it still holds is placed; one it placed while unseen is
reported placed, once; one it no longer holds (a crane restarted empty) is picked again
where the world still has it, since the world moves a container only when the crane
reports the move done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Literal

from asyncua import Client, Server, ua
from asyncua.common.methods import uamethod

from controllers.messages import Command, CraneCommand, CraneState, Event, Side
from controllers.ports import EventSink, not_taken
from hardware_bridge.backoff import Backoff
from hardware_bridge.downtime import Downtime
from hardware_bridge.inbox import drain

log = logging.getLogger(__name__)
NAMESPACE = "urn:langson:checkpoint:crane"
# where a crane reaches each place in its bay, metres (est.)
BAY = {"truck": 5.0, "carrier": 15.0, "stack": 30.0}
BAY_LENGTH_M = 50.0  # the crane travels 0..50 m along its bay (est.)
LOAD_MAX_CHARS = 64  # a container code has 11: a longer load is no container
AT_M = 0.01  # a crane this close to a place stands at it
Target = Literal["truck", "carrier", "stack"]
ROUTES: Final[dict[str, tuple[Target, Target]]] = {  # op -> (where it picks, where it places)
    "load": ("truck", "carrier"),
    "unload": ("carrier", "stack"),
    "unload_to_truck": ("carrier", "truck"),
    "deliver": ("stack", "truck"),
}

_T = ua.VariantType
VARIABLES: Final = {"Position": _T.Double, "Spreader": _T.String, "Load": _T.String, "Fault": _T.Boolean, "Busy": _T.Boolean}
SPREADER = ("open", "locked")
MISBEHAVIOURS = ("wrong-types", "out-of-range", "drop-mid-move")
_WRONG_TYPES: Final = {
    "Position": ua.Variant("12.5", _T.String), "Spreader": ua.Variant(1, _T.Int32), "Load": ua.Variant(42, _T.Int64),
    "Fault": ua.Variant("no", _T.String), "Busy": ua.Variant(1.0, _T.Double),
}
_OUT_OF_RANGE: Final[dict[str, Any]] = {"Position": -1000.0, "Spreader": "half", "Load": "X" * 500}


def misbehaviour(mode: str) -> str:
    """`mode`, if the emulator knows it ("" to behave); else `ValueError` saying what it knows."""
    code = mode.removeprefix("calls:")
    if mode in ("", *MISBEHAVIOURS) or (code.startswith("Bad") and hasattr(ua.StatusCodes, code)):
        return mode
    raise ValueError(
        f"unknown crane misbehaviour {mode!r}: a Bad status code's name (BadInternalError, BadNodeIdUnknown, "
        f"BadTimeout, ...), calls:CODE, {', '.join(MISBEHAVIOURS)}, or '' to behave"
    )


def _status(code: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, code))


class CraneEmulator:
    """An automated crane as an OPC UA server on 127.0.0.1."""

    def __init__(self, port: int, move_s: float = 2.0, name: str = "Crane", misbehave: str = "", down_s: float = 1.0) -> None:
        self.port = port
        self.url = f"opc.tcp://127.0.0.1:{port}/crane/"
        self.move_s = move_s
        self.name = name
        self.down_s = down_s
        self.misbehave = misbehaviour(misbehave)
        self.state: dict[str, Any] = {"Position": 0.0, "Spreader": "open", "Load": "", "Fault": False, "Busy": False}
        self.server = Server()
        self.online = False  # the server listens
        self.drops = 0  # times it closed mid-move
        self._set_up = False
        self._tasks: set[asyncio.Future[None]] = set()

    async def setup(self) -> None:
        await self.server.init()
        self.server.set_endpoint(self.url)
        self.server.set_server_name("Lang Son checkpoint crane emulator")
        idx = await self.server.register_namespace(NAMESPACE)
        crane = await self.server.nodes.objects.add_object(idx, self.name)
        for name, kind in VARIABLES.items():
            var = await crane.add_variable(idx, name, ua.Variant(self.state[name], kind))
            self.server.set_attribute_value_callback(var.nodeid, self._reader(name))
        string, double, boolean = _T.String, _T.Double, _T.Boolean
        await crane.add_method(idx, "Pick", self._pick, [string], [boolean])
        await crane.add_method(idx, "Place", self._place, [string], [boolean])
        await crane.add_method(idx, "Move", self._move, [double], [boolean])
        await crane.add_method(idx, "SetFault", self._set_fault, [boolean], [boolean])
        await crane.add_method(idx, "Misbehave", self._misbehave, [string], [boolean])
        self._set_up = True

    # --- what a client reads ---------------------------------------------------------------

    def _reader(self, name: str) -> Callable[[ua.NodeId, ua.AttributeIds], ua.DataValue]:
        def read(nodeid: ua.NodeId, attr: ua.AttributeIds) -> ua.DataValue:
            return self._value(name)

        return read

    def _value(self, name: str) -> ua.DataValue:
        """A variable as the crane answers it now: its state, or as it misbehaves."""
        mode = self.misbehave
        if mode.startswith("Bad"):
            return ua.DataValue(StatusCode=_status(mode))
        if mode == "wrong-types":
            return ua.DataValue(_WRONG_TYPES[name])
        value = _OUT_OF_RANGE.get(name, self.state[name]) if mode == "out-of-range" else self.state[name]
        return ua.DataValue(ua.Variant(value, VARIABLES[name]))

    def _refuse_call(self) -> ua.StatusCode | None:
        """The status code every call is answered with while it misbehaves so."""
        code = self.misbehave.removeprefix("calls:")
        return _status(code) if code.startswith("Bad") else None

    def _answer(self, accepted: bool) -> Any:
        return ua.Variant(str(accepted).lower(), _T.String) if self.misbehave == "wrong-types" else accepted

    # --- its methods ---------------------------------------------------------------------------

    def _can_start(self) -> bool:
        return not self.state["Busy"] and not self.state["Fault"]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start(self, seconds: float, **after: Any) -> None:
        self.state["Busy"] = True  # from the answer on: a client reads it busy at once
        self._spawn(self._motion(seconds, after))
        if self.misbehave == "drop-mid-move":
            self._spawn(self._drop(seconds / 2))

    async def _motion(self, seconds: float, after: dict[str, Any]) -> None:
        await asyncio.sleep(seconds)
        while self.state["Fault"]:  # a fault stops the motion until it is cleared
            await asyncio.sleep(0.05)
        self.state.update(after)
        self.state["Busy"] = False

    async def _drop(self, after_s: float) -> None:
        """Close the server, sessions and port, in the middle of a motion; open it again later."""
        await asyncio.sleep(after_s)
        if not self.online:
            return
        await self.close()
        self.drops += 1
        await asyncio.sleep(self.down_s)
        await self.open()

    @uamethod
    async def _pick(self, parent: Any, container: str) -> Any:
        refusal = self._refuse_call()
        if refusal is not None:
            return refusal
        accepted = self._can_start() and not self.state["Load"]
        if accepted:
            self._start(self.move_s / 2, Load=container, Spreader="locked")
        return self._answer(accepted)

    @uamethod
    async def _place(self, parent: Any, target: str) -> Any:
        refusal = self._refuse_call()
        if refusal is not None:
            return refusal
        accepted = self._can_start() and bool(self.state["Load"])
        if accepted:
            self._start(self.move_s / 2, Load="", Spreader="open")
        return self._answer(accepted)

    @uamethod
    async def _move(self, parent: Any, position: float) -> Any:
        refusal = self._refuse_call()
        if refusal is not None:
            return refusal
        accepted = self._can_start() and 0 <= position <= BAY_LENGTH_M
        if accepted:
            distance = abs(position - self.state["Position"])
            self._start(self.move_s * distance / BAY_LENGTH_M, Position=float(position))
        return self._answer(accepted)

    @uamethod
    async def _set_fault(self, parent: Any, on: bool) -> bool:
        self.state["Fault"] = bool(on)
        return True

    @uamethod
    async def _misbehave(self, parent: Any, mode: str) -> bool:
        try:
            self.misbehave = misbehaviour(mode)
        except ValueError:
            return False
        return True

    # --- serving -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Listen (set up first if it is not)."""
        if not self._set_up:
            await self.setup()
        await self.server.start()
        self.online = True

    async def close(self) -> None:
        """Stop listening and drop every session; the crane's state is kept."""
        if self.online:
            self.online = False
            await self.server.stop()

    async def serve(self, stop: asyncio.Event) -> None:
        await self.open()
        try:
            await stop.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self.close()


@dataclass(frozen=True, slots=True)
class CraneReading:
    """The crane's variables as the client last read them, each of its type and in range."""

    position: float
    spreader: str
    load: str
    fault: bool
    busy: bool

    def at(self, place: Target) -> bool:
        return abs(self.position - BAY[place]) < AT_M


class _Trouble(Exception):
    """The crane did not answer as it should; `drop`: the session is no good any more."""

    def __init__(self, reason: str, drop: bool = True) -> None:
        super().__init__(reason)
        self.drop = drop


@dataclass
class _Move:
    """A command and how far the client has seen it go."""

    cmd: CraneCommand
    source: Target
    target: Target
    picked: bool = False  # the crane was seen holding the container
    placing: bool = False  # a Place was sent (its answer may have been lost)


class OpcUaCrane:
    """The device port for one crane behind an OPC UA server."""

    kind: Final = "crane"

    def __init__(
        self, url: str, device_id: str, yard: Side, poll_s: float = 0.05, name: str = "Crane", *,
        timeout_s: float = 2.0, backoff: Backoff | None = None,
    ) -> None:
        self.url, self.device_id, self.yard, self.poll_s, self.name = url, device_id, yard, poll_s, name
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff(0.5, 10.0)
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.refused = 0  # calls the crane answered with false
        self.downtime = Downtime()  # how often, and how long, the crane has been faulted
        self.reconnects = 0  # times the session was made again after a loss
        self.moves_done = 0
        self.moves_restarted = 0  # moves begun again: the crane no longer held what it had lifted
        self.reading: CraneReading | None = None  # what it read last, None while it cannot be read
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"opcua-{device_id}", daemon=True)
        self._client: Client | None = None
        self._nodes: list[Any] = []  # the variables, in the order of VARIABLES
        self._crane_id: ua.NodeId | None = None
        self._methods: dict[str, ua.NodeId] = {}
        self._moves: deque[_Move] = deque()
        self._wake: asyncio.Event | None = None
        self._work_task: asyncio.Task[None] | None = None
        self._trouble = ""  # why it cannot be told or read, "" when it can
        self._refusal = ""  # the call it refused last, until one is accepted
        self._reason = ""  # why it is faulted, as last reported

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, then talk to the crane from a thread of its own. A crane that does not
        take the connection stops the run before it starts (`ConnectionError`); one that
        answers badly starts faulted."""
        # asyncua warns of each close on a link already lost; the crane says once, in its own words, what happened
        logging.getLogger("asyncua.client").setLevel(logging.ERROR)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._first_connect(), self._loop).result(timeout_s)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._close_loop()
            raise
        self._work_task = asyncio.run_coroutine_threadsafe(self._begin(), self._loop).result(timeout_s)

    async def _first_connect(self) -> None:
        try:
            await self._connect()
        except _Trouble as trouble:
            await self._drop()
            raise ConnectionError(f"no OPC UA crane answered at {self.url}: {trouble}") from None
        try:
            self.reading = await self._read()
        except _Trouble as trouble:  # it answers, but not as it should: the run starts with it faulted
            await self._drop()
            self._trouble = self._about(trouble)
        self._report()

    async def _begin(self) -> asyncio.Task[None]:
        self._wake = asyncio.Event()
        return asyncio.create_task(self._work())

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(2 * self.timeout_s + 5)
            except Exception as exc:  # closing must go on to the loop
                log.warning("%s: closing: %s", self.device_id, exc)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._close_loop()

    async def _shutdown(self) -> None:
        task = self._work_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop()

    def _close_loop(self) -> None:
        """Close the stopped loop now: one left to the collector at exit fails on its
        already closed descriptors and prints a traceback."""
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    @property
    def connected(self) -> bool:
        """The session is made and the crane answered its last read."""
        return self._client is not None and self.reading is not None

    @property
    def faulted(self) -> bool:
        return bool(self._reason)

    @property
    def reason(self) -> str:
        """Why the crane is faulted, in words ("" when it is not)."""
        return self._reason

    @property
    def busy(self) -> bool:
        """It has a move to finish."""
        return bool(self._moves)

    @property
    def faults(self) -> int:
        """Times the crane went from working to faulted."""
        return self.downtime.faults

    def fault_s(self) -> float:
        """Wall seconds the crane has been faulted, all its faults together, the one now too."""
        return self.downtime.seconds()

    # --- the device port -------------------------------------------------------------------

    def accept(self, command: Command) -> None:
        if not isinstance(command, CraneCommand):
            raise not_taken(self.kind, self.device_id, command)
        route = "unload_to_truck" if command.op == "unload" and command.to_truck else command.op
        source, target = ROUTES[route]
        self._loop.call_soon_threadsafe(self._take, _Move(command, source, target))

    def _take(self, move: _Move) -> None:
        self._moves.append(move)
        if self._wake is not None:
            self._wake.set()

    def drain(self, sink: EventSink) -> int:
        """Hand the crane's events to the runtime, in arrival order."""
        return drain(self.inbox, sink)

    # --- the loop's work ---------------------------------------------------------------------

    async def _work(self) -> None:
        """Read the crane, take the move under way one step on, and meet whatever goes wrong
        with a fault and a back-off: nothing leaves this loop but its cancellation."""
        if self._trouble:
            await self._nap(self.backoff.next())
        while True:
            try:
                if self._client is None:
                    await self._connect()
                    self.reconnects += 1
                reading = await self._read()
                if self._trouble:  # it answers again: the next loss starts the back-off afresh
                    self.backoff.reset()
                self.reading, self._trouble = reading, ""
                self._report()
                if self._moves and not reading.busy and not reading.fault:
                    await self._step(self._moves[0], reading)
                else:
                    await self._nap(self.poll_s)
                continue
            except _Trouble as trouble:
                if trouble.drop:
                    await self._drop()
                    self._trouble = self._about(trouble)
                else:
                    self._refusal = self._about(trouble)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():  # stopped: the one way out
                    raise
                await self._drop()  # a request cancelled under it: the link is no good
                self._trouble = f"{self.device_id} at {self.url}: link lost: a request was cancelled"
            except Exception as exc:  # whatever it was, the run goes on with the crane faulted
                log.exception("%s: the crane client failed", self.device_id)
                await self._drop()
                self._trouble = f"{self.device_id} at {self.url}: the client failed: {type(exc).__name__}: {exc}"
            self._report()
            await self._nap(self.backoff.next())

    def _about(self, trouble: _Trouble) -> str:
        return f"{self.device_id} at {self.url}: {trouble}"

    async def _nap(self, seconds: float) -> None:
        """Wait `seconds`, or less if a command comes."""
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _step(self, move: _Move, r: CraneReading) -> None:
        """One step of `move` from what the crane says of itself: so a move broken off by
        a lost link goes on from where the crane is, and is reported done once."""
        cmd = move.cmd
        if r.load == cmd.container_id:
            move.picked = True
            if not r.at(move.target):
                await self._call("Move", BAY[move.target])
            else:
                move.placing = True
                await self._call("Place", move.target)
            return
        if r.load:
            raise _Trouble(f"it holds {r.load!r}, not {cmd.container_id}: an engineer must clear it", drop=False)
        if move.placing and r.at(move.target) and r.spreader == "open":
            self._moves.popleft()
            self.moves_done += 1
            self.inbox.put(CraneState(
                self.device_id, self.yard, self.busy, self.faulted, cmd.op, cmd.container_id, cmd.carrier_id, move.target,
            ))
            return
        if move.picked:
            log.warning("%s no longer holds %s: the move begins again at the %s", self.device_id, cmd.container_id, move.source)
            self.moves_restarted += 1
            move.picked = move.placing = False
        if not r.at(move.source):
            await self._call("Move", BAY[move.source])
        else:
            await self._call("Pick", cmd.container_id)

    def _report(self) -> None:
        """Tell the controllers when the crane faults and when it is back (once each), with why."""
        reading = self.reading
        own = f"{self.device_id} reports a fault (Fault)"
        reason = self._trouble or self._refusal or (own if reading is not None and reading.fault else "")
        was = self._reason
        self._reason = reason
        if bool(reason) == bool(was):
            return
        if reason:
            self.downtime.began()
            log.warning("%s faulted: %s", self.device_id, reason)
        else:
            self.downtime.ended()
            log.warning("%s is back", self.device_id)
        back = "its fault is cleared" if was == own else "it answers again"
        self.inbox.put(CraneState(self.device_id, self.yard, self.busy, bool(reason), reason=reason or back))

    # --- the wire ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Make the session and find the crane's nodes."""
        client = Client(self.url, timeout=self.timeout_s)
        client.session_timeout = 600_000  # what servers grant: asking for more only draws a warning
        self._client = client
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                await client.connect()
                idx = await client.get_namespace_index(NAMESPACE)
                crane = await client.nodes.objects.get_child([f"{idx}:{self.name}"])
                self._nodes = [await crane.get_child([f"{idx}:{name}"]) for name in VARIABLES]
                self._methods = {
                    m: (await crane.get_child([f"{idx}:{m}"])).nodeid for m in ("Move", "Pick", "Place")
                }
                self._crane_id = crane.nodeid
        except Exception as exc:
            raise _Trouble(self._lost(exc, 2 * self.timeout_s)) from None

    async def _drop(self) -> None:
        """Drop the session, as politely as the link allows."""
        client, self._client, self.reading = self._client, None, None
        if client is None:
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await client.disconnect()
        except Exception:  # the link is gone or does not answer: the socket is closed all the same
            pass
        finally:
            with contextlib.suppress(Exception):
                client.disconnect_socket()

    def _lost(self, exc: BaseException, waited_s: float | None = None) -> str:
        """What went wrong on the wire, in a few words."""
        if isinstance(exc, TimeoutError):
            return f"no answer within {waited_s or self.timeout_s:g} s"
        if isinstance(exc, ua.UaStatusCodeError):
            return f"answered {ua.StatusCode(exc.code).name}"
        if isinstance(exc, OSError):
            return f"link lost: {exc.strerror or exc}"
        return f"{type(exc).__name__}: {exc}"

    async def _read(self) -> CraneReading:
        """All the crane's variables in one Read, each checked: its status, its type, its range."""
        client = self._client
        assert client is not None
        try:
            async with asyncio.timeout(self.timeout_s):
                values = await client.read_attributes(self._nodes)
        except Exception as exc:
            raise _Trouble(self._lost(exc)) from None
        got: dict[str, Any] = {}
        for (name, kind), value in zip(VARIABLES.items(), values, strict=True):
            status = value.StatusCode
            if status is not None and not status.is_good():
                raise _Trouble(f"answered a read of {name} with {status.name}")
            variant = value.Value
            if variant is None or variant.VariantType != kind or variant.is_array:
                raise _Trouble(f"{name} is {_described(variant)}, not a {kind.name}")
            got[name] = variant.Value
        position, spreader, load = got["Position"], got["Spreader"], got["Load"]
        if not (math.isfinite(position) and 0 <= position <= BAY_LENGTH_M):
            raise _Trouble(f"Position {position} m is outside its bay (0 to {BAY_LENGTH_M:g} m)")
        if spreader not in SPREADER:
            raise _Trouble(f"Spreader {spreader[:20]!r} is neither open nor locked")
        if len(load) > LOAD_MAX_CHARS or not load.isprintable():
            raise _Trouble(f"Load is no container id ({len(load)} characters)")
        return CraneReading(float(position), spreader, load, bool(got["Fault"]), bool(got["Busy"]))

    async def _call(self, method: str, arg: float | str) -> None:
        """Call a method of the crane; its answer must be a Boolean, and true."""
        client = self._client
        assert client is not None and self._crane_id is not None
        request = ua.CallMethodRequest()
        request.ObjectId = self._crane_id
        request.MethodId = self._methods[method]
        request.InputArguments = [ua.Variant(arg, _T.Double if method == "Move" else _T.String)]
        what = f"{method}({arg!r})"
        try:
            async with asyncio.timeout(self.timeout_s):
                result = (await client.uaclient.call([request]))[0]
        except Exception as exc:
            raise _Trouble(f"{what}: {self._lost(exc)}") from None
        if not result.StatusCode.is_good():
            raise _Trouble(f"answered {what} with {result.StatusCode.name}")
        out = result.OutputArguments or []
        if len(out) != 1 or out[0].VariantType != _T.Boolean:
            answer = _described(out[0]) if len(out) == 1 else f"{len(out)} values"
            raise _Trouble(f"answered {what} with {answer}, not a Boolean")
        if not out[0].Value:
            self.refused += 1
            raise _Trouble(f"refused {what}", drop=False)
        if self._refusal:  # it takes calls again
            self._refusal = ""
            self.backoff.reset()
        await asyncio.sleep(self.poll_s)


def _described(variant: ua.Variant | None) -> str:
    """A value as it came, in a few words: its type and the start of it."""
    if variant is None or variant.VariantType == _T.Null:
        return "empty"
    return f"a {variant.VariantType.name}{' array' if variant.is_array else ''} ({str(variant.Value)[:20]!r})"


def serve_crane(port: int, move_s: float, misbehave: str = "") -> None:
    """Run a crane emulator until interrupted (the `checkpoint emulate crane` command)."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await CraneEmulator(port, move_s, misbehave=misbehave).serve(stop)

    asyncio.run(main())
