"""Lane directions, closing and opening, and the lane policy of the planning controller."""

from __future__ import annotations

import pytest
from conftest import make_scenario, reference_data
from test_fifo import cstate, make_layout

from controllers.cpsat import CpsatController
from controllers.fifo import FifoController
from controllers.lanes import LanePlan, LaneRefused
from controllers.layout import LANE_REVERSIBLE, LANE_TO_CHINA, LANE_TO_VIETNAM
from controllers.scheduler import Capacities, Crossing, SlotScheduler, check_plan
from twin.kpi import summarise
from twin.world import World

MIXED = (LANE_TO_CHINA, LANE_TO_VIETNAM, LANE_REVERSIBLE, LANE_REVERSIBLE)


def test_reversible_lanes_start_shared_out_alternately() -> None:
    plan = LanePlan(make_layout(lanes=MIXED))
    assert plan.open_for("export") == [0, 2] and plan.open_for("import") == [1, 3]


def test_the_last_open_lane_of_a_direction_cannot_be_closed() -> None:
    plan = LanePlan(make_layout(lanes=MIXED))
    plan.close(0)
    assert plan.open_for("export") == [2]
    with pytest.raises(LaneRefused, match="last open lane to China"):
        plan.close(2)
    plan.open(0)
    assert plan.open_for("export") == [0, 2]
    with pytest.raises(LaneRefused, match="no lane 9"):
        plan.close(9)


def test_a_lane_turns_only_once_it_is_empty() -> None:
    plan = LanePlan(make_layout(lanes=MIXED))
    on_lane = {3: 2}
    plan.set_direction(3, "export", lambda lane: on_lane.get(lane, 0))
    assert 3 in plan.switching and 3 not in plan.open_for("import") and 3 not in plan.open_for("export")
    on_lane[3] = 0
    plan.settle(lambda lane: on_lane.get(lane, 0))
    assert plan.open_for("export") == [0, 2, 3] and plan.switches == 1
    with pytest.raises(LaneRefused, match="not reversible"):
        plan.set_direction(0, "import", lambda lane: 0)


def test_closed_lanes_and_lanes_with_a_broken_carrier_get_no_new_crossings() -> None:
    ctrl = FifoController(make_layout())  # lanes 0, 1 to China
    ctrl.close_lane(0)
    assert ctrl.choose_lane("export") == 1
    ctrl.open_lane(0)
    assert ctrl.choose_lane("export") == 0
    ctrl.on_event(cstate("C1", "VN"), 0.0)
    ctrl.traffic.begin("C1", 0, "vietnam", "o1")
    ctrl.on_event(cstate("C1", "L0N1", order_id="o1", errors=("E-BREAKDOWN",)), 1.0)
    assert ctrl.impaired_lanes() == {0}
    assert ctrl.choose_lane("export") == 1  # re-routed round the broken carrier


def test_a_shuttle_loop_keeps_its_lanes_balanced_at_the_fruit_peak() -> None:
    # exports at three times imports still send as many carriers back as forth (the
    # surplus runs back empty): turning lanes toward China would starve the returns
    d = reference_data()
    d["lanes"] = ["to_china", "to_vietnam", "reversible", "reversible"]
    d["demand"]["export"]["trucks_per_hour"] = [3 * v for v in d["demand"]["export"]["trucks_per_hour"]]
    d["duration_h"] = 10
    world = World(make_scenario(d), controller="cpsat")
    world.run()
    s = summarise(world)
    ctrl = world.controller
    assert isinstance(ctrl, CpsatController)
    assert ctrl.lane_history and set(ctrl.lane_history) == {2}
    assert s["safety_violations"] == 0 and s["deadlocks"] == 0 and s["containers_lost"] == 0


def test_the_plan_turns_reversible_lanes_toward_a_one_sided_burst() -> None:
    caps = Capacities(
        cranes={"vietnam": 20, "china": 20},
        lanes_from={"vietnam": 1, "china": 1},
        carriers=60,
        crane_move_s=60,
        crossing_s=2400,
        headway_s=120,
        reversible={2: "vietnam", 3: "china"},
    )
    # forty containers wait in Vietnam now; their carriers come back only in the next
    # window (a crossing is longer than a window), so for now both lanes can go to China
    crossings = [Crossing(f"X{i}", "vietnam", 0.0, None, -600.0) for i in range(40)]
    plan = SlotScheduler(caps, time_limit_s=2.0).plan(0.0, crossings, [])
    assert plan.lane_windows[0] == {2: "vietnam", 3: "vietnam"}
    assert plan.lane_windows[-1][3] == "china"  # and back for the returns
    assert check_plan(plan, crossings, caps, [], 10.0) == []
