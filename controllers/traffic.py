"""Block reservations on the corridor, released to carriers as the base of their order.

A block belongs to at most one carrier at a time. A carrier's base is extended over
the free blocks ahead of it, at most `max_base_blocks` past its last reported node,
and blocks behind it are freed only when it reports having left them. So two carriers
are never given the same block, whatever order events arrive in.

Lanes are one-way at any moment (the lane policy fixes a direction per lane), so a
carrier only ever waits for the carrier ahead of it on its lane: the waits form
chains, never cycles, and the chain ends at a carrier that moves or is under repair.

Event economy: a carrier nobody follows reports only at the end of its base; one that
is followed is asked to report every `follow_stride` nodes, so the carrier behind gets
blocks as soon as they are free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controllers.layout import (
    YARD_NODE,
    SiteLayout,
    access_edge_id,
    block_edge_id,
    lane_node_id,
    other_side,
)
from controllers.messages import CarrierState, Edge, Node, Order, Side


@dataclass(slots=True)
class Trip:
    """One carrier's drive from one yard to the other along one lane."""

    carrier_id: str
    lane: int
    order_id: str
    update_id: int
    node_ids: list[str]
    edge_ids: list[str]
    edge_lengths: list[float]
    blocks: list[int]  # lane block of each edge, -1 for the yard access edges
    index_of: dict[str, int]
    released_upto: int = 0  # route index of the base end; edges before it are released
    position: int = 0  # route index of the last node reported
    freed_upto: int = 0  # edges before this index are no longer held
    waiting_on: int = -1  # block it needs that another carrier holds
    followed: bool = False


