"""The first-come-first-served controller: `controllers.fifo.FifoController`.

Events go in as plain data, commands come out; carriers, cranes and trucks are played
by the tests. Nothing here needs SimPy.
"""

from __future__ import annotations

import ast
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.fifo import FifoController
from controllers.layout import (
    LANE_REVERSIBLE,
    LANE_TO_CHINA,
    LANE_TO_VIETNAM,
    YARD_NODE,
    FleetInfo,
    LaneInfo,
    SiteLayout,
    YardInfo,
    lane_node_id,
)
from controllers.messages import (
    BarrierCommand,
    CarrierState,
    Command,
    ContainerReady,
    CraneCommand,
    CraneState,
    InstantActions,
    Order,
    PickupArrived,
    PlateRead,
    ScannerState,
    SetTimer,
    Side,
    TimerFired,
    WeighDecision,
    WeightReading,
)
from controllers.traffic import STALL_SCAN, STALL_SCAN_S

CONTROLLERS = Path(__file__).resolve().parents[1] / "controllers"
CARRIERS = ("C1", "C2", "C3", "C4")
CRANES = {side: (f"{YARD_NODE[side]}-crane-1", f"{YARD_NODE[side]}-crane-2") for side in ("vietnam", "china")}
DIRECTION_FROM: dict[Side, str] = {"vietnam": "export", "china": "import"}

# --- helpers -------------------------------------------------------------------------


def make_layout(
    *,
    lanes: tuple[str, ...] = (LANE_TO_CHINA, LANE_TO_CHINA, LANE_TO_VIETNAM, LANE_TO_VIETNAM),
    n_blocks: int = 4,
    cranes: int = 2,
    chargers: int = 1,
    stack: int = 5,
    carriers: tuple[str, ...] = CARRIERS,
) -> SiteLayout:
    """4 lanes of 4 blocks of 100 m, 50 m yard access; 100 kWh carriers at 1 kWh/km:
    a crossing takes 0.5 kWh, 0.5 % of the battery; low battery is 20 %."""
    yards = {
        side: YardInfo(
            side=side,
            cranes=CRANES[side][:cranes],
            chargers=chargers,
            stack_capacity=stack,
            barriers=(f"{YARD_NODE[side]}-gate",),
            weighbridges=(f"{YARD_NODE[side]}-weighbridge",),
        )
        for side in ("vietnam", "china")
    }
    return SiteLayout(
        lanes=tuple(LaneInfo(i, p, n_blocks, 100.0) for i, p in enumerate(lanes)),
        yard_access_m=50.0,
        yards=yards,
        fleet=FleetInfo(carriers, speed_mps=5.0, battery_kwh=100.0, consumption_kwh_per_km=1.0, low_battery_pct=20.0),
        weigh_tolerance_pct=5.0,
    )


def cstate(
    cid: str,
    node: str,
    *,
    order_id: str = "",
    update_id: int = 0,
    seq: int = 0,
    driving: bool = False,
    battery: float = 90.0,
    charging: bool = False,
    load: str | None = None,
    errors: tuple[str, ...] = (),
    finished: bool = False,
) -> CarrierState:
    return CarrierState(cid, order_id, update_id, node, seq, driving, False, battery, charging, load, errors, finished)


def ready(cid: str, yard: Side, arrived_at: float = 0.0, direction: str | None = None) -> ContainerReady:
    return ContainerReady(cid, yard, direction or DIRECTION_FROM[yard], "other", arrived_at, None)  # type: ignore[arg-type]


def crane_done(crane: str, yard: Side, op: str, container: str, carrier: str | None = None, placed_on: str | None = None) -> CraneState:
    placed = placed_on or {"load": "carrier", "unload": "stack", "deliver": "truck"}[op]
    return CraneState(crane, yard, False, False, op, container, carrier, placed)  # type: ignore[arg-type]


def of(cmds: list[Command], kind: type) -> list:
    return [c for c in cmds if isinstance(c, kind)]


def one(cmds: list[Command], kind: type):  # type: ignore[no-untyped-def]
    found = of(cmds, kind)
    assert len(found) == 1, f"expected one {kind.__name__} in {cmds}"
    return found[0]


