"""Site geometry: the corridor, its lanes and their traffic-control blocks.

The scenario gives the site in WGS84; lengths and offsets need metres, so every
point is projected once to the site's metric CRS (VN-2000 / TM-3 107-15 or UTM
48N). The lanes are parallel offsets of the corridor centreline, each running
from the Vietnamese yard end to the Chinese yard end, and each is cut into
equal blocks of about the scenario's block length.

The simulation only needs `block_count` and `node_distance`, which read
precomputed floats; shapely and pyproj are touched only when a position is
turned back into WGS84 (for maps and reports).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyproj
from pyproj import Transformer
from shapely import LineString, MultiLineString, Point
from shapely.ops import linemerge, substring

from twin.scenario import LatLon, Scenario, Site

# The twin must work offline and give the same numbers everywhere: never fetch
# transformation grids from the PROJ CDN.
pyproj.network.set_network_enabled(False)

WGS84 = "EPSG:4326"
SIDES: tuple[str, str] = ("vietnam", "china")


@cache
def _transformer(crs: str) -> Transformer:
    """One WGS84 -> `crs` transformer per CRS; creating one costs milliseconds.

    always_xy: (lon, lat) in, (easting, northing) out, whatever the CRS axis order.
    The inverse direction of the same transformer is used for metric -> WGS84 so
    that both ways go through the same datum shift.
    """
    return Transformer.from_crs(WGS84, crs, always_xy=True)


@dataclass(frozen=True)
class LaneGeometry:
    """One lane in the metric CRS, Vietnam end first."""

    index: int
    line: LineString  # metric CRS, Vietnam end first
    length_m: float
    block_length_m: float  # the lane's actual (equal) block length
    n_blocks: int
    border_block: int  # the block holding the border crossing


class SiteGeometry:
    """The corridor of one site with `lane_count` lanes cut into blocks.

    Lane i lies (i - (n-1)/2) * lane_spacing_m left of the centreline, looking
    from Vietnam to China (shapely's sign convention), so lane 0 is the
    right-most lane for a vehicle driving to China.
    """

    def __init__(self, site: Site, lane_count: int, block_length_m: float) -> None:
        """Project the site and build its lanes; ValueError if the corridor is unusable."""
        if lane_count < 1:
            raise ValueError(f"lane_count must be at least 1, not {lane_count}")
        if not block_length_m > 0:
            raise ValueError(f"block_length_m must be positive, not {block_length_m}")
        self.site = site
        self.crs: str = site.crs
        self._tf = _transformer(site.crs)

        xs, ys = self._tf.transform(
            [p.lon for p in site.corridor_path], [p.lat for p in site.corridor_path]
        )
        # Repeated points would give zero-length segments, which offset_curve dislikes.
        coords: list[tuple[float, float]] = []
        for x, y in zip(xs, ys):
            if not coords or math.dist(coords[-1], (x, y)) > 1e-6:
                coords.append((float(x), float(y)))
        if len(coords) < 2:
            raise ValueError(
                f"site {site.name!r}: the corridor path has zero length "
                "(all corridor_path points coincide)"
            )
        self.centreline: LineString = LineString(coords)
        border = Point(self.to_metric(site.border_point.lat, site.border_point.lon))

        self.lanes: list[LaneGeometry] = []
        for i in range(lane_count):
            offset = (i - (lane_count - 1) / 2) * site.lane_spacing_m
            line = self._offset_lane(offset)
            length = float(line.length)
            if length < block_length_m:
                raise ValueError(
                    f"site {site.name!r}: lane {i} is {length:.1f} m long, "
                    f"shorter than one block of {block_length_m:g} m"
                )
            n_blocks = max(1, round(length / block_length_m))
            block = length / n_blocks
            border_block = min(int(line.project(border) // block), n_blocks - 1)
            self.lanes.append(LaneGeometry(i, line, length, block, n_blocks, border_block))

        # Plain floats for the simulation's hot path; the last node is the exact
        # lane length so that the blocks add up to it with no rounding left over.
        self._nodes: list[list[float]] = [
            [k * lane.block_length_m for k in range(lane.n_blocks)] + [lane.length_m]
            for lane in self.lanes
        ]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> SiteGeometry:
        """The geometry of a scenario's site, lane count and block length."""
        return cls(scenario.site, len(scenario.lanes), scenario.block_length_m)

    def _offset_lane(self, offset: float) -> LineString:
        """The centreline shifted `offset` metres to its left, Vietnam end first."""
        if offset == 0:
            return self.centreline
        # Mitre joins keep the lane exactly parallel through the bends (round joins
        # would add arcs that only approximate it).
        line = self.centreline.offset_curve(offset, join_style="mitre", mitre_limit=10.0)
        if isinstance(line, MultiLineString):
            line = linemerge(line)
        if not isinstance(line, LineString) or line.is_empty:
            raise ValueError(
                f"site {self.site.name!r}: the corridor bends too sharply for a lane "
                f"{offset:+.2f} m from its centreline"
            )
        # GEOS versions differ on whether an offset keeps the input direction;
        # the simulation relies on distance 0 being the Vietnam end.
        start = self.centreline.project(Point(line.coords[0]))
        end = self.centreline.project(Point(line.coords[-1]))
        if start > end:
            line = line.reverse()
        return line

    def _lane(self, lane: int) -> LaneGeometry:
        if not 0 <= lane < len(self.lanes):
            raise IndexError(f"lane {lane} out of range 0..{len(self.lanes) - 1}")
        return self.lanes[lane]

    def block_count(self, lane: int) -> int:
        """Number of blocks of `lane`."""
        if not 0 <= lane < len(self._nodes):
            raise IndexError(f"lane {lane} out of range 0..{len(self._nodes) - 1}")
        return len(self._nodes[lane]) - 1

    def node_distance(self, lane: int, node: int) -> float:
        """Metres from the Vietnam end of `lane` to block boundary `node` (0..n_blocks)."""
        if not 0 <= lane < len(self._nodes):
            raise IndexError(f"lane {lane} out of range 0..{len(self._nodes) - 1}")
        nodes = self._nodes[lane]
        if not 0 <= node < len(nodes):
            raise IndexError(f"node {node} out of range 0..{len(nodes) - 1} on lane {lane}")
        return nodes[node]

    def position_wgs84(self, lane: int, distance_m: float) -> tuple[float, float]:
        """(lat, lon) of the point `distance_m` from the Vietnam end, clamped to the lane."""
        geom = self._lane(lane)
        p = geom.line.interpolate(min(max(distance_m, 0.0), geom.length_m))
        return self.to_wgs84(p.x, p.y)

    def block_line_wgs84(self, lane: int, block: int) -> list[tuple[float, float]]:
        """The centreline of one block as (lat, lon) points, Vietnam end first."""
        return [self.to_wgs84(x, y) for x, y in self._block_line(lane, block).coords]

    def block_polygon_wgs84(self, lane: int, block: int) -> list[tuple[float, float]]:
        """The block's footprint, one lane spacing wide, as a closed ring of (lat, lon)."""
        outline = self._block_line(lane, block).buffer(
            self.site.lane_spacing_m / 2, cap_style="flat", join_style="mitre"
        )
        return [self.to_wgs84(x, y) for x, y in outline.exterior.coords]

    def _block_line(self, lane: int, block: int) -> LineString:
        geom = self._lane(lane)
        if not 0 <= block < geom.n_blocks:
            raise IndexError(f"block {block} out of range 0..{geom.n_blocks - 1} on lane {lane}")
        nodes = self._nodes[lane]
        return substring(geom.line, nodes[block], nodes[block + 1])

    def yard_wgs84(self, side: str) -> tuple[float, float]:
        """(lat, lon) of the "vietnam" or "china" transfer yard."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        yard: LatLon = self.site.vietnam_yard if side == "vietnam" else self.site.china_yard
        return (yard.lat, yard.lon)

    def to_metric(self, lat: float, lon: float) -> tuple[float, float]:
        """WGS84 (lat, lon) to (x, y) metres in the site CRS."""
        x, y = self._tf.transform(lon, lat)
        return (float(x), float(y))

    def to_wgs84(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) metres in the site CRS to WGS84 (lat, lon)."""
        lon, lat = self._tf.transform(x, y, direction="INVERSE")
        return (float(lat), float(lon))

    def geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the lanes, both yards and the border point."""
        features: list[dict[str, Any]] = []
        for lane in self.lanes:
            xs, ys = zip(*lane.line.coords)
            lons, lats = self._tf.transform(xs, ys, direction="INVERSE")
            features.append(
                {
                    "type": "Feature",
                    # GeoJSON wants [lon, lat]; 7 decimals is about 1 cm.
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [
                            [round(float(lo), 7), round(float(la), 7)] for lo, la in zip(lons, lats)
                        ],
                    },
                    "properties": {
                        "kind": "lane",
                        "lane": lane.index,
                        "length_m": round(lane.length_m, 2),
                        "n_blocks": lane.n_blocks,
                        "block_length_m": round(lane.block_length_m, 3),
                        "border_block": lane.border_block,
                    },
                }
            )
        points = [
            ("yard", "vietnam", self.site.vietnam_yard),
            ("yard", "china", self.site.china_yard),
            ("border", None, self.site.border_point),
        ]
        for kind, side, p in points:
            props: dict[str, Any] = {"kind": kind}
            if side is not None:
                props["side"] = side
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                    "properties": props,
                }
            )
        return {"type": "FeatureCollection", "features": features}
