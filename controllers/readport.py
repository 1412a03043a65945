"""The read port: what the control room may read of the site, as a versioned snapshot.

The web never reads controller or world fields; the side that owns the loop builds a
`SiteSnapshot` on that loop and hands it over. The controllers' part of it (what each
carrier is doing, which blocks are reserved, which way each lane runs, what operators
have set) comes from `control_view`; the physical part (positions, batteries, queues)
from the world or the devices that report it.

Bump `READ_PORT_VERSION` when a field changes meaning or goes away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from controllers.lanes import HEADING_OF
from controllers.messages import LaneHeading as Heading
from controllers.messages import Side
from controllers.records import TruckRecord
from controllers.site import SiteController

READ_PORT_VERSION = 1

Alarm = Literal[
    "broken", "connection_lost", "low_battery", "paused", "maintenance", "charging", "stands", "stalled", "warning",
    "unplaced", "unanswered",
]
BlockState = Literal["reserved", "occupied"]


@dataclass(frozen=True, slots=True)
class CarrierView:
    carrier_id: str
    lat: float
    lon: float
    status: str  # the controllers' record of what it is doing ("idle", "crossing", ...)
    battery_pct: float
    container: str | None
    alarms: tuple[Alarm, ...]
    # why: a carrier that stands or stalled, and the vehicle's own error texts
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LaneView:
    lane: int  # 0-based, as the controllers count
    heading: Heading
    open: bool
    policy: str  # the scenario's: "to_china", "to_vietnam" or "reversible"


@dataclass(frozen=True, slots=True)
class YardView:
    side: Side
    trucks: int  # in the yard
    outside: int  # waiting outside for a place
    awaiting: int  # containers cleared and waiting for a carrier
    stack: int
    cranes_busy: int
    parked: int  # carriers standing at the yard


@dataclass(frozen=True, slots=True)
class OperatorView:
    estop: bool
    corridor_paused: bool
    maintenance: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    t: float  # model seconds since the run began
    carriers: tuple[CarrierView, ...]
    blocks: Mapping[tuple[int, int], BlockState]  # (lane, block) of every block not free
    lanes: tuple[LaneView, ...]
    yards: tuple[YardView, ...]
    operator: OperatorView
    kpis: Mapping[str, Any] = field(default_factory=dict)
    version: int = READ_PORT_VERSION


class SiteReader(Protocol):
    def snapshot(self) -> SiteSnapshot:
        """The site now (call it on the loop that owns the controllers)."""


@dataclass(frozen=True, slots=True)
class ControlView:
    """What the controllers hold of the site: their half of a snapshot."""

    status: Mapping[str, str]  # carrier -> its record's status
    reserved: frozenset[tuple[int, int]]  # (lane, block) reserved for a carrier
    headings: tuple[Heading, ...]  # per lane
    closed: frozenset[int]
    operator: OperatorView
    standing: Mapping[str, str] = field(default_factory=dict)  # carrier -> why it stands
    stalled: Mapping[str, str] = field(default_factory=dict)  # carrier -> how it stalled
    unplaced: Mapping[str, str] = field(default_factory=dict)  # carrier -> where it says it is
    # carrier -> the instant actions it refused or did not answer, in words
    unanswered: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    aborted: Mapping[str, str] = field(default_factory=dict)  # carrier -> the node its aborted trip stopped at


def control_view(site: SiteController) -> ControlView:
    """The controllers' half of a snapshot, read from the site controller's records."""
    holds = site.operator
    return ControlView(
        status={cid: rec.status for cid, rec in site.carriers.items()},
        reserved=frozenset(
            (lane, block)
            for lane, holders in enumerate(site.traffic.holder)
            for block, holder in enumerate(holders)
            if holder is not None
        ),
        headings=tuple(HEADING_OF[site.lanes.direction[lane]] for lane in sorted(site.lanes.direction)),
        closed=frozenset(site.lanes.closed),
        operator=OperatorView(
            estop=holds.estop, corridor_paused=holds.corridor_paused, maintenance=tuple(sorted(holds.out_of_service))
        ),
        standing=dict(site.traffic.standing),
        stalled=dict(site.traffic.stalled),
        unplaced=dict(site.unplaced),
        unanswered={cid: tuple(said.values()) for cid, said in site.unanswered.items() if said},
        aborted=site.traffic.aborted(),
    )


def truck_records(site: SiteController, truck_ids: Iterable[str]) -> tuple[TruckRecord, ...]:
    """What the controllers keep of these trucks at the gates (their plate, and the
    camera's evidence for it), for those they still remember."""
    found = (site.trucks.get(t) for t in truck_ids)
    return tuple(rec for rec in found if rec is not None)