def task(cmd: CraneCommand, yard: Side) -> tuple[str, str, str | None, bool]:
    """What a crane command asks, checked to go to a crane of `yard`."""
    assert isinstance(cmd, CraneCommand), cmd
    assert cmd.device_id in CRANES[yard], f"{cmd} is not for a crane at {yard}"
    return (cmd.op, cmd.container_id, cmd.carrier_id, cmd.to_truck)


def init(ctrl: FifoController, **where: Side) -> None:
    """Make carriers known: their first report, at a yard node, with no order."""
    for cid, side in where.items():
        assert ctrl.on_event(cstate(cid, YARD_NODE[side]), 0.0) == []


def lane_of(order: Order) -> int:
    lane_nodes = {n.node_id[1 : n.node_id.index("N")] for n in order.nodes if n.node_id.startswith("L")}
    assert len(lane_nodes) == 1, order
    return int(lane_nodes.pop())


def drive(ctrl: FifoController, order: Order, *, battery: float = 90.0, load: str | None = None) -> list[Command]:
    """Play a carrier that drives its order to the end, reporting at every base end and
    taking the updates it gets; returns the commands of its final report."""
    cid = order.device_id
    nodes = list(order.nodes)
    upd = order.order_update_id
    others: list[Command] = []
    for _ in range(50):
        base_end = max((n for n in nodes if n.released), key=lambda n: n.sequence_id)
        finished = all(n.released for n in nodes)
        st_ = cstate(
            cid, base_end.node_id, order_id=order.order_id, update_id=upd, seq=base_end.sequence_id,
            battery=battery, load=load, finished=finished,
        )
        out = ctrl.on_event(st_, 1.0)
        if finished:
            return others + out
        mine = [c for c in out if isinstance(c, Order) and c.device_id == cid]
        others += [c for c in out if not (isinstance(c, Order) and c.device_id == cid)]
        assert mine, f"{cid} stuck at {base_end.node_id}"
        for u in mine:
            assert u.order_id == order.order_id
            assert u.nodes[0].node_id == base_end.node_id
            upd = u.order_update_id
            nodes = [n for n in nodes if n.sequence_id < u.nodes[0].sequence_id] + list(u.nodes)
    raise AssertionError("never finished")


def load_and_cross(ctrl: FifoController, carrier: str, container: str, yard: Side, *, battery: float = 90.0) -> tuple[Order, list[Command]]:
    """From a container ready at `yard` with `carrier` idle there: load, cross; returns
    the order and the commands of the final report at the far yard."""
    cmds = ctrl.on_event(ready(container, yard), 0.0)
    load = one(cmds, CraneCommand)
    assert (load.op, load.container_id, load.carrier_id) == ("load", container, carrier)
    order = one(ctrl.on_event(crane_done(load.device_id, yard, "load", container, carrier), 1.0), Order)
    return order, drive(ctrl, order, battery=battery, load=container)


# --- gates and weighbridges ------------------------------------------------------------


def test_plate_read_opens_that_barrier_for_that_truck() -> None:
    ctrl = FifoController(make_layout())
    for yard in ("vietnam", "china"):
        gate = f"{YARD_NODE[yard]}-gate"
        out = ctrl.on_event(PlateRead(gate, yard, f"T-{yard}", "29C-123.45", "deliver"), 5.0)  # type: ignore[arg-type]
        assert out == [BarrierCommand(gate, f"T-{yard}", True)]
    out = ctrl.on_event(PlateRead("VN-gate", "vietnam", "P7", "51D-678.90", "pickup"), 6.0)
    assert out == [BarrierCommand("VN-gate", "P7", True)]


@pytest.mark.parametrize(
    ("measured", "accepted"),
    [(20000.0, True), (21000.0, True), (19000.0, True), (21000.5, False), (18999.0, False), (30000.0, False)],
)
def test_weight_within_tolerance_is_accepted(measured: float, accepted: bool) -> None:
    ctrl = FifoController(make_layout())  # 5 % tolerance
    out = ctrl.on_event(WeightReading("CN-weighbridge", "china", "T9", measured, 20000.0), 1.0)
    assert out == [WeighDecision("CN-weighbridge", "T9", accepted)]


