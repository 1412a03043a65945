"""Site geometry: projected lengths, lanes, blocks and the WGS84 round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pyproj import Geod
from shapely import Point

from twin.geometry import SiteGeometry
from twin.scenario import LatLon, Scenario, Site, load_scenario

ROOT = Path(__file__).resolve().parents[1]
GEOD = Geod(ellps="WGS84")
LANE_COUNTS = (4, 8, 14)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(ROOT / "scenarios" / "huu_nghi_8lane.yaml")


@pytest.fixture(scope="module")
def geo(scenario: Scenario) -> SiteGeometry:
    return SiteGeometry.from_scenario(scenario)


def _geodesic_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two (lat, lon) points on the WGS84 ellipsoid."""
    return GEOD.inv(a[1], a[0], b[1], b[0])[2]


def _path_geodesic_m(path: list[LatLon]) -> float:
    return GEOD.line_length([p.lon for p in path], [p.lat for p in path])


def _straight_site(length_north_m: float = 1000.0, **kw: object) -> Site:
    """A hand-made site: a straight corridor running due north from Vietnam to China."""
    start = LatLon(lat=21.90, lon=106.70)
    lon, lat, _ = GEOD.fwd(start.lon, start.lat, 0.0, length_north_m)
    end = LatLon(lat=lat, lon=lon)
    mid = LatLon(lat=(start.lat + end.lat) / 2, lon=start.lon)
    fields: dict[str, object] = dict(
        name="straight test corridor",
        vietnam_yard=start,
        china_yard=end,
        border_point=mid,
        corridor_path=[start, end],
        lane_spacing_m=4.0,
    )
    fields.update(kw)
    return Site(**fields)


def test_centreline_length_matches_geodesic(scenario: Scenario, geo: SiteGeometry) -> None:
    geodesic = _path_geodesic_m(scenario.site.corridor_path)
    # EPSG:9215 has scale factor 0.9999 plus a little distortion off its central
    # meridian: a few 1e-4 at most, far inside 0.5 %.
    assert geo.centreline.length == pytest.approx(geodesic, rel=0.005)
    assert geo.crs == "EPSG:9215"


def test_eight_lane_corridor_size_and_border(scenario: Scenario, geo: SiteGeometry) -> None:
    assert len(geo.lanes) == len(scenario.lanes) == 8
    for lane in geo.lanes:
        assert 3400 <= lane.length_m <= 3800
        start = geo.node_distance(lane.index, lane.border_block)
        end = geo.node_distance(lane.index, lane.border_block + 1)
        # The border is about 0.5 km from the Vietnam end (DOMAIN: 0.5 km in Vietnam).
        assert 350 <= start <= 650
        # The border point's projection lies inside that very block.
        border = Point(geo.to_metric(scenario.site.border_point.lat, scenario.site.border_point.lon))
        assert start <= lane.line.project(border) <= end


@pytest.mark.parametrize("n_lanes", LANE_COUNTS)
def test_blocks_near_requested_and_sum_to_lane(scenario: Scenario, n_lanes: int) -> None:
    geo = SiteGeometry(scenario.site, n_lanes, scenario.block_length_m)
    assert len(geo.lanes) == n_lanes
    for lane in geo.lanes:
        n = geo.block_count(lane.index)
        assert n == lane.n_blocks == round(lane.length_m / scenario.block_length_m)
        assert lane.block_length_m == pytest.approx(scenario.block_length_m, rel=0.10)
        nodes = [geo.node_distance(lane.index, k) for k in range(n + 1)]
        assert nodes[0] == 0.0
        assert nodes[-1] == lane.length_m
        assert lane.length_m == pytest.approx(lane.line.length, rel=1e-12)
        blocks = [b - a for a, b in zip(nodes, nodes[1:])]
        assert math.isclose(sum(blocks), lane.length_m, rel_tol=1e-12)
        assert max(blocks) - min(blocks) < 1e-9  # all blocks of one lane are equal


