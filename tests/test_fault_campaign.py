"""The fault campaign: injected faults refused when they make no sense, each acting on
its devices in its window and not outside it, reaching the controllers as a real fault
would, and `checkpoint simulate` reporting per fault the containers lost (none), the
safety violations (none) and the cost against the run without it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, make_scenario, reference_data
from rich.console import Console

from checkpoint.cli import main
from controllers.messages import CONNECTION_BROKEN, CarrierState, Event
from twin.campaign import measure, run_campaign
from twin.campaign import simulate as simulate_campaign
from twin.carrier import SimCarrier
from twin.kpi import to_json
from twin.scenario import ScenarioError, load_scenario, parse_scenario
from twin.world import World
from twin.yard import Crane, SimCamera, Weighbridge

CAMPAIGN = ROOT / "scenarios" / "huu_nghi_8lane_fault_campaign.yaml"
H = 3600.0


def _fault(**fields: Any) -> dict[str, Any]:
    return {"name": "f", "at_h": 6, "duration_min": 30, **fields}


def _short(campaign: list[dict[str, Any]], hours: float = 8, **edits: Any) -> dict[str, Any]:
    """The 8-lane scenario for `hours`, with no random faults (so that what is seen is the
    campaign's), and the campaign given."""
    data = reference_data()
    data["duration_h"] = hours
    data.pop("faults")
    data["campaign"] = campaign
    data.update(edits)
    return data


def _refusal(campaign: Any, data: dict[str, Any] | None = None) -> str:
    data = copy.deepcopy(data) if data is not None else reference_data()
    data["campaign"] = campaign
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "bad.yaml")
    message = str(caught.value)
    assert message.startswith("bad.yaml: ") and "\n" not in message, message
    return message


# --- the schema ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("campaign", "expected"),
    [
        ([_fault(kind="carrier_brakedown", count=1)], "campaign[0].kind = 'carrier_brakedown': not a kind of fault"),
        ([_fault(count=1)], "campaign[0].kind: missing; one of carrier_breakdown"),
        ([_fault(kind="carrier_breakdown", count=1, colour="red")], "campaign[0].colour = 'red': unknown key"),
        ([_fault(kind="carrier_breakdown")], "campaign[0]: give either carriers (their ids) or count"),
        ([_fault(kind="carrier_breakdown", count=2, carriers=["AGV-001"])], "not both and not neither"),
        ([_fault(kind="carrier_breakdown", carriers=["AGV-077"])], "campaign[0].carriers = 'AGV-077': no such carrier in a fleet of 76"),
        ([_fault(kind="carrier_breakdown", carriers=["AGV-1"])], "campaign[0].carriers[0] = 'AGV-1'"),
        ([_fault(kind="carrier_breakdown", carriers=["AGV-003", "AGV-003"])], "carrier AGV-003 is listed twice"),
        ([_fault(kind="connection_loss", count=77)], "campaign[0].count = 77: more than the 76 simulated carriers"),
        ([_fault(kind="connection_loss", count=3, bursts=4)], "4 bursts need spacing_min"),
        ([_fault(kind="connection_loss", count=3, bursts=4, spacing_min=20)], "spacing_min (20) must exceed duration_min (30)"),
        ([_fault(kind="connection_loss", count=3, at_h=23, bursts=4, spacing_min=40)], "campaign[0].at_h = 23.0: the fault lasts until 25.5 h, past the end of the run at 24 h"),
        ([_fault(kind="crane_failure", cranes=["VN-crane-9"])], "campaign[0].cranes = 'VN-crane-9': no such crane; that yard has 8"),
        ([_fault(kind="crane_failure", cranes=["XX-crane-1"])], "campaign[0].cranes[0] = 'XX-crane-1'"),
        ([_fault(kind="crane_failure", cranes=[])], "campaign[0].cranes = []"),
        ([_fault(kind="scanner_down", yard="vietnam", scanners=3)], "campaign[0].scanners = 3: the vietnam yard has 2 scanners"),
        ([_fault(kind="scanner_down", yard="laos")], "campaign[0].yard = 'laos'"),
        ([_fault(kind="plate_misreads", yard="china", share=1.5)], "campaign[0].share = 1.5"),
        ([_fault(kind="plate_misreads", yard="china", share=0)], "campaign[0].share = 0"),
        ([_fault(kind="weighbridge_drift", yard="china")], "a drift needs drift_pct or drift_kg other than 0"),
        ([_fault(kind="weighbridge_drift", yard="china", drift_pct=80)], "campaign[0].drift_pct = 80"),
        ([_fault(kind="weighbridge_drift", yard="china", drift_kg=float("nan"))], "campaign[0].drift_kg = nan"),
        ([_fault(kind="scanner_down", yard="china", at_h=float("inf"))], "campaign[0].at_h = inf"),
        ([_fault(kind="scanner_down", yard="china", duration_min=1e308)], "campaign[0].duration_min = 1e+308"),
        ([_fault(kind="scanner_down", yard="china", at_h=-1)], "campaign[0].at_h = -1"),
        ([_fault(kind="scanner_down", yard="china", name="")], "campaign[0].name = ''"),
        ([_fault(kind="scanner_down", yard="china"), _fault(kind="scanner_down", yard="vietnam")], "campaign[1].name = 'f': another fault of the campaign has this name"),
        ([_fault(kind="scanner_down", yard="china", name=f"f{i}") for i in range(21)], "campaign = "),
        ("scanners down", "campaign = 'scanners down': Input should be a valid list"),
        (["scanner_down"], "campaign[0] = 'scanner_down'"),
    ],
)
def test_a_bad_fault_is_refused_in_one_line_naming_the_field_the_value_and_why(campaign: Any, expected: str) -> None:
    assert expected in _refusal(campaign)


