"""The twin end to end: every scenario runs safely, deterministically, losing nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, make_scenario

from controllers.messages import CommandRefused, PlateRead, WeightReading
from controllers.traffic import TrafficControl
from twin.kpi import summarise, write_outputs
from twin.scenario import load_scenario
from twin.world import World

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def run(scenario_data: dict[str, Any] | None = None, path: Path | None = None, **kwargs: Any) -> tuple[World, dict[str, Any]]:
    scenario = load_scenario(path) if path is not None else make_scenario(scenario_data or {})
    world = World(scenario, **kwargs)
    world.run()
    return world, summarise(world)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_runs_a_day_safely(path: Path) -> None:
    world, s = run(path=path)
    assert s["containers_delivered"] > 0.8 * s["containers_arrived"] > 0
    assert s["safety_violations"] == 0
    assert s["blocks_checked"] > 10_000
    assert s["deadlocks"] == 0 and s["unexplained_stops"] == 0
    assert s["containers_lost"] == 0
    assert s["containers_arrived"] == s["containers_delivered"] + s["containers_in_system"]
    assert s["flat_batteries"] == 0
    assert s["commands_refused"] == 0  # a device refusing a command is a controller bug
    for d in ("export", "import"):
        k = s["directions"][d]
        assert k["containers_delivered"] > 0
        assert 0 < k["truck_wait_s"]["p50"] <= k["truck_wait_s"]["p95"] <= k["truck_wait_s"]["max"]
    assert s["bottleneck"]["resource"] in s["utilisation"]
    assert s["bottleneck"]["utilisation"] == max(s["utilisation"].values())


def test_design_demand_is_about_2800_containers_a_day() -> None:
    world, s = run(path=ROOT / "scenarios" / "huu_nghi_8lane.yaml")
    assert 2600 <= s["containers_arrived"] <= 3000
    assert world.stats["export"].arrived < world.stats["import"].arrived  # imports are ~70%


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path: Path, data: dict[str, Any]) -> None:
    data["duration_h"] = 8
    outputs = []
    for i, seed in enumerate((7, 7, 8)):
        world, s = run(data, seed=seed)
        out = tmp_path / str(i)
        write_outputs(world, s, out)
        outputs.append(((out / "summary.json").read_bytes(), (out / "timeseries.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[2][0] and outputs[0][1] != outputs[2][1]


def test_breakdowns_stop_carriers_in_their_block_without_violations(data: dict[str, Any]) -> None:
    data["duration_h"] = 12
    data["faults"] = {
        "carrier": {"mtbf_h": 3, "mttr_min": 20},
        "crane": {"mtbf_h": 5, "mttr_min": 30},
        "scanner": {"mtbf_h": 8, "mttr_min": 30},
        "weighbridge": {"mtbf_h": 8, "mttr_min": 30},
        "gate": {"mtbf_h": 8, "mttr_min": 10},
    }
    world, s = run(data)
    assert s["carrier_breakdowns"] > 100
    for kind in ("scanner", "weighbridge", "gate"):
        assert s["stations"]["china"][kind]["breakdowns"] > 0
    stopped_on_corridor = [c for c in world.carriers.values() if c.broken and c.stopped_block >= 0]
    assert s["safety_violations"] == 0 and s["deadlocks"] == 0 and s["unexplained_stops"] == 0
    assert s["containers_lost"] == 0
    # a breakdown on the corridor leaves the carrier standing in a block it still holds
    for carrier in stopped_on_corridor:
        assert world.safety.occupant[carrier.stopped_block] == carrier.device_id
    assert s["containers_delivered"] > 0.5 * s["containers_arrived"]


def test_full_staging_yard_makes_trucks_wait_outside(data: dict[str, Any]) -> None:
    data["duration_h"] = 10
    data["yards"]["china"]["staging_capacity_trucks"] = 5
    world, s = run(data)
    rows = world.timeseries
    assert max(r["cn_trucks_outside"] for r in rows) > 0
    assert max(r["cn_trucks_in_yard"] - r["cn_trucks_outside"] for r in rows) <= 5
    assert s["containers_lost"] == 0


def test_batteries_drain_and_carriers_charge(data: dict[str, Any]) -> None:
    data["fleet"]["battery_kwh"] = 60  # a few crossings per charge
    data["duration_h"] = 12
    world, s = run(data)
    charged = sum(1 for r in world.timeseries if r["carriers_charging"] > 0)
    assert charged > 0
    assert s["utilisation"]["chargers_vietnam"] + s["utilisation"]["chargers_china"] > 0
    assert s["flat_batteries"] == 0
    assert s["energy_kwh"] > 0


def test_warmup_excludes_the_first_hours(data: dict[str, Any]) -> None:
    data["duration_h"] = 10
    data["warmup_h"] = 4
    world, s = run(data)
    assert world.measure_from == 4 * 3600
    arrived_after = sum(1 for c in world.containers.values() if c.arrived_at >= 4 * 3600)
    assert s["directions"]["export"]["trucks_arrived"] + s["directions"]["import"]["trucks_arrived"] == arrived_after


class RecklessTraffic(TrafficControl):
    """A broken traffic controller that hands out blocks without checking who holds them."""

    def _extend(self, trip):  # type: ignore[no-untyped-def]
        for lane_holder in self.holder:
            for i in range(len(lane_holder)):
                lane_holder[i] = None
        return super()._extend(trip)


def test_safety_monitor_catches_a_controller_that_shares_blocks(data: dict[str, Any]) -> None:
    data["duration_h"] = 6
    data["faults"] = {"carrier": {"mtbf_h": 2, "mttr_min": 20}}  # leaders stop where followers drive
    world = World(make_scenario(data))
    world.controller.traffic = RecklessTraffic(world.layout, max_base_blocks=1000)  # type: ignore[attr-defined]
    world.run()
    kinds = {v.kind for v in world.safety.violations}
    assert "shared block" in kinds


def test_summary_json_has_the_promised_keys(tmp_path: Path, data: dict[str, Any]) -> None:
    data["duration_h"] = 4
    world, s = run(data)
    write_outputs(world, s, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for key in ("containers_delivered", "containers_lost", "safety_violations", "bottleneck"):
        assert key in summary
    for d in ("export", "import"):
        assert summary["directions"][d]["wait_p95_s"] == summary["directions"][d]["truck_wait_s"]["p95"]
    header = (tmp_path / "timeseries.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[0] == "time_h" and "vn_trucks_in_yard" in header and "carriers_moving" in header


def test_carrier_positions_come_back_in_wgs84_along_the_corridor(data: dict[str, Any]) -> None:
    from pyproj import Geod

    data["duration_h"] = 2
    world = World(make_scenario(data))
    world.run()
    geod = Geod(ellps="WGS84")
    vn = data["site"]["vietnam_yard"]
    cn = data["site"]["china_yard"]
    length = world.geometry.lanes[0].length_m
    moving = [c for c in world.carriers.values() if c.moving]
    assert moving
    for carrier in world.carriers.values():
        lat, lon = world.carrier_wgs84(carrier.device_id)
        d_vn = geod.inv(vn["lon"], vn["lat"], lon, lat)[2]
        d_cn = geod.inv(cn["lon"], cn["lat"], lon, lat)[2]
        # on or beside the corridor: never further from both yards than the lane is long
        assert min(d_vn, d_cn) <= length
        if not carrier.moving and carrier.node_id == "VN":
            assert (lat, lon) == world.geometry.yard_wgs84("vietnam")


def test_at_three_times_demand_the_kpis_say_what_limits_four_and_eight_lanes() -> None:
    results = {}
    for lanes in (4, 8):
        world, s = run(path=ROOT / "scenarios" / f"huu_nghi_{lanes}lane.yaml", demand_scale=3)
        results[lanes] = s
        assert s["safety_violations"] == 0 and s["containers_lost"] == 0
    four, eight = results[4], results[8]
    # the same resource limits both, and it is not a lane ...
    assert four["bottleneck"]["resource"] == eight["bottleneck"]["resource"]
    assert not eight["bottleneck"]["resource"].startswith("lane_")
    assert max(v for k, v in four["utilisation"].items() if k.startswith("lane_")) < four["bottleneck"]["utilisation"]
    # ... but with fewer lanes that resource loses more time in lane congestion
    assert four["carrier_block_wait_h"] > eight["carrier_block_wait_h"]
    assert four["containers_delivered"] <= eight["containers_delivered"]


@pytest.mark.parametrize("controller", ["greedy", "cpsat"])
@pytest.mark.parametrize("name", ["huu_nghi_4lane", "huu_nghi_8lane_fruit_peak", "tan_thanh_8lane"])
def test_smart_controllers_run_safely(controller: str, name: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml").model_copy(update={"duration_h": 12.0})
    world = World(scenario, controller=controller)
    world.run()
    s = summarise(world)
    assert s["controller"] == controller
    assert s["safety_violations"] == 0 and s["deadlocks"] == 0 and s["unexplained_stops"] == 0
    assert s["containers_lost"] == 0 and s["flat_batteries"] == 0
    assert s["commands_refused"] == 0
    assert s["containers_delivered"] > 0.75 * s["containers_arrived"]


def test_a_command_a_device_cannot_carry_out_reaches_the_controller_as_an_event(data: dict[str, Any]) -> None:
    # a plate read and a weight for trucks that are not there: the controller opens the
    # barrier and decides on the weight, and the devices refuse
    world = World(make_scenario(data))
    world.begin()
    world.env.run(until=600)
    world.runtime.publish(PlateRead("VN-gate", "vietnam", "T-none", "29C-12345", "deliver"))
    world.runtime.publish(WeightReading("VN-weighbridge", "vietnam", "T-none", 20_000.0, 20_000.0))
    world.env.run(until=1200)  # the twin goes on
    refused = list(world.controller.refusals)
    assert [(r.device_id, r.command) for r in refused] == [("VN-gate", "BarrierCommand"), ("VN-weighbridge", "WeighDecision")]
    assert "no truck T-none at the barrier" in refused[0].reason
    assert all(isinstance(r, CommandRefused) for r in refused)
    assert summarise(world)["commands_refused"] == 2


def _spied(world: World, carrier_id: str) -> tuple[Any, list[Any]]:
    """The twin's carrier, with what it tells the controllers also kept in a list."""
    from dataclasses import replace

    carrier = next(c for c in world.sim_carriers() if c.device_id == carrier_id)
    told: list[Any] = []

    def publish(event: Any) -> None:
        told.append(event)
        world.runtime.publish(event)

    carrier.links = replace(carrier.links, publish=publish)
    return carrier, told


