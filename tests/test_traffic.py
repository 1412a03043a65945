"""Block reservations on the corridor: `controllers.traffic.TrafficControl`.

Unit tests feed hand-made `CarrierState` reports; the model tests drive a tiny model
of carriers that obey orders as the twin's `SimCarrier` does (drive only the released
base, report at flagged nodes and at the base end, take updates at the old base end)
and check the safety and liveness invariants after every step, over every reachable
state of a small case and over hypothesis-chosen interleavings of larger ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controllers.layout import (
    LANE_TO_CHINA,
    LANE_TO_VIETNAM,
    YARD_NODE,
    FleetInfo,
    LaneInfo,
    SiteLayout,
    YardInfo,
    access_edge_id,
    block_edge_id,
    lane_node_id,
)
from controllers.messages import CarrierState, Order, SetTimer, Side
from controllers.traffic import RESEND, STALL_FACTOR, STALL_SLACK_S, TrafficControl

# --- helpers -------------------------------------------------------------------------


def make_layout(*lanes: tuple[str, int], block_m: float = 50.0) -> SiteLayout:
    """A site with the given (policy, n_blocks) lanes, indexed in order."""
    if not lanes:
        lanes = ((LANE_TO_CHINA, 5), (LANE_TO_CHINA, 4), (LANE_TO_VIETNAM, 4), (LANE_TO_VIETNAM, 6))
    yards = {
        side: YardInfo(
            side=side,
            cranes=(f"{YARD_NODE[side]}-crane-1",),
            chargers=1,
            stack_capacity=10,
            barriers=(f"{YARD_NODE[side]}-gate",),
            weighbridges=(f"{YARD_NODE[side]}-weighbridge",),
        )
        for side in ("vietnam", "china")
    }
    return SiteLayout(
        lanes=tuple(LaneInfo(i, policy, n, block_m) for i, (policy, n) in enumerate(lanes)),
        yard_access_m=100.0,
        yards=yards,
        fleet=FleetInfo(("A", "B", "C", "D"), 5.0, 100.0, 1.0, 20.0),
        weigh_tolerance_pct=5.0,
    )


def route_nodes(layout: SiteLayout, lane: int, from_side: Side) -> list[str]:
    nb = layout.lanes[lane].n_blocks
    ks = range(nb + 1) if from_side == "vietnam" else range(nb, -1, -1)
    far: Side = "china" if from_side == "vietnam" else "vietnam"
    return [YARD_NODE[from_side], *(lane_node_id(lane, k) for k in ks), YARD_NODE[far]]


def check_order_shape(order: Order) -> None:
    """VDA 5050 shape: even node / odd edge sequence ids, edges join consecutive nodes,
    a released prefix (the base) then an unreleased horizon, and the same for edges."""
    nodes, edges = order.nodes, order.edges
    assert len(nodes) >= 1
    assert len(edges) == len(nodes) - 1
    first = nodes[0].sequence_id
    for k, node in enumerate(nodes):
        assert node.sequence_id % 2 == 0
        assert node.sequence_id == first + 2 * k
    for k, edge in enumerate(edges):
        assert edge.sequence_id % 2 == 1
        assert edge.sequence_id == first + 2 * k + 1
        assert edge.start_node_id == nodes[k].node_id
        assert edge.end_node_id == nodes[k + 1].node_id
        assert edge.length_m > 0
    released = [n.released for n in nodes]
    n_base = released.index(False) if False in released else len(released)
    assert all(released[:n_base]) and not any(released[n_base:])
    assert nodes[0].released  # an order (update) starts at a released node
    for k, edge in enumerate(edges):
        # an edge is released exactly when both its nodes are
        assert edge.released == (k + 1 < n_base)
    assert order.base_end is nodes[n_base - 1]


def released_edges(order: Order) -> list[str]:
    return [e.edge_id for e in order.edges if e.released]


def released_blocks(order: Order, lane: int) -> set[int]:
    ids = {block_edge_id(lane, b): b for b in range(64)}
    return {ids[e] for e in released_edges(order) if e in ids}


def state(
    carrier: str,
    order_id: str,
    node: str,
    *,
    driving: bool = False,
    errors: tuple[str, ...] = (),
    paused: bool = False,
    finished: bool = False,
    update_id: int = 0,
    seq: int = 0,
) -> CarrierState:
    return CarrierState(
        device_id=carrier,
        order_id=order_id,
        order_update_id=update_id,
        last_node_id=node,
        last_node_sequence_id=seq,
        driving=driving,
        paused=paused,
        battery_pct=80.0,
        charging=False,
        load=None,
        errors=errors,
        order_finished=finished,
    )


def holders(tc: TrafficControl, lane: int) -> list[str | None]:
    return list(tc.holder[lane])


# --- the first order of a trip ----------------------------------------------------------


def test_begin_gives_base_over_free_blocks_then_horizon() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=4, horizon_nodes=2)
    order = tc.begin("A", 0, "vietnam", "o1")
    check_order_shape(order)
    assert (order.device_id, order.order_id, order.order_update_id) == ("A", "o1", 0)
    route = route_nodes(layout, 0, "vietnam")
    assert order.nodes[0].node_id == YARD_NODE["vietnam"] == route[0]
    assert order.nodes[0].sequence_id == 0
    assert [n.node_id for n in order.nodes] == route[:7]  # 5 released + 2 horizon
    assert [n.released for n in order.nodes] == [True] * 5 + [False] * 2
    # max_base_blocks edges past the last reported node: the access edge and 3 blocks
    assert released_edges(order) == [access_edge_id(0, "vietnam"), "L0B0", "L0B1", "L0B2"]
    assert [e.edge_id for e in order.edges if not e.released] == ["L0B3", "L0B4"]
    assert order.base_end.node_id == lane_node_id(0, 3)
    assert holders(tc, 0) == ["A", "A", "A", None, None]
    assert tc.held_blocks("A") == [(0, 0), (0, 1), (0, 2)]
    assert tc.carriers_on(0) == 1
    # the start node is never asked to report, nor is the horizon
    assert not order.nodes[0].report
    assert not any(n.report for n in order.nodes if not n.released)
    # the edge lengths are the layout's
    assert order.edges[0].length_m == layout.yard_access_m
    assert order.edges[1].length_m == layout.lanes[0].block_length_m


def test_begin_releases_the_whole_route_when_short_and_free() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, horizon_nodes=3)
    order = tc.begin("A", 1, "vietnam", "o1")
    check_order_shape(order)
    assert [n.node_id for n in order.nodes] == route_nodes(layout, 1, "vietnam")
    assert all(n.released for n in order.nodes)  # nothing left for a horizon
    assert order.base_end.node_id == YARD_NODE["china"]
    assert released_edges(order)[-1] == access_edge_id(1, "china")


def test_to_vietnam_trip_runs_the_lane_in_reverse() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, horizon_nodes=2)
    order = tc.begin("A", 2, "china", "o1")
    check_order_shape(order)
    assert [n.node_id for n in order.nodes] == ["CN", "L2N4", "L2N3", "L2N2", "L2N1", "L2N0", "VN"]
    assert released_edges(order) == ["L2CN", "L2B3", "L2B2", "L2B1", "L2B0", "L2VN"]
    assert holders(tc, 2) == ["A"] * 4

    # a short base from China holds the blocks at the China end
    tc2 = TrafficControl(layout, max_base_blocks=3, horizon_nodes=1)
    order2 = tc2.begin("B", 3, "china", "o2")
    check_order_shape(order2)
    assert released_edges(order2) == ["L3CN", "L3B5", "L3B4"]
    assert holders(tc2, 3) == [None, None, None, None, "B", "B"]
    assert [n.node_id for n in order2.nodes] == ["CN", "L3N6", "L3N5", "L3N4", "L3N3"]


def test_base_stops_before_a_held_block() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, horizon_nodes=2)
    tc.holder[0][2] = "X"  # someone else holds block 2
    order = tc.begin("A", 0, "vietnam", "o1")
    check_order_shape(order)
    assert released_edges(order) == ["L0VN", "L0B0", "L0B1"]
    assert order.base_end.node_id == lane_node_id(0, 2)
    assert [n.node_id for n in order.nodes if not n.released] == ["L0N3", "L0N4"]
    assert holders(tc, 0) == ["A", "A", "X", None, None]


def test_a_carrier_cannot_begin_two_trips() -> None:
    tc = TrafficControl(make_layout())
    tc.begin("A", 0, "vietnam", "o1")
    with pytest.raises(ValueError):
        tc.begin("A", 1, "vietnam", "o2")


# --- two carriers on one lane --------------------------------------------------------------


def test_follower_never_gets_a_held_block_and_waits_for_the_leader() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, horizon_nodes=2)
    lead = tc.begin("A", 0, "vietnam", "oA")
    follow = tc.begin("B", 0, "vietnam", "oB")
    check_order_shape(follow)
    assert released_blocks(lead, 0) == {0, 1, 2, 3, 4}
    assert released_blocks(follow, 0) == set()  # only the yard access edge
    assert released_edges(follow) == ["L0VN"]
    assert follow.base_end.node_id == lane_node_id(0, 0)
    assert holders(tc, 0) == ["A"] * 5
    assert tc.blocked_by() == {"B": "A"}
    assert tc.held_blocks("B") == []

    # the leader stands at the end of block 0: it still holds it, nothing for B
    assert tc.on_state(state("A", "oA", "L0N1")) == []
    assert holders(tc, 0)[0] == "A"
    assert tc.blocked_by() == {"B": "A"}

    # the leader passes node L0N2 and is in block 2: blocks 0 and 1 go to B
    orders = tc.on_state(state("A", "oA", "L0N2", driving=True))
    mine = [o for o in orders if o.device_id == "B"]
    assert len(mine) == 1
    upd = mine[0]
    check_order_shape(upd)
    assert (upd.order_id, upd.order_update_id) == ("oB", 1)
    assert upd.nodes[0].node_id == follow.base_end.node_id  # starts at the old base end
    assert upd.nodes[0].sequence_id == follow.base_end.sequence_id
    assert released_edges(upd) == ["L0B0", "L0B1"]
    assert holders(tc, 0) == ["B", "B", "A", "A", "A"]
    assert tc.blocked_by() == {"B": "A"}  # now waiting for block 2
    assert set(tc.held_blocks("A")).isdisjoint(tc.held_blocks("B"))


def test_stopped_carrier_keeps_the_block_it_stands_in() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    tc.begin("A", 0, "vietnam", "oA")
    tc.begin("B", 0, "vietnam", "oB")
    # A stopped at L0N2 (route index 3): it stands at the end of block 1
    orders = tc.on_state(state("A", "oA", "L0N2", driving=False))
    assert [o.device_id for o in orders] == ["B"]
    assert released_edges(orders[0]) == ["L0B0"]
    assert holders(tc, 0) == ["B", "A", "A", "A", "A"]
    # then reports moving on from the same node: block 1 goes
    orders = tc.on_state(state("A", "oA", "L0N2", driving=True))
    assert [released_edges(o) for o in orders if o.device_id == "B"] == [["L0B1"]]
    assert holders(tc, 0) == ["B", "B", "A", "A", "A"]


def _leader_update(followed: bool, stride: int = 1, n_blocks: int = 8, max_base: int = 4) -> tuple[Order, list[Order], TrafficControl]:
    """A's update when it reports at its base end L0N3, with B stopped behind it or not."""
    layout = make_layout((LANE_TO_CHINA, n_blocks))
    tc = TrafficControl(layout, max_base_blocks=max_base, horizon_nodes=2, follow_stride=stride)
    first = tc.begin("A", 0, "vietnam", "oA")
    if followed:
        tc.begin("B", 0, "vietnam", "oB")
        # B drives its base (the yard access edge) and stops at its end, waiting for block 0
        assert tc.on_state(state("B", "oB", "L0N0")) == []
        assert tc.blocked_by() == {"B": "A"}
    orders = tc.on_state(state("A", "oA", first.base_end.node_id))
    (upd,) = [o for o in orders if o.device_id == "A"]
    check_order_shape(upd)
    return upd, orders, tc


