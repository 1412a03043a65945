"""The live twin behind the control room: a run on the wall clock, its frames and its commands.

One asyncio loop owns everything: it advances the world (through `MixedRun`, so a
scenario with bridged devices runs the same way), builds the read port's snapshot and
a frame from it ten times a second, hands the frame to the web's fan-out
(`viz.stream.FrameHub`), and carries out operators' commands. The web app calls this
object only from that loop (its handlers are coroutines), so the controllers are
never called from another thread.

Operators' commands go through the runtime like any device event: the control room is
a device (`ConsoleDevice`) that publishes an `OperatorRequest` and takes the
controller's `OperatorReply`. Only the clock (speed, pausing the simulation) is the
live twin's own.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

from checkpoint.journal import JournalDb
from checkpoint.mixed import MixedRun
from checkpoint.site_map import site_geojson
from checkpoint.snapshot import carrier_view, site_snapshot
from controllers.codes import container_code, normalise_plate
from controllers.limits import SPEED_MAX
from controllers.messages import Command, OperatorAction, OperatorReply, OperatorRequest
from controllers.ports import not_taken
from controllers.readport import SiteSnapshot, truck_records
from controllers.records import TruckRecord
from twin.kpi import summarise
from twin.scenario import Scenario, ScenarioError, load_scenario
from twin.world import World
from viz.frames import Frame, carrier_entry, encode
from viz.live_site import ClockAction
from viz.stream import Client, FrameHub

log = logging.getLogger(__name__)
STALE_S = 5.0  # a frame older than this: the loop is not keeping up, or stuck

GATE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FRAME_HZ = 10
# the codes of the clock's own replies (the controller's are `REPLY_CODES`), and of a
# request the controller never answered
CLOCK_CODES = ("speed_set", "sim_paused", "sim_resumed", "speed_fixed_bridged", "bad_speed", "needs_field", "no_answer")
Args = tuple[tuple[str, str | int], ...]
Outcome = tuple[bool, str, str, Args]  # ok, detail (English), code, args
__all__ = ["CLOCK_CODES", "Client", "ClockAction", "LiveTwin", "Outcome"]


class ConsoleDevice:
    """The control room as a device on the runtime."""

    kind: Final = "console"

    def __init__(self, device_id: str = "operator-console") -> None:
        self.device_id = device_id
        self.replies: dict[str, OperatorReply] = {}

    def accept(self, command: Command) -> None:
        if not isinstance(command, OperatorReply):
            raise not_taken(self.kind, self.device_id, command)
        self.replies[command.request_id] = command


def midnight_at_gate(now: float | None = None) -> float:
    """Epoch seconds of today's midnight at the gate: model time 0 of a live run."""
    today = dt.datetime.fromtimestamp(now if now is not None else time.time(), GATE_TZ).date()
    return dt.datetime.combine(today, dt.time(), GATE_TZ).timestamp()


def present_time_of_day(now: float | None = None) -> float:
    """Seconds since midnight at the gate now."""
    now = now if now is not None else time.time()
    return now - midnight_at_gate(now)


def simulate_scenario(path: Path, seed: int | None, controller: str | None) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """A whole run of a scenario, as `checkpoint simulate` does it (the web runs it in a
    worker process, so that the live twin's loop does not wait for it)."""
    world = World(load_scenario(path), seed=seed, controller=controller)
    world.run()
    return summarise(world), world.timeseries