def test_a_cancelled_order_stops_at_the_next_node_and_is_not_a_finished_one(data: dict[str, Any]) -> None:
    from controllers.messages import Action, ActionState, CarrierState, InstantActions

    world = World(make_scenario(data))
    world.begin()
    world.env.run(until=1800)
    while not any(c.moving and c.node_id.startswith("L") for c in world.sim_carriers()):
        world.env.run(until=world.env.now + 5)
    moving = next(c for c in world.sim_carriers() if c.moving and c.node_id.startswith("L"))
    carrier, told = _spied(world, moving.device_id)
    carrier.accept(InstantActions(carrier.device_id, (Action("cancelOrder", "cancel-t1"),)))
    world.env.run(until=world.env.now + 300)
    assert not carrier.moving and carrier.idx == carrier.released_upto  # at a node, nothing ahead
    answers = [e for e in told if isinstance(e, ActionState)]
    assert [(a.action_id, a.status) for a in answers] == [("cancel-t1", "FINISHED")]
    before = told[: told.index(answers[0])]
    last = [e for e in before if isinstance(e, CarrierState)][-1]  # the state before its answer
    assert last.order_cancelled and not last.order_finished and not last.driving
    # nothing left to cancel: the standard's noOrderToCancel
    carrier.accept(InstantActions(carrier.device_id, (Action("cancelOrder", "cancel-t2"),)))
    failed = [e for e in told if isinstance(e, ActionState) and e.action_id == "cancel-t2"]
    assert [a.status for a in failed] == ["FAILED"] and "noOrderToCancel" in failed[0].result