def test_leader_followed_by_a_stopped_waiter_is_asked_to_report_every_node() -> None:
    upd, orders, _ = _leader_update(followed=True)
    base = [n for n in upd.nodes if n.released]
    assert len(base) > 2
    # every node it will reach on the new base is flagged (the first is where it stands)
    assert all(n.report for n in base[1:])
    # and B got the blocks A left behind
    assert [released_edges(o) for o in orders if o.device_id == "B"] == [["L0B0", "L0B1"]]


def test_no_report_flags_on_every_node_when_nobody_waits_behind() -> None:
    alone, _, _ = _leader_update(followed=False)
    followed, _, _ = _leader_update(followed=True)
    assert [n.node_id for n in alone.nodes if n.released] == [n.node_id for n in followed.nodes if n.released]
    flags_alone = [n.report for n in alone.nodes if n.released][1:]
    flags_followed = [n.report for n in followed.nodes if n.released][1:]
    assert all(flags_followed)
    assert not all(flags_alone)  # event economy: fewer reports when nobody waits
    assert all(f or not a for a, f in zip(flags_alone, flags_followed))


def test_follow_stride_flags_every_other_node() -> None:
    upd, _, tc = _leader_update(followed=True, stride=2, n_blocks=10, max_base=6)
    route = tc.trips["A"].route
    base = [n for n in upd.nodes if n.released]
    start = route.index_of[base[0].node_id]
    end = route.index_of[base[-1].node_id]
    assert end - start >= 4
    flagged = {route.index_of[n.node_id] for n in base if n.report}
    assert {i for i in range(start + 1, end + 1) if i % 2 == 0} <= flagged
    assert any(i not in flagged for i in range(start + 1, end) if i % 2 == 1)