# --- jobs ------------------------------------------------------------------------------


def test_container_ready_with_an_idle_carrier_at_its_yard_is_loaded() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="china", C2="vietnam")
    out = ctrl.on_event(ready("X1", "vietnam"), 10.0)
    assert out == [CraneCommand(CRANES["vietnam"][0], "load", "X1", "C2")]
    out = ctrl.on_event(ready("X2", "china"), 11.0)
    assert out == [CraneCommand(CRANES["china"][0], "load", "X2", "C1")]


def test_nearest_idle_carrier_is_preferred() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam", C2="china", C3="vietnam")
    out = ctrl.on_event(ready("X1", "china"), 0.0)
    assert one(out, CraneCommand).carrier_id == "C2"
    assert of(out, Order) == []


def test_only_idle_carrier_at_the_other_yard_runs_empty() -> None:
    layout = make_layout()
    ctrl = FifoController(layout)
    init(ctrl, C1="china")
    out = ctrl.on_event(ready("X1", "vietnam"), 0.0)
    order = one(out, Order)
    assert of(out, CraneCommand) == []
    assert order.device_id == "C1"
    assert order.nodes[0].node_id == YARD_NODE["china"]
    assert order.nodes[0].released and order.nodes[0].sequence_id == 0
    lane = lane_of(order)
    assert layout.lanes[lane].policy == LANE_TO_VIETNAM  # an import lane from China
    assert order.nodes[1].node_id == lane_node_id(lane, layout.lanes[lane].n_blocks)
    # at the far yard it is loaded with the container it came for
    out = drive(ctrl, order)
    assert one(out, CraneCommand) == CraneCommand(CRANES["vietnam"][0], "load", "X1", "C1")
    assert of(out, Order) == []


@pytest.mark.parametrize("oldest", ["vietnam", "china"])
def test_oldest_container_first_across_both_yards(oldest: Side) -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    # the only carrier is broken: jobs queue at both yards
    assert ctrl.on_event(cstate("C1", "VN", errors=("E-BREAKDOWN",)), 0.0) == []
    t_vn, t_cn = (5.0, 10.0) if oldest == "vietnam" else (10.0, 5.0)
    assert ctrl.on_event(ready("XV", "vietnam", t_vn), 20.0) == []
    assert ctrl.on_event(ready("XC", "china", t_cn), 21.0) == []
    assert ctrl.wait_reasons()["C1"] == "under repair"
    out = ctrl.on_event(cstate("C1", "VN"), 30.0)  # repaired
    if oldest == "vietnam":
        assert out == [CraneCommand(CRANES["vietnam"][0], "load", "XV", "C1")]
    else:
        # the older container is at the other yard: an empty run to China for it
        order = one(out, Order)
        assert of(out, CraneCommand) == []
        assert order.nodes[0].node_id == "VN"
        assert one(drive(ctrl, order), CraneCommand) == CraneCommand(CRANES["china"][0], "load", "XC", "C1")


def test_carrier_known_after_a_job_is_waiting_takes_it() -> None:
    ctrl = FifoController(make_layout())
    assert ctrl.on_event(ready("X1", "vietnam"), 0.0) == []  # no carrier known yet
    out = ctrl.on_event(cstate("C1", "VN"), 1.0)  # e.g. it connects late through the bridge
    assert out == [CraneCommand(CRANES["vietnam"][0], "load", "X1", "C1")]


def test_faulty_carrier_gets_no_job_until_repaired() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    ctrl.on_event(cstate("C1", "VN", errors=("E-BREAKDOWN",)), 0.0)
    assert ctrl.on_event(ready("X1", "vietnam"), 1.0) == []
    assert ctrl.on_event(cstate("C1", "VN", errors=("E-BREAKDOWN",)), 2.0) == []
    assert ctrl.on_event(cstate("C1", "VN"), 3.0) == [CraneCommand(CRANES["vietnam"][0], "load", "X1", "C1")]


