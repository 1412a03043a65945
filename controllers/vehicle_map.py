"""The map that free-navigating vehicles drive by: where every node of the site is.

VDA 5050 lets a vehicle navigate freely between the nodes of an order, and such a vehicle
needs each node's position (`nodePosition`) in a map it knows by id; line-guided vehicles
follow their guide and ignore it. The site's map frame is metric and flat: see
`twin.map_frame` for how it is derived from the scenario's WGS84 coordinates.

Plain data, built once per site by the composition root and handed to the bridge, which
writes it into every order it sends. The controllers plan by node ids and never need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodePosition:
    """A node in the map frame: metres east (x) and north (y) of the map's origin."""

    x: float
    y: float
    allowed_deviation_xy: float  # metres: how close the vehicle must pass for the node to count


@dataclass(frozen=True, slots=True)
class VehicleMap:
    """Every node of the site in one map frame, and the corridor's speed limit."""

    map_id: str
    nodes: Mapping[str, NodePosition]
    max_speed_mps: float  # on every lane edge; the yard drives are slower by the yard's rules
    allowed_deviation_theta: float = math.radians(15)  # radians, where a heading is asked for

    def heading(self, start_node: str, end_node: str) -> float:
        """The direction from one node to another, radians counter-clockwise from east,
        in [-pi, pi] as VDA 5050 writes theta."""
        a, b = self.nodes[start_node], self.nodes[end_node]
        return math.atan2(b.y - a.y, b.x - a.x)
