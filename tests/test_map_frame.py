"""The site's map frame: where free-navigating vehicles are told each node stands, and
the orders that carry those positions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import make_scenario, reference_data
from shapely.geometry import Point
from test_fifo import make_layout
from test_vda5050 import orders

from controllers.layout import YARD_NODE, lane_node_id
from controllers.messages import Action, InstantActions
from controllers.vehicle_map import NodePosition, VehicleMap
from hardware_bridge.vda5050 import instant_actions_message, order_message, schema_errors
from twin.geometry import SiteGeometry
from twin.map_frame import to_map, vehicle_map
from twin.scenario import ScenarioError


def _site(data: dict[str, Any] | None = None) -> tuple[VehicleMap, SiteGeometry]:
    scenario = make_scenario(data or reference_data())
    geometry = SiteGeometry.from_scenario(scenario)
    return vehicle_map(scenario, geometry), geometry


def test_the_vietnamese_yard_is_the_origin_and_the_chinese_one_lies_away_along_the_corridor() -> None:
    site, geometry = _site()
    vn, cn = site.nodes[YARD_NODE["vietnam"]], site.nodes[YARD_NODE["china"]]
    assert (vn.x, vn.y) == (0.0, 0.0)
    yard = geometry.site.china_yard
    assert (cn.x, cn.y) == to_map(geometry, yard.lat, yard.lon)
    # the yards are some kilometres apart, as the corridor is
    assert 2_000 < math.hypot(cn.x, cn.y) < 6_000


def test_every_lane_node_lies_on_its_own_lane_and_a_block_apart() -> None:
    site, geometry = _site()
    ox, oy = geometry.to_metric(geometry.site.vietnam_yard.lat, geometry.site.vietnam_yard.lon)
    for lane in geometry.lanes:
        previous = None
        for k in range(lane.n_blocks + 1):
            p = site.nodes[lane_node_id(lane.index, k)]
            assert lane.line.distance(Point(p.x + ox, p.y + oy)) < 0.01
            if previous is not None:
                step = math.hypot(p.x - previous.x, p.y - previous.y)
                expected = geometry.node_distance(lane.index, k) - geometry.node_distance(lane.index, k - 1)
                assert step == pytest.approx(expected, rel=0.02, abs=0.5)
            previous = p
    # never closer than a quarter lane to the next lane: a vehicle cannot pass a node in the wrong lane
    assert all(p.allowed_deviation_xy <= geometry.site.lane_spacing_m / 4 for p in site.nodes.values())


def test_the_map_id_comes_from_the_scenario_and_a_bad_one_is_refused() -> None:
    data = reference_data()
    data["site"]["map_id"] = "huu-nghi.2027"
    site, _ = _site(data)
    assert site.map_id == "huu-nghi.2027"
    data["site"]["map_id"] = "has a space/slash"
    with pytest.raises(ScenarioError, match=r"site\.map_id = .has a space/slash.: String should match pattern"):
        make_scenario(data)


def _layout_map() -> VehicleMap:
    """Positions for the test layout's nodes: lane i runs along y = 4 i, a node every 100 m."""
    layout = make_layout()
    nodes = {YARD_NODE["vietnam"]: NodePosition(-50.0, 0.0, 0.5), YARD_NODE["china"]: NodePosition(450.0, 0.0, 0.5)}
    for lane in range(len(layout.lanes)):
        for k in range(5):
            nodes[lane_node_id(lane, k)] = NodePosition(100.0 * k, 4.0 * lane, 0.5)
    return VehicleMap("test-map", nodes, 6.0)


@pytest.mark.parametrize(("version", "spelling"), [("2.0.0", "allowedDeviationXy"), ("2.1.0", "allowedDeviationXY")])
def test_an_order_with_the_map_gives_every_node_a_position(version: str, spelling: str) -> None:
    site = _layout_map()
    for k, order in enumerate(orders(make_layout())):
        message = order_message(order, k, "LangSonTwin", version=version, site=site)
        if version == "2.1.0":
            assert schema_errors("order", message) == []
        for i, node in enumerate(message["nodes"]):
            position = node["nodePosition"]
            expected = site.nodes[node["nodeId"]]
            assert (position["x"], position["y"], position["mapId"]) == (expected.x, expected.y, "test-map")
            assert position[spelling] == 0.5
            # the first node is where the vehicle stands: no heading asked of it there
            assert ("theta" in position) == (i > 0)
            if i > 0:
                came_from = message["nodes"][i - 1]["nodeId"]
                assert position["theta"] == pytest.approx(site.heading(came_from, node["nodeId"]), abs=1e-6)
        for edge in message["edges"]:
            assert edge["maxSpeed"] == 6.0
            assert edge["orientation"] == 0.0


def test_an_order_without_the_map_is_the_line_guided_one() -> None:
    for k, order in enumerate(orders(make_layout())):
        message = order_message(order, k, "LangSonTwin")
        assert schema_errors("order", message) == []
        assert all("nodePosition" not in node for node in message["nodes"])
        assert all("maxSpeed" not in edge for edge in message["edges"])


def test_a_2_0_vehicle_finds_its_instant_actions_under_either_name() -> None:
    msg = InstantActions("C1", (Action("startPause", "a1"),))
    old = instant_actions_message(msg, 1, "LangSonTwin", version="2.0.0")
    new = instant_actions_message(msg, 1, "LangSonTwin", version="2.1.0")
    assert old["actions"] == old["instantActions"] == new["actions"]
    assert "instantActions" not in new


def test_a_3_0_order_is_valid_against_the_3_0_schema_in_its_own_words() -> None:
    site = _layout_map()
    for k, order in enumerate(orders(make_layout())):
        message = order_message(order, k, "LangSonTwin", version="3.0.0", site=site)
        assert schema_errors("order", message) == []
        for node in message["nodes"]:
            assert node["nodePosition"]["allowedDeviationXY"] == {"a": 0.5, "b": 0.5, "theta": 0.0}  # an ellipse
        for edge in message["edges"]:
            assert edge["maximumSpeed"] == 6.0 and "maxSpeed" not in edge
            assert "startNodeId" not in edge and "endNodeId" not in edge  # 3.0 edges join by sequence
        # the 2.1 shape is not a valid 3.0 order, nor the reverse: the checks tell versions apart
        old = {**order_message(order, k, "LangSonTwin", version="2.1.0", site=site), "version": "3.0.0"}
        assert schema_errors("order", old) != []


def test_3_0_instant_actions_never_block_and_init_position_carries_the_nodes_place() -> None:
    site = _layout_map()
    vn = site.nodes[YARD_NODE["vietnam"]]
    msg = InstantActions("C1", (Action("startPause", "a1"), Action("initPosition", "a2", "NONE", (("lastNodeId", "VN"),))))
    for version in ("2.1.0", "3.0.0"):
        message = instant_actions_message(msg, 1, "LangSonTwin", version=version, site=site)
        assert schema_errors("instantActions", message) == []
        params = {p["key"]: p["value"] for p in message["actions"][1]["actionParameters"]}
        assert params == {"x": vn.x, "y": vn.y, "theta": 0.0, "mapId": site.map_id, "lastNodeId": "VN"}
    assert message["actions"][0]["blockingType"] == "NONE"  # 3.0 allows no other
    assert instant_actions_message(msg, 1, "LangSonTwin", version="2.1.0")["actions"][0]["blockingType"] == "HARD"
