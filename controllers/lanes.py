"""Which lanes carry which direction, and which are closed.

Fixed lanes keep their direction; reversible lanes are shared out between the
directions, at the start alternately and later as a controller turns them. A lane
changes direction only once it is empty: until then it takes no new crossings, so carriers never meet head-on. An
operator may close a lane (it empties, then stays closed) and open it again, but never
close the last open lane of a direction.
"""

from __future__ import annotations

from collections.abc import Callable

from controllers.layout import LANE_REVERSIBLE, LANE_TO_CHINA, LANE_TO_VIETNAM, SiteLayout
from controllers.messages import Direction, LaneHeading

# a lane's heading as people and the scenario say it, and the direction of its traffic
DIRECTION_OF_HEADING: dict[LaneHeading, Direction] = {"to_china": "export", "to_vietnam": "import"}
HEADING_OF: dict[Direction, LaneHeading] = {d: h for h, d in DIRECTION_OF_HEADING.items()}
DIRECTION_OF_POLICY: dict[str, Direction] = {LANE_TO_CHINA: "export", LANE_TO_VIETNAM: "import"}


class LaneRefused(ValueError):
    """A lane command that would leave a direction without a lane, or names no lane.

    `code` and `values` name the reason for a console to word in its own language
    (the message stays the English sentence)."""

    def __init__(self, message: str, code: str, **args: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.values = tuple(args.items())  # not `args`: BaseException has that already


class LanePlan:
    def __init__(self, layout: SiteLayout) -> None:
        self.direction: dict[int, Direction] = {}
        self.reversible: list[int] = []
        turn: Direction = "export"
        for lane in layout.lanes:
            if lane.policy == LANE_REVERSIBLE:
                self.reversible.append(lane.index)
                self.direction[lane.index] = turn
                turn = "import" if turn == "export" else "export"
            else:
                self.direction[lane.index] = DIRECTION_OF_POLICY[lane.policy]
        self.closed: set[int] = set()
        self.switching: dict[int, Direction] = {}  # lane -> its next direction, once empty
        self.switches = 0

    def open_for(self, direction: Direction) -> list[int]:
        """Lanes that take new crossings in `direction`."""
        return [
            lane
            for lane, d in self.direction.items()
            if d == direction and lane not in self.closed and lane not in self.switching
        ]

    def close(self, lane: int) -> None:
        self._known(lane)
        d = self.direction[lane]
        if lane not in self.closed and self.open_for(d) == [lane]:
            raise LaneRefused(
                f"lane {lane} is the last open lane {'to China' if d == 'export' else 'to Vietnam'}",
                "last_open_lane", lane=lane, heading=HEADING_OF[d],
            )
        self.closed.add(lane)

    def open(self, lane: int) -> None:
        self._known(lane)
        self.closed.discard(lane)

    def set_direction(self, lane: int, direction: Direction, carriers_on: Callable[[int], int]) -> None:
        """Turn a reversible lane; it takes effect once the lane is empty."""
        self._known(lane)
        if lane not in self.reversible:
            raise LaneRefused(f"lane {lane} is not reversible", "not_reversible", lane=lane)
        if direction == self.direction[lane]:
            self.switching.pop(lane, None)
            return
        if self.open_for(self.direction[lane]) == [lane]:
            raise LaneRefused(
                f"lane {lane} is the last open lane of its direction",
                "last_open_lane", lane=lane, heading=HEADING_OF[self.direction[lane]],
            )
        self.switching[lane] = direction
        self.settle(carriers_on)

    def settle(self, carriers_on: Callable[[int], int]) -> None:
        """Apply the direction changes of lanes that are now empty."""
        for lane, direction in list(self.switching.items()):
            if carriers_on(lane) == 0:
                self.direction[lane] = direction
                del self.switching[lane]
                self.switches += 1

    def heading(self, lane: int) -> Direction:
        """The direction the lane has, or is turning to."""
        return self.switching.get(lane, self.direction[lane])

    def _known(self, lane: int) -> None:
        if lane not in self.direction:
            raise LaneRefused(
                f"there is no lane {lane}", "unknown_lane", lane=lane, last=len(self.direction) - 1
            )