class LiveTwin:
    simulate = staticmethod(simulate_scenario)
    scenario_error = ScenarioError

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        speed: float | None = None,
        controller: str | None = None,
        t0: float | None = None,
        start_at_s: float = 0.0,
        journal: JournalDb | None = None,
    ) -> None:
        """`start_at_s`: the model time the live run opens at, reached by simulating there
        at full speed first (`present_time_of_day()` opens it at the gate's present time;
        a run with bridged devices always opens at 0)."""
        self.scenario = scenario
        self.mixed = MixedRun(scenario, speed=speed, seed=seed, controller=controller, journal=journal, mode="serve")
        self.world = self.mixed.open()
        self.console = ConsoleDevice()
        self.world.runtime.attach(self.console)
        self.t0 = t0 if t0 is not None else midnight_at_gate()
        end = scenario.duration_h * 3600
        self.start_at_s = 0.0 if self.mixed.bridged else max(0.0, min(start_at_s, end - 3600.0))
        self.hub = FrameHub()
        self.kpis: dict[str, Any] = {}
        self._requests = itertools.count(1)
        self.started = False
        self.ended = False
        self.failure: str | None = None  # why the twin stopped, if an error stopped it
        self.last_frame_at = time.monotonic()
        self._geojson: dict[str, Any] | None = None

    # the frames, as the web's fan-out holds them
    @property
    def seq(self) -> int:
        return self.hub.seq

    @property
    def frame(self) -> Frame:
        return self.hub.frame

    @property
    def clients(self) -> set[Client]:
        return self.hub.clients

    @property
    def history(self) -> deque[tuple[int, str]]:
        return self.hub.history

    def key_frame(self) -> tuple[int, str]:
        return self.hub.key_frame()

    def backlog(self, since: int) -> list[str] | None:
        return self.hub.backlog(since)

    def next_messages(self, client: Client, item: tuple[int, str]) -> list[str]:
        return self.hub.next_messages(client, item)

    # --- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Advance the world with the clock and publish frames until `stop`."""
        mixed = self.mixed
        mixed.start(self.start_at_s)
        self.started = True
        end = self.scenario.duration_h * 3600
        tick = self.scenario.realtime.tick_s
        next_frame = 0.0
        next_kpis = 0.0
        try:
            while not stop.is_set():
                if not self.ended and self.failure is None:
                    try:
                        mixed.step(end)
                    except Exception as exc:  # noqa: BLE001 - the server stays up to say why
                        # a twin that dies must say so: logged with its traceback, shown to
                        # the operators and in /api/health, the last frame kept on the page
                        log.exception("the live twin stopped at model time %.1f s", self.world.env.now)
                        self.failure = f"{type(exc).__name__}: {exc}"[:300]
                    self.ended = self.world.env.now >= end
                now = time.monotonic()
                if now >= next_kpis:
                    self.kpis = self._kpis()
                    next_kpis = now + 1.0
                if now >= next_frame:
                    self.publish_frame()
                    next_frame = now + 1 / FRAME_HZ
                await asyncio.sleep(tick)
        finally:
            mixed.close()

    def snapshot(self) -> SiteSnapshot:
        """The read port: the site now."""
        return site_snapshot(self.world, self.kpis)

    def publish_frame(self) -> None:
        """Build the frame of now and hand it to the fan-out."""
        new = encode(self.snapshot(), self.clock(), self.mixed.devices() if self.mixed.bridged else None)
        new["w"] = round(time.time(), 3)  # wall time of the tick, for latency
        self.hub.publish(new)
        self.last_frame_at = time.monotonic()

    def health(self) -> dict[str, Any]:
        """Whether the twin runs: running, ended, stopped (an error, said in `reason`) or
        stale (no frame for STALE_S seconds)."""
        age = time.monotonic() - self.last_frame_at
        if self.failure is not None:
            status = "stopped"
        elif self.started and age > STALE_S:
            status = "stale"
        else:
            status = "ended" if self.ended else "running"
        return {"status": status, "reason": self.failure, "frame_age_s": round(age, 2), "model_s": round(self.world.env.now, 1)}

    # --- what the web shows of the site ------------------------------------------------------

    def site(self) -> dict[str, Any]:
        """The corridor, blocks, yards, border, stations and chargers as GeoJSON (WGS84)."""
        if self._geojson is None:
            self._geojson = site_geojson(self.scenario, self.world.geometry)
        return {"name": self.scenario.name, "site": self.scenario.site.name, "geojson": self._geojson,
                "carriers": list(self.world.carriers), "lanes": len(self.world.layout.lanes)}

    def scenario_name(self) -> str:
        return self.scenario.name

    def timeseries(self, last: int | None = None) -> list[dict[str, float]]:
        series = self.world.timeseries
        return list(series if last is None else series[-last:])

    def check_scenario(self, path: Path) -> str:
        return load_scenario(path).name

    def clock(self) -> dict[str, Any]:
        return {
            "t0": self.t0,
            "speed": self.mixed.speed,
            "paused": self.mixed.paused,
            "ended": self.ended,
            "bridged": self.mixed.bridged,
        }

    def _kpis(self) -> dict[str, Any]:
        world = self.world
        out: dict[str, Any] = {}
        for d in ("export", "import"):
            st = world.stats[d]
            waits = st.truck_waits.values
            out[d] = {
                "arrived": st.arrived,
                "delivered": st.delivered,
                "in_yard": st.in_yard.value,
                "wait_mean_s": round(sum(waits) / len(waits), 1) if waits else 0.0,
                "late_perishable": st.late_perishable,
            }
        out["safety_violations"] = len(world.safety.violations)
        out["carriers_busy"] = world.measures.fleet.busy.value
        out["carriers"] = len(world.carriers)
        return out

    # --- commands -------------------------------------------------------------------------

    def command(self, action: str, **args: Any) -> Outcome:
        """Carry out an operator's command: (done?, what came of it in English, its code, its args)."""
        if action == "set_speed":
            return self._set_speed(args.get("speed"))
        if action == "pause_sim":
            self.mixed.pause()
            return True, "simulation paused", "sim_paused", ()
        if action == "resume_sim":
            self.mixed.resume()
            return True, "simulation resumed", "sim_resumed", ()
        request_id = f"r{next(self._requests)}"
        request = OperatorRequest(
            self.console.device_id, request_id, cast(OperatorAction, action),  # the controller refuses an unknown one
            carrier_id=args.get("carrier_id"), lane=args.get("lane"), direction=args.get("direction"),
            yard=args.get("yard"),
        )
        self.world.runtime.publish(request)
        reply = self.console.replies.pop(request_id, None)
        if reply is None:
            return False, "the controller did not answer", "no_answer", ()
        return reply.ok, reply.detail, reply.code, reply.args

    def _set_speed(self, value: Any) -> Outcome:
        if value is None:
            return False, "speed: missing", "needs_field", (("action", "set_speed"), ("field", "speed"))
        try:
            speed = float(value)
        except (TypeError, ValueError) as exc:
            return False, str(exc), "bad_speed", (("value", str(value)),)
        fixed = self.mixed.speed
        try:
            self.mixed.set_speed(speed)
        except ValueError as exc:
            # a run with bridged devices keeps its pace; otherwise the number is out of range
            if self.mixed.bridged and 0 < speed <= SPEED_MAX:
                return False, str(exc), "speed_fixed_bridged", (("speed", f"{fixed:g}"),)
            return False, str(exc), "bad_speed", (("value", f"{speed:g}"),)
        return True, f"simulation speed {self.mixed.speed:g}x", "speed_set", (("speed", f"{self.mixed.speed:g}"),)

    # --- looking things up ---------------------------------------------------------------------

    def iso(self, model_s: float | None) -> str | None:
        """A model time as local time at the gate."""
        if model_s is None:
            return None
        return dt.datetime.fromtimestamp(self.t0 + model_s, GATE_TZ).isoformat(timespec="seconds")

    def carrier(self, carrier_id: str) -> dict[str, Any] | None:
        world = self.world
        carrier = world.carriers.get(carrier_id)
        if carrier is None:
            return None
        view = carrier_view(world, carrier_id)
        lat, lon, status, battery, load, flags = carrier_entry(view)
        nodes = carrier.nodes
        container = world.containers.get(load) if load else None
        return {
            "id": carrier_id,
            "bridged": carrier_id in self.mixed.bridges.vehicles,
            "lat": lat,
            "lon": lon,
            "status": status,
            "alarms": flags,
            "notes": list(view.notes),  # why it stands or stalled, the vehicle's own error texts
            "battery_pct": battery,
            "order": {
                "order_id": carrier.order_id or None,
                "from": nodes[0],
                "to": nodes[-1],
                "last_node": carrier.node_id,
                "base_end": nodes[min(carrier.released_upto, len(nodes) - 1)],
            },
            "container": None if container is None else self._container(container),
        }

    def _container(self, c: Any) -> dict[str, Any]:
        return {
            "container_id": c.container_id,
            "plate": c.plate,
            "direction": c.direction,
            "cargo": c.cargo,
            "step": c.step,
            "location": c.location,
            "deadline": self.iso(c.deadline),
            "history": [{"at": self.iso(t), "step": step} for t, step in c.history],
            # the trucks that brought it and took it away, as read at the gates
            "gate_reads": [self._gate_read(r) for r in truck_records(self.world.controller, (c.truck_id, c.pickup_truck_id))],
        }

    def _gate_read(self, rec: TruckRecord) -> dict[str, Any]:
        """A truck's record at a gate, with what the camera saw for an officer to judge."""
        ev = rec.evidence
        camera = None
        if ev is not None:
            camera = {
                "read": ev.read,
                "raw": ev.raw,
                "confidence": ev.confidence,
                "frames": ev.frames,
                "votes": ev.votes,
                "needs_officer": ev.needs_officer,
                "reasons": list(ev.reasons),
                "readings": list(ev.readings),
                "crop": "data:image/jpeg;base64," + base64.b64encode(ev.crop_jpeg).decode("ascii") if ev.crop_jpeg else None,
                "crop_path": ev.crop_path or None,
            }
        return {"truck_id": rec.truck_id, "yard": rec.yard, "purpose": rec.purpose, "plate": rec.plate,
                "gate": rec.gate, "at": self.iso(rec.at), "camera": camera}

    def track(self, query: str) -> list[dict[str, Any]]:
        """Containers whose code, or whose truck's plate, is `query`."""
        code = container_code(query)
        plate = normalise_plate(query)
        containers = self.world.containers
        if code is not None and code in containers:
            found = [containers[code]]
        elif plate is not None:
            found = [c for c in containers.values() if c.plate == plate]
        else:
            q = query.strip().upper()
            found = [c for c in containers.values() if c.container_id == q] if q else []
        out = []
        for c in found[-20:]:
            item = self._container(c)
            carrier = next((cid for cid, v in self.world.carriers.items() if v.load == c.container_id), None)
            item["carrier"] = carrier
            if carrier is not None:
                item["lat"], item["lon"] = self.world.carrier_wgs84(carrier)
            out.append(item)
        return out

    def summary(self) -> dict[str, Any]:
        """The full KPIs of the run so far (management view, saved runs)."""
        return summarise(self.world)