# --- stale reports, finish, breakdowns -------------------------------------------------


def _snapshot(tc: TrafficControl) -> tuple:
    return (
        copy.deepcopy(tc.holder),
        copy.deepcopy(tc.lane_queue),
        {c: (t.order_id, t.update_id, t.released_upto, t.position, t.freed_upto, t.waiting_on) for c, t in tc.trips.items()},
    )


def test_stale_and_foreign_reports_change_nothing() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    tc.begin("A", 0, "vietnam", "oA")
    tc.begin("B", 0, "vietnam", "oB")
    tc.on_state(state("A", "oA", "L0N3", driving=True))  # B gets blocks 0..2
    before = _snapshot(tc)
    assert holders(tc, 0) == ["B", "B", "B", "A", "A"]
    stale = [
        state("A", "oA", "L0N1", driving=True),  # a lower node index
        state("A", "oA", "VN", driving=True),
        state("A", "old-order", "L0N5", driving=True),  # another order id
        state("Z", "oA", "L0N5", driving=True),  # an unknown carrier
        state("A", "oA", "L9N9", driving=True),  # a node off its route
    ]
    for st_ in stale:
        assert tc.on_state(st_) == []
        assert _snapshot(tc) == before


def test_a_vehicle_that_lost_its_order_gets_the_rest_of_its_trip_from_where_it_stands() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    first = tc.begin("A", 0, "vietnam", "oA")
    assert released_blocks(first, 0) == {0, 1, 2, 3, 4}
    tc.on_state(state("A", "oA", "L0N1", driving=True))
    # it restarts at node L0N3 and reports no order at all
    orders = tc.on_state(state("A", "", "L0N3"))
    assert len(orders) == 1 and tc.reissued == 1
    again = orders[0]
    check_order_shape(again)
    assert again.order_id != "oA" and again.order_update_id == 0  # a new order, as VDA 5050 wants
    assert again.nodes[0].node_id == "L0N3"  # starting where the vehicle stands
    assert released_blocks(again, 0) == {3, 4}  # over the blocks it still holds, nothing more
    assert holders(tc, 0) == [None, None, "A", "A", "A"]  # left behind: freed; it stands at the end of block 2
    assert not tc.lost
    # its reports on the new order carry the trip on to the far yard
    tc.on_state(state("A", again.order_id, "L0N5", driving=True, seq=again.nodes[-1].sequence_id))
    assert tc.arrived(state("A", again.order_id, "CN", finished=True))  # the new order ends the trip
    assert tc.trips["A"].position == route_nodes(layout, 0, "vietnam").index("L0N5")


