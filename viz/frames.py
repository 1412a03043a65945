"""State frames for the page: a flat map of keys to small values, and deltas between them.

A frame is a dict whose keys name one thing each, so that a delta is simply the keys
whose value changed (and the keys that are gone, as null):

    t                 model seconds since the run began
    clock             {"t0": epoch seconds of model time 0, "speed", "paused"}
    c:<carrier>       [lat, lon, status, battery %, container or null, alarm flags]
    b:<lane>:<block>  "r" reserved for a carrier, "o" occupied by one (free blocks are absent)
    l:<lane>          [direction "to_china"|"to_vietnam", open?, policy "to_china"|"to_vietnam"|"reversible"]
    y:<side>          {"trucks": in the yard, "outside": waiting outside, "awaiting": containers
                       waiting for a carrier, "stack": containers on the stack, "cranes_busy"}
    k                 KPIs so far (delivered per direction, waits, safety, alarms count)
    d                 mixed mode only: the bridged devices, [{"id", "kind" (vehicle, crane, gate,
                      camera), "protocol", "endpoint", "online", "fault", ...}]

Alarm flags: B broken down, X connection lost, L low battery, P paused, M maintenance, C charging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controllers.layout import YARD_NODE

if TYPE_CHECKING:
    from twin.world import World

Frame = dict[str, Any]
CONNECTION_BROKEN = "CONNECTION_BROKEN"


def carrier_view(world: World, carrier_id: str, maintenance: frozenset[str] = frozenset()) -> list[Any]:
    """The frame entry of one carrier."""
    carrier = world.carriers[carrier_id]
    lat, lon = world.carrier_wgs84(carrier_id)
    record = getattr(world.controller, "carriers", {}).get(carrier_id)
    status = record.status if record is not None else "unknown"
    battery = _battery(world, carrier_id)
    flags = ""
    errors = _errors(world, carrier_id)
    if CONNECTION_BROKEN in errors:
        flags += "X"
    elif carrier.broken:
        flags += "B"
    if battery < world.scenario.fleet.low_battery_pct:
        flags += "L"
    if carrier.paused:
        flags += "P"
    if carrier_id in maintenance:
        flags += "M"
    if carrier.charging:
        flags += "C"
    return [round(lat, 6), round(lon, 6), status, round(battery), carrier.load, flags]


def _battery(world: World, carrier_id: str) -> float:
    carrier = world.carriers[carrier_id]
    energy = getattr(carrier, "energy_kwh", None)
    if energy is not None:
        return 100.0 * energy / world.scenario.fleet.battery_kwh
    state = getattr(carrier, "last_state", None)
    return state.battery_pct if state is not None else 100.0


def _errors(world: World, carrier_id: str) -> tuple[str, ...]:
    state = getattr(world.carriers[carrier_id], "last_state", None)
    return state.errors if state is not None else ()


def snapshot(world: World, clock: dict[str, Any], kpis: dict[str, Any]) -> Frame:
    """The whole state as a frame."""
    frame: Frame = {"t": round(world.env.now, 1), "clock": clock, "k": kpis}
    maintenance = frozenset(operator_status(world).get("maintenance", ()))
    for cid in world.carriers:
        frame[f"c:{cid}"] = carrier_view(world, cid, maintenance)
    now = world.env.now
    safety = world.safety
    lane_base = _lane_bases(world)
    for g, occupant in enumerate(safety.occupant):
        if occupant is not None and safety.until[g] > now:
            lane, base = lane_base[g]
            frame[f"b:{lane}:{g - base}"] = "o"
    traffic = getattr(world.controller, "traffic", None)
    if traffic is not None:
        for lane, holders in enumerate(traffic.holder):
            for block, holder in enumerate(holders):
                if holder is not None:
                    frame.setdefault(f"b:{lane}:{block}", "r")
    lanes = getattr(world.controller, "lanes", None)
    for info in world.layout.lanes:
        direction = lanes.direction[info.index] if lanes is not None else ("export" if info.policy != "to_vietnam" else "import")
        open_ = lanes is None or info.index not in lanes.closed
        frame[f"l:{info.index}"] = ["to_china" if direction == "export" else "to_vietnam", open_, info.policy]
    for side, yard in world.yards.items():
        direction = "export" if side == "vietnam" else "import"
        frame[f"y:{side}"] = {
            "trucks": world.stats[direction].in_yard.value,
            "outside": len(yard.staging.queue),
            "awaiting": yard.awaiting_carrier.value,
            "stack": len(yard.stack),
            "cranes_busy": yard.cranes_busy.value,
            "parked": sum(1 for c in world.carriers.values() if not c.moving and c.node_id == YARD_NODE[side]),
        }
    return frame


def operator_status(world: World) -> dict[str, Any]:
    """What the operators have set on the controller (pauses, e-stop, maintenance)."""
    status_of = getattr(world.controller, "operator_status", None)
    return status_of() if status_of is not None else {}


def _lane_bases(world: World) -> list[tuple[int, int]]:
    """For each global block index, its lane and the lane's first global index."""
    out: list[tuple[int, int]] = []
    for info in world.layout.lanes:
        base = len(out)
        out.extend((info.index, base) for _ in range(info.n_blocks))
    return out


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
