"""The planning controller with plain data: plans, local-first dispatch, empty moves."""

from __future__ import annotations

from test_fifo import CRANES, cstate, make_layout, of, one, ready

from controllers.cpsat import REPLAN, CpsatController
from controllers.fifo import FifoController
from controllers.greedy import GreedyController
from controllers.messages import ContainerReady, CraneCommand, Order, SetTimer, TimerFired


def known(ctrl: CpsatController | FifoController | GreedyController, **where: str) -> None:
    for cid, side in where.items():
        ctrl.on_event(cstate(cid, {"vietnam": "VN", "china": "CN"}[side]), 0.0)


def test_start_asks_for_the_rolling_replan_and_a_timer_replans() -> None:
    ctrl = CpsatController(make_layout(), replan_s=300)
    assert SetTimer(300, REPLAN) in ctrl.start(0.0)
    known(ctrl, C1="china")
    ctrl.on_event(ready("X1", "vietnam", arrived_at=0.0), 1.0)
    out = ctrl.on_event(TimerFired(REPLAN), 300.0)
    assert SetTimer(300, REPLAN) in out
    assert ctrl.plan is not None and ctrl.plans_made == 1


def test_a_freed_carrier_takes_the_job_at_its_own_yard_before_an_older_one_across() -> None:
    # fifo would send the carrier empty across for the older container
    for ctrl, expected in ((FifoController(make_layout()), "order"), (CpsatController(make_layout()), "load")):
        known(ctrl, C1="china")
        ctrl.yards["china"].idle_cranes.clear()  # hold the carrier until both jobs are in
        ctrl.carriers["C1"].status = "loading"
        ctrl.on_event(ready("OLD", "vietnam", arrived_at=0.0), 1.0)
        ctrl.on_event(ready("NEW", "china", arrived_at=50.0), 2.0)
        ctrl.carriers["C1"].status = "idle"
        ctrl.yards["china"].idle_cranes.extend(CRANES["china"])
        out = ctrl.assign_jobs()
        if expected == "order":
            assert one(out, Order).device_id == "C1"
        else:
            cmd = one(out, CraneCommand)
            assert (cmd.op, cmd.container_id, cmd.carrier_id) == ("load", "NEW", "C1")


def test_idle_carriers_move_toward_the_yard_that_needs_them() -> None:
    ctrl = CpsatController(make_layout())
    known(ctrl, C1="china", C2="china", C3="china", C4="china")
    for i in range(3):  # exports pile up in Vietnam; every carrier is in China
        ctrl.yards["vietnam"].jobs.append(((float(i),), ready(f"X{i}", "vietnam", arrived_at=float(i))))
    out = ctrl.assign_jobs()
    orders = of(out, Order)
    assert orders and all(o.nodes[0].node_id == "CN" for o in orders)
    # one carrier for each waiting job at most, and none is left idle in China needlessly
    assert 1 <= len(orders) <= 3


def test_perishable_cargo_is_queued_by_its_deadline() -> None:
    ctrl = CpsatController(make_layout(cranes=1))  # one crane: the two cannot start together
    ctrl.on_event(ready("SLOW", "vietnam", arrived_at=0.0), 10.0)
    fruit = ContainerReady("FRUIT", "vietnam", "export", "fruit", 100.0, 3600.0)
    ctrl.on_event(fruit, 20.0)
    assert [job.container_id for _, job in ctrl.yards["vietnam"].jobs] == ["FRUIT", "SLOW"]
    ctrl.on_event(TimerFired(REPLAN), 30.0)  # the plan keeps that order
    assert [job.container_id for _, job in ctrl.yards["vietnam"].jobs] == ["FRUIT", "SLOW"]
    assert ctrl.plan is not None and ctrl.plan.starts["FRUIT"] < ctrl.plan.starts["SLOW"]


def test_greedy_serves_the_earliest_deadline_first() -> None:
    ctrl = GreedyController(make_layout())
    ctrl.on_event(ready("SLOW", "vietnam", arrived_at=0.0), 10.0)
    ctrl.on_event(ContainerReady("FRUIT", "vietnam", "export", "fruit", 100.0, 3600.0), 20.0)
    known(ctrl, C1="vietnam")
    assert [job.container_id for _, job in ctrl.yards["vietnam"].jobs] == ["SLOW"]  # FRUIT went to C1


def test_closing_a_lane_breaks_the_plan_and_the_next_event_replans() -> None:
    ctrl = CpsatController(make_layout())
    known(ctrl, C1="china")
    ctrl.on_event(TimerFired(REPLAN), 0.0)
    assert ctrl.plans_made == 1
    ctrl.close_lane(0)
    ctrl.on_event(ready("X1", "china", arrived_at=10.0), 10.0)
    assert ctrl.plans_made == 2
    assert ctrl.scheduler.caps.lanes_from["vietnam"] == 1  # lane 0 no longer counts
    ctrl.on_event(ready("X2", "china", arrived_at=20.0), 20.0)
    assert ctrl.plans_made == 2  # no further re-plan without a reason
