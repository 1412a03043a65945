"""The read port's snapshot of a world: the controllers' half from `control_view`, the
physical half (positions, batteries, blocks occupied, queues) from the world."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.layout import YARD_NODE, direction_from
from controllers.readport import (
    Alarm,
    BlockState,
    CarrierView,
    ControlView,
    LaneView,
    SiteSnapshot,
    YardView,
    control_view,
)
from twin.world import World


def site_snapshot(world: World, kpis: Mapping[str, Any]) -> SiteSnapshot:
    control = control_view(world.controller)
    now = world.env.now
    blocks: dict[tuple[int, int], BlockState] = {}
    safety = world.safety
    lane_base = _lane_bases(world)
    for g, occupant in enumerate(safety.occupant):
        if occupant is not None and safety.until[g] > now:
            lane, base = lane_base[g]
            blocks[(lane, g - base)] = "occupied"
    for key in sorted(control.reserved):
        blocks.setdefault(key, "reserved")
    lanes = tuple(
        LaneView(info.index, control.headings[info.index], info.index not in control.closed, info.policy)
        for info in world.layout.lanes
    )
    yards = tuple(
        YardView(
            side=side,
            trucks=round(world.stats[direction_from(side)].in_yard.value),
            outside=len(yard.staging.queue),
            awaiting=round(yard.awaiting_carrier.value),
            stack=len(yard.stack),
            cranes_busy=round(yard.cranes_busy.value),
            parked=sum(1 for c in world.carriers.values() if not c.moving and c.node_id == YARD_NODE[side]),
        )
        for side, yard in world.yards.items()
    )
    carriers = tuple(carrier_view(world, cid, control) for cid in world.carriers)
    return SiteSnapshot(round(now, 1), carriers, blocks, lanes, yards, control.operator, kpis)


def carrier_view(world: World, carrier_id: str, control: ControlView | None = None) -> CarrierView:
    """One carrier as the read port shows it."""
    if control is None:
        control = control_view(world.controller)
    carrier = world.carriers[carrier_id]
    lat, lon = world.carrier_wgs84(carrier_id)
    battery = carrier.battery_pct
    alarms: list[Alarm] = []
    if carrier.link_lost:
        alarms.append("connection_lost")
    elif carrier.broken:
        alarms.append("broken")
    if battery < world.scenario.fleet.low_battery_pct:
        alarms.append("low_battery")
    if carrier.paused:
        alarms.append("paused")
    if carrier_id in control.operator.maintenance:
        alarms.append("maintenance")
    if carrier.charging:
        alarms.append("charging")
    notes: list[str] = []
    if carrier_id in control.standing:
        alarms.append("stands")
        notes.append(f"stands: {control.standing[carrier_id]}")
    if carrier_id in control.stalled:
        alarms.append("stalled")
        notes.append(f"stalled: {control.stalled[carrier_id]}")
    if carrier_id in control.unplaced:
        alarms.append("unplaced")
        notes.append(f"not placed: {control.unplaced[carrier_id]}")
    if carrier_id in control.aborted:
        notes.append(f"trip aborted by an operator at {control.aborted[carrier_id]}: it stands there until returned to service")
    if carrier_id in control.unanswered:
        alarms.append("unanswered")
        notes.extend(control.unanswered[carrier_id])
    if carrier.warned:
        alarms.append("warning")
    notes.extend(carrier.vehicle_errors)
    return CarrierView(
        carrier_id, round(lat, 6), round(lon, 6), control.status.get(carrier_id, "unknown"),
        round(battery), carrier.load, tuple(alarms), tuple(notes),
    )


def _lane_bases(world: World) -> list[tuple[int, int]]:
    """For each global block index, its lane and the lane's first global index."""
    out: list[tuple[int, int]] = []
    for info in world.layout.lanes:
        base = len(out)
        out.extend((info.index, base) for _ in range(info.n_blocks))
    return out
