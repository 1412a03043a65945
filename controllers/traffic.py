"""Block reservations on the corridor, released to carriers as the base of their order.

A block belongs to at most one carrier at a time. A carrier's base is extended over
the free blocks ahead of it, at most `max_base_blocks` past its last reported node,
and blocks behind it are freed only when it reports having left them. So two carriers
are never given the same block, whatever order events arrive in.

Lanes are one-way at any moment (the lane policy fixes a direction per lane), so a
carrier only ever waits for the carrier ahead of it on its lane: the waits form
chains, never cycles, and the chain ends at a carrier that moves or is under repair.

A trip can be cancelled (VDA 5050 cancelOrder: the vehicle stops at its next node): by an
operator's abort, after which the carrier stands where it stopped until it is brought
back, or to re-route a carrier that has not yet left its yard off a lane that closed.
While the cancel is on its way the base is not extended; once the vehicle confirms it,
the blocks ahead of where it stands go back to the lane (`cancel`, `cancelled`).

A vehicle that does not take up an order (it refuses it, or reports no order where the
order starts) is sent it again after a back-off that doubles each time, at most
`max_resends` times; then it stands where it is, with its reason and an alarm, until an
operator brings it back (`try_again`). A vehicle with a base released ahead that makes no
progress for several times the drive it should take, and reports no error, is flagged
as stalled (`stall_scan`).

Event economy: a carrier is asked to report once per base, half a base before its
end, so that the base is extended while it drives; it reports on its own when it has
to stop at the end of its base. If the carrier behind it stops, waiting for its
blocks, it is asked to report every `follow_stride` nodes, so the waiting carrier gets
blocks as soon as they are free.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from controllers.layout import (
    YARD_NODE,
    SiteLayout,
    access_edge_id,
    block_edge_id,
    lane_node_id,
    other_side,
)
from controllers.messages import CarrierState, Command, Edge, Node, Order, SetTimer, Side

RESEND = "traffic:resend:"  # timer tag, then the carrier id
STALL_SCAN = "traffic:stall-scan"
STALL_SCAN_S = 30.0  # model seconds between looks for stalled vehicles
STALL_FACTOR = 3.0  # a vehicle may take this many times its drive at full speed ...
STALL_SLACK_S = 60.0  # ... plus this, before it counts as stalled


@dataclass(frozen=True, slots=True)
class CarrierAlarm:
    """Raised once when a carrier stands because its vehicle would not take up its order,
    when it stalls on a released base, when it reports from a place that is no node of
    the site (`unplaced`), or when it refuses an instant action or does not answer it
    (`action_failed`, `no_answer`); `text` says why, in the vehicle's words where it gave any."""

    carrier_id: str
    kind: Literal["stands", "stalled", "unplaced", "action_failed", "no_answer"]
    text: str
    at: float  # model seconds


@dataclass(frozen=True, slots=True)
class Route:
    """The nodes and edges from one yard to the other along one lane, with the order
    elements prebuilt: orders are sent thousands of times an hour."""

    lane: int
    node_ids: tuple[str, ...]
    blocks: tuple[int, ...]  # lane block of each edge, -1 for the yard access edges
    index_of: dict[str, int]
    base_nodes: tuple[Node, ...]  # released, not asked to report
    report_nodes: tuple[Node, ...]  # released, asked to report
    horizon_nodes: tuple[Node, ...]
    base_edges: tuple[Edge, ...]
    horizon_edges: tuple[Edge, ...]

    @classmethod
    def build(cls, layout: SiteLayout, lane: int, from_side: Side) -> Route:
        info = layout.lanes[lane]
        nb = info.n_blocks
        if from_side == "vietnam":
            lane_nodes = [lane_node_id(lane, k) for k in range(nb + 1)]
            blocks = list(range(nb))
        else:
            lane_nodes = [lane_node_id(lane, k) for k in range(nb, -1, -1)]
            blocks = list(range(nb - 1, -1, -1))
        to_side = other_side(from_side)
        node_ids = (YARD_NODE[from_side], *lane_nodes, YARD_NODE[to_side])
        edge_ids = (access_edge_id(lane, from_side), *(block_edge_id(lane, b) for b in blocks), access_edge_id(lane, to_side))
        lengths = (layout.yard_access_m, *([info.block_length_m] * nb), layout.yard_access_m)

        def nodes(released: bool, report: bool) -> tuple[Node, ...]:
            return tuple(Node(n, 2 * i, released, report=report) for i, n in enumerate(node_ids))

        def edges(released: bool) -> tuple[Edge, ...]:
            return tuple(
                Edge(e, 2 * i + 1, released, node_ids[i], node_ids[i + 1], lengths[i]) for i, e in enumerate(edge_ids)
            )

        return cls(
            lane=lane,
            node_ids=node_ids,
            blocks=(-1, *blocks, -1),
            index_of={n: i for i, n in enumerate(node_ids)},
            base_nodes=nodes(True, False),
            report_nodes=nodes(True, True),
            horizon_nodes=nodes(False, False),
            base_edges=edges(True),
            horizon_edges=edges(False),
        )


