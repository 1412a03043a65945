"""Randomised short runs: random fleets, lanes, faults, demand and seeds, every controller.

Whatever the draw: zero safety violations, no deadlock (every carrier stopped on the
corridor waits for a stated reason, and no chain of waits closes on itself), and every
container delivered, still in the system, or counted lost, with none lost.
"""

from __future__ import annotations

from typing import Any

from conftest import make_scenario, reference_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.kpi import summarise
from twin.world import World

LANE_KINDS = ("to_china", "to_vietnam", "reversible")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], str, int]:
    d = reference_data()
    n = draw(st.integers(4, 14))
    lanes = [draw(st.sampled_from(LANE_KINDS)) for _ in range(n)]
    lanes[0], lanes[1] = "to_china", "to_vietnam"  # every direction has a lane
    d["lanes"] = lanes
    d["block_length_m"] = draw(st.sampled_from([25, 50, 100, 200]))
    d["fleet"]["carriers"] = draw(st.integers(2, 80))
    d["fleet"]["battery_kwh"] = draw(st.sampled_from([40, 120, 280]))
    d["fleet"]["share_at_vietnam"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    for side in ("vietnam", "china"):
        d["yards"][side]["cranes"] = draw(st.integers(1, 10))
        d["yards"][side]["stack_capacity_containers"] = draw(st.integers(1, 50))
        d["yards"][side]["chargers"] = draw(st.integers(0, 4))
    d["demand"]["season_multiplier"] = draw(st.sampled_from([0.3, 1.0, 2.5]))
    if draw(st.booleans()):
        d["faults"] = {
            "carrier": {"mtbf_h": draw(st.sampled_from([1, 5, 50])), "mttr_min": draw(st.sampled_from([5, 30]))},
            "crane": {"mtbf_h": 4, "mttr_min": 30},
            "scanner": {"mtbf_h": 6, "mttr_min": 30},
        }
    else:
        d["faults"] = {}
    d["duration_h"] = draw(st.sampled_from([2, 4, 6]))
    d["seed"] = draw(st.integers(1, 10_000))
    return d, draw(st.sampled_from(["fifo", "greedy", "cpsat"])), d["seed"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_short_runs_are_safe_and_lose_nothing(case: tuple[dict[str, Any], str, int]) -> None:
    data, controller, _ = case
    world = World(make_scenario(data), controller=controller)
    world.run()
    s = summarise(world)
    assert s["containers_arrived"] > 0 and s["blocks_checked"] > 0
    assert s["safety_violations"] == 0, world.safety.violations[:3]
    assert s["deadlocks"] == 0 and s["unexplained_stops"] == 0
    assert s["containers_lost"] == 0
    assert s["commands_refused"] == 0
    assert s["containers_arrived"] == s["containers_delivered"] + s["containers_in_system"]