def test_load_done_sends_the_carrier_across_on_a_lane_of_its_direction() -> None:
    layout = make_layout()
    ctrl = FifoController(layout)
    init(ctrl, C1="vietnam", C2="china")
    order, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    assert order.device_id == "C1"
    assert order.nodes[0].node_id == "VN"
    assert layout.lanes[lane_of(order)].policy == LANE_TO_CHINA
    assert [n.node_id for n in order.nodes][-1] == "CN"
    order, final = load_and_cross(ctrl, "C2", "X2", "china")
    assert order.nodes[0].node_id == "CN"
    assert layout.lanes[lane_of(order)].policy == LANE_TO_VIETNAM
    assert [n.node_id for n in order.nodes][-1] == "VN"


def test_lanes_of_a_direction_are_shared_fewest_carriers_first() -> None:
    layout = make_layout(lanes=(LANE_TO_CHINA, LANE_TO_VIETNAM, LANE_TO_CHINA, LANE_REVERSIBLE, LANE_REVERSIBLE))
    ctrl = FifoController(layout)
    init(ctrl, C1="vietnam", C2="vietnam", C3="vietnam", C4="vietnam")
    # export lanes: 0, 2 and the first reversible lane, 3
    lanes = []
    for i, cid in enumerate(CARRIERS):
        out = ctrl.on_event(ready(f"X{i}", "vietnam"), float(i))
        load = one(out, CraneCommand)
        assert load.carrier_id == cid
        order = one(ctrl.on_event(crane_done(load.device_id, "vietnam", "load", f"X{i}", cid), 10.0 + i), Order)
        lanes.append(lane_of(order))
    assert lanes[:3] == [0, 2, 3]  # one carrier on each export lane first
    assert lanes[3] in (0, 2, 3)
    assert sorted(ctrl.traffic.carriers_on(i) for i in (0, 2, 3)) == [1, 1, 2]
    assert ctrl.traffic.carriers_on(1) == ctrl.traffic.carriers_on(4) == 0


def test_reversible_lanes_are_split_between_the_directions() -> None:
    layout = make_layout(lanes=(LANE_REVERSIBLE, LANE_REVERSIBLE, LANE_REVERSIBLE, LANE_REVERSIBLE))
    ctrl = FifoController(layout)
    assert sorted(ctrl.lanes_for["export"] + ctrl.lanes_for["import"]) == [0, 1, 2, 3]
    assert len(ctrl.lanes_for["export"]) == len(ctrl.lanes_for["import"]) == 2


# --- unloading, the stack, pickups -----------------------------------------------------


def test_final_report_unloads_to_the_stack() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    assert final == [CraneCommand(CRANES["china"][0], "unload", "X1", "C1", to_truck=False)]
    assert ctrl.traffic.trips == {}
    assert all(h is None for row in ctrl.traffic.holder for h in row)


def test_final_report_unloads_to_a_waiting_pickup_truck() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    out = ctrl.on_event(ready("X1", "vietnam"), 0.0)
    order = one(ctrl.on_event(crane_done(one(out, CraneCommand).device_id, "vietnam", "load", "X1", "C1"), 1.0), Order)
    assert ctrl.on_event(PickupArrived("china", "PT1", "X1"), 2.0) == []  # still on its way
    final = drive(ctrl, order, load="X1")
    assert final == [CraneCommand(CRANES["china"][0], "unload", "X1", "C1", to_truck=True)]


def test_pickup_for_a_stacked_container_is_delivered() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    unload = one(final, CraneCommand)
    out = ctrl.on_event(crane_done(unload.device_id, "china", "unload", "X1", "C1", "stack"), 5.0)
    assert of(out, CraneCommand) == []
    out = ctrl.on_event(PickupArrived("china", "PT1", "X1"), 6.0)
    assert len(out) == 1
    assert task(out[0], "china") == ("deliver", "X1", None, False)


