"""Measuring the twin as it runs: KPIs per direction, the warm-up, the sampled time
series and the deadlock watch.

The world builds the checkpoint and moves it; this module only reads it (and counts
what the yards and carriers report), so that what is measured can change without
touching how the site behaves.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping

import simpy

from controllers.layout import YARD_NODE, direction_from
from controllers.messages import Side
from twin.devices import WorldCarrier
from twin.meters import DirectionStats, FleetStats, Level
from twin.safety import SafetyMonitor
from twin.scenario import DIRECTIONS
from twin.traditional import TraditionalFlow
from twin.yard import Container, Station, YardModel


class Measures:
    """The run's figures. KPIs count from `measure_from` (the end of the warm-up) on;
    the sampled rows and the deadlock watch cover the whole run."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        carriers: Mapping[str, WorldCarrier],
        yards: Mapping[Side, YardModel],
        containers: Mapping[str, Container],
        safety: SafetyMonitor,
        traditional: TraditionalFlow | None,
        wait_reasons: Callable[[], Mapping[str, str]],
        sample_interval_s: float,
        warmup_s: float,
    ) -> None:
        self.env = env
        self.carriers = carriers
        self.yards = yards
        self.containers = containers
        self.safety = safety
        self.wait_reasons = wait_reasons
        self.sample_interval_s = sample_interval_s
        self.warmup_s = warmup_s
        self.traditional = traditional
        self.fleet = FleetStats()
        self.stats: dict[str, DirectionStats] = {d: DirectionStats() for d in DIRECTIONS}
        self.delivered_count = 0
        self.deadlocks = 0
        self.unexplained_stops = 0
        self.measure_from = 0.0
        self.timeseries: list[dict[str, float]] = []
        self._energy_at_warmup = {d: 0.0 for d in DIRECTIONS}

    def start(self) -> None:
        """Start sampling, and the warm-up's end if the scenario has one."""
        self.env.process(self._sampler())
        if self.warmup_s > 0:
            self.env.process(self._end_warmup(self.warmup_s))

    def finish(self) -> None:
        """The last row and the last look for deadlocks, at the end of the run."""
        self.sample()
        self.watch_deadlock()

    def delivered(self, c: Container) -> None:
        """A container has left on its receiving truck."""
        now = self.env.now
        c.location, c.delivered_at = "delivered", now
        c.reach("delivered", now)
        stats = self.stats[c.direction]
        self.delivered_count += 1
        if now < self.measure_from:
            return
        stats.delivered += 1
        stats.dwells.add(now - c.arrived_at)
        if c.deadline is not None:
            stats.perishable_delivered += 1
            if now > c.deadline:
                stats.late_perishable += 1

    def energy_since_warmup(self) -> dict[str, float]:
        """Carrier energy per direction of travel since the warm-up, kWh."""
        now = self._energy()
        return {d: now[d] - self._energy_at_warmup[d] for d in DIRECTIONS}

    def container_balance(self) -> dict[str, int]:
        """Every container that arrived is delivered, still in the system, or lost."""
        places = {"truck", "carrier", "stack", "pickup"}
        delivered = sum(1 for c in self.containers.values() if c.location == "delivered")
        in_system = sum(1 for c in self.containers.values() if c.location in places)
        arrived = len(self.containers)
        return {"arrived": arrived, "delivered": delivered, "in_system": in_system, "lost": arrived - delivered - in_system}

    def _end_warmup(self, at: float) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(at)
        now = self.env.now
        self.measure_from = now
        for d in DIRECTIONS:
            self.stats[d] = fresh = DirectionStats()
            fresh.in_yard.value = sum(
                1 for c in self.containers.values() if c.direction == d and c.location == "truck"
            )
            fresh.in_yard.reset(now)
        for level in self._levels():
            level.reset(now)
        for station in self._stations():
            station.waits.values.clear()
        self.safety.reset_usage()
        self.fleet.block_wait_s = 0.0
        self._energy_at_warmup = self._energy()

    def _energy(self) -> dict[str, float]:
        return {d: sum(c.energy_used_kwh[d] for c in self.carriers.values()) for d in DIRECTIONS}

    def _levels(self) -> list[Level]:
        out = [self.fleet.busy]
        for yard in self.yards.values():
            out += [yard.staging_used, yard.cranes_busy, yard.stack_level, yard.awaiting_carrier, yard.chargers_used]
            out += [s.busy for s in (yard.gate_lanes, yard.weighbridges, yard.scanners, yard.red_bays)]
        if self.traditional is not None:
            out.append(self.traditional.in_system)
        return out

    def _stations(self) -> list[Station]:
        return [s for y in self.yards.values() for s in (y.gate_lanes, y.weighbridges, y.scanners, y.red_bays)]

    def _sampler(self) -> Generator[simpy.Event, None, None]:
        while True:
            self.sample()
            self.watch_deadlock()
            yield self.env.timeout(self.sample_interval_s)

    def sample(self) -> None:
        """One row of the time series, now."""
        now = self.env.now
        moving = sum(1 for c in self.carriers.values() if c.moving)
        row: dict[str, float] = {"time_h": round(now / 3600, 4)}
        for side, yard in self.yards.items():
            p = yard.prefix.lower()
            direction = direction_from(side)
            row[f"{p}_trucks_in_yard"] = self.stats[direction].in_yard.value
            row[f"{p}_trucks_outside"] = len(yard.staging.queue)
            row[f"{p}_awaiting_carrier"] = yard.awaiting_carrier.value
            row[f"{p}_stack"] = len(yard.stack)
            row[f"{p}_cranes_busy"] = yard.cranes_busy.value
            row[f"{p}_carriers_parked"] = sum(
                1 for c in self.carriers.values() if not c.moving and c.node_id == YARD_NODE[side]
            )
        row["carriers_moving"] = moving
        row["carriers_broken"] = sum(1 for c in self.carriers.values() if c.broken)
        row["carriers_charging"] = sum(1 for c in self.carriers.values() if c.charging)
        row["containers_delivered"] = self.delivered_count
        row["safety_violations"] = len(self.safety.violations)
        self.timeseries.append(row)

    def watch_deadlock(self) -> None:
        """Every carrier stopped on the corridor must wait for a stated reason, and the
        chain of carriers waiting for each other must never close on itself."""
        reasons = self.wait_reasons()
        for cid, carrier in self.carriers.items():
            on_corridor = 0 < carrier.idx < len(carrier.nodes) - 1 or carrier.stopped_block >= 0
            released_ahead = carrier.idx < carrier.released_upto  # sets off in this very instant
            if on_corridor and not carrier.moving and not carrier.broken and not carrier.paused and not released_ahead:
                if cid not in reasons:
                    self.unexplained_stops += 1
        waits_for = {c: r.removeprefix("behind ") for c, r in reasons.items() if r.startswith("behind ")}
        for start in waits_for:
            seen = {start}
            node = waits_for.get(start)
            while node is not None:
                if node in seen:
                    self.deadlocks += 1
                    return
                seen.add(node)
                node = waits_for.get(node)
