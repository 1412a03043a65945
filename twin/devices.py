"""Which device stands in each place of the world, chosen when the world is built.

The world asks a `DeviceFactory` for every carrier, crane, gate, weighbridge and
camera as it builds them. `SimulatedDevices` gives SimPy models of all of them; mixed
mode hands the world a factory that gives mirrors of bridged devices for some ids and
simulated ones for the rest. Nothing is swapped after the world is built.

The protocols say what the world itself reads of a device in each place (its KPIs,
its map, its deadlock watch) on top of the device port the controllers see of it
(`controllers.ports.CarrierPort`, `CranePort`, ...), which each of them extends.
"""

from __future__ import annotations

from typing import Protocol

from controllers.ports import CarrierPort
from twin.carrier import CarrierLinks, CarrierSpec, SimCarrier
from twin.sampling import Sampler
from twin.yard import (
    Crane,
    Gate,
    SimCamera,
    Weighbridge,
    WorldCamera,
    WorldCrane,
    WorldGate,
    WorldWeighbridge,
    YardDevices,
    YardModel,
)

__all__ = ["DeviceFactory", "SimulatedDevices", "WorldCamera", "WorldCarrier", "WorldCrane", "WorldGate", "WorldWeighbridge"]


class WorldCarrier(CarrierPort, Protocol):
    """A carrier as the world reads it: a simulated one, or the mirror of a vehicle."""

    nodes: list[str]
    idx: int
    released_upto: int
    order_id: str
    paused: bool
    broken: bool
    charging: bool
    moving: bool
    in_use: bool
    under_crane: bool
    distance_m: float
    energy_used_kwh: dict[str, float]
    stopped_block: int

    @property
    def node_id(self) -> str: ...

    @property
    def battery_pct(self) -> float: ...

    @property
    def link_lost(self) -> bool:
        """Master control has lost its link to the vehicle."""

    @property
    def vehicle_errors(self) -> tuple[str, ...]:
        """The errors the vehicle reports, and its information, in its own words (level,
        description, references)."""

    @property
    def warned(self) -> bool:
        """The vehicle reports an error of level WARNING: it works on."""

    @property
    def map_position(self) -> tuple[float, float] | None:
        """Where the vehicle says it is, (x, y) metres in the site's map frame, if it says."""

    @property
    def load(self) -> str | None: ...

    @load.setter
    def load(self, container_id: str | None) -> None: ...

    def update_use(self) -> None: ...


class DeviceFactory(YardDevices, Protocol):
    def carrier(self, links: CarrierLinks, carrier_id: str, node_id: str, spec: CarrierSpec) -> WorldCarrier: ...


class SimulatedDevices:
    """Every device a SimPy model."""

    def carrier(self, links: CarrierLinks, carrier_id: str, node_id: str, spec: CarrierSpec) -> WorldCarrier:
        return SimCarrier(links, carrier_id, node_id, spec)

    def crane(self, yard: YardModel, device_id: str, move: Sampler) -> WorldCrane:
        return Crane(yard, device_id, move)

    def gate(self, yard: YardModel, device_id: str) -> WorldGate:
        return Gate(yard, device_id)

    def weighbridge(self, yard: YardModel, device_id: str) -> WorldWeighbridge:
        return Weighbridge(yard, device_id)

    def camera(self, yard: YardModel) -> WorldCamera:
        return SimCamera(yard)
