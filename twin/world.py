"""The SimPy world: builds the checkpoint from a scenario and runs it.

The world is the physical truth. Controllers see it only through the events its
devices publish to the runtime, and act on it only through commands to devices.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Generator

import simpy
from simpy.events import NORMAL, EventPriority

from controllers import identifiers
from controllers.cpsat import CpsatController
from controllers.fifo import FifoController
from controllers.greedy import GreedyController
from controllers.layout import (
    ORIGIN,
    YARD_NODE,
    FleetInfo,
    LaneInfo,
    SiteLayout,
    YardInfo,
    access_edge_id,
    block_edge_id,
)
from controllers.messages import Direction, Side
from controllers.runtime import Runtime
from controllers.site import SiteController
from twin.carrier import CarrierLinks, CarrierSpec, SimCarrier, breakdowns
from twin.devices import DeviceFactory, SimulatedDevices, WorldCarrier
from twin.geometry import SiteGeometry
from twin.injection import inject
from twin.map_frame import from_map
from twin.measure import Measures
from twin.meters import DirectionStats
from twin.safety import SafetyMonitor
from twin.sampling import stream
from twin.scenario import Scenario
from twin.traditional import TraditionalFlow
from twin.yard import Container, Crane, YardLinks, YardModel

SIDES: tuple[Side, Side] = ("vietnam", "china")


class CountingEnvironment(simpy.Environment):
    """SimPy's environment, counting the events it schedules (SimPy keeps its own count private)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        self.scheduled += 1
        super().schedule(event, priority, delay)


