"""What the site controller keeps of each carrier and each yard: plain records."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from controllers.messages import ContainerReady, CraneCommand, Side

IDLE, TO_JOB, LOADING, CROSSING, UNLOADING, WAIT_UNLOAD, CHARGING, WAIT_CHARGER, REPOSITIONING = (
    "idle",
    "to_job",
    "loading",
    "crossing",
    "unloading",
    "wait_unload",
    "charging",
    "wait_charger",
    "repositioning",
)


@dataclass(slots=True)
class CarrierRecord:
    carrier_id: str
    side: Side | None  # the yard it is at; None while crossing
    status: str = IDLE
    job: ContainerReady | None = None
    load: str | None = None
    battery_pct: float = 100.0
    fault: bool = False
    known: bool = False  # has reported at least once
    charge_began: bool = False  # a report with charging=True came since it was sent to charge


@dataclass(slots=True)
class YardDesk:
    """What the controller keeps for one yard: jobs, cranes, the stack, chargers."""

    side: Side
    jobs: list[tuple[tuple[float, ...], ContainerReady]] = field(default_factory=list)  # sorted by key
    idle_cranes: list[str] = field(default_factory=list)
    faulty_cranes: set[str] = field(default_factory=set)
    crane_tasks: list[tuple[tuple[float, ...], CraneCommand]] = field(default_factory=list)  # sorted by key
    stack_used: int = 0  # containers on the stack, or promised to it
    in_stack: set[str] = field(default_factory=set)
    pickups_waiting: set[str] = field(default_factory=set)  # containers whose truck is here
    blocked_unloads: deque[str] = field(default_factory=deque)  # carriers waiting for room
    chargers_free: int = 0
    charger_queue: deque[str] = field(default_factory=deque)
