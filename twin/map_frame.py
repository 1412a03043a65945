"""The site's metric map frame, the one free-navigating vehicles are given node positions in.

One projection, written once: a point's WGS84 (lat, lon) is projected to the scenario's
metric CRS (`site.crs`: EPSG:9215, VN-2000 / TM-3 107-15, or EPSG:32648, UTM 48N) by
`SiteGeometry.to_metric`, then shifted so that the map's origin is the Vietnamese
transfer yard's point. x is grid east and y grid north, in metres; theta is radians
counter-clockwise from the x axis. The map's id is the scenario's `site.map_id`.

Lane nodes lie on their lane's line at their block boundary; a yard node stands at its
yard's point (a vehicle there is under the crane). The yard drive between a yard node and
a lane end keeps its length from the scenario (`yard_access_m`) on the edge, though a
free-navigating vehicle may take it straight.
"""

from __future__ import annotations

from controllers.layout import YARD_NODE, lane_node_id
from controllers.messages import Side
from controllers.vehicle_map import NodePosition, VehicleMap
from twin.geometry import SiteGeometry
from twin.scenario import Scenario

SIDES: tuple[Side, Side] = ("vietnam", "china")


def map_origin(geometry: SiteGeometry) -> tuple[float, float]:
    """The map frame's origin in the site CRS: the Vietnamese yard's point."""
    yard = geometry.site.vietnam_yard
    return geometry.to_metric(yard.lat, yard.lon)


def to_map(geometry: SiteGeometry, lat: float, lon: float) -> tuple[float, float]:
    """WGS84 (lat, lon) to (x, y) metres in the site's map frame."""
    ox, oy = map_origin(geometry)
    x, y = geometry.to_metric(lat, lon)
    return (round(x - ox, 3), round(y - oy, 3))


def from_map(geometry: SiteGeometry, x: float, y: float) -> tuple[float, float]:
    """(x, y) metres in the site's map frame to WGS84 (lat, lon)."""
    ox, oy = map_origin(geometry)
    return geometry.to_wgs84(x + ox, y + oy)


def vehicle_map(scenario: Scenario, geometry: SiteGeometry) -> VehicleMap:
    """Every node of the site in its map frame."""
    ox, oy = map_origin(geometry)
    # a vehicle must pass within a quarter of the lane spacing of a node: never in the next lane
    deviation = round(min(0.5, scenario.site.lane_spacing_m / 4), 3)
    nodes: dict[str, NodePosition] = {}
    for lane in geometry.lanes:
        for k in range(lane.n_blocks + 1):
            p = lane.line.interpolate(geometry.node_distance(lane.index, k))
            nodes[lane_node_id(lane.index, k)] = NodePosition(round(p.x - ox, 3), round(p.y - oy, 3), deviation)
    for side in SIDES:
        lat, lon = geometry.yard_wgs84(side)
        x, y = to_map(geometry, lat, lon)
        nodes[YARD_NODE[side]] = NodePosition(x, y, deviation)
    return VehicleMap(scenario.site.map_id, nodes, scenario.fleet.speed_kmh / 3.6)