class SimClock:
    """The runtime's clock in the twin: SimPy's virtual time."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def now(self) -> float:
        return self.env.now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        timeout = self.env.timeout(delay_s)
        timeout.callbacks.append(lambda _event: callback())


def build_layout(scenario: Scenario, geometry: SiteGeometry) -> SiteLayout:
    """The plain-data view of the site that controllers plan on."""
    lanes = tuple(
        LaneInfo(g.index, scenario.lanes[g.index], g.n_blocks, g.block_length_m) for g in geometry.lanes
    )
    yards = {}
    for side in SIDES:
        spec = getattr(scenario.yards, side)
        prefix = YARD_NODE[side]
        yards[side] = YardInfo(
            side=side,
            cranes=tuple(f"{prefix}-crane-{i + 1}" for i in range(spec.cranes)),
            chargers=spec.chargers,
            stack_capacity=spec.stack_capacity_containers,
            barriers=(f"{prefix}-gate",),
            weighbridges=(f"{prefix}-weighbridge",),
            crane_move_s=spec.crane_move.mean_s,
            scanners=spec.stations.scanner.servers,
            scan_s=spec.stations.scanner.service.mean_s,
            clearance_s=spec.stations.inspection.yellow.share * spec.stations.inspection.yellow.check.mean_s
            + spec.stations.inspection.red.share * spec.stations.inspection.red.check.mean_s,
        )
    fleet = scenario.fleet
    return SiteLayout(
        lanes=lanes,
        yard_access_m=scenario.site.yard_access_m,
        yards=yards,
        fleet=FleetInfo(
            carriers=tuple(identifiers.carrier_id(i) for i in range(fleet.carriers)),
            speed_mps=fleet.speed_kmh / 3.6,
            battery_kwh=fleet.battery_kwh,
            consumption_kwh_per_km=fleet.consumption_kwh_per_km,
            low_battery_pct=fleet.low_battery_pct,
            charge_rate_kw=fleet.charge_rate_kw,
        ),
        weigh_tolerance_pct=scenario.yards.vietnam.stations.weighbridge.tolerance_pct,
    )


CONTROLLERS: dict[str, Callable[[SiteLayout], SiteController]] = {
    "fifo": FifoController,
    "greedy": GreedyController,
    "cpsat": CpsatController,
}


def make_controller(name: str, layout: SiteLayout) -> SiteController:
    try:
        return CONTROLLERS[name](layout)
    except KeyError:
        raise ValueError(f"unknown controller {name!r}; known: {', '.join(CONTROLLERS)}") from None


class World:
    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        demand_scale: float = 1.0,
        controller: str | None = None,
        devices: DeviceFactory | None = None,
    ) -> None:
        self.scenario = scenario
        self.controller_name = controller or scenario.controller
        self.seed = scenario.seed if seed is None else seed
        self.demand_scale = demand_scale
        self.env = CountingEnvironment()
        self.geometry = SiteGeometry.from_scenario(scenario)
        self.layout = build_layout(scenario, self.geometry)
        self.controller = make_controller(self.controller_name, self.layout)
        self.runtime = Runtime(SimClock(self.env), self.controller)
        # blocks: one global index per (lane, block)
        self.edge_block: dict[str, int] = {}
        lane_of_block: list[int] = []
        for lane in self.layout.lanes:
            for b in range(lane.n_blocks):
                self.edge_block[block_edge_id(lane.index, b)] = len(lane_of_block)
                lane_of_block.append(lane.index)
            for side in SIDES:
                self.edge_block[access_edge_id(lane.index, side)] = -1
        self.safety = SafetyMonitor(len(lane_of_block), lane_of_block)
        self.containers: dict[str, Container] = {}
        self.carriers: dict[str, WorldCarrier] = {}
        self.yards: dict[Side, YardModel] = {}
        self.traditional = (
            TraditionalFlow(self.env, scenario.traditional, stream(self.seed, "traditional"))
            if scenario.traditional
            else None
        )
        # the measures read the carriers and yards as they are added below
        self.measures = Measures(
            self.env,
            carriers=self.carriers,
            yards=self.yards,
            containers=self.containers,
            safety=self.safety,
            traditional=self.traditional,
            wait_reasons=self.controller.wait_reasons,
            sample_interval_s=scenario.sample_interval_min * 60,
            warmup_s=scenario.warmup_h * 3600,
        )
        self.devices = devices if devices is not None else SimulatedDevices()
        links = YardLinks(
            publish=self.runtime.publish,
            stats=self.measures.stats,
            containers=self.containers,
            carriers=self.carriers,
            yards=self.yards,
            delivered=self.measures.delivered,
        )
        for side in SIDES:
            yard_spec = getattr(scenario.yards, side)
            rng = stream(self.seed, f"yard-{side}")
            self.yards[side] = YardModel(self.env, side, yard_spec, rng, self.devices, links)
        for yard in self.yards.values():
            self.runtime.attach(yard.gate)
            self.runtime.attach(yard.weighbridge)
            for crane in yard.cranes:
                self.runtime.attach(crane)
        fleet = scenario.fleet
        spec = CarrierSpec(
            speed_mps=fleet.speed_kmh / 3.6,
            battery_kwh=fleet.battery_kwh,
            consumption_kwh_per_m=fleet.consumption_kwh_per_km / 1000,
            charge_rate_kw=fleet.charge_rate_kw,
        )
        self.carrier_links = CarrierLinks(
            env=self.env,
            publish=self.runtime.publish,
            blocks=self.edge_block,
            safety=self.safety,
            chargers={yard.node_id: yard.chargers_used for yard in self.yards.values()},
            fleet=self.measures.fleet,
        )
        at_vietnam = round(fleet.carriers * fleet.share_at_vietnam)
        for i, cid in enumerate(self.layout.fleet.carriers):
            home: Side = "vietnam" if i < at_vietnam else "china"
            carrier = self.devices.carrier(self.carrier_links, cid, YARD_NODE[home], spec)
            self.carriers[cid] = carrier
            self.runtime.attach(carrier)
        self._serial = 0
        self._start_processes()

    # --- processes ---------------------------------------------------------------------

    def _start_processes(self) -> None:
        env, sc = self.env, self.scenario
        direction: Direction
        for direction in ("export", "import"):
            rates = sc.demand.for_direction(direction).trucks_per_hour
            env.process(self._arrivals(rates, stream(self.seed, f"demand-{direction}"), self._new_truck(direction)))
        flow = self.traditional
        if flow is not None:
            rng = stream(self.seed, "traditional-demand")
            env.process(self._arrivals(flow.spec.trucks_per_hour, rng, lambda: env.process(flow.truck())))
        faults = sc.faults
        if faults.carrier:
            rng = stream(self.seed, "faults-carrier")
            for carrier in self.sim_carriers():
                env.process(breakdowns(env, carrier, faults.carrier.mtbf_h * 3600, faults.carrier.mttr_min * 60, rng))
        for side in SIDES:
            yard = self.yards[side]
            if faults.crane:
                rng = stream(self.seed, f"faults-crane-{side}")
                for crane in yard.cranes:
                    if isinstance(crane, Crane):  # a bridged crane reports its own faults
                        mtbf, mttr = faults.crane.mtbf_h * 3600, faults.crane.mttr_min * 60
                        env.process(yard.crane_faults(crane, mtbf, mttr, rng))
            for kind, spec, station in (
                ("scanner", faults.scanner, yard.scanners),
                ("weighbridge", faults.weighbridge, yard.weighbridges),
                ("gate", faults.gate, yard.gate_lanes),
            ):
                if spec is None:
                    continue
                rng = stream(self.seed, f"faults-{kind}-{side}")
                for _ in range(station.servers):
                    env.process(yard.station_faults(station, spec.mtbf_h * 3600, spec.mttr_min * 60, rng))
        self.injected = inject(self, sc.campaign, self.seed)  # the faults injected at set times
        self.measures.start()

    def _arrivals(
        self, per_hour: list[float], rng: random.Random, spawn: Callable[[], object]
    ) -> Generator[simpy.Event, None, None]:
        """Poisson arrivals whose rate changes with the hour of the day."""
        env = self.env
        factor = self.scenario.demand.season_multiplier * self.demand_scale
        rates = [r * factor / 3600 for r in per_hour]
        while True:
            hour_end = (math.floor(env.now / 3600) + 1) * 3600
            rate = rates[int(env.now // 3600) % 24]
            if rate <= 0:
                yield env.timeout(hour_end - env.now)
                continue
            gap = rng.expovariate(rate)
            if env.now + gap >= hour_end:  # memoryless: start afresh with the next hour's rate
                yield env.timeout(hour_end - env.now)
                continue
            yield env.timeout(gap)
            spawn()

    def _new_truck(self, direction: Direction) -> Callable[[], object]:
        side = ORIGIN[direction]
        yard = self.yards[side]
        demand = self.scenario.demand
        mix = demand.for_direction(direction).cargo_mix
        rng = stream(self.seed, f"cargo-{direction}")
        low, high = demand.container_weight.low_t, demand.container_weight.high_t
        deadline_s = demand.fruit_deadline_h * 3600

        def spawn() -> object:
            self._serial += 1
            u = rng.random()
            cargo = "fruit" if u < mix.fruit else "electronics" if u < mix.fruit + mix.electronics else "other"
            kg = rng.uniform(low, high) * 1000
            misdeclared = rng.random() < yard.misdeclared
            declared = kg * (1 + (2.5 if misdeclared else 0.5) * yard.tolerance * (1 if rng.random() < 0.5 else -1))
            now = self.env.now
            c = Container(
                container_id=identifiers.container_code(side, self._serial),
                direction=direction,
                cargo=cargo,  # type: ignore[arg-type]
                arrived_at=now,
                deadline=now + deadline_s if cargo == "fruit" else None,
                declared_kg=round(declared),
                measured_kg=round(kg),
                truck_id=f"T{self._serial:06d}",
                plate=identifiers.plate(side, rng),
            )
            c.reach("arrived", now)
            self.containers[c.container_id] = c
            return self.env.process(yard.deliver_truck(c))

        return spawn

    def sim_carriers(self) -> list[SimCarrier]:
        return [c for c in self.carriers.values() if isinstance(c, SimCarrier)]

    def node_wgs84(self, node_id: str) -> tuple[float, float]:
        """Where a node is, as (lat, lon): a yard, or a block boundary "L<lane>N<node>"."""
        for side, name in YARD_NODE.items():
            if node_id == name:
                return self.geometry.yard_wgs84(side)
        lane, node = node_id[1:].split("N")
        lane_i = int(lane)
        return self.geometry.position_wgs84(lane_i, self.geometry.node_distance(lane_i, int(node)))

    def carrier_wgs84(self, carrier_id: str) -> tuple[float, float]:
        """A carrier's position now, as (lat, lon), for maps and tracking."""
        c = self.carriers[carrier_id]
        if not isinstance(c, SimCarrier):  # a bridged vehicle: where it last reported
            at = c.map_position
            return from_map(self.geometry, *at) if at is not None else self.node_wgs84(c.node_id)
        pos, idx = c.pos, c.idx
        if c.moving:  # between two reports: where its constant-speed stretch has taken it
            pos += (self.env.now - c.moved_at) * c.spec.speed_mps
            while idx + 1 < len(c.cum) and c.cum[idx + 1] <= pos:
                idx += 1
        if idx + 1 >= len(c.nodes) or pos <= c.cum[idx]:
            return self.node_wgs84(c.nodes[idx])
        a, b = self.node_wgs84(c.nodes[idx]), self.node_wgs84(c.nodes[idx + 1])
        f = (pos - c.cum[idx]) / (c.cum[idx + 1] - c.cum[idx])
        return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)

    # --- what is measured, read where the world is -------------------------------------

    @property
    def stats(self) -> dict[str, DirectionStats]:
        return self.measures.stats

    @property
    def timeseries(self) -> list[dict[str, float]]:
        return self.measures.timeseries

    @property
    def measure_from(self) -> float:
        return self.measures.measure_from

    @property
    def delivered_count(self) -> int:
        return self.measures.delivered_count

    @property
    def deadlocks(self) -> int:
        return self.measures.deadlocks

    @property
    def unexplained_stops(self) -> int:
        return self.measures.unexplained_stops

    def container_balance(self) -> dict[str, int]:
        return self.measures.container_balance()

    def event_count(self) -> int:
        """SimPy events scheduled so far."""
        return self.env.scheduled

    # --- running ------------------------------------------------------------------------

    def begin(self) -> None:
        """Start the controllers; each simulated carrier says where it stands (a bridged
        vehicle says so in its first state)."""
        self.runtime.start()
        for carrier in self.sim_carriers():
            self.runtime.publish(carrier.state())

    def finish(self) -> None:
        self.measures.finish()

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Run the scenario to its end; `progress` gets the fraction done now and then."""
        self.begin()
        end = self.scenario.duration_h * 3600
        if progress is None:
            self.env.run(until=end)
        else:
            step = 3600.0
            t = 0.0
            while t < end:
                t = min(end, t + step)
                self.env.run(until=t)
                progress(t / end)
        self.finish()
