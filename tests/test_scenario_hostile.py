"""Hostile scenario files: every number bounded in its unit, the corridor's geometry and
a carrier's range checked in the schema, and random mutations of a real scenario either
refused with the field's path or run without a crash."""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import pytest
from conftest import reference_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.scenario import ScenarioError, parse_scenario
from twin.world import World

HUGE = 1e308


def _with(path: str, value: Any) -> dict[str, Any]:
    data = reference_data()
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    "path",
    [
        "demand.container_weight.high_t",  # was an OverflowError
        "faults.carrier.mtbf_h",  # was a ZeroDivisionError
        "faults.crane.mttr_min",
        "demand.season_multiplier",  # was a hang at 1.8 GB
        "demand.export.trucks_per_hour.7",
        "fleet.consumption_kwh_per_km",
        "fleet.battery_kwh",  # was nonsense with exit 0
        "fleet.charge_rate_kw",
        "yards.vietnam.pickup_delay.mean_s",
        "yards.china.staging_capacity_trucks",
        "traditional.capacity_trucks_per_hour",
        "demand.fruit_deadline_h",
    ],
)
@pytest.mark.parametrize("value", [HUGE, -1, math.nan, math.inf])
def test_a_number_beyond_its_units_sane_range_is_refused_naming_the_field(path: str, value: float) -> None:
    start = time.process_time()
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with(path, value), "hostile.yaml")
    message = str(caught.value)
    assert message.startswith("hostile.yaml: ")
    field = path.replace(".7", "[7]").replace(".export", ".export")
    assert field.split(".")[-1].split("[")[0] in message, message
    assert time.process_time() - start < 1


def test_a_corridor_of_coincident_points_is_refused_naming_them() -> None:
    data = reference_data()
    first = data["site"]["corridor_path"][0]
    data["site"]["corridor_path"] = [dict(first), dict(first), dict(first)]
    with pytest.raises(ScenarioError, match=r"corridor_path: points 0 and 1 are less than 0\.5 m apart"):
        parse_scenario(data, "hostile.yaml")


def test_a_fleet_that_cannot_drive_one_round_trip_is_refused() -> None:
    data = reference_data()
    data["fleet"]["battery_kwh"] = 1
    data["fleet"]["consumption_kwh_per_km"] = 5
    with pytest.raises(ScenarioError, match="less than one round trip"):
        parse_scenario(data, "hostile.yaml")


def test_a_huge_seed_and_a_huge_name_are_refused() -> None:
    with pytest.raises(ScenarioError, match="seed"):
        parse_scenario(_with("seed", 2**70), "hostile.yaml")
    with pytest.raises(ScenarioError, match="name"):
        parse_scenario(_with("name", "x" * 1000), "hostile.yaml")


# ---------------------------------------------------------------- random mutations


def _leaves(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*prefix, i))]
    return [prefix]


REFERENCE = reference_data()
LEAVES = _leaves(REFERENCE)
HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-308, True, False, None, "", "x" * 300, [], {}, [1, 2], {"a": 1}]),
    st.text(max_size=20),
)


def _mutated(leaf: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(REFERENCE)
    node: Any = data
    for key in leaf[:-1]:
        node = node[key]
    node[leaf[-1]] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaf=st.sampled_from(LEAVES), value=HOSTILE)
def test_a_mutated_scenario_is_refused_with_its_field_or_accepted(leaf: tuple[Any, ...], value: Any) -> None:
    try:
        parse_scenario(_mutated(leaf, value), "mutated.yaml")
    except ScenarioError as exc:
        assert str(exc).startswith("mutated.yaml: ")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaf=st.sampled_from(LEAVES), value=HOSTILE)
def test_a_mutated_scenario_that_is_accepted_runs_an_hour_without_a_crash(leaf: tuple[Any, ...], value: Any) -> None:
    data = _mutated(leaf, value)
    try:
        scenario = parse_scenario(data, "mutated.yaml")
    except ScenarioError:
        return
    short = scenario.model_copy(update={"duration_h": 1.0, "warmup_h": 0.0})
    start = time.process_time()
    World(short).run()
    assert time.process_time() - start < 60, f"an hour of {leaf} = {value!r} took too long"


def test_a_scenario_path_that_never_ends_is_refused_without_reading_it_whole() -> None:
    from twin.scenario import ScenarioError, load_scenario

    with pytest.raises(ScenarioError, match=r"^/dev/zero: refused: more than 1,000,000 characters"):
        load_scenario("/dev/zero")