def test_a_fault_in_the_warm_up_or_on_a_bridged_device_is_refused() -> None:
    data = reference_data()
    data["warmup_h"] = 2
    assert "campaign[0].at_h = 1.0: before the end of the warm-up at 2 h" in _refusal(
        [_fault(kind="scanner_down", yard="china", at_h=1)], data
    )
    hil = yaml.safe_load((ROOT / "scenarios" / "hil_huu_nghi.yaml").read_text(encoding="utf-8"))
    vehicle = hil["devices"]["vehicles"]["carriers"][0]["carrier"]
    crane = hil["devices"]["cranes"][0]["crane"]
    gate_yard = hil["devices"]["gates"][0]["yard"]
    camera_yard = hil["devices"]["cameras"][0]["yard"]
    for fault, field in (
        (_fault(kind="carrier_breakdown", carriers=[vehicle], at_h=0.2), "carriers"),
        (_fault(kind="crane_failure", cranes=[crane], at_h=0.2), "cranes"),
        (_fault(kind="weighbridge_drift", yard=gate_yard, drift_pct=3, at_h=0.2), "yard"),
        (_fault(kind="plate_misreads", yard=camera_yard, share=0.5, at_h=0.2), "yard"),
    ):
        message = _refusal([{**fault, "duration_min": 5}], hil)
        assert f"campaign[0].{field} = " in message and "bridged" in message, message


