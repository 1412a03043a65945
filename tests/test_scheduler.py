"""The CP-SAT slot scheduler: its plans checked independently of the solver."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.scheduler import Capacities, Crossing, Plan, SlotScheduler, check_plan

CAPS = Capacities(
    cranes={"vietnam": 2, "china": 2},
    lanes_from={"vietnam": 1, "china": 1},
    carriers=4,
    crane_move_s=100,
    crossing_s=600,
    headway_s=20,
)


def objective(plan: Plan, crossings: list[Crossing], s: SlotScheduler) -> float:
    """The model's objective, computed from the plan alone."""
    u = s.unit_s
    load = math.ceil(s.caps.crane_move_s / u)
    cycle = 2 * load + math.ceil(s.caps.crossing_s / u)
    total = 0.0
    for c in crossings:
        start = round((plan.starts[c.container_id] - plan.now) / u)
        total += start
        if c.deadline_s is not None:
            due = math.floor((c.deadline_s - plan.now) / u) - cycle
            total += 10 * s.perishable_weight * max(0, start - due)
        arrived = c.arrived_s if c.arrived_s is not None else c.release_s
        target = math.floor((arrived + s.target_wait_s - plan.now) / u)
        total += 10 * s.wait_weight * max(0, start - target)
    return total


crossing_lists = st.lists(
    st.tuples(
        st.sampled_from(["vietnam", "china"]),
        st.floats(0, 3600),
        st.one_of(st.none(), st.floats(1800, 4 * 3600)),
        st.floats(-3600, 0),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(crossing_lists, st.lists(st.floats(0, 1800), max_size=4))
def test_plans_keep_every_constraint(raw: list, busy: list[float]) -> None:
    crossings = [
        Crossing(f"C{i}", side, release, None if dl is None else release + dl, arrived)
        for i, (side, release, dl, arrived) in enumerate(raw)
    ]
    scheduler = SlotScheduler(CAPS, time_limit_s=0.05)
    plan = scheduler.plan(0.0, crossings, busy)
    assert plan.status in ("OPTIMAL", "FEASIBLE", "WARM_START")
    assert check_plan(plan, crossings, CAPS, busy, scheduler.unit_s) == []
    assert set(plan.order) == {c.container_id for c in crossings}


def test_solver_never_does_worse_than_its_warm_start() -> None:
    crossings = [
        Crossing(f"C{i}", "vietnam" if i % 3 else "china", 60.0 * i, (60.0 * i + 2400) if i % 2 else None, -600.0)
        for i in range(30)
    ]
    warm = SlotScheduler(CAPS, time_limit_s=0.0)  # no time: the warm start is the plan
    solved = SlotScheduler(CAPS, time_limit_s=2.0)
    p_warm = warm.plan(0.0, crossings, [])
    p_solved = solved.plan(0.0, crossings, [])
    assert p_warm.status == "WARM_START"
    assert check_plan(p_warm, crossings, CAPS, [], 10.0) == []
    assert check_plan(p_solved, crossings, CAPS, [], 10.0) == []
    assert objective(p_solved, crossings, solved) <= objective(p_warm, crossings, solved)
    assert p_solved.objective == objective(p_solved, crossings, solved)


def test_a_perishable_container_goes_first_when_capacity_is_short() -> None:
    caps = Capacities({"vietnam": 1, "china": 1}, {"vietnam": 1, "china": 1}, 1, 100, 600, 20)
    crossings = [
        Crossing("OLD", "vietnam", 0.0, None, -1200.0),
        Crossing("FRUIT", "vietnam", 0.0, 1000.0, -600.0),
    ]
    plan = SlotScheduler(caps, time_limit_s=1.0).plan(0.0, crossings, [])
    assert plan.order == ["FRUIT", "OLD"]
    assert plan.starts["FRUIT"] == 0.0
    assert plan.starts["OLD"] >= 800.0  # one carrier: after the fruit's whole cycle


def test_busy_carriers_hold_the_fleet_until_they_are_free() -> None:
    caps = Capacities({"vietnam": 2, "china": 2}, {"vietnam": 2, "china": 2}, 2, 100, 600, 20)
    crossings = [Crossing("A", "vietnam", 0.0), Crossing("B", "china", 0.0)]
    plan = SlotScheduler(caps).plan(0.0, crossings, busy_until=[500.0])
    starts = sorted(plan.starts.values())
    assert starts[0] == 0.0 and starts[1] >= 500.0


def test_the_same_input_gives_the_same_plan() -> None:
    crossings = [Crossing(f"C{i}", "vietnam" if i % 2 else "china", 30.0 * i, 5000.0 if i % 4 == 0 else None) for i in range(40)]
    a = SlotScheduler(CAPS, time_limit_s=0.1).plan(0.0, crossings, [100.0])
    b = SlotScheduler(CAPS, time_limit_s=0.1).plan(0.0, crossings, [100.0])
    assert a.starts == b.starts and a.status == b.status


def test_the_checker_finds_a_broken_plan() -> None:
    crossings = [Crossing(f"C{i}", "vietnam", 0.0) for i in range(3)]
    plan = Plan(0.0, {c.container_id: 0.0 for c in crossings}, "FEASIBLE")  # three loads at once
    problems = check_plan(plan, crossings, CAPS, [], 10.0)
    assert any("crane vietnam" in p for p in problems)
    early = Plan(0.0, {"C0": -50.0}, "FEASIBLE")
    assert any("before its release" in p for p in check_plan(early, crossings[:1], CAPS, [], 10.0))
    assert check_plan(Plan(0.0, {}, "FEASIBLE"), crossings[:1], CAPS, [], 10.0) == ["C0 has no slot"]


def test_no_crossings_no_plan() -> None:
    plan = SlotScheduler(CAPS).plan(10.0, [], [])
    assert plan.starts == {} and plan.status == "OPTIMAL"


def test_containers_before_the_scanner_are_planned_after_a_free_scanner() -> None:
    caps = Capacities(
        {"vietnam": 5, "china": 5}, {"vietnam": 4, "china": 4}, 20, 60, 600, 20,
        scanners={"vietnam": 1, "china": 1}, scan_s=100, clearance_s=200,
    )
    crossings = [Crossing(f"T{i}", "vietnam", 0.0, None, 0.0, scan_after_s=0.0) for i in range(4)]
    plan = SlotScheduler(caps, time_limit_s=1.0).plan(0.0, crossings, [])
    assert check_plan(plan, crossings, caps, [], 10.0) == []
    scans = sorted(plan.scan_starts.values())
    assert scans == [0.0, 100.0, 200.0, 300.0]  # one scanner: one after another
    for c in crossings:
        assert plan.starts[c.container_id] >= plan.scan_starts[c.container_id] + 300.0
    broken = Plan(0.0, dict(plan.starts), "FEASIBLE", scan_starts={c.container_id: 0.0 for c in crossings})
    assert any("scanner vietnam" in p for p in check_plan(broken, crossings, caps, [], 10.0))
