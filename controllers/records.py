"""What the site controller keeps of each carrier and each yard: plain records."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from controllers.messages import ContainerReady, CraneCommand, PlateEvidence, PlateRead, Side

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


TRUCK_RECORDS = 1000  # the latest trucks kept: a camera's crop is a few KB, so a few MB at most


@dataclass(frozen=True, slots=True)
class TruckRecord:
    """A truck as the controllers saw it at a yard gate: its plate, and how the camera read it."""

    truck_id: str
    yard: Side
    plate: str
    purpose: Literal["deliver", "pickup"]
    at: float  # model seconds of the read the barrier opened on
    gate: str  # the barrier's device id
    evidence: PlateEvidence | None = None  # None: a camera that gives none (the twin's)


class TruckLog:
    """The latest trucks through the gates, by truck id, oldest dropped first."""

    def __init__(self, limit: int = TRUCK_RECORDS) -> None:
        self.limit = limit
        self._records: OrderedDict[str, TruckRecord] = OrderedDict()

    def record(self, read: PlateRead, now: float) -> TruckRecord:
        rec = TruckRecord(read.truck_id, read.yard, read.plate, read.purpose, now, read.device_id, read.evidence)
        self._records.pop(read.truck_id, None)
        self._records[read.truck_id] = rec
        while len(self._records) > self.limit:
            self._records.popitem(last=False)
        return rec

    def get(self, truck_id: str) -> TruckRecord | None:
        return self._records.get(truck_id)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TruckRecord]:
        """Oldest first."""
        return iter(list(self._records.values()))
