"""The controllers' view of the site: lanes, blocks, yards and devices as plain data.

The twin (or the bridge) builds a `SiteLayout` from its scenario; controllers plan
on it and name nodes and edges with the functions here, so both sides agree on ids
without the controllers importing either.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.messages import Direction, Side

LANE_TO_CHINA = "to_china"
LANE_TO_VIETNAM = "to_vietnam"
LANE_REVERSIBLE = "reversible"

YARD_NODE: dict[Side, str] = {"vietnam": "VN", "china": "CN"}
ORIGIN: dict[Direction, Side] = {"export": "vietnam", "import": "china"}
DESTINATION: dict[Direction, Side] = {"export": "china", "import": "vietnam"}


def other_side(side: Side) -> Side:
    return "china" if side == "vietnam" else "vietnam"


def direction_from(side: Side) -> Direction:
    """The direction of travel of a carrier leaving `side`."""
    return "export" if side == "vietnam" else "import"


def lane_node_id(lane: int, node: int) -> str:
    """Block boundary `node` of `lane`, counted from the Vietnam end (0..n_blocks)."""
    return f"L{lane}N{node}"


def block_edge_id(lane: int, block: int) -> str:
    return f"L{lane}B{block}"


def access_edge_id(lane: int, side: Side) -> str:
    """The yard-internal drive between a yard and the end of a lane."""
    return f"L{lane}{YARD_NODE[side]}"


@dataclass(frozen=True, slots=True)
class LaneInfo:
    index: int
    policy: str  # to_china, to_vietnam or reversible
    n_blocks: int
    block_length_m: float


@dataclass(frozen=True, slots=True)
class YardInfo:
    side: Side
    cranes: tuple[str, ...]
    chargers: int
    stack_capacity: int
    barriers: tuple[str, ...]
    weighbridges: tuple[str, ...]
    crane_move_s: float = 100.0  # mean time of one crane move, as its maker states it
    scanners: int = 1
    scan_s: float = 40.0  # mean scan of one container
    clearance_s: float = 0.0  # mean customs check after the scan, over all risk channels


@dataclass(frozen=True, slots=True)
class FleetInfo:
    carriers: tuple[str, ...]
    speed_mps: float
    battery_kwh: float
    consumption_kwh_per_km: float
    low_battery_pct: float
    charge_rate_kw: float = 150.0


@dataclass(frozen=True, slots=True)
class SiteLayout:
    lanes: tuple[LaneInfo, ...]
    yard_access_m: float
    yards: dict[Side, YardInfo]
    fleet: FleetInfo
    weigh_tolerance_pct: float

    def trip_energy_kwh(self, lane: int) -> float:
        """Energy a carrier needs to cross `lane` from yard to yard."""
        info = self.lanes[lane]
        metres = info.n_blocks * info.block_length_m + 2 * self.yard_access_m
        return metres / 1000 * self.fleet.consumption_kwh_per_km
