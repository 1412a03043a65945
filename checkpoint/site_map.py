"""The site as GeoJSON for the map: lanes and their blocks, yards, the border, stations.

Everything is in WGS84, from the scenario's geometry. Where the yards' stations and
chargers stand is not published: they are drawn in a row beside each yard point
(a schematic, not a survey).
"""

from __future__ import annotations

import math
from typing import Any

from twin.geometry import SiteGeometry
from twin.scenario import Scenario

STATION_SPACING_M = 40.0


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _lonlat(points: list[tuple[float, float]]) -> list[list[float]]:
    return [[round(lon, 7), round(lat, 7)] for lat, lon in points]


def site_geojson(scenario: Scenario, geometry: SiteGeometry) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for lane in geometry.lanes:
        for block in range(lane.n_blocks):
            ring = _lonlat(geometry.block_polygon_wgs84(lane.index, block))
            features.append(_feature({"type": "Polygon", "coordinates": [ring]}, kind="block", lane=lane.index, block=block))
    features.extend(f for f in geometry.geojson()["features"] if f["properties"]["kind"] in ("lane", "yard"))
    features.append(_feature({"type": "LineString", "coordinates": _lonlat(_border_line(geometry))}, kind="border"))
    for side in ("vietnam", "china"):
        spec = getattr(scenario.yards, side)
        items = [("charger", spec.chargers), ("gate", spec.stations.gate.servers),
                 ("weighbridge", spec.stations.weighbridge.servers), ("scanner", spec.stations.scanner.servers),
                 ("crane", spec.cranes)]
        row = 0
        for kind, count in items:
            for i in range(count):
                lat, lon = _beside_yard(geometry, side, row, i)
                features.append(_feature({"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
                                         kind=kind, side=side, index=i + 1))
            row += 1
    return {"type": "FeatureCollection", "features": features}


def _border_line(geometry: SiteGeometry, half_width_m: float = 120.0) -> list[tuple[float, float]]:
    """A short line across the corridor at the border point."""
    site = geometry.site
    bx, by = geometry.to_metric(site.border_point.lat, site.border_point.lon)
    vx, vy = geometry.to_metric(site.vietnam_yard.lat, site.vietnam_yard.lon)
    dx, dy = bx - vx, by - vy
    norm = math.hypot(dx, dy) or 1.0
    px, py = -dy / norm, dx / norm  # across the corridor
    return [geometry.to_wgs84(bx - px * half_width_m, by - py * half_width_m),
            geometry.to_wgs84(bx + px * half_width_m, by + py * half_width_m)]


def _beside_yard(geometry: SiteGeometry, side: str, row: int, i: int) -> tuple[float, float]:
    lat, lon = geometry.yard_wgs84(side)
    x, y = geometry.to_metric(lat, lon)
    sign = -1 if side == "vietnam" else 1  # away from the corridor
    return geometry.to_wgs84(x + (i - 2) * STATION_SPACING_M / 2 - 200, y + sign * (60 + row * STATION_SPACING_M))