def test_a_report_from_before_the_first_order_arrived_gets_the_same_order_again() -> None:
    # Over MQTT a vehicle's state sent just before its first order arrived (no order, at
    # the start) reaches master control after the order was sent. That is not a lost
    # order: a new order id would be refused by a vehicle already driving the first.
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    first = tc.begin("A", 0, "vietnam", "oA")
    before = _snapshot(tc)
    # the same order, same id and update (a vehicle that has it ignores it), after a back-off
    assert tc.on_state(state("A", "", "VN")) == [SetTimer(tc.resend_after_s, RESEND + "A")]
    assert tc.on_state(state("A", "", "VN")) == []  # one resend waits at a time
    assert tc.resend("A") == [first]
    assert tc.reissued == 0 and not tc.lost and _snapshot(tc) == before
    assert tc.on_state(state("A", "", "VN", errors=("E-REFUSED",))) == []  # a refusal: not sent again and again
    # once it reports the order, a report with no order means it lost it, as before
    tc.on_state(state("A", "oA", "L0N1", driving=True))
    assert tc.on_state(state("A", "", "VN")) == []
    assert tc.lost == {"A": "VN"}


# --- a vehicle that will not take up its order -------------------------------------------

NO_POSITION = "WARNING noRouteError: order route is not traversable: missing nodePosition (orderId oA)"


def test_a_refused_order_is_sent_again_with_a_doubling_back_off_then_the_carrier_stands() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, max_resends=3, resend_after_s=5.0)
    first = tc.begin("A", 0, "vietnam", "oA")
    tc.begin("B", 0, "vietnam", "oB")  # waits behind A
    assert tc.blocked_by() == {"B": "A"}
    sent = [first]
    for delay in (5.0, 10.0, 20.0):
        assert tc.refused("A", "oA", 0, NO_POSITION, now=0.0) == [SetTimer(delay, RESEND + "A")]
        # the vehicle keeps saying so on every state, and again: nothing more goes out
        assert tc.on_state(state("A", "", "VN")) == []
        assert tc.refused("A", "oA", 0, NO_POSITION, now=0.0) == []
        again = tc.resend("A")
        assert again == [first]  # the same order, not a new one under a new id
        sent += again
        assert tc.resend("A") == []  # one timer, one resend
    assert len(sent) == 1 + tc.max_resends and tc.resends == tc.max_resends
    assert not tc.alarms
    # refused once more: it stands, with the vehicle's own words, and one alarm
    out = tc.refused("A", "oA", 0, NO_POSITION, now=40.0)
    assert "missing nodePosition" in tc.standing["A"] and "order oA" in tc.standing["A"]
    assert [(a.carrier_id, a.kind, a.at) for a in tc.alarms] == [("A", "stands", 40.0)]
    assert tc.alarms[0].text == tc.standing["A"]
    # it never set off: the blocks it was given go to the carrier behind it
    assert [o.device_id for o in out if isinstance(o, Order)] == ["B"]
    assert "A" not in holders(tc, 0) and tc.blocked_by() == {}
    # nothing more is sent, whatever it reports, and no second alarm
    for st_ in (state("A", "", "VN"), state("A", "", "VN", errors=("E",))):
        assert tc.on_state(st_) == []
    assert tc.refused("A", "oA", 0, NO_POSITION, now=50.0) == [] and tc.resend("A") == []
    assert len(tc.alarms) == 1
    # an operator brings it back: a new order id, with a fresh count of resends
    tc.finish("B")
    back = tc.try_again("A", now=60.0)
    assert len(back) == 1 and isinstance(back[0], Order)
    assert back[0].order_id == "oA~1" and back[0].order_update_id == 0
    assert back[0].nodes[0].node_id == "VN" and "A" not in tc.standing
    assert tc.refused("A", "oA~1", 0, NO_POSITION, now=61.0) == [SetTimer(5.0, RESEND + "A")]


def test_a_vehicle_that_never_answers_stands_after_the_bounded_resends() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, max_resends=2)
    tc.begin("A", 0, "vietnam", "oA")
    wire = 1
    for _ in range(200):  # it reports no order, over and over, and no reason
        for cmd in tc.on_state(state("A", "", "VN")):
            assert isinstance(cmd, SetTimer)
            wire += len(tc.resend("A"))
    assert wire == 1 + 2
    assert tc.standing["A"].startswith("did not take up order oA (sent 3 times)")
    assert len(tc.alarms) == 1