def test_a_campaign_in_a_file_loads_and_a_bad_one_names_the_file(tmp_path: Path) -> None:
    scenario = load_scenario(CAMPAIGN)
    kinds = [f.kind for f in scenario.campaign]
    assert sorted(kinds) == sorted({"carrier_breakdown", "connection_loss", "crane_failure", "scanner_down", "plate_misreads", "weighbridge_drift"})
    assert all(f.end_s() <= scenario.duration_h * H for f in scenario.campaign)
    data = yaml.safe_load(CAMPAIGN.read_text(encoding="utf-8"))
    data["campaign"][2]["cranes"] = ["CN-crane-11"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: campaign\[2\]\.cranes = 'CN-crane-11': no such crane; that yard has 10"):
        load_scenario(bad)
    assert main(["simulate", str(bad), "--quiet"]) == 2


# --- each fault in its window, and not outside it ---------------------------------------


def _world(campaign: list[dict[str, Any]], **edits: Any) -> World:
    world = World(make_scenario(_short(campaign, **edits)))
    world.begin()
    return world


def _until(world: World, hours: float) -> None:
    world.env.run(until=hours * H)


def test_carrier_breakdown_stops_the_carriers_in_the_window_only() -> None:
    world = _world([_fault(kind="carrier_breakdown", carriers=["AGV-001", "AGV-050"], at_h=5, duration_min=40)])
    struck = [world.carriers["AGV-001"], world.carriers["AGV-050"]]
    _until(world, 4.99)
    assert not any(c.broken for c in struck) and not world.controller.carriers["AGV-001"].fault
    _until(world, 5.01)
    assert all(c.broken for c in struck)
    assert world.controller.carriers["AGV-001"].fault and world.controller.carriers["AGV-050"].fault
    distance = [c.distance_m for c in struck]
    _until(world, 5.6)
    assert [c.distance_m for c in struck] == distance  # it stands where it broke down
    _until(world, 5.7)
    assert not any(c.broken for c in struck) and not world.controller.carriers["AGV-001"].fault
    _until(world, 8)
    world.finish()
    m = measure(world)
    assert m["carrier_breakdowns"] == 2 and m["containers_lost"] == 0 and m["safety_violations"] == 0
    assert [k.devices for k in world.injected] == [("AGV-001", "AGV-050")]


def test_connection_loss_in_bursts_keeps_each_carrier_its_container_and_its_blocks() -> None:
    world = _world([_fault(kind="connection_loss", count=6, at_h=6, duration_min=5, bursts=3, spacing_min=15)])
    seen: list[tuple[float, Event]] = []
    handle = world.controller.on_event

    def spy(event: Event, now: float) -> Any:
        seen.append((now, event))
        return handle(event, now)

    world.controller.on_event = spy  # type: ignore[method-assign]
    _until(world, 6 + 1 / 3600)
    struck = world.injected[0].devices
    assert len(struck) == 6
    carriers = {cid: world.carriers[cid] for cid in struck}
    loaded = {cid: c.load for cid, c in carriers.items() if c.load is not None}
    assert loaded, "the busiest carriers, carrying containers, are struck first"
    assert all(c.link_lost for c in carriers.values())
    assert all(world.controller.carriers[cid].fault for cid in struck)  # CONNECTION_BROKEN, as the link tells it
    _until(world, 6 + 6 / 60)  # between the first and the second burst
    assert not any(c.link_lost for c in carriers.values())
    _until(world, 9)
    world.finish()
    windows = [(6 * H + k * 900, 6 * H + k * 900 + 300) for k in range(3)]
    for cid in struck:
        states = [(t, e) for t, e in seen if isinstance(e, CarrierState) and e.device_id == cid]
        for start, end in windows:
            during = [e for t, e in states if start <= t < end]
            if any(k.start_s == start and cid in k.devices for k in world.injected):
                # one state when the link is lost, then nothing until it is back
                assert len(during) == 1 and CONNECTION_BROKEN in during[0].errors and not during[0].driving
    assert [round(k.start_s) for k in world.injected] == [round(s) for s, _ in windows]
    for cid, container in loaded.items():  # it kept its container and brought it across
        steps = [step for _, step in world.containers[container].history]
        assert any(step.startswith(("stack at", "on the receiving truck")) for step in steps), (cid, steps)
    m = measure(world)
    assert m["link_losses"] == 18 and m["containers_lost"] == 0 and m["safety_violations"] == 0
    assert m["deadlocks"] == 0 and m["unexplained_stops"] == 0 and m["commands_refused"] == 0


def test_crane_failure_takes_the_cranes_out_in_the_window_only() -> None:
    world = _world([_fault(kind="crane_failure", cranes=["CN-crane-1", "VN-crane-3"], at_h=6, duration_min=60)])
    cranes = [c for y in world.yards.values() for c in y.cranes if c.device_id in ("CN-crane-1", "VN-crane-3")]
    assert all(isinstance(c, Crane) for c in cranes) and len(cranes) == 2
    _until(world, 5.99)
    assert not any(c.fault for c in cranes)
    moves = [c.moves for c in cranes]
    _until(world, 6.99)
    assert all(c.fault for c in cranes)
    assert "CN-crane-1" in world.controller.yards["china"].faulty_cranes
    assert [c.moves for c in cranes] <= [m + 1 for m in moves]  # a move it had is finished once back
    _until(world, 7.1)
    assert not any(c.fault for c in cranes)
    assert not world.controller.yards["china"].faulty_cranes
    _until(world, 8)
    assert measure(world)["containers_lost"] == 0


def test_scanners_down_hold_every_container_at_the_scanner_in_the_window() -> None:
    world = _world([_fault(kind="scanner_down", yard="vietnam", at_h=6, duration_min=30)])
    _until(world, 6.1)
    assert world.controller.stations.scanners_down == {"VN-scanner": 1}
    _until(world, 8)
    assert world.controller.stations.scanners_down == {}
    longest_scan = 72  # the scenario's triangular high_s: a truck on the scanner when it fails finishes
    scanned = [
        t
        for c in world.containers.values()
        if c.direction == "export"
        for t, step in c.history
        if step.startswith("inspection")
    ]
    assert not [t for t in scanned if 6 * H + longest_scan < t < 6.5 * H]
    assert [t for t in scanned if 6.5 * H <= t < 6.6 * H], "the queue is scanned once they are back"
    assert [a.kind for a in world.controller.stations.alarms] == ["fault", "back"]


def test_plate_misreads_go_to_an_officer_in_the_window_only() -> None:
    world = _world([_fault(kind="plate_misreads", yard="china", share=1.0, at_h=6, duration_min=20)])
    camera = world.yards["china"].camera
    assert isinstance(camera, SimCamera)
    _until(world, 5.99)
    assert camera.misreads == 0
    _until(world, 6 + 20 / 60)
    misread = camera.misreads
    assert misread > 20  # every plate read in those 20 minutes
    _until(world, 8)
    assert camera.misreads == misread
    flagged = [r for r in world.controller.trucks if r.yard == "china" and r.evidence is not None]
    assert flagged and all(r.evidence.needs_officer and r.evidence.read != r.plate for r in flagged)  # type: ignore[union-attr]
    # the officer's check takes its time: the barrier opens for them after the window's start plus that
    assert all(6 * H + camera.OFFICER_S <= r.at <= 6 * H + 20 * 60 + camera.OFFICER_S for r in flagged)
    assert measure(world)["containers_lost"] == 0


def _drift(detect: bool) -> World:
    data = _short([_fault(kind="weighbridge_drift", yard="vietnam", drift_pct=-10, at_h=5, duration_min=180)], hours=10)
    data["yards"]["vietnam"]["stations"]["weighbridge"]["misdeclared_share"] = 0.2  # many declarations to mask
    world = World(make_scenario(data))
    if not detect:
        world.controller.stations.drift_share = 1e9  # a controller that never looks for drift
    world.begin()
    return world


def test_weighbridge_drift_is_caught_in_the_window_and_no_misdeclared_truck_slips_through() -> None:
    world = _drift(detect=True)
    bridge = world.yards["vietnam"].weighbridge
    assert isinstance(bridge, Weighbridge)
    _until(world, 4.99)
    assert bridge.drifted == 0 and not world.controller.stations.alarms
    _until(world, 8)
    drifted = bridge.drifted
    assert drifted > 50
    _until(world, 10)
    world.finish()
    assert bridge.drifted == drifted
    alarms = [(a.kind, a.at / H) for a in world.controller.stations.alarms]
    assert alarms[0][0] == "fault" and 5 < alarms[0][1] < 5.75, alarms  # caught within some 10 trucks at 05:00
    assert all(5 < at < 10 for _, at in alarms) and len(alarms) == 2 and alarms[1][0] == "back"
    m = measure(world)
    assert m["drift_alarms"] == 1 and m["containers_lost"] == 0
    assert m["weights_flagged_wrongly"] > 0  # honest trucks read off go to inspection, weighed again there
    # until the drift is seen a truck is judged as read; from the alarm on none slips through
    again = _drift(detect=True)
    _until(again, alarms[0][1])
    before = sum(y.weights_missed for y in again.yards.values())
    assert m["weights_missed"] == before <= 3
    # the same drift, unwatched: misdeclared trucks are waved through all along
    blind = _drift(detect=False)
    blind.env.run(until=10 * H)
    assert measure(blind)["weights_missed"] > 5 * max(1, before)


# --- the campaign's report --------------------------------------------------------------


def test_the_campaign_is_deterministic_and_each_fault_is_run_alone_and_together() -> None:
    data = _short(
        [
            _fault(name="down", kind="carrier_breakdown", count=3, at_h=3),
            _fault(name="drift", kind="weighbridge_drift", yard="china", drift_pct=6, at_h=4),
        ],
        hours=6,
    )
    first, _ = run_campaign(make_scenario(data))
    again, _ = run_campaign(make_scenario(data))
    assert to_json(first) == to_json(again)
    other, _ = run_campaign(make_scenario(data), seed=2)
    assert to_json(other) != to_json(first)
    assert [r["name"] for r in first["runs"]] == ["down", "drift", "all faults"]
    assert first["runs"][0]["carrier_breakdowns"] == 3 and first["baseline"]["carrier_breakdowns"] == 0
    assert first["runs"][1]["weighings_drifted"] > 0 and first["runs"][0]["weighings_drifted"] == 0
    assert first["runs"][2]["strikes"] == first["runs"][0]["strikes"] + first["runs"][1]["strikes"]
    base = first["baseline"]
    for row in first["runs"]:
        assert row["vs_baseline"]["delivered_diff"] == row["containers_delivered"] - base["containers_delivered"]
        assert row["vs_baseline"]["truck_wait_mean_diff_s"] == pytest.approx(row["truck_wait_mean_s"] - base["truck_wait_mean_s"], abs=0.1)
    assert first["ok"] and not first["failures"]


def test_a_run_that_loses_a_container_fails_the_campaign(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    restore = SimCarrier.restore_link

    def careless(self: SimCarrier) -> None:  # a link that drops what the carrier carries
        self.load = None
        restore(self)

    monkeypatch.setattr(SimCarrier, "restore_link", careless)
    data = _short([_fault(kind="connection_loss", count=5, at_h=3)], hours=5)
    console = Console(width=160, record=True)
    code = simulate_campaign(make_scenario(data), console, seed=None, demand_scale=1.0, controller=None, out=tmp_path, quiet=False)
    assert code == 1
    result = json.loads((tmp_path / "campaign.json").read_text(encoding="utf-8"))
    assert not result["ok"] and result["runs"][0]["containers_lost"] > 0
    assert "containers lost" in console.export_text()


def test_simulate_prints_the_campaign_table_with_zero_lost_and_zero_violations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(CAMPAIGN), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads((tmp_path / "campaign.json").read_text(encoding="utf-8"))  # strict JSON
    scenario = load_scenario(CAMPAIGN)
    names = [f.name for f in scenario.campaign]
    assert [r["name"] for r in result["runs"]] == [*names, "all faults"]
    assert result["ok"] and result["failures"] == []
    for row in [result["baseline"], *result["runs"]]:
        assert row["containers_lost"] == 0 and row["safety_violations"] == 0 and row["deadlocks"] == 0
        assert row["commands_refused"] == 0 and row["unexplained_stops"] == 0
    assert result["baseline"]["strikes"] == []
    assert {r["kind"] for r in result["runs"]} == {f.kind for f in scenario.campaign} | {"all"}
    for row in result["runs"][:-1]:
        assert {k["fault"] for k in row["strikes"]} == {row["name"]}
    drift = next(r for r in result["runs"] if r["kind"] == "weighbridge_drift")
    assert drift["drift_alarms"] == 1 and drift["weights_missed"] == 0
    every = result["runs"][-1]
    assert every["truck_wait_mean_s"] > result["baseline"]["truck_wait_mean_s"]  # the faults cost waiting
    for text in ("Fault campaign", "baseline", "all faults", "No run lost a container or violated safety", *names):
        assert text in out
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "timeseries.csv").is_file()