@dataclass(slots=True)
class Trip:
    """One carrier's drive from one yard to the other along one lane."""

    carrier_id: str
    route: Route
    order_id: str
    update_id: int = -1
    released_upto: int = 0  # route index of the base end; edges before it are released
    position: int = 0  # route index of the last node reported
    freed_upto: int = 0  # edges before this index are no longer held
    waiting_on: int = -1  # block it needs that another carrier holds
    # the orders sent under `order_id` until the vehicle first reports it: sent again,
    # unchanged, if it reports from the trip's start with no order (not yet received)
    unconfirmed: list[Order] = field(default_factory=list)
    last_order: Order | None = None  # the latest order (update) sent
    sends: int = 1  # times the latest order went out, the first included
    resend_due: bool = False  # a resend waits for its back-off timer
    refused: str = ""  # the vehicle's reason, the last time it refused the order
    progress_at: float | None = None  # model time it last moved on, or was free to set off
    halted: bool = False  # its latest state says it is paused or has a FATAL error
    # a cancelOrder is on its way ("abort": an operator's; "reroute": off a closed lane):
    # its base is not extended until the vehicle answers
    cancelling: str = ""
    aborted: bool = False  # cancelled by an operator: it stands where it stopped until returned


@dataclass(slots=True)
class TrafficControl:
    layout: SiteLayout
    max_base_blocks: int = 10
    horizon_nodes: int = 4
    follow_stride: int = 2  # 100 m between platooning carriers: lane capacity far above demand
    trips: dict[str, Trip] = field(default_factory=dict)
    holder: list[list[str | None]] = field(default_factory=list)
    lane_queue: list[list[str]] = field(default_factory=list)  # carriers on each lane, entry order
    lost: dict[str, str] = field(default_factory=dict)  # carriers that lost their order off their trip: node
    reissued: int = 0  # trips given again to vehicles that had lost their order
    max_resends: int = 3
    resend_after_s: float = 5.0  # model seconds before the first resend; doubled for each next one
    standing: dict[str, str] = field(default_factory=dict)  # carriers whose vehicle would not take their order: why
    stalled: dict[str, str] = field(default_factory=dict)  # carriers stalled on a released base: how
    alarms: deque[CarrierAlarm] = field(default_factory=lambda: deque(maxlen=1000))
    resends: int = 0  # orders sent again because a vehicle had not taken them up
    _routes: dict[tuple[int, Side], Route] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.horizon_nodes < 1:
            # without a horizon a base end looks like the end of the order to a vehicle
            raise ValueError("horizon_nodes must be at least 1")
        if self.max_base_blocks < 1 or self.follow_stride < 1:
            raise ValueError("max_base_blocks and follow_stride must be at least 1")
        if self.max_resends < 0 or not self.resend_after_s > 0:
            raise ValueError("max_resends must be at least 0 and resend_after_s more than 0")
        self.holder = [[None] * lane.n_blocks for lane in self.layout.lanes]
        self.lane_queue = [[] for _ in self.layout.lanes]

    # --- queries ---------------------------------------------------------------

    def carriers_on(self, lane: int) -> int:
        return len(self.lane_queue[lane])

    def blocked_by(self) -> dict[str, str]:
        """Each waiting carrier and the carrier that holds the block it needs."""
        out: dict[str, str] = {}
        for trip in self.trips.values():
            if trip.waiting_on >= 0:
                holder = self.holder[trip.route.lane][trip.waiting_on]
                if holder is not None:
                    out[trip.carrier_id] = holder
        return out

    def held_blocks(self, carrier_id: str) -> list[tuple[int, int]]:
        trip = self.trips.get(carrier_id)
        if trip is None:
            return []
        return [
            (trip.route.lane, b)
            for b in trip.route.blocks[trip.freed_upto : trip.released_upto]
            if b >= 0
        ]

    # --- trips -----------------------------------------------------------------

    def begin(self, carrier_id: str, lane: int, from_side: Side, order_id: str) -> Order:
        """Plan a crossing and return its first order (base as far as is free, then horizon)."""
        if carrier_id in self.trips:
            raise ValueError(f"carrier {carrier_id} already has a trip")
        key = (lane, from_side)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = Route.build(self.layout, lane, from_side)
        trip = Trip(carrier_id, route, order_id)
        self.trips[carrier_id] = trip
        self.lane_queue[lane].append(carrier_id)
        order = self._extend(trip)
        if order is None:  # nothing free yet: an order with an empty base, the carrier waits
            order = self._order(trip, 0)
        return order

    def arrived(self, state: CarrierState) -> bool:
        """Does this report say the carrier reached the far yard of its trip?"""
        trip = self.trips.get(state.device_id)
        return (
            trip is not None
            and state.order_id == trip.order_id
            and trip.route.index_of.get(state.last_node_id) == len(trip.route.node_ids) - 1
        )

    def finish(self, carrier_id: str) -> list[Order]:
        """The carrier reached the far yard: free everything it holds."""
        trip = self.trips.pop(carrier_id)
        self.standing.pop(carrier_id, None)
        self.stalled.pop(carrier_id, None)
        for b in trip.route.blocks[trip.freed_upto : trip.released_upto]:
            if b >= 0 and self.holder[trip.route.lane][b] == carrier_id:
                self.holder[trip.route.lane][b] = None
        self.lane_queue[trip.route.lane].remove(carrier_id)
        return self._wake_waiters(trip.route.lane)

    def on_state(self, state: CarrierState, now: float = 0.0) -> list[Command]:
        """A position report: free what the carrier has left, extend what can be extended.
        `now` (model seconds) times the back-off of resends and the stall watch."""
        trip = self.trips.get(state.device_id)
        if trip is None:
            return []
        trip.halted = bool(state.errors or state.paused)
        if trip.halted:
            trip.progress_at = now  # it is not expected to move: the stall watch starts again
        if state.order_id != trip.order_id:
            if state.order_id != "":
                return []  # an old report
            if trip.unconfirmed and state.last_node_id == trip.route.node_ids[trip.position]:
                # still where the trip starts: its order has not arrived yet, was lost on
                # the way, or was refused; sent again after a back-off, a bounded number of times
                return [] if state.errors else self._retry(trip, now)
            # a vehicle that reports no order at all has lost it (a restart): the plan is
            # reconciled with where it stands
            return self._reissue(trip, state, now)
        trip.unconfirmed.clear()
        if state.order_update_id >= trip.update_id and not trip.resend_due:
            trip.sends, trip.refused = 1, ""  # it has the latest update
        idx = trip.route.index_of.get(state.last_node_id)
        if idx is None or idx < trip.position:
            return []  # an old or foreign report: nothing to learn from it
        if idx > trip.position:
            trip.progress_at = now
            self.stalled.pop(trip.carrier_id, None)
        trip.position = idx
        # A moving carrier at node idx is already in edge idx; a stopped one is still
        # at the end of edge idx-1, which it keeps until it reports moving on.
        keep_from = idx if state.driving else idx - 1
        freed = False
        lane_holder = self.holder[trip.route.lane]
        for e in range(trip.freed_upto, max(keep_from, trip.freed_upto)):
            b = trip.route.blocks[e]
            if b >= 0 and lane_holder[b] == trip.carrier_id:
                lane_holder[b] = None
                freed = True
        trip.freed_upto = max(trip.freed_upto, keep_from)
        orders: list[Command] = []
        if state.errors or state.paused or trip.carrier_id in self.standing or trip.cancelling or trip.aborted:
            return list(self._wake_waiters(trip.route.lane)) if freed else orders
        # extend in steps of at least half a base: fewer, longer orders, or when it asks
        if trip.released_upto - idx <= self.max_base_blocks // 2 or state.new_base_request:
            own = self._extend(trip)
            if own is not None:
                orders.append(own)
        if freed:
            orders.extend(self._wake_waiters(trip.route.lane))
        return orders

    def _reissue(self, trip: Trip, state: CarrierState, now: float) -> list[Command]:
        """Give a vehicle that lost its order the rest of its trip as a new order, from
        the node it stands on, over the blocks it still holds. A vehicle that stands
        where its trip cannot have taken it keeps its blocks and waits for an operator."""
        idx = trip.route.index_of.get(state.last_node_id)
        if idx is None or not trip.position <= idx <= trip.released_upto or state.driving:
            self.lost[trip.carrier_id] = state.last_node_id
            return []
        self.lost.pop(trip.carrier_id, None)
        self.reissued += 1
        trip.progress_at = now
        base, _, count = trip.order_id.partition("~")
        trip.order_id = f"{base}~{int(count or 0) + 1}"
        trip.update_id = -1
        trip.unconfirmed.clear()
        trip.position = idx
        lane_holder = self.holder[trip.route.lane]
        for e in range(trip.freed_upto, max(idx - 1, trip.freed_upto)):  # what it left behind
            b = trip.route.blocks[e]
            if b >= 0 and lane_holder[b] == trip.carrier_id:
                lane_holder[b] = None
        trip.freed_upto = max(trip.freed_upto, idx - 1)
        return [self._order(trip, idx), *self._wake_waiters(trip.route.lane)]

    # --- a vehicle that does not take up its order -------------------------------------

    def refused(self, carrier_id: str, order_id: str, update_id: int | None, reason: str, now: float) -> list[Command]:
        """The vehicle said it refuses order `order_id` (update `update_id`, if it said
        which), in its words `reason`: sent again after a back-off, or it stands."""
        trip = self.trips.get(carrier_id)
        if trip is None or order_id != trip.order_id or carrier_id in self.standing:
            return []  # not the order it drives now: a refusal of the past
        if update_id is not None and update_id < trip.update_id:
            return []  # an older update: the latest one is still to be answered
        trip.refused = reason
        return self._retry(trip, now)

    def resend(self, carrier_id: str) -> list[Command]:
        """The back-off is over: the order it has not taken up, again."""
        trip = self.trips.get(carrier_id)
        if trip is None or not trip.resend_due:
            return []
        trip.resend_due = False
        if carrier_id in self.standing or trip.last_order is None:
            return []
        trip.sends += 1
        self.resends += 1
        return list(trip.unconfirmed) if trip.unconfirmed else [trip.last_order]

    # --- cancelled trips ---------------------------------------------------------------------

    def cancel(self, carrier_id: str, purpose: Literal["abort", "reroute"]) -> bool:
        """Hold the trip's base where it is: a cancelOrder goes to the vehicle. False if the
        carrier has no trip or one is being cancelled already."""
        trip = self.trips.get(carrier_id)
        if trip is None or trip.cancelling or trip.aborted:
            return False
        trip.cancelling = purpose
        return True

    def cancel_failed(self, carrier_id: str) -> list[Command]:
        """The vehicle would not cancel: the trip goes on as planned."""
        trip = self.trips.get(carrier_id)
        if trip is None or not trip.cancelling:
            return []
        trip.cancelling = ""
        order = self._extend(trip) if trip.released_upto - trip.position <= self.max_base_blocks // 2 else None
        return [order] if order is not None else []

    def cancelled(self, carrier_id: str, now: float) -> tuple[str, str, list[Command]]:
        """The vehicle cancelled its order and stands at the node it last reported. Returns
        what the cancel was for, where it stands ("start": still at its yard, the trip is
        dropped; "end": at the far yard, the trip is done; "lane": on the lane, the trip
        holds the block it stands in and nothing ahead), and the orders of carriers that can
        now move on."""
        trip = self.trips.get(carrier_id)
        if trip is None:
            return "", "", []
        purpose = trip.cancelling or "abort"
        trip.cancelling = ""
        if trip.position in (0, len(trip.route.node_ids) - 1):
            woken: list[Command] = list(self.finish(carrier_id))
            return purpose, "start" if trip.position == 0 else "end", woken
        lane_holder = self.holder[trip.route.lane]
        for e in range(max(trip.position, trip.freed_upto), trip.released_upto):
            b = trip.route.blocks[e]
            if b >= 0 and lane_holder[b] == carrier_id:
                lane_holder[b] = None
        trip.released_upto = trip.position
        trip.aborted, trip.progress_at = purpose == "abort", now
        # the next order is a new one, from where it stands
        base, _, count = trip.order_id.partition("~")
        trip.order_id, trip.update_id = f"{base}~{int(count or 0) + 1}", -1
        trip.unconfirmed.clear()
        out: list[Command] = []
        if not trip.aborted:
            order = self._extend(trip)  # re-routing came too late: it drives on from here
            out = [order] if order is not None else []
        return purpose, "lane", [*out, *self._wake_waiters(trip.route.lane)]

    def aborted(self) -> dict[str, str]:
        """Carriers whose trip an operator aborted on the lane: where each stands."""
        return {cid: t.route.node_ids[t.position] for cid, t in self.trips.items() if t.aborted}

    def from_side(self, carrier_id: str) -> Side | None:
        """The yard the carrier's trip set off from."""
        trip = self.trips.get(carrier_id)
        return None if trip is None else ("vietnam" if trip.route.node_ids[0] == YARD_NODE["vietnam"] else "china")

    def try_again(self, carrier_id: str, now: float) -> list[Command]:
        """An operator brings back a carrier that stands: its order is sent again, with a
        fresh count of resends; a vehicle that never took the trip up gets a new order id."""
        trip = self.trips.get(carrier_id)
        if trip is not None and trip.aborted:  # an operator's abort: on from where it stopped
            trip.aborted, trip.progress_at = False, now
            order = self._extend(trip)
            return [order] if order is not None else []
        if trip is None or self.standing.pop(carrier_id, None) is None:
            return []
        trip.sends, trip.refused, trip.resend_due, trip.progress_at = 1, "", False, now
        if not trip.unconfirmed:
            return [trip.last_order] if trip.last_order is not None else []
        base, _, count = trip.order_id.partition("~")
        trip.order_id = f"{base}~{int(count or 0) + 1}"
        trip.update_id = -1
        trip.unconfirmed.clear()
        order = self._extend(trip)
        return [order] if order is not None else []

    def _retry(self, trip: Trip, now: float) -> list[Command]:
        if trip.resend_due or trip.carrier_id in self.standing:
            return []  # one resend at a time; none for a carrier that stands
        if trip.sends > self.max_resends:
            return self._stand(trip, now)
        trip.resend_due = True
        return [SetTimer(self.resend_after_s * 2 ** (trip.sends - 1), RESEND + trip.carrier_id)]

    def _stand(self, trip: Trip, now: float) -> list[Command]:
        """It stands until an operator brings it back. A vehicle that never took up the
        trip stands where it starts and drives none of it: the blocks ahead go back."""
        cid = trip.carrier_id
        sent = f"sent {trip.sends} time{'s' if trip.sends > 1 else ''}"
        if trip.refused:
            why = f"refused order {trip.order_id} ({sent}): {trip.refused}"
        else:
            why = f"did not take up order {trip.order_id} ({sent}) and gave no reason"
        self.standing[cid] = why
        self.alarms.append(CarrierAlarm(cid, "stands", why, now))
        if not trip.unconfirmed:
            return []  # it may still drive the base it took before: it keeps every block
        lane_holder = self.holder[trip.route.lane]
        for e in range(max(trip.position, trip.freed_upto), trip.released_upto):
            b = trip.route.blocks[e]
            if b >= 0 and lane_holder[b] == cid:
                lane_holder[b] = None
        trip.released_upto = trip.position
        return list(self._wake_waiters(trip.route.lane))

    # --- stalls ---------------------------------------------------------------------------

    def stall_scan(self, now: float) -> None:
        """Flag each vehicle that has a base released ahead of it and has not moved on
        for `STALL_FACTOR` times the drive to its base end at full speed (plus
        `STALL_SLACK_S`), while it reports no error and is not paused."""
        speed = self.layout.fleet.speed_mps
        for cid, trip in self.trips.items():
            if trip.released_upto <= trip.position or trip.halted:
                trip.progress_at = now  # nothing released ahead, or paused or broken: not expected to move
                continue
            if trip.progress_at is None:
                trip.progress_at = now  # its first look: the clock starts
            if cid in self.stalled or cid in self.standing or trip.unconfirmed:
                continue
            ahead_m = sum(e.length_m for e in trip.route.base_edges[trip.position : trip.released_upto])
            allowed = STALL_FACTOR * ahead_m / speed + STALL_SLACK_S
            if now - trip.progress_at > allowed:
                at = trip.route.node_ids[trip.position]
                why = (
                    f"has not moved on from {at} for {now - trip.progress_at:.0f} s with {ahead_m:.0f} m released"
                    f" ahead (expected within {allowed:.0f} s) and reports no error"
                )
                self.stalled[cid] = why
                self.alarms.append(CarrierAlarm(cid, "stalled", why, now))

    # --- internals ---------------------------------------------------------------

    def _wake_waiters(self, lane: int) -> list[Order]:
        orders: list[Order] = []
        for cid in self.lane_queue[lane]:
            trip = self.trips[cid]
            if trip.cancelling or trip.aborted:
                continue
            if trip.waiting_on >= 0 and self.holder[lane][trip.waiting_on] is None:
                order = self._extend(trip)
                if order is not None:
                    orders.append(order)
        return orders

    def _extend(self, trip: Trip) -> Order | None:
        start = trip.released_upto
        r = start
        limit = min(len(trip.route.blocks), trip.position + self.max_base_blocks)
        lane_holder = self.holder[trip.route.lane]
        trip.waiting_on = -1
        while r < limit:
            b = trip.route.blocks[r]
            if b >= 0:
                h = lane_holder[b]
                if h is not None and h != trip.carrier_id:
                    trip.waiting_on = b
                    break
                lane_holder[b] = trip.carrier_id
            r += 1
        if r == start and trip.update_id >= 0:
            return None
        trip.released_upto = r
        return self._order(trip, start)

    def _followed_closely(self, trip: Trip) -> bool:
        """Is the next carrier on the lane stopped, waiting for blocks this one holds?"""
        queue = self.lane_queue[trip.route.lane]
        i = queue.index(trip.carrier_id)
        if i + 1 >= len(queue):
            return False
        follower = self.trips[queue[i + 1]]
        return follower.waiting_on >= 0 and follower.position >= follower.released_upto - 1

    def _order(self, trip: Trip, start: int) -> Order:
        """An order (update) from the old base end `start` to the new one, plus a short horizon."""
        trip.update_id += 1
        route = trip.route
        end = trip.released_upto
        last = min(len(route.node_ids) - 1, end + self.horizon_nodes)
        # Ask for a report half a base before the end, so that the base can be extended
        # before the carrier reaches it; every `follow_stride` nodes if a carrier waits behind.
        lookahead = end - self.max_base_blocks // 2
        stride = self.follow_stride if self._followed_closely(trip) else 0
        nodes = [
            route.report_nodes[i]
            if i > start and (i == lookahead or (stride and i % stride == 0))
            else route.base_nodes[i]
            for i in range(start, end + 1)
        ]
        nodes.extend(route.horizon_nodes[end + 1 : last + 1])
        edges = route.base_edges[start:end] + route.horizon_edges[end:last]
        order = Order(trip.carrier_id, trip.order_id, trip.update_id, tuple(nodes), edges)
        if trip.unconfirmed or trip.update_id == 0:
            trip.unconfirmed.append(order)
        trip.last_order = order
        trip.sends = 1
        return order
