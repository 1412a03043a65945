"""Scenario files and the messages of `twin.scenario.load_scenario`.

Every YAML file in `scenarios/` must load; the Hữu Nghị lane variants must differ only in
name, description and lanes; and every kind of mistake in a scenario file must give a
`ScenarioError` whose message names the file, the field path and the bad value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from pyproj import Geod

from twin.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REFERENCE = SCENARIOS / "huu_nghi_8lane.yaml"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))
HUU_NGHI_LANES = {4: (2, 2, 0), 6: (3, 3, 0), 8: (4, 4, 0), 14: (6, 6, 2)}
VARIANT_FIELDS = {"name", "description", "lanes"}
GEOD = Geod(ellps="WGS84")


def _daily(s: Scenario, direction: str) -> float:
    return math.fsum(s.demand.for_direction(direction).trucks_per_hour)


def _length_m(points: list[Any]) -> float:
    return GEOD.line_length([p.lon for p in points], [p.lat for p in points])


# --- the shipped scenario files -------------------------------------------------------


def test_scenario_directory_has_files() -> None:
    assert REFERENCE in SCENARIO_FILES
    assert len(SCENARIO_FILES) >= 5


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_scenario_file_loads(path: Path) -> None:
    s = load_scenario(path)
    assert s.name == path.stem  # the name is the file name, so runs are traceable
    assert 4 <= len(s.lanes) <= 14
    site = s.site
    assert site.corridor_path[0] == site.vietnam_yard
    assert site.corridor_path[-1] == site.china_yard
    assert site.border_point in site.corridor_path
    assert _daily(s, "export") > 0 and _daily(s, "import") > 0


@pytest.mark.parametrize("lanes", sorted(HUU_NGHI_LANES))
def test_huu_nghi_variants_differ_only_in_name_description_lanes(lanes: int) -> None:
    reference = load_scenario(REFERENCE)
    variant = load_scenario(SCENARIOS / f"huu_nghi_{lanes}lane.yaml")
    assert variant.name == f"huu_nghi_{lanes}lane"
    assert variant.model_dump(exclude=VARIANT_FIELDS) == reference.model_dump(exclude=VARIANT_FIELDS)
    assert f"{lanes} lanes" in variant.description
    to_china, to_vietnam, reversible = HUU_NGHI_LANES[lanes]
    assert len(variant.lanes) == lanes
    assert variant.lanes.count("to_china") == to_china
    assert variant.lanes.count("to_vietnam") == to_vietnam
    assert variant.lanes.count("reversible") == reversible


def test_huu_nghi_8lane_demand_is_the_design_figure() -> None:
    s = load_scenario(REFERENCE)
    export, import_ = _daily(s, "export"), _daily(s, "import")
    assert export + import_ == pytest.approx(2800, abs=1)
    assert export / (export + import_) == pytest.approx(0.30, abs=0.005)


def test_huu_nghi_corridor_is_about_3_6_km_with_0_5_km_in_vietnam() -> None:
    site = load_scenario(REFERENCE).site
    assert _length_m(site.corridor_path) == pytest.approx(3600, abs=150)
    assert _length_m([site.vietnam_yard, site.border_point]) == pytest.approx(500, abs=50)


def test_tan_thanh_demand_and_corridor() -> None:
    s = load_scenario(SCENARIOS / "tan_thanh_8lane.yaml")
    export, import_ = _daily(s, "export"), _daily(s, "import")
    assert export == pytest.approx(275, abs=1e-6)
    assert import_ == pytest.approx(825, abs=1e-6)
    assert s.demand.export.cargo_mix.fruit == pytest.approx(0.85)
    assert math.fsum(s.traditional.trucks_per_hour) == pytest.approx(583, abs=1)
    assert s.lanes.count("to_china") == s.lanes.count("to_vietnam") == 4
    assert s.fleet.carriers < load_scenario(REFERENCE).fleet.carriers
    site = s.site
    assert _length_m(site.corridor_path) == pytest.approx(2900, abs=100)
    border_index = site.corridor_path.index(site.border_point)
    assert _length_m(site.corridor_path[: border_index + 1]) == pytest.approx(500, abs=50)
    # within a few hundred metres of the Tân Thanh gate (22.00306 N, 106.68389 E)
    assert GEOD.inv(106.68389, 22.00306, site.border_point.lon, site.border_point.lat)[2] < 1000


# --- error messages ---------------------------------------------------------------------


def _reference_data() -> dict[str, Any]:
    # deep-copied so that an edit hits exactly one place even where YAML shares objects
    return copy.deepcopy(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))


def _write(tmp_path: Path, data: Any, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _error(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> tuple[Path, str]:
    data = _reference_data()
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return path, message


def test_the_unedited_reference_data_round_trips(tmp_path: Path) -> None:
    # guards the error tests below: only their edit makes the file bad
    assert load_scenario(_write(tmp_path, _reference_data(), "ok.yaml")) == load_scenario(REFERENCE)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d.update(lane_count=8))
    assert "lane_count = 8: unknown key" in message
    assert len(message.splitlines()) == 1  # nothing else is reported


def test_unknown_nested_key(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["fleet"].update(carriers_count=40))
    assert "fleet.carriers_count = 40: unknown key" in message


def test_unknown_key_deep_in_a_yard(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["yards"]["china"]["stations"]["scanner"].update(speed=2))
    assert "yards.china.stations.scanner.speed = 2: unknown key" in message
    assert "yards.vietnam" not in message


def test_three_lanes(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d.update(lanes=["to_china", "to_vietnam", "to_china"]))
    assert "lanes = ['to_china', 'to_vietnam', 'to_china']" in message
    assert "at least 4 items" in message and "not 3" in message


def test_fifteen_lanes(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d.update(lanes=["to_china", "to_vietnam"] * 7 + ["reversible"]))
    assert "lanes = [" in message and "at most 14 items" in message


def test_negative_speed(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["fleet"].update(speed_kmh=-22))
    assert "fleet.speed_kmh = -22: Input should be greater than 0" in message


def test_risk_channel_shares_not_summing_to_one(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["yards"]["vietnam"]["stations"]["inspection"]["green"]["share"] = 0.6

    _, message = _error(tmp_path, edit)
    assert "yards.vietnam.stations.inspection: green" in message
    assert "green + yellow + red shares must be 1, not 0.9" in message
    assert "yards.china" not in message


def test_23_hourly_values(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["demand"]["import"].update(trucks_per_hour=[50.0] * 23))
    assert "demand.import.trucks_per_hour = [50.0, 50.0" in message
    assert "at least 24 items" in message and "not 23" in message


def test_25_hourly_values_on_the_traditional_road(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["traditional"].update(trucks_per_hour=[5] * 25))
    assert "traditional.trucks_per_hour = [5, 5" in message
    assert "at most 24 items" in message and "not 25" in message


def test_negative_hourly_value(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["demand"]["export"]["trucks_per_hour"].__setitem__(5, -1))
    assert "demand.export.trucks_per_hour[5] = -1: Input should be greater than or equal to 0" in message


def test_lane_direction_north(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["lanes"].__setitem__(2, "north"))
    assert "lanes[2] = 'north'" in message
    assert "'to_china', 'to_vietnam' or 'reversible'" in message


def test_every_problem_is_reported_with_its_own_path(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["fleet"]["speed_kmh"] = 0
        d["lanes"][0] = "north"

    _, message = _error(tmp_path, edit)
    assert "fleet.speed_kmh = 0" in message
    assert "lanes[0] = 'north'" in message
    assert len(message.splitlines()) == 2


def test_missing_required_field(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["fleet"].pop("carriers"))
    assert "fleet.carriers: Field required" in message


def test_crossed_field_check_names_the_model(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["traditional"].update(transshipment_step="pairing"))
    assert "traditional: transshipment_step" in message
    assert "transshipment_step 'pairing' is not one of" in message


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.lstrip().startswith("speed_kmh:"))
    lines[index] = "  speed_kmh: 22 km/h: about"  # a second ':' on the line is not YAML
    path = tmp_path / "broken.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid YAML at line {index + 1}, column ")
    assert "mapping values are not allowed here" in message


def test_unclosed_bracket_names_the_file_and_a_line(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.yaml"
    path.write_text("name: x\nlanes: [to_china, to_vietnam\nseed: 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid YAML at line 3, column ")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "no_such_scenario.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert not isinstance(info.value, OSError)
    assert str(info.value) == f"{path}: cannot read the file (No such file or directory)"


def test_a_directory_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: cannot read the file")


def test_top_level_list_is_a_scenario_error(tmp_path: Path) -> None:
    path = _write(tmp_path, [_reference_data()])
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: the top level must be a mapping of keys, not list"


def test_empty_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: the file is empty"


def test_parse_scenario_names_its_source() -> None:
    data = _reference_data()
    data["seed"] = "one"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "from-the-api")
    assert str(info.value).startswith("from-the-api: seed = 'one': ")


def test_scenario_models_are_frozen() -> None:
    s = load_scenario(REFERENCE)
    with pytest.raises(ValidationError):
        s.fleet.carriers = 1  # type: ignore[misc]


# --- encodings and non-finite numbers ---------------------------------------------


def test_non_utf8_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes("name: Hữu Nghị\n".encode("utf-16"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not UTF-8 text"


def test_infinite_value_is_rejected(tmp_path: Path) -> None:
    _, message = _error(tmp_path, lambda d: d["fleet"].update(battery_kwh=float("inf")))
    assert "fleet.battery_kwh = inf" in message