@dataclass(slots=True)
class TrafficControl:
    layout: SiteLayout
    max_base_blocks: int = 10
    horizon_nodes: int = 4
    follow_stride: int = 1
    trips: dict[str, Trip] = field(default_factory=dict)
    holder: list[list[str | None]] = field(default_factory=list)
    lane_queue: list[list[str]] = field(default_factory=list)  # carriers on each lane, entry order

    def __post_init__(self) -> None:
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
                holder = self.holder[trip.lane][trip.waiting_on]
                if holder is not None:
                    out[trip.carrier_id] = holder
        return out

    def held_blocks(self, carrier_id: str) -> list[tuple[int, int]]:
        trip = self.trips.get(carrier_id)
        if trip is None:
            return []
        return [
            (trip.lane, b)
            for b in trip.blocks[trip.freed_upto : trip.released_upto]
            if b >= 0
        ]

    # --- trips -----------------------------------------------------------------

    def begin(self, carrier_id: str, lane: int, from_side: Side, order_id: str) -> Order:
        """Plan a crossing and return its first order (base as far as is free, then horizon)."""
        if carrier_id in self.trips:
            raise ValueError(f"carrier {carrier_id} already has a trip")
        info = self.layout.lanes[lane]
        nb = info.n_blocks
        to_side = other_side(from_side)
        if from_side == "vietnam":
            lane_nodes = [lane_node_id(lane, k) for k in range(nb + 1)]
            blocks = list(range(nb))
        else:
            lane_nodes = [lane_node_id(lane, k) for k in range(nb, -1, -1)]
            blocks = list(range(nb - 1, -1, -1))
        node_ids = [YARD_NODE[from_side], *lane_nodes, YARD_NODE[to_side]]
        edge_ids = [
            access_edge_id(lane, from_side),
            *(block_edge_id(lane, b) for b in blocks),
            access_edge_id(lane, to_side),
        ]
        access = self.layout.yard_access_m
        trip = Trip(
            carrier_id=carrier_id,
            lane=lane,
            order_id=order_id,
            update_id=-1,
            node_ids=node_ids,
            edge_ids=edge_ids,
            edge_lengths=[access, *([info.block_length_m] * nb), access],
            blocks=[-1, *blocks, -1],
            index_of={n: i for i, n in enumerate(node_ids)},
        )
        self.trips[carrier_id] = trip
        queue = self.lane_queue[lane]
        if queue:
            self.trips[queue[-1]].followed = True
        queue.append(carrier_id)
        order = self._extend(trip)
        if order is None:  # nothing free yet: an order with an empty base, the carrier waits
            order = self._order(trip, 0)
        return order

    def finish(self, carrier_id: str) -> list[Order]:
        """The carrier reached the far yard: free everything it holds."""
        trip = self.trips.pop(carrier_id)
        for b in trip.blocks[trip.freed_upto : trip.released_upto]:
            if b >= 0 and self.holder[trip.lane][b] == carrier_id:
                self.holder[trip.lane][b] = None
        self.lane_queue[trip.lane].remove(carrier_id)
        return self._wake_waiters(trip.lane)

    def on_state(self, state: CarrierState) -> list[Order]:
        """A position report: free what the carrier has left, extend what can be extended."""
        trip = self.trips.get(state.device_id)
        if trip is None or state.order_id != trip.order_id:
            return []
        idx = trip.index_of.get(state.last_node_id)
        if idx is None or idx < trip.position:
            return []  # an old or foreign report: nothing to learn from it
        trip.position = idx
        # A moving carrier at node idx is already in edge idx; a stopped one is still
        # at the end of edge idx-1, which it keeps until it reports moving on.
        keep_from = idx if state.driving else idx - 1
        freed = False
        lane_holder = self.holder[trip.lane]
        for e in range(trip.freed_upto, max(keep_from, trip.freed_upto)):
            b = trip.blocks[e]
            if b >= 0 and lane_holder[b] == trip.carrier_id:
                lane_holder[b] = None
                freed = True
        trip.freed_upto = max(trip.freed_upto, keep_from)
        orders: list[Order] = []
        if state.errors or state.paused:
            return self._wake_waiters(trip.lane) if freed else orders
        if trip.released_upto - idx < self.max_base_blocks:
            own = self._extend(trip)
            if own is not None:
                orders.append(own)
        if freed:
            orders.extend(self._wake_waiters(trip.lane))
        return orders

    # --- internals ---------------------------------------------------------------

    def _wake_waiters(self, lane: int) -> list[Order]:
        orders: list[Order] = []
        for cid in self.lane_queue[lane]:
            trip = self.trips[cid]
            if trip.waiting_on >= 0 and self.holder[lane][trip.waiting_on] is None:
                order = self._extend(trip)
                if order is not None:
                    orders.append(order)
        return orders

    def _extend(self, trip: Trip) -> Order | None:
        start = trip.released_upto
        r = start
        limit = min(len(trip.edge_ids), trip.position + self.max_base_blocks)
        lane_holder = self.holder[trip.lane]
        trip.waiting_on = -1
        while r < limit:
            b = trip.blocks[r]
            if b >= 0:
                h = lane_holder[b]
                if h is not None and h != trip.carrier_id:
                    trip.waiting_on = b
                    self.trips[h].followed = True
                    break
                lane_holder[b] = trip.carrier_id
            r += 1
        if r == start and trip.update_id >= 0:
            return None
        trip.released_upto = r
        return self._order(trip, start)

    def _order(self, trip: Trip, start: int) -> Order:
        """An order (update) from the old base end `start` to the new one, plus a short horizon."""
        trip.update_id += 1
        end = trip.released_upto
        last = min(len(trip.node_ids) - 1, end + self.horizon_nodes)
        stride = self.follow_stride if trip.followed else 0
        nodes = tuple(
            Node(
                node_id=trip.node_ids[i],
                sequence_id=2 * i,
                released=i <= end,
                report=i == end or (stride > 0 and i > start and i <= end and i % stride == 0),
            )
            for i in range(start, last + 1)
        )
        edges = tuple(
            Edge(
                edge_id=trip.edge_ids[i],
                sequence_id=2 * i + 1,
                released=i < end,
                start_node_id=trip.node_ids[i],
                end_node_id=trip.node_ids[i + 1],
                length_m=trip.edge_lengths[i],
            )
            for i in range(start, last)
        )
        return Order(trip.carrier_id, trip.order_id, trip.update_id, nodes, edges)
