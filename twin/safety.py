"""The safety monitor: checks the physical truth of every block at every move.

Carriers do not spend a SimPy event per block; a move over a stretch of blocks tells
the monitor when the carrier will enter and leave each one, and the monitor checks
each block from those intervals: never two carriers in one block, never a carrier in
a block that was not released to it. A move cut short (breakdown, pause) takes back
the blocks it did not reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INF = float("inf")
EPS = 1e-6


@dataclass(slots=True)
class Violation:
    time: float
    kind: str  # "shared block" | "unreleased block"
    block: int
    carrier: str
    other: str | None


@dataclass(slots=True)
class MoveRecord:
    """What one move wrote, so that it can be cut short."""

    carrier: str
    lane: int
    blocks: list[int]
    entries: list[float]
    previous: list[tuple[str | None, float]]


@dataclass
class SafetyMonitor:
    n_blocks: int
    lane_of_block: list[int]
    occupant: list[str | None] = field(default_factory=list)
    until: list[float] = field(default_factory=list)
    released_to: list[str | None] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    blocks_checked: int = 0
    lane_busy_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.occupant = [None] * self.n_blocks
        self.until = [0.0] * self.n_blocks
        self.released_to = [None] * self.n_blocks
        self.lane_busy_s = [0.0] * (max(self.lane_of_block, default=-1) + 1)

    def release(self, block: int, carrier: str) -> None:
        """An order released `block` to `carrier` (the truth of what was permitted)."""
        self.released_to[block] = carrier

    def move(self, carrier: str, blocks: list[int], entries: list[float], exits: list[float]) -> MoveRecord:
        """A carrier will cross `blocks`, entering and leaving each at the given times."""
        previous: list[tuple[str | None, float]] = []
        occupant, until, released = self.occupant, self.until, self.released_to
        busy = self.lane_busy_s
        for g, t_in, t_out in zip(blocks, entries, exits):
            other = occupant[g]
            if other is not None and other != carrier and until[g] > t_in + EPS:
                self.violations.append(Violation(t_in, "shared block", g, carrier, other))
            if released[g] != carrier:
                self.violations.append(Violation(t_in, "unreleased block", g, carrier, released[g]))
            previous.append((other, until[g]))
            occupant[g] = carrier
            until[g] = t_out
            busy[self.lane_of_block[g]] += t_out - t_in
        self.blocks_checked += len(blocks)
        lane = self.lane_of_block[blocks[0]] if blocks else -1
        return MoveRecord(carrier, lane, blocks, entries, previous)

    def cut(self, record: MoveRecord, now: float) -> int:
        """The move stopped at `now`: undo the blocks not reached; the carrier stays in
        the last block it entered until it moves again. Returns that block or -1."""
        stopped_in = -1
        busy = self.lane_busy_s
        for i in range(len(record.blocks) - 1, -1, -1):
            g = record.blocks[i]
            if record.entries[i] > now + EPS:
                busy[self.lane_of_block[g]] -= self.until[g] - record.entries[i]
                self.occupant[g], self.until[g] = record.previous[i]
                continue
            busy[self.lane_of_block[g]] -= self.until[g] - now
            self.until[g] = INF
            stopped_in = g
            break
        return stopped_in

    def hold(self, block: int) -> None:
        """A carrier came to a stop at the end of `block` and stays in it."""
        self.until[block] = INF

    def leave(self, block: int, now: float, since: float) -> None:
        """A carrier stopped in `block` since `since` moves on at `now`."""
        self.until[block] = now
        self.lane_busy_s[self.lane_of_block[block]] += now - since

    def reset_usage(self) -> None:
        self.lane_busy_s = [0.0] * len(self.lane_busy_s)