@pytest.mark.parametrize("n_lanes", LANE_COUNTS)
def test_neighbouring_lanes_are_spacing_apart(scenario: Scenario, n_lanes: int) -> None:
    geo = SiteGeometry(scenario.site, n_lanes, scenario.block_length_m)
    spacing = scenario.site.lane_spacing_m
    for a, b in zip(geo.lanes, geo.lanes[1:]):
        mid = a.line.interpolate(0.5, normalized=True)
        assert mid.distance(b.line) == pytest.approx(spacing, abs=0.01)
    # Lanes are ordered across the corridor, not shuffled: the outermost two are
    # (n - 1) spacings apart and centred on the centreline.
    first, last = geo.lanes[0].line, geo.lanes[-1].line
    mid_first = first.interpolate(0.5, normalized=True)
    assert mid_first.distance(last) == pytest.approx((n_lanes - 1) * spacing, abs=0.05)
    assert mid_first.distance(geo.centreline) == pytest.approx((n_lanes - 1) * spacing / 2, abs=0.05)


@pytest.mark.parametrize("n_lanes", LANE_COUNTS)
def test_every_lane_runs_vietnam_to_china(scenario: Scenario, n_lanes: int) -> None:
    geo = SiteGeometry(scenario.site, n_lanes, scenario.block_length_m)
    vn, cn = geo.yard_wgs84("vietnam"), geo.yard_wgs84("china")
    reach = (n_lanes - 1) / 2 * scenario.site.lane_spacing_m + 30  # outer lanes sit further out
    for lane in geo.lanes:
        start = geo.position_wgs84(lane.index, 0.0)
        end = geo.position_wgs84(lane.index, lane.length_m)
        assert _geodesic_m(start, vn) < reach
        assert _geodesic_m(end, cn) < reach
        assert geo.centreline.project(Point(lane.line.coords[0])) < geo.centreline.project(
            Point(lane.line.coords[-1])
        )


def test_position_at_ends_lands_near_yards(scenario: Scenario, geo: SiteGeometry) -> None:
    path = scenario.site.corridor_path
    first, last = (path[0].lat, path[0].lon), (path[-1].lat, path[-1].lon)
    for i in (3, 4):  # the two centre lanes of eight, 1.875 m either side
        length = geo.lanes[i].length_m
        assert _geodesic_m(geo.position_wgs84(i, 0.0), first) < 30
        assert _geodesic_m(geo.position_wgs84(i, length), last) < 30
        # Distances outside the lane are clamped to its ends.
        assert geo.position_wgs84(i, -500.0) == geo.position_wgs84(i, 0.0)
        assert geo.position_wgs84(i, length + 500.0) == geo.position_wgs84(i, length)
        # On the straight first leg (about 500 m), points 200 m apart along the
        # lane are 200 m apart on the ground (within the projection scale).
        a, b = geo.position_wgs84(i, 100.0), geo.position_wgs84(i, 300.0)
        assert _geodesic_m(a, b) == pytest.approx(200.0, rel=0.005)


def test_block_line_and_polygon(geo: SiteGeometry) -> None:
    lane = geo.lanes[2]
    k = lane.border_block
    line = geo.block_line_wgs84(lane.index, k)
    start = geo.position_wgs84(lane.index, geo.node_distance(lane.index, k))
    end = geo.position_wgs84(lane.index, geo.node_distance(lane.index, k + 1))
    assert _geodesic_m(line[0], start) < 0.01
    assert _geodesic_m(line[-1], end) < 0.01
    walked = sum(_geodesic_m(a, b) for a, b in zip(line, line[1:]))
    assert walked == pytest.approx(lane.block_length_m, rel=0.005)
    ring = geo.block_polygon_wgs84(lane.index, k)
    assert ring[0] == ring[-1] and len(ring) >= 5
    lats, lons = [p[0] for p in ring], [p[1] for p in ring]
    assert min(lats) <= start[0] <= max(lats) and min(lons) <= start[1] <= max(lons)
    with pytest.raises(IndexError):
        geo.block_line_wgs84(lane.index, lane.n_blocks)


def test_metric_round_trip(scenario: Scenario, geo: SiteGeometry) -> None:
    x, y = geo.to_metric(21.9745, 106.7190)
    # VN-2000 / TM-3 107-15: false easting 500 km at 107.25 E, so about 55 km west of it.
    assert 430_000 < x < 460_000
    assert 2_420_000 < y < 2_440_000
    for p in scenario.site.corridor_path + [scenario.site.border_point]:
        lat, lon = geo.to_wgs84(*geo.to_metric(p.lat, p.lon))
        assert lat == pytest.approx(p.lat, abs=1e-6)
        assert lon == pytest.approx(p.lon, abs=1e-6)