def test_a_refused_order_update_is_sent_again_and_the_vehicle_keeps_its_blocks() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=4, horizon_nodes=2, max_resends=1)
    tc.begin("A", 0, "vietnam", "oA")
    out = tc.on_state(state("A", "oA", "L0N1", driving=True, seq=4))
    update = next(o for o in out if isinstance(o, Order))
    assert update.order_update_id == 1
    held = holders(tc, 0)
    assert tc.refused("A", "oA", 0, "an older update", now=1.0) == []  # the latest is still to be answered
    assert tc.refused("A", "oX", 1, "another order", now=1.0) == []
    assert tc.refused("A", "oA", 1, "orderUpdateError", now=1.0) == [SetTimer(5.0, RESEND + "A")]
    assert tc.resend("A") == [update]
    tc.refused("A", "oA", 1, "orderUpdateError", now=2.0)
    assert "orderUpdateError" in tc.standing["A"]
    assert holders(tc, 0) == held  # it may still be driving the base it has: every block kept
    assert tc.try_again("A", now=3.0) == [update]


def test_taking_up_the_order_ends_the_resends() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10, max_resends=1)
    tc.begin("A", 0, "vietnam", "oA")
    tc.on_state(state("A", "", "VN"))
    tc.resend("A")
    tc.on_state(state("A", "oA", "VN"))  # it has it now
    tc.on_state(state("A", "oA", "L0N2", driving=True, seq=6))
    assert not tc.standing and not tc.alarms and tc.trips["A"].sends == 1


def test_a_vehicle_that_does_not_move_along_its_released_base_is_flagged_as_stalled() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=4, horizon_nodes=2)
    tc.begin("A", 0, "vietnam", "oA")
    tc.on_state(state("A", "oA", "VN"), now=0.0)  # it has the order: access edge and 3 blocks ahead
    trip = tc.trips["A"]
    assert trip.released_upto == 4
    ahead_m = layout.yard_access_m + 3 * layout.lanes[0].block_length_m
    allowed = STALL_FACTOR * ahead_m / layout.fleet.speed_mps + STALL_SLACK_S
    tc.stall_scan(0.0)
    tc.stall_scan(allowed - 1)
    assert not tc.stalled
    tc.stall_scan(allowed + 1)
    assert "from VN" in tc.stalled["A"] and "reports no error" in tc.stalled["A"]
    assert [(a.kind, a.carrier_id) for a in tc.alarms] == [("stalled", "A")]
    tc.stall_scan(allowed + 100)
    assert len(tc.alarms) == 1  # flagged once
    tc.on_state(state("A", "oA", "L0N1", driving=True, seq=4), now=allowed + 101)
    assert not tc.stalled and trip.progress_at == allowed + 101
    # paused, or broken down: it is not expected to move
    for halted in (state("A", "oA", "L0N1", paused=True, seq=4), state("A", "oA", "L0N1", errors=("E",), seq=4)):
        tc.on_state(halted, now=5000.0)
        tc.stall_scan(5000.0 + allowed - 1)
        assert not tc.stalled
    # waiting at its base end for blocks another holds is no stall either
    tc2 = TrafficControl(layout, max_base_blocks=4, horizon_nodes=2)
    tc2.begin("B", 0, "vietnam", "oB")
    tc2.on_state(state("B", "oB", "L0N2", seq=6), now=0.0)
    tc2.trips["B"].released_upto = tc2.trips["B"].position  # as if nothing more were free
    tc2.stall_scan(10_000.0)
    assert not tc2.stalled


def test_a_vehicle_that_lost_its_order_off_its_trip_keeps_its_blocks_for_an_operator() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    tc.begin("A", 0, "vietnam", "oA")
    before = _snapshot(tc)
    for where in ("L1N2", "L0N9"):  # another lane; beyond what was released
        assert tc.on_state(state("A", "", where)) == []
        assert tc.lost == {"A": where}
        assert _snapshot(tc) == before
    assert tc.on_state(state("A", "", "L0N2", driving=True)) == []  # moving with no order: not trusted


def test_finish_frees_every_block_and_wakes_waiters() -> None:
    layout = make_layout()
    tc = TrafficControl(layout, max_base_blocks=10)
    tc.begin("A", 0, "vietnam", "oA")
    tc.begin("B", 0, "vietnam", "oB")
    tc.begin("C", 0, "vietnam", "oC")
    assert tc.blocked_by() == {"B": "A", "C": "A"}
    orders = tc.finish("A")
    assert "A" not in tc.trips
    assert "A" not in holders(tc, 0)
    assert tc.carriers_on(0) == 2
    # the first waiter in entry order gets the lane, the second now waits behind it
    assert [o.device_id for o in orders] == ["B"]
    assert released_blocks(orders[0], 0) == {0, 1, 2, 3, 4}
    assert holders(tc, 0) == ["B"] * 5
    assert tc.blocked_by() == {"C": "B"}
    orders = tc.finish("B")
    assert [o.device_id for o in orders] == ["C"]
    tc.finish("C")
    assert all(h is None for lane in tc.holder for h in lane)
    assert tc.trips == {} and all(q == [] for q in tc.lane_queue)


