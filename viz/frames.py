"""State frames for the page: a flat map of keys to small values, and deltas between them.

A frame is a dict whose keys name one thing each, so that a delta is simply the keys
whose value changed (and the keys that are gone, as null):

    t                 model seconds since the run began
    clock             the run's state: {"t0": epoch seconds of model time 0, "speed", "paused",
                      "ended", "bridged", "operator": the operators' corridor-wide stops,
                      {"estop": in force?, "corridor_paused"}}
    c:<carrier>       [lat, lon, status, battery %, container or null, alarm flags]
    b:<lane>:<block>  "r" reserved for a carrier, "o" occupied by one (free blocks are absent)
    l:<lane>          [direction "to_china"|"to_vietnam", open?, policy "to_china"|"to_vietnam"|"reversible"]
    y:<side>          {"trucks": in the yard, "outside": waiting outside, "awaiting": containers
                       waiting for a carrier, "stack": containers on the stack, "cranes_busy"}
    k                 KPIs so far (delivered per direction, waits, safety, alarms count)
    d                 mixed mode only: the bridged devices, [{"id", "kind" (vehicle, crane, gate,
                      camera), "protocol", "endpoint", "online", "fault", ...}]; a gate adds
                      "alarm" (why it is faulted, "" when it is not) and "waiting" (trucks held)

Alarm flags: B broken down, X connection lost, L low battery, P paused, M maintenance, C charging,
R stands (its vehicle would not take up its order), S stalled on a released base, W the
vehicle reports a warning, U unplaced (it reports no node of the site: an operator places it). Why, in words, is in the carrier's own record (/api/carriers/<id>).

Frames are built from the read port's `SiteSnapshot` (controllers/readport.py), never
from controller or world fields.

`FORMAT` below is this description as data: the page reads it from `/api/frame-format`
instead of knowing the keys and flags by heart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controllers.readport import READ_PORT_VERSION, Alarm, CarrierView, SiteSnapshot

Frame = dict[str, Any]
FORMAT_VERSION = 1
FLAGS: dict[str, Alarm] = {
    "B": "broken", "X": "connection_lost", "L": "low_battery", "P": "paused", "M": "maintenance", "C": "charging",
    "R": "stands", "S": "stalled", "W": "warning", "U": "unplaced",
    "A": "unanswered",
}
BLOCK_STATES = {"r": "reserved", "o": "occupied"}
FORMAT: dict[str, Any] = {
    "version": FORMAT_VERSION,
    "read_port": READ_PORT_VERSION,
    "keys": {"time": "t", "clock": "clock", "kpis": "k", "devices": "d", "wall": "w"},
    "clock_fields": ["t0", "speed", "paused", "ended", "bridged", "operator"],
    "prefixes": {"carrier": "c:", "block": "b:", "lane": "l:", "yard": "y:"},
    "carrier_fields": ["lat", "lon", "status", "battery_pct", "container", "flags"],
    "lane_fields": ["direction", "open", "policy"],
    "block_states": BLOCK_STATES,
    "flags": FLAGS,
}
_LETTER = {name: letter for letter, name in FLAGS.items()}
_BLOCK_LETTER = {name: letter for letter, name in BLOCK_STATES.items()}


def flags(alarms: Sequence[Alarm]) -> str:
    """A carrier's alarms as the frame's flag letters."""
    return "".join(_LETTER[a] for a in alarms)


def carrier_entry(view: CarrierView) -> list[Any]:
    return [view.lat, view.lon, view.status, view.battery_pct, view.container, flags(view.alarms)]


def encode(
    snap: SiteSnapshot,
    clock: Mapping[str, Any],
    devices: Sequence[Mapping[str, Any]] | None = None,
) -> Frame:
    """A read-port snapshot as a frame."""
    frame: Frame = {"t": snap.t, "k": dict(snap.kpis)}
    frame["clock"] = {
        **clock, "operator": {"estop": snap.operator.estop, "corridor_paused": snap.operator.corridor_paused},
    }
    for view in snap.carriers:
        frame[f"c:{view.carrier_id}"] = carrier_entry(view)
    for (lane, block), state in snap.blocks.items():
        frame[f"b:{lane}:{block}"] = _BLOCK_LETTER[state]
    for lane_view in snap.lanes:
        frame[f"l:{lane_view.lane}"] = [lane_view.heading, lane_view.open, lane_view.policy]
    for y in snap.yards:
        frame[f"y:{y.side}"] = {
            "trucks": y.trucks, "outside": y.outside, "awaiting": y.awaiting,
            "stack": y.stack, "cranes_busy": y.cranes_busy, "parked": y.parked,
        }
    if devices is not None:
        frame["d"] = [dict(d) for d in devices]
    return frame


def delta(old: Frame, new: Frame) -> Frame:
    """The keys of `new` that differ from `old`, and those gone from it as None."""
    out: Frame = {k: v for k, v in new.items() if old.get(k) != v}
    out.update({k: None for k in old if k not in new})
    return out


def apply(frame: Frame, change: Frame) -> Frame:
    """`frame` with a delta applied (what a client does)."""
    out = dict(frame)
    for k, v in change.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out