def test_utm_gives_same_lengths(scenario: Scenario, geo: SiteGeometry) -> None:
    utm_site = scenario.site.model_copy(update={"crs": "EPSG:32648"})
    utm = SiteGeometry(utm_site, len(scenario.lanes), scenario.block_length_m)
    assert utm.crs == "EPSG:32648"
    x, _ = utm.to_metric(21.9745, 106.7190)
    assert 670_000 < x < 690_000  # UTM 48N: 105 E is 500 km, so about 178 km east of it
    assert utm.centreline.length == pytest.approx(geo.centreline.length, rel=0.002)
    for a, b in zip(utm.lanes, geo.lanes):
        assert a.length_m == pytest.approx(b.length_m, rel=0.002)
        assert a.n_blocks == b.n_blocks


def test_hand_made_straight_site() -> None:
    site = _straight_site(1000.0)
    geo = SiteGeometry(site, 4, 100.0)
    assert [lane.n_blocks for lane in geo.lanes] == [10] * 4
    for lane in geo.lanes:
        assert lane.length_m == pytest.approx(1000.0, rel=0.002)
        assert lane.border_block in (4, 5)  # border at the midpoint
    # Running north, lane 0 has a negative (right-hand) offset: it lies east of lane 3.
    # (Grid north differs slightly from true north, so compare distances, not eastings.)
    s0, s3 = geo.lanes[0].line.coords[0], geo.lanes[3].line.coords[0]
    assert s0[0] - s3[0] > 11.9
    assert math.dist(s0, s3) == pytest.approx(3 * 4.0, abs=1e-6)
    # Lengths come from projected coordinates: a ~1 km block length gives one block.
    one = SiteGeometry(site, 4, 500.0)
    assert [lane.n_blocks for lane in one.lanes] == [2] * 4
    assert one.lanes[0].block_length_m == pytest.approx(500.0, rel=0.002)


def test_geojson(scenario: Scenario, geo: SiteGeometry) -> None:
    fc = geo.geojson()
    json.dumps(fc)  # plain JSON types only
    assert fc["type"] == "FeatureCollection"
    lanes = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in fc["features"] if f["geometry"]["type"] == "Point"]
    assert [f["properties"]["lane"] for f in lanes] == list(range(8))
    assert len(points) == 3
    for f, lane in zip(lanes, geo.lanes):
        assert f["properties"]["n_blocks"] == lane.n_blocks
        assert f["properties"]["length_m"] == pytest.approx(lane.length_m, abs=0.01)
        lon, lat = f["geometry"]["coordinates"][0]  # GeoJSON order: [lon, lat]
        assert 106.6 < lon < 106.8 and 21.9 < lat < 22.1
        assert _geodesic_m((lat, lon), geo.yard_wgs84("vietnam")) < 30
    coords = {tuple(p["geometry"]["coordinates"]) for p in points}
    site = scenario.site
    assert coords == {
        (site.vietnam_yard.lon, site.vietnam_yard.lat),
        (site.china_yard.lon, site.china_yard.lat),
        (site.border_point.lon, site.border_point.lat),
    }


def test_index_and_side_errors(geo: SiteGeometry) -> None:
    with pytest.raises(IndexError):
        geo.node_distance(0, geo.lanes[0].n_blocks + 1)
    with pytest.raises(IndexError):
        geo.node_distance(len(geo.lanes), 0)
    with pytest.raises(IndexError):
        geo.node_distance(-1, 0)
    with pytest.raises(IndexError):
        geo.block_count(len(geo.lanes))
    with pytest.raises(ValueError, match="side"):
        geo.yard_wgs84("laos")


def test_degenerate_path_raises() -> None:
    p = LatLon(lat=21.97, lon=106.72)
    fields = {"name": "point", "vietnam_yard": p, "china_yard": p, "border_point": p, "corridor_path": [p, p, p]}
    with pytest.raises(ValueError, match="corridor_path: points 0 and 1 are less than 0.5 m apart"):
        Site(**fields)  # the scenario refuses it, naming the points
    with pytest.raises(ValueError, match="zero length"):  # and the geometry too, built past the schema
        SiteGeometry(Site.model_construct(**fields), 4, 50.0)


def test_lane_shorter_than_block_raises() -> None:
    with pytest.raises(ValueError, match="shorter than one block"):
        SiteGeometry(_straight_site(40.0), 4, 50.0)