def test_broken_down_carrier_keeps_its_blocks_and_the_follower_waits() -> None:
    layout = make_layout((LANE_TO_CHINA, 6))
    tc = TrafficControl(layout, max_base_blocks=4, horizon_nodes=2)
    tc.begin("A", 0, "vietnam", "oA")  # blocks 0..2
    tc.begin("B", 0, "vietnam", "oB")
    tc.on_state(state("B", "oB", "L0N0"))
    # A breaks down in block 0, having passed L0N0 (route index 1)
    out = tc.on_state(state("A", "oA", "L0N0", errors=("E-BREAKDOWN",)))
    assert out == []
    assert holders(tc, 0)[:3] == ["A", "A", "A"]
    assert tc.blocked_by() == {"B": "A"}
    # still broken at the end of its base: no extension, blocks behind it freed for B
    out = tc.on_state(state("A", "oA", "L0N3", errors=("E-BREAKDOWN",)))
    assert [o.device_id for o in out] == ["B"]  # B gets the blocks A left
    assert holders(tc, 0) == ["B", "B", "A", None, None, None]
    assert tc.blocked_by() == {"B": "A"}
    # a paused carrier is not extended either
    assert tc.on_state(state("A", "oA", "L0N3", paused=True)) == []
    assert holders(tc, 0)[3:] == [None, None, None]
    # repaired: its base is extended again
    out = tc.on_state(state("A", "oA", "L0N3"))
    assert [o.device_id for o in out] == ["A"]
    assert holders(tc, 0)[3:] == ["A", "A", "A"]


def test_an_order_without_horizon_is_not_taken_as_finished() -> None:
    layout = make_layout((LANE_TO_CHINA, 5))
    try:
        tc = TrafficControl(layout, max_base_blocks=2, horizon_nodes=0)
    except ValueError:
        return  # refusing the setting is a fix too
    order = tc.begin("A", 0, "vietnam", "oA")
    # a carrier that obeys VDA 5050 as SimCarrier does takes a base end with no horizon
    # as the end of its order: that is only right at the far yard
    assert order.base_end.node_id == YARD_NODE["china"] or not order.nodes[-1].released


# --- a model of carriers that obey orders like the twin's -------------------------------


@dataclass
class ModelCarrier:
    """Drives only the released base, one edge per step; reports like `SimCarrier`."""

    cid: str
    trips: list[tuple[int, Side]]  # (lane, from_side) still to drive
    breaks_left: int = 0
    order_id: str = ""
    update_id: int = -1
    nodes: list[str] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    report: list[bool] = field(default_factory=list)
    edge_ids: list[str] = field(default_factory=list)
    released_upto: int = 0
    idx: int = 0
    in_edge: bool = False  # has passed node idx and is in edge idx
    has_horizon: bool = False
    broken: bool = False
    trips_done: int = 0

    def key(self) -> tuple:
        return (
            self.order_id, self.update_id, tuple(self.nodes), tuple(self.report), self.released_upto,
            self.idx, self.in_edge, self.has_horizon, self.broken, self.trips_done, self.breaks_left,
        )

    @property
    def in_trip(self) -> bool:
        return bool(self.order_id) and not self.finished

    @property
    def finished(self) -> bool:
        return self.idx > 0 and self.idx == self.released_upto and not self.has_horizon

    def physical_edge(self) -> str | None:
        """The edge the carrier is in (the one whose end it stands at, when stopped)."""
        if self.in_edge:
            return self.edge_ids[self.idx]
        if self.idx == 0:
            return None
        return self.edge_ids[self.idx - 1]

    def take(self, order: Order) -> None:
        check_order_shape(order)
        assert order.device_id == self.cid
        if order.order_id != self.order_id:
            assert not self.in_trip, f"{self.cid}: new order before finishing {self.order_id}"
            start_node = self.nodes[self.idx] if self.nodes else None
            assert start_node is None or order.nodes[0].node_id == start_node
            first = order.nodes[0]
            self.order_id = order.order_id
            self.nodes, self.seq, self.report, self.edge_ids = [first.node_id], [first.sequence_id], [False], []
            self.idx = self.released_upto = 0
            self.in_edge = False
        else:
            assert order.order_update_id > self.update_id, "stale or duplicate update"
            assert order.nodes[0].node_id == self.nodes[self.released_upto], "update must start at the base end"
            assert order.nodes[0].sequence_id == self.seq[self.released_upto]
        self.update_id = order.order_update_id
        self.report[self.released_upto] = self.report[self.released_upto] or order.nodes[0].report
        before = self.released_upto
        for k in range(1, len(order.nodes)):
            node = order.nodes[k]
            if not node.released:
                break
            self.nodes.append(node.node_id)
            self.seq.append(node.sequence_id)
            self.report.append(node.report)
            self.edge_ids.append(order.edges[k - 1].edge_id)
            self.released_upto += 1
        self.has_horizon = not order.nodes[-1].released
        assert self.released_upto > before, "an order (update) that releases nothing"

    def state(self, driving: bool) -> CarrierState:
        return CarrierState(
            device_id=self.cid,
            order_id=self.order_id,
            order_update_id=self.update_id,
            last_node_id=self.nodes[self.idx],
            last_node_sequence_id=self.seq[self.idx],
            driving=driving,
            paused=False,
            battery_pct=80.0,
            charging=False,
            load=None,
            errors=("E-BREAKDOWN",) if self.broken else (),
            order_finished=(not driving) and self.finished,
        )