def test_stop_charging_keeps_the_energy_taken_so_far_and_is_answered_once_off_the_charger(data: dict[str, Any]) -> None:
    from controllers.messages import Action, ActionState, InstantActions

    world = World(make_scenario(data))
    world.begin()
    world.env.run(until=1)
    carrier = next(c for c in world.sim_carriers() if not c.moving and c.node_id in ("VN", "CN"))
    carrier, told = _spied(world, carrier.device_id)
    carrier.energy_kwh = 0.5 * carrier.spec.battery_kwh
    carrier.accept(InstantActions(carrier.device_id, (Action("startCharging", "charge-t1"),)))
    world.env.run(until=world.env.now + 1)
    assert carrier.charging
    began = carrier.energy_kwh
    carrier.accept(InstantActions(carrier.device_id, (Action("stopCharging", "stop-t1"),)))
    assert not [e for e in told if isinstance(e, ActionState) and e.action_id == "stop-t1"]  # not yet off
    world.env.run(until=world.env.now + 1)
    assert not carrier.charging
    assert [e.status for e in told if isinstance(e, ActionState) and e.action_id == "stop-t1"] == ["FINISHED"]
    assert began <= carrier.energy_kwh < 0.51 * carrier.spec.battery_kwh  # what a second or two gave it


def test_two_stops_in_one_instant_reach_a_moving_carrier_once(data: dict[str, Any]) -> None:
    """A pause and a cancel, or two pauses (the corridor's and the carrier's), sent while a
    carrier drives: SimPy delivers an interrupt later in the same instant, and a second
    one used to reach the carrier's process where nothing caught it, killing the twin."""
    from controllers.messages import Action, InstantActions

    data["duration_h"] = 3
    world = World(make_scenario(data))
    world.begin()
    world.env.run(until=3600)
    moving = [c for c in world.sim_carriers() if c.moving]
    assert len(moving) >= 3
    for k, carrier in enumerate(moving[:3]):
        first = Action("startPause", f"p{k}")
        second = Action("cancelOrder", f"c{k}") if k == 0 else Action("startPause", f"q{k}")
        carrier.accept(InstantActions(carrier.device_id, (first,)))
        carrier.accept(InstantActions(carrier.device_id, (second,)))
    world.env.run(until=3700)  # the interrupts are delivered: nothing raises out of the run
    assert not any(c.moving for c in moving[:3])
    for carrier in moving[:3]:
        carrier.accept(InstantActions(carrier.device_id, (Action("stopPause", f"r-{carrier.device_id}"),)))
    world.env.run(until=3 * 3600)
    assert summarise(world)["safety_violations"] == 0
