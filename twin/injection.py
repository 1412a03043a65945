"""The fault campaign acted out: each injected fault of the scenario's `campaign`, at
its set time, on the simulated devices.

A fault reaches the controllers only as a real one would, through the device events
they already handle, and it is made with the same powers the random faults
(`faults:`, MTBF/MTTR) use:

- carrier_breakdown: `SimCarrier.break_down`, then `repair` (it stands in its block,
  its state carrying E-BREAKDOWN);
- connection_loss: `SimCarrier.lose_link`, then `restore_link`, once per burst (its
  last state with CONNECTION_BROKEN; it drives on its base and stops at its end; the
  commands sent meanwhile wait);
- crane_failure: `Crane.break_down`, then `repair` (`CraneState` with fault; a move it
  had holds and is finished once it is back);
- scanner_down: `Station.outage` of the yard's scanners until the end of the window,
  each once it has finished its truck, told as `ScannerState`;
- plate_misreads: the yard's camera misreads that share of the plates (the officer
  checks them; `PlateRead` with the camera's evidence);
- weighbridge_drift: the yard's weighbridge reads off (`WeightReading`).

Bridged devices are never injected: the scenario refuses a campaign that names one,
and picks by count only among the simulated carriers. Each fault draws from a random
stream of its own, so that adding a fault shifts no other stream of the run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import simpy

from controllers.messages import ScannerState, Side
from twin.carrier import SimCarrier
from twin.devices import WorldCarrier
from twin.sampling import stream
from twin.scenario import (
    CarrierBreakdown,
    CarrierFault,
    ConnectionLoss,
    CraneFailure,
    InjectedFault,
    PlateMisreads,
    ScannerDown,
    WeighbridgeDrift,
)
from twin.yard import Crane, SimCamera, Weighbridge, YardModel

D = TypeVar("D", SimCarrier, Crane)
# characters a plate reader confuses, each with the one it is read as
CONFUSED = {"0": "D", "D": "0", "O": "0", "1": "7", "7": "1", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2"}


class Site(Protocol):
    """What the injection touches of the world."""

    @property
    def env(self) -> simpy.Environment: ...

    @property
    def carriers(self) -> Mapping[str, WorldCarrier]: ...

    @property
    def yards(self) -> Mapping[Side, YardModel]: ...


@dataclass(frozen=True, slots=True)
class Strike:
    """One time a fault struck: when, until when, and the devices it struck."""

    fault: str
    start_s: float
    end_s: float
    devices: tuple[str, ...]


def inject(site: Site, campaign: Sequence[InjectedFault], seed: int) -> list[Strike]:
    """Start one process per injected fault; the list returned fills as they strike."""
    strikes: list[Strike] = []
    for fault in campaign:
        rng = stream(seed, f"campaign-{fault.name}")
        site.env.process(_fault(site, fault, rng, strikes))
    return strikes


def _fault(site: Site, fault: InjectedFault, rng: random.Random, strikes: list[Strike]) -> Generator[simpy.Event, None, None]:
    env = site.env
    for start, end in fault.windows_s():
        if start > env.now:
            yield env.timeout(start - env.now)
        devices, undo = _strike(site, fault, rng, end)
        strikes.append(Strike(fault.name, env.now, end, devices))
        if end > env.now:
            yield env.timeout(end - env.now)
        undo()


def _strike(
    site: Site, fault: InjectedFault, rng: random.Random, end: float
) -> tuple[tuple[str, ...], Callable[[], None]]:
    """Make the fault happen now: the devices it struck, and what ends it."""
    if isinstance(fault, ConnectionLoss):
        return _each(_pick(site, fault), SimCarrier.lose_link, SimCarrier.restore_link)
    if isinstance(fault, CarrierBreakdown):
        return _each(_pick(site, fault), SimCarrier.break_down, SimCarrier.repair)
    if isinstance(fault, CraneFailure):
        cranes = [c for yard in site.yards.values() for c in yard.cranes if c.device_id in fault.cranes]
        return _each([c for c in cranes if isinstance(c, Crane)], Crane.break_down, Crane.repair)
    if isinstance(fault, ScannerDown):
        yard = site.yards[fault.yard]
        station = yard.scanners
        out = min(fault.scanners or station.servers, station.servers)
        station.faults += out
        yard.links.publish(ScannerState(station.name, yard.side, True))
        for _ in range(out):  # each once it has finished its truck
            site.env.process(station.outage(0.0, until=end))

        def scanners_back() -> None:
            yard.links.publish(ScannerState(station.name, yard.side, False))

        return (f"{station.name} ({out} of {station.servers})",), scanners_back
    if isinstance(fault, PlateMisreads):
        camera = site.yards[fault.yard].camera
        if not isinstance(camera, SimCamera):
            return (), lambda: None
        share = fault.share

        def misread(plate: str) -> str | None:
            return _misread(plate, rng) if rng.random() < share else None

        camera.misreading.append(misread)
        return (camera.device_id,), lambda: camera.misreading.remove(misread)
    if isinstance(fault, WeighbridgeDrift):
        bridge = site.yards[fault.yard].weighbridge
        if not isinstance(bridge, Weighbridge):
            return (), lambda: None
        drift = (fault.drift_pct / 100, fault.drift_kg)
        bridge.drifts.append(drift)
        return (bridge.device_id,), lambda: bridge.drifts.remove(drift)
    raise TypeError(f"no injection for {fault!r}")


def _each(
    devices: list[D], begin: Callable[[D], None], end: Callable[[D], None]
) -> tuple[tuple[str, ...], Callable[[], None]]:
    """`begin` on each device now; the function returned does `end` on each."""
    for device in devices:
        begin(device)

    def undo() -> None:
        for device in devices:
            end(device)

    return tuple(d.device_id for d in devices), undo


def _pick(site: Site, fault: CarrierFault) -> list[SimCarrier]:
    """The carriers the fault strikes: those named, or `count` of the simulated ones,
    those on the corridor first (carrying a container first), then the others, by id."""
    sim = {cid: c for cid, c in site.carriers.items() if isinstance(c, SimCarrier)}
    if fault.carriers is not None:
        return [sim[cid] for cid in fault.carriers if cid in sim]

    def busy_first(c: SimCarrier) -> tuple[int, str]:
        on_corridor = c.moving or 0 < c.idx < len(c.nodes) - 1
        return (0 if on_corridor and c.load is not None else 1 if on_corridor else 2, c.device_id)

    return sorted(sim.values(), key=busy_first)[: fault.count]


def _misread(plate: str, rng: random.Random) -> str:
    """The plate with one character read wrong: a confusable one where it has any."""
    spots = [i for i, ch in enumerate(plate) if ch in CONFUSED]
    if spots:
        i = rng.choice(spots)
        return plate[:i] + CONFUSED[plate[i]] + plate[i + 1 :]
    digits = [i for i, ch in enumerate(plate) if ch.isdigit()]
    if not digits:
        return plate + "?"
    i = rng.choice(digits)
    return plate[:i] + str((int(plate[i]) + 1 + rng.randrange(9)) % 10) + plate[i + 1 :]