class CorridorModel:
    def __init__(self, layout: SiteLayout, tc: TrafficControl, carriers: list[ModelCarrier]) -> None:
        self.layout = layout
        self.tc = tc
        self.carriers = {c.cid: c for c in carriers}
        self.block_of: dict[str, tuple[int, int]] = {
            block_edge_id(lane.index, b): (lane.index, b) for lane in layout.lanes for b in range(lane.n_blocks)
        }
        self.steps = 0
        self.reports = 0
        self.bound = self.step_bound()

    def key(self) -> tuple:
        tc = self.tc
        trips = tuple(
            sorted(
                (c, t.order_id, t.update_id, t.released_upto, t.position, t.freed_upto, t.waiting_on)
                for c, t in tc.trips.items()
            )
        )
        return (
            tuple(c.key() for c in self.carriers.values()),
            tuple(tuple(h) for h in tc.holder),
            tuple(tuple(q) for q in tc.lane_queue),
            trips,
        )

    # --- actions ---------------------------------------------------------------

    def actions(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for c in self.carriers.values():
            if c.broken:
                out.append(("repair", c.cid))
                continue
            if not c.in_trip:
                if c.trips_done < len(c.trips):
                    out.append(("begin", c.cid))
                continue
            if c.in_edge or c.idx < c.released_upto:
                out.append(("move", c.cid))
            if c.breaks_left > 0:
                out.append(("break", c.cid))
        return out

    def do(self, action: tuple[str, str]) -> None:
        kind, cid = action
        c = self.carriers[cid]
        self.steps += 1
        if kind == "begin":
            lane, side = c.trips[c.trips_done]
            assert c.nodes == [] or c.nodes[c.idx] == YARD_NODE[side]
            order = self.tc.begin(cid, lane, side, f"{cid}-t{c.trips_done}")
            assert order.nodes[0].node_id == YARD_NODE[side]
            c.take(order)
        elif kind == "move":
            if not c.in_edge:
                c.in_edge = True  # leaves the node it stood at, into the next edge
            else:
                c.idx += 1
                if c.idx < c.released_upto:
                    c.in_edge = True  # passes the node
                    if c.report[c.idx]:
                        self._report(c, driving=True)
                else:
                    c.in_edge = False  # stops at the base end
                    self._report(c, driving=False)
                    if c.finished:
                        c.trips_done += 1
        elif kind == "break":
            c.breaks_left -= 1
            c.broken = True
            self._report(c, driving=False)
        elif kind == "repair":
            c.broken = False
            self._report(c, driving=False)
        else:  # pragma: no cover
            raise AssertionError(kind)

    def _report(self, c: ModelCarrier, driving: bool) -> None:
        """What the runtime does with a carrier report: controller, then orders to carriers."""
        self.reports += 1
        st_ = c.state(driving)
        orders = list(self.tc.on_state(st_))
        if st_.order_finished and c.cid in self.tc.trips:  # as FifoController does
            orders.extend(self.tc.finish(c.cid))
        for order in orders:
            self.carriers[order.device_id].take(order)

    # --- invariants ------------------------------------------------------------

    def check(self) -> None:
        tc = self.tc
        physical: dict[tuple[int, int], str] = {}
        for c in self.carriers.values():
            edge = c.physical_edge()
            if edge is not None and edge in self.block_of:
                blk = self.block_of[edge]
                # no two carriers are physically in one block
                assert blk not in physical, f"{c.cid} and {physical[blk]} both in block {blk}"
                physical[blk] = c.cid
                # the block a carrier is in was released to it and is still held for it
                lane, b = blk
                assert tc.holder[lane][b] == c.cid, f"{c.cid} in block {blk} held by {tc.holder[lane][b]}"
            # a working carrier stopped at its base end only waits for a block another
            # carrier holds, and blocked_by() names that carrier
            if c.in_trip and not c.broken and not c.in_edge and c.idx == c.released_upto:
                trip = tc.trips[c.cid]
                assert trip.route.node_ids[c.idx] == c.nodes[c.idx]
                nb = trip.route.blocks[c.idx]
                assert nb >= 0, f"{c.cid} stopped at {c.nodes[c.idx]} before a free yard access edge"
                other = tc.holder[trip.route.lane][nb]
                assert other is not None and other != c.cid, f"{c.cid} waits for free block {nb}"
                assert tc.blocked_by().get(c.cid) == other
            # every released block ahead of the carrier is held for it
            if c.in_trip:
                first = c.idx if c.in_edge or c.idx == 0 else c.idx - 1
                for e in c.edge_ids[first : c.released_upto]:
                    if e in self.block_of:
                        lane, b = self.block_of[e]
                        assert tc.holder[lane][b] == c.cid, f"{c.cid} was released {e}, held by {tc.holder[lane][b]}"
        # the traffic control's own books: held blocks are disjoint and match `holder`
        seen: dict[tuple[int, int], str] = {}
        for cid in tc.trips:
            for blk in tc.held_blocks(cid):
                assert blk not in seen, f"block {blk} held by {cid} and {seen[blk]}"
                seen[blk] = cid
                assert tc.holder[blk[0]][blk[1]] == cid
        for lane, row in enumerate(tc.holder):
            for b, h in enumerate(row):
                if h is not None:
                    assert h in tc.trips, f"block {(lane, b)} held by {h}, which has no trip"
        # blocked_by names a carrier that holds a block on the waiter's lane
        for waiter, leader in tc.blocked_by().items():
            assert waiter != leader
            assert leader in tc.trips

    def done(self) -> bool:
        return all(c.trips_done == len(c.trips) and not c.broken for c in self.carriers.values())

    def check_done(self) -> None:
        tc = self.tc
        assert tc.trips == {}
        assert all(h is None for row in tc.holder for h in row)
        for c in self.carriers.values():
            lane, side = c.trips[-1]
            far = YARD_NODE["china" if side == "vietnam" else "vietnam"]
            assert c.nodes[c.idx] == far and not c.in_edge

    def step_bound(self) -> int:
        total = 0
        for c in self.carriers.values():
            for lane, _ in c.trips:
                total += 1 + 2 * (self.layout.lanes[lane].n_blocks + 2)
            total += 2 * c.breaks_left
        return total


def explore_all(model: CorridorModel) -> tuple[int, int]:
    """Every reachable state, depth first; every dead end must be the end of all trips."""
    model.check()
    seen = {model.key()}
    stack = [model]
    ends = 0
    while stack:
        m = stack.pop()
        acts = m.actions()
        if not acts:
            assert m.done(), f"deadlock: {[(c.cid, c.nodes[c.idx] if c.nodes else None) for c in m.carriers.values()]}"
            m.check_done()
            ends += 1
            continue
        for act in acts:
            nxt = copy.deepcopy(m)
            nxt.do(act)
            nxt.check()
            assert nxt.steps <= nxt.bound
            k = nxt.key()
            if k not in seen:
                seen.add(k)
                stack.append(nxt)
    return len(seen), ends


def _with_breaks(c: ModelCarrier, n: int) -> ModelCarrier:
    return replace(c, breaks_left=n)


@pytest.mark.parametrize("breaks", [0, 1])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("max_base", [1, 2, 3, 10])
def test_every_interleaving_of_two_carriers_on_three_blocks(max_base: int, stride: int, breaks: int) -> None:
    layout = make_layout((LANE_TO_CHINA, 3))
    tc = TrafficControl(layout, max_base_blocks=max_base, horizon_nodes=2, follow_stride=stride)
    carriers = [
        _with_breaks(ModelCarrier("A", [(0, "vietnam")]), breaks),
        _with_breaks(ModelCarrier("B", [(0, "vietnam")]), breaks),
    ]
    states, ends = explore_all(CorridorModel(layout, tc, carriers))
    assert ends >= 1
    assert states > 20  # the search did explore interleavings


def test_every_interleaving_of_two_round_trips_on_two_lanes() -> None:
    layout = make_layout((LANE_TO_CHINA, 3), (LANE_TO_VIETNAM, 3))
    tc = TrafficControl(layout, max_base_blocks=2, horizon_nodes=1)
    carriers = [
        ModelCarrier("A", [(0, "vietnam"), (1, "china")]),
        ModelCarrier("B", [(0, "vietnam"), (1, "china")]),
    ]
    states, ends = explore_all(CorridorModel(layout, tc, carriers))
    assert ends >= 1 and states > 50


@st.composite
def corridor_cases(draw: st.DrawFn) -> tuple[SiteLayout, TrafficControl, list[ModelCarrier]]:
    two_lanes = draw(st.booleans())
    lanes = [(LANE_TO_CHINA, draw(st.integers(3, 6)))]
    if two_lanes:
        lanes.append((LANE_TO_VIETNAM, draw(st.integers(3, 6))))
    layout = make_layout(*lanes)
    tc = TrafficControl(
        layout,
        max_base_blocks=draw(st.integers(1, 8)),
        # horizon_nodes=0 is left out: see test_an_order_without_horizon_is_not_taken_as_finished
        horizon_nodes=draw(st.integers(1, 3)),
        follow_stride=draw(st.integers(1, 3)),
    )
    k = draw(st.integers(2, 4))
    carriers = []
    for i in range(k):
        if two_lanes:
            start: Side = draw(st.sampled_from(["vietnam", "china"]))
            n_trips = draw(st.integers(1, 3))
            trips: list[tuple[int, Side]] = []
            side = start
            for _ in range(n_trips):
                trips.append((0 if side == "vietnam" else 1, side))
                side = "china" if side == "vietnam" else "vietnam"
        else:
            trips = [(0, "vietnam")]
        carriers.append(ModelCarrier("ABCD"[i], trips, breaks_left=draw(st.integers(0, 2))))
    return layout, tc, carriers


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=corridor_cases(), data=st.data())
def test_random_interleavings_keep_blocks_exclusive_and_finish(case, data) -> None:  # type: ignore[no-untyped-def]
    layout, tc, carriers = case
    model = CorridorModel(layout, tc, carriers)
    bound = model.bound
    model.check()
    while True:
        acts = model.actions()
        if not acts:
            break
        assert model.steps < bound, "more steps than the carriers' routes allow"
        model.do(data.draw(st.sampled_from(acts), label="action"))
        model.check()
    assert model.done(), "deadlock: no carrier can move and not all trips are done"
    model.check_done()


def test_a_vehicle_that_asks_for_a_new_base_is_given_more_when_the_blocks_are_free() -> None:
    layout = make_layout(("vietnam", 10))
    tc = TrafficControl(layout, max_base_blocks=6)
    first = tc.begin("A", 0, "vietnam", "o1")
    at = lane_node_id(0, 1)  # two blocks in: half a base not yet driven, no extension due
    assert tc.on_state(state("A", "o1", at, driving=True)) == []
    orders = tc.on_state(replace(state("A", "o1", at, driving=True), new_base_request=True))
    assert [o.device_id for o in orders] == ["A"] and orders[0].order_update_id == first.order_update_id + 1
    assert len(released_blocks(orders[0], 0)) > 0