def test_full_stack_makes_the_carrier_wait_until_space_frees() -> None:
    ctrl = FifoController(make_layout(stack=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    u1 = one(final, CraneCommand)
    assert (u1.op, u1.to_truck) == ("unload", False)
    ctrl.on_event(crane_done(u1.device_id, "china", "unload", "X1", "C1", "stack"), 5.0)
    _, final = load_and_cross(ctrl, "C2", "X2", "vietnam")
    assert of(final, CraneCommand) == []  # the stack is full: C2 waits with its load
    assert ctrl.wait_reasons()["C2"] == "wait_unload"
    # the truck for X1 takes it off the stack ...
    d = one(ctrl.on_event(PickupArrived("china", "PT1", "X1"), 7.0), CraneCommand)
    assert task(d, "china") == ("deliver", "X1", None, False)
    # ... and only then is there room for X2
    out = ctrl.on_event(crane_done(d.device_id, "china", "deliver", "X1", None, "truck"), 8.0)
    assert task(one(out, CraneCommand), "china") == ("unload", "X2", "C2", False)


def test_waiting_carrier_unloads_straight_onto_its_pickup_truck() -> None:
    ctrl = FifoController(make_layout(stack=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    ctrl.on_event(crane_done(one(final, CraneCommand).device_id, "china", "unload", "X1", "C1", "stack"), 5.0)
    _, final = load_and_cross(ctrl, "C2", "X2", "vietnam")
    assert of(final, CraneCommand) == []
    out = ctrl.on_event(PickupArrived("china", "PT2", "X2"), 7.0)
    assert len(out) == 1
    assert task(out[0], "china") == ("unload", "X2", "C2", True)


def test_pickup_arriving_during_the_unload_to_the_stack_is_served() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam")
    unload = one(final, CraneCommand)
    assert (unload.op, unload.to_truck) == ("unload", False)
    # the truck arrives while the crane is still moving X1 to the stack
    assert of(ctrl.on_event(PickupArrived("china", "PT1", "X1"), 5.0), CraneCommand) == []
    out = ctrl.on_event(crane_done(unload.device_id, "china", "unload", "X1", "C1", "stack"), 6.0)
    delivers = [c for c in of(out, CraneCommand) if c.op == "deliver"]
    assert [c.container_id for c in delivers] == ["X1"]


# --- charging --------------------------------------------------------------------------


# a crossing costs 0.5 % of the battery; fifo keeps two crossings in reserve:
LOW = 20.5  # 19.5 % after two crossings: below low_battery_pct (20 %)
CRITICAL = 5.0  # 4 % after two crossings: below fifo.CRITICAL_BATTERY_PCT as well


def _arrive_low(ctrl: FifoController, carrier: str, container: str, battery: float = CRITICAL) -> CraneCommand:
    _, final = load_and_cross(ctrl, carrier, container, "vietnam", battery=battery)
    return one(final, CraneCommand)


def test_low_battery_carrier_charges_and_the_rest_queue_for_chargers() -> None:
    ctrl = FifoController(make_layout(chargers=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    u1 = _arrive_low(ctrl, "C1", "X1")
    u2 = _arrive_low(ctrl, "C2", "X2")
    assert u1.device_id != u2.device_id  # two cranes
    # both are below the critical level: they must charge before the next job
    out = ctrl.on_event(crane_done(u1.device_id, "china", "unload", "X1", "C1"), 10.0)
    ia = one(out, InstantActions)
    assert ia.device_id == "C1"
    assert [a.action_type for a in ia.actions] == ["startCharging"]
    # one charger: C2 queues
    out = ctrl.on_event(crane_done(u2.device_id, "china", "unload", "X2", "C2"), 11.0)
    assert of(out, InstantActions) == []
    assert ctrl.wait_reasons()["C2"] == "wait_charger"
    assert ctrl.wait_reasons()["C1"] == "charging"
    # while charging, C1 takes no job
    out = ctrl.on_event(ready("X3", "china"), 12.0)
    assert of(out, CraneCommand) == [] and of(out, Order) == []
    assert ctrl.on_event(cstate("C1", "CN", battery=6.0, charging=True), 13.0) == []
    # C1 done: the charger goes to C2, and C1 takes the waiting job
    out = ctrl.on_event(cstate("C1", "CN", battery=100.0, charging=False), 100.0)
    ia2 = one(out, InstantActions)
    assert ia2.device_id == "C2" and [a.action_type for a in ia2.actions] == ["startCharging"]
    assert ia2.actions[0].action_id != ia.actions[0].action_id
    assert task(one(out, CraneCommand), "china") == ("load", "X3", "C1", False)


def test_low_battery_carrier_charges_when_a_charger_is_free() -> None:
    ctrl = FifoController(make_layout(chargers=1))
    init(ctrl, C1="vietnam")
    u1 = _arrive_low(ctrl, "C1", "X1", battery=LOW)
    out = ctrl.on_event(crane_done(u1.device_id, "china", "unload", "X1", "C1"), 10.0)
    ia = one(out, InstantActions)
    assert ia.device_id == "C1" and [a.action_type for a in ia.actions] == ["startCharging"]
    assert ctrl.wait_reasons()["C1"] == "charging"


def test_never_more_carriers_charging_than_chargers() -> None:
    ctrl = FifoController(make_layout(chargers=2))
    init(ctrl, C1="vietnam", C2="vietnam", C3="vietnam", C4="vietnam")
    charging: set[str] = set()
    for cid, battery in [("C1", CRITICAL), ("C2", LOW), ("C3", CRITICAL), ("C4", LOW)]:
        u = _arrive_low(ctrl, cid, f"X{cid}", battery=battery)
        out = ctrl.on_event(crane_done(u.device_id, "china", "unload", f"X{cid}", cid), 10.0)
        charging |= {ia.device_id for ia in of(out, InstantActions)}
        assert len(charging) <= 2
    assert charging == {"C1", "C2"}
    reasons = ctrl.wait_reasons()
    assert reasons["C3"] == "wait_charger"  # critical: waits for a charger
    assert reasons["C4"] == "idle"  # low but not critical: keeps working meanwhile
    # a charger frees: the waiting carrier gets it
    assert ctrl.on_event(cstate("C2", "CN", battery=LOW, charging=True), 20.0) == []
    out = ctrl.on_event(cstate("C2", "CN", battery=100.0, charging=False), 50.0)
    assert [ia.device_id for ia in of(out, InstantActions)] == ["C3"]


def test_carrier_with_enough_battery_takes_the_next_job_instead() -> None:
    ctrl = FifoController(make_layout())
    init(ctrl, C1="vietnam")
    _, final = load_and_cross(ctrl, "C1", "X1", "vietnam", battery=60.0)
    ctrl.on_event(ready("X2", "china"), 5.0)  # waits: C1 is busy
    out = ctrl.on_event(crane_done(one(final, CraneCommand).device_id, "china", "unload", "X1", "C1"), 10.0)
    assert of(out, InstantActions) == []
    assert task(one(out, CraneCommand), "china") == ("load", "X2", "C1", False)


def test_report_before_charging_begins_does_not_end_it() -> None:
    ctrl = FifoController(make_layout(chargers=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    u1 = _arrive_low(ctrl, "C1", "X1")
    u2 = _arrive_low(ctrl, "C2", "X2")
    ctrl.on_event(cstate("C1", "CN", battery=20.5, errors=("E-BREAKDOWN",)), 9.0)
    assert one(ctrl.on_event(crane_done(u1.device_id, "china", "unload", "X1", "C1"), 10.0), InstantActions).device_id == "C1"
    assert of(ctrl.on_event(crane_done(u2.device_id, "china", "unload", "X2", "C2"), 11.0), InstantActions) == []
    # C1 is repaired before its charging started: it reports charging=False
    out = ctrl.on_event(cstate("C1", "CN", battery=20.5, charging=False), 12.0)
    assert of(out, InstantActions) == []  # the only charger is still C1's
    assert ctrl.wait_reasons()["C2"] == "wait_charger"


# --- cranes ----------------------------------------------------------------------------


def test_one_crane_gets_one_command_at_a_time() -> None:
    ctrl = FifoController(make_layout(cranes=1))
    init(ctrl, C1="vietnam", C2="vietnam")
    crane = CRANES["vietnam"][0]
    assert ctrl.on_event(ready("X1", "vietnam"), 0.0) == [CraneCommand(crane, "load", "X1", "C1")]
    assert ctrl.on_event(ready("X2", "vietnam"), 1.0) == []  # the crane is busy
    # a progress report that does not end the move frees nothing
    assert ctrl.on_event(CraneState(crane, "vietnam", True, False), 2.0) == []
    out = ctrl.on_event(crane_done(crane, "vietnam", "load", "X1", "C1"), 3.0)
    assert one(out, Order).device_id == "C1"
    assert one(out, CraneCommand) == CraneCommand(crane, "load", "X2", "C2")


def test_faulty_crane_gets_no_commands_until_repaired() -> None:
    ctrl = FifoController(make_layout(cranes=2))
    init(ctrl, C1="vietnam", C2="vietnam", C3="vietnam")
    c1, c2 = CRANES["vietnam"]
    assert ctrl.on_event(CraneState(c1, "vietnam", False, True), 0.0) == []
    out = ctrl.on_event(ready("X1", "vietnam"), 1.0)
    assert out == [CraneCommand(c2, "load", "X1", "C1")]
    assert ctrl.on_event(ready("X2", "vietnam"), 2.0) == []  # c1 faulty, c2 busy
    # c2 faults while busy, and is repaired while still busy: still no new command
    assert ctrl.on_event(CraneState(c2, "vietnam", True, True), 3.0) == []
    assert ctrl.on_event(CraneState(c2, "vietnam", True, False), 4.0) == []
    # c1 repaired: X2 goes to it
    assert ctrl.on_event(CraneState(c1, "vietnam", False, False), 5.0) == [CraneCommand(c1, "load", "X2", "C2")]
    # c1 faults again, idle after its move: X3 waits for c2
    out = ctrl.on_event(replace(crane_done(c1, "vietnam", "load", "X2", "C2"), fault=True), 6.0)
    assert of(out, CraneCommand) == []
    assert ctrl.on_event(ready("X3", "vietnam"), 7.0) == []
    out = ctrl.on_event(crane_done(c2, "vietnam", "load", "X1", "C1"), 8.0)
    assert one(out, CraneCommand) == CraneCommand(c2, "load", "X3", "C3")


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_cranes=st.integers(1, 2), n_jobs=st.integers(1, 8), n_faults=st.integers(0, 6))
def test_random_crane_faults_never_double_book_a_crane(seed: int, n_cranes: int, n_jobs: int, n_faults: int) -> None:
    """Cranes played at random: each command is checked against the crane's state."""
    rng = random.Random(seed)
    carriers = tuple(f"C{i}" for i in range(n_jobs))
    ctrl = FifoController(make_layout(cranes=n_cranes, carriers=carriers))
    init(ctrl, **{c: "vietnam" for c in carriers})
    cranes = CRANES["vietnam"][:n_cranes]
    busy: dict[str, CraneCommand | None] = {c: None for c in cranes}
    faulty = {c: False for c in cranes}
    issued: list[str] = []
    loaded: list[str] = []
    pending = [f"X{i}" for i in range(n_jobs)]
    faults_left = n_faults

    def feed(ev) -> None:  # type: ignore[no-untyped-def]
        for cmd in ctrl.on_event(ev, 0.0):
            if isinstance(cmd, CraneCommand):
                assert cmd.device_id in cranes
                assert busy[cmd.device_id] is None, f"{cmd.device_id} given {cmd} while busy"
                assert not faulty[cmd.device_id], f"{cmd.device_id} given {cmd} while faulty"
                busy[cmd.device_id] = cmd
                issued.append(cmd.container_id)

    for _ in range(10 * (n_jobs + n_faults) + 10):
        moves: list = []
        if pending:
            moves.append(("ready", ""))
        for c in cranes:
            if faulty[c]:
                moves.append(("repair", c))
            elif faults_left:
                moves.append(("fault", c))
            if busy[c] is not None and not faulty[c]:
                moves.append(("done", c))
        if not moves:
            break
        kind, c = rng.choice(moves)
        if kind == "ready":
            feed(ready(pending.pop(0), "vietnam", arrived_at=float(len(issued))))
        elif kind == "fault":
            faults_left -= 1
            faulty[c] = True
            feed(CraneState(c, "vietnam", busy[c] is not None, True))
        elif kind == "repair":
            faulty[c] = False
            feed(CraneState(c, "vietnam", busy[c] is not None, False))
        else:
            cmd = busy[c]
            assert cmd is not None and cmd.carrier_id is not None
            busy[c] = None
            loaded.append(cmd.container_id)
            feed(crane_done(c, "vietnam", "load", cmd.container_id, cmd.carrier_id))
    everything = [f"X{i}" for i in range(n_jobs)]
    assert issued == everything  # every container, once, in the order they were ready
    assert sorted(loaded) == sorted(everything)


# --- the controller interface ------------------------------------------------------------


def test_scanner_state_and_timers_are_ignored() -> None:
    ctrl = FifoController(make_layout())
    assert ctrl.start(0.0) == [SetTimer(STALL_SCAN_S, STALL_SCAN)]  # the stall watch, nothing else
    assert ctrl.on_event(TimerFired(STALL_SCAN), 30.0) == [SetTimer(STALL_SCAN_S, STALL_SCAN)]
    assert ctrl.on_event(ScannerState("VN-scanner", "vietnam", True), 1.0) == []
    assert ctrl.on_event(TimerFired("tick"), 2.0) == []


def test_unknown_event_type_raises_type_error() -> None:
    ctrl = FifoController(make_layout())
    with pytest.raises(TypeError):
        ctrl.on_event("not an event", 0.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctrl.on_event(object(), 0.0)  # type: ignore[arg-type]


def test_wait_reasons_name_the_carrier_ahead_and_the_one_under_repair() -> None:
    layout = make_layout(lanes=(LANE_TO_CHINA, LANE_TO_VIETNAM))
    ctrl = FifoController(layout)
    init(ctrl, C1="vietnam", C2="vietnam")
    o1 = one(ctrl.on_event(crane_done(one(ctrl.on_event(ready("X1", "vietnam"), 0.0), CraneCommand).device_id,
                                      "vietnam", "load", "X1", "C1"), 1.0), Order)
    o2 = one(ctrl.on_event(crane_done(one(ctrl.on_event(ready("X2", "vietnam"), 2.0), CraneCommand).device_id,
                                      "vietnam", "load", "X2", "C2"), 3.0), Order)
    assert lane_of(o1) == lane_of(o2) == 0
    # C1 breaks down in block 0
    ctrl.on_event(cstate("C1", lane_node_id(0, 0), order_id=o1.order_id, seq=2, load="X1", errors=("E",)), 4.0)
    # C2 stops at the end of its base, before block 0
    end2 = o2.base_end
    ctrl.on_event(cstate("C2", end2.node_id, order_id=o2.order_id, seq=end2.sequence_id, load="X2"), 5.0)
    reasons = ctrl.wait_reasons()
    assert reasons["C2"] == "behind C1"
    assert reasons["C1"] == "under repair"


# --- the boundary ------------------------------------------------------------------------

FORBIDDEN = ("twin", "hardware_bridge", "viz", "simpy")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside controllers
                names.append("controllers." + (node.module or ""))
            else:
                names.append(node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module",
            "__import__",
        ):
            names.extend(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


def test_controllers_import_nothing_from_the_twin_bridge_or_viz() -> None:
    files = sorted(CONTROLLERS.glob("*.py"))
    assert {"fifo.py", "traffic.py", "runtime.py", "messages.py"} <= {f.name for f in files}
    seen = set()
    for path in files:
        for name in _imported_modules(path):
            seen.add(name)
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
    assert "controllers.messages" in seen  # the check did see imports


def test_the_import_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom twin.world import World\nimport hardware_bridge.x as h\n")
    assert [n.split(".")[0] for n in _imported_modules(bad) if n.split(".")[0] in FORBIDDEN] == ["twin", "hardware_bridge"]
