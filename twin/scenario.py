"""Scenario files: one pydantic schema for every YAML scenario in `scenarios/`.

Every model forbids unknown keys, so a typo is an error rather than a silently
ignored setting. `load_scenario` turns any problem into a `ScenarioError` whose
message names the file, the field path, the bad value and the reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from controllers.identifiers import carrier_id
from controllers.limits import CARRIER_ID_PATTERN, SPEED_MAX, ControllerName
from twin.safe_yaml import YamlRefused, load_yaml, read_text_bounded

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
# Every number has a sane maximum in its unit: 1e308 is no duration, no battery and no
# rate, and left unbounded it overflows, divides by zero or runs for ever.
WEEK_S = 7 * 86400.0
Seconds = Annotated[float, Field(ge=0, le=WEEK_S)]  # a service time, a delay: a week at most
PositiveSeconds = Annotated[float, Field(gt=0, le=3600)]  # a timeout
TrucksPerHour = Annotated[float, Field(ge=0, le=1000)]  # a 14-lane corridor moves a few hundred
LaneDirection = Literal["to_china", "to_vietnam", "reversible"]
DIRECTIONS: tuple[str, str] = ("export", "import")  # export: Vietnam -> China


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class LatLon(Strict):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class ServiceTime(Strict):
    """A random duration in seconds. `mean_s` is the mean for every distribution."""

    dist: Literal["fixed", "exponential", "uniform", "triangular", "lognormal"] = "fixed"
    mean_s: Seconds
    low_s: Seconds | None = None
    high_s: Seconds | None = None
    cv: Annotated[float, Field(gt=0, le=10)] | None = None  # coefficient of variation, lognormal only

    @model_validator(mode="after")
    def _consistent(self) -> ServiceTime:
        if self.dist in ("uniform", "triangular"):
            if self.low_s is None or self.high_s is None:
                raise ValueError(f"{self.dist} needs low_s and high_s")
            if not self.low_s <= self.mean_s <= self.high_s:
                raise ValueError("mean_s must lie between low_s and high_s")
            if self.dist == "uniform" and not math.isclose(
                self.mean_s, (self.low_s + self.high_s) / 2, rel_tol=1e-6
            ):
                raise ValueError("a uniform mean_s must be (low_s + high_s) / 2")
            if self.dist == "triangular":
                mode = 3 * self.mean_s - self.low_s - self.high_s
                if not self.low_s - 1e-9 <= mode <= self.high_s + 1e-9:
                    raise ValueError("no triangular distribution has this mean with these bounds")
        elif self.low_s is not None or self.high_s is not None:
            raise ValueError(f"low_s/high_s only apply to uniform and triangular, not {self.dist}")
        if self.dist == "lognormal" and self.cv is None:
            raise ValueError("lognormal needs cv")
        if self.dist != "lognormal" and self.cv is not None:
            raise ValueError(f"cv only applies to lognormal, not {self.dist}")
        return self


class Site(Strict):
    """Where the checkpoint is, in WGS84. The corridor runs from the Vietnamese
    transfer yard through the border crossing point to the Chinese one."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    crs: Literal["EPSG:9215", "EPSG:32648"] = "EPSG:9215"
    vietnam_yard: LatLon
    china_yard: LatLon
    border_point: LatLon
    corridor_path: Annotated[list[LatLon], Field(min_length=2, max_length=10_000)]
    lane_spacing_m: Annotated[float, Field(gt=0, le=20)] = 3.75
    yard_access_m: Annotated[float, Field(ge=0, le=2000)] = 150.0  # yard-internal drive to a lane end
    # the id of the map free-navigating vehicles are given node positions in (twin/map_frame.py)
    map_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] = "lang-son-corridor"

    @model_validator(mode="after")
    def _a_corridor_one_can_drive(self) -> Site:
        """Points that coincide make a lane of no length, and a path of thousands of
        kilometres is no checkpoint's: both are refused here, with the point."""
        path = self.corridor_path
        for i, (a, b) in enumerate(zip(path, path[1:])):
            if _metres(a, b) < 0.5:
                raise ValueError(f"corridor_path: points {i} and {i + 1} are less than 0.5 m apart")
        length = self.corridor_length_m()
        if not 10 <= length <= 100_000:
            raise ValueError(f"corridor_path: {length:,.0f} m long; a corridor is 10 m to 100 km")
        return self

    def corridor_length_m(self) -> float:
        """The corridor's length along its path, on the sphere (close enough for a check)."""
        return sum(_metres(a, b) for a, b in zip(self.corridor_path, self.corridor_path[1:]))


def _metres(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two points, in metres."""
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = la2 - la1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


class Station(Strict):
    servers: Annotated[int, Field(ge=1, le=100)]
    service: ServiceTime


class Weighbridge(Station):
    tolerance_pct: Annotated[float, Field(gt=0, le=50)] = 5.0
    misdeclared_share: Share = 0.0  # trucks whose declared weight is off beyond the tolerance


class RiskChannel(Strict):
    share: Share
    check: ServiceTime


class Inspection(Strict):
    """Customs risk channels: green (no check), yellow (documents), red (physical)."""

    green: RiskChannel
    yellow: RiskChannel
    red: RiskChannel
    red_bays: Annotated[int, Field(ge=1, le=100)]  # physical inspection needs a bay

    @model_validator(mode="after")
    def _shares(self) -> Inspection:
        total = self.green.share + self.yellow.share + self.red.share
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"green + yellow + red shares must be 1, not {total:g}")
        return self


class Stations(Strict):
    gate: Station  # licence-plate camera and barrier
    weighbridge: Weighbridge
    scanner: Station  # non-intrusive scanner: 100% of containers
    inspection: Inspection


class Yard(Strict):
    cranes: Annotated[int, Field(ge=1, le=100)]
    crane_move: ServiceTime
    staging_capacity_trucks: Annotated[int, Field(ge=1, le=100_000)]  # queueing studies take it as unbounded
    stack_capacity_containers: Annotated[int, Field(ge=1, le=1_000_000)]
    chargers: Annotated[int, Field(ge=0, le=200)]
    stations: Stations
    pickup_delay: ServiceTime  # receiving truck's arrival after the container leaves the far yard


class Yards(Strict):
    vietnam: Yard
    china: Yard


class Fleet(Strict):
    carriers: Annotated[int, Field(ge=1, le=1000)]
    speed_kmh: Annotated[float, Field(gt=0, le=80)]
    battery_kwh: Annotated[float, Field(ge=1, le=2000)]  # a heavy electric tractor carries a few hundred
    consumption_kwh_per_km: Annotated[float, Field(ge=0.01, le=50)]
    charge_rate_kw: Annotated[float, Field(ge=0.1, le=2000)]  # megawatt chargers are the most there is
    low_battery_pct: Annotated[float, Field(ge=0, lt=100)] = 25.0
    share_at_vietnam: Share = 0.5  # where the fleet starts


class CargoMix(Strict):
    fruit: Share
    electronics: Share
    other: Share

    @model_validator(mode="after")
    def _sum(self) -> CargoMix:
        total = self.fruit + self.electronics + self.other
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"fruit + electronics + other must be 1, not {total:g}")
        return self


HourlyRates = Annotated[list[TrucksPerHour], Field(min_length=24, max_length=24)]


class DirectionDemand(Strict):
    trucks_per_hour: HourlyRates  # one container a truck; index 0 is 00:00-01:00 local time
    cargo_mix: CargoMix


class WeightRange(Strict):
    low_t: Annotated[float, Field(gt=0, le=45)]  # tonnes: ISO 668 allows 30.48 t gross for a 40 ft box
    high_t: Annotated[float, Field(gt=0, le=45)]

    @model_validator(mode="after")
    def _ordered(self) -> WeightRange:
        if self.low_t > self.high_t:
            raise ValueError("low_t must not exceed high_t")
        return self


class Demand(Strict):
    export: DirectionDemand  # Vietnam -> China
    import_: DirectionDemand = Field(alias="import")  # China -> Vietnam
    fruit_deadline_h: Annotated[float, Field(gt=0, le=720)]  # from arrival at the first yard to leaving the far one
    season_multiplier: Annotated[float, Field(gt=0, le=10)] = 1.0
    container_weight: WeightRange  # gross weight of a loaded container, uniform in the range

    def for_direction(self, direction: str) -> DirectionDemand:
        return self.export if direction == "export" else self.import_


class ProcessStep(Strict):
    name: str
    duration: ServiceTime
    servers: Annotated[int, Field(ge=1, le=1000)]


class Traditional(Strict):
    """Human-driven trucks on the ordinary road beside the corridor (import side)."""

    trucks_per_hour: HourlyRates
    capacity_trucks_per_hour: Annotated[float, Field(gt=0, le=1000)]  # the road gate's admission rate
    steps: Annotated[list[ProcessStep], Field(min_length=1)]
    transshipment_step: str  # the step where a Vietnamese truck must be paired first
    pairing_wait: ServiceTime  # until the paired Vietnamese truck is at the yard

    @model_validator(mode="after")
    def _step_named(self) -> Traditional:
        names = [s.name for s in self.steps]
        if self.transshipment_step not in names:
            raise ValueError(f"transshipment_step {self.transshipment_step!r} is not one of {names}")
        return self


class FaultSpec(Strict):
    mtbf_h: Annotated[float, Field(ge=0.01, le=1_000_000)]  # hours between failures: up to a century
    mttr_min: Annotated[float, Field(gt=0, le=43_200)]  # minutes to repair: a month at most


class Faults(Strict):
    """Breakdowns per device kind; a kind left out never breaks down."""

    carrier: FaultSpec | None = None
    crane: FaultSpec | None = None
    scanner: FaultSpec | None = None
    weighbridge: FaultSpec | None = None
    gate: FaultSpec | None = None  # plate camera and barrier of one gate lane




Port = Annotated[int, Field(ge=1, le=65535)]
SideName = Literal["vietnam", "china"]
CraneId = Annotated[str, Field(pattern=r"^(VN|CN)-crane-\d{1,3}$")]


class FieldProblem(ValueError):
    """A check across fields that names the one field at fault: `path`, its `value`."""

    def __init__(self, path: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.value = value


# --- the fault campaign: faults injected at set times ------------------------------------

FAULT_KINDS = ("carrier_breakdown", "connection_loss", "crane_failure", "scanner_down", "plate_misreads", "weighbridge_drift")
FaultName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")]
FaultMinutes = Annotated[float, Field(gt=0, le=43_200)]  # a month at most (and within the run)
CarrierIds = Annotated[
    list[Annotated[str, Field(pattern=CARRIER_ID_PATTERN)]], Field(min_length=1, max_length=1000)
]


def _twice(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


class InjectedFault(Strict):
    """One fault of the campaign: `at_h` model hours from the start, for `duration_min`."""

    name: FaultName  # unique within the campaign: it names the fault's row in the report
    at_h: Annotated[float, Field(ge=0, le=24 * 60)]
    duration_min: FaultMinutes

    def windows_s(self) -> list[tuple[float, float]]:
        """When the fault is in force, as (start, end) model seconds."""
        start = self.at_h * 3600
        return [(start, start + self.duration_min * 60)]

    def end_s(self) -> float:
        return self.windows_s()[-1][1]


class CarrierFault(InjectedFault):
    """Carriers named by id, or `count` of them picked when the fault strikes: those on
    the corridor first (carrying a container first), then the others, by id."""

    carriers: CarrierIds | None = None
    count: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _which(self) -> CarrierFault:
        if (self.carriers is None) == (self.count is None):
            raise ValueError("give either carriers (their ids) or count, not both and not neither")
        twice = _twice(self.carriers or [])
        if twice:
            raise ValueError(f"carrier {', '.join(twice)} is listed twice")
        return self


class CarrierBreakdown(CarrierFault):
    kind: Literal["carrier_breakdown"]


class ConnectionLoss(CarrierFault):
    """Bursts of lost connection: `bursts` of `duration_min` each, one starting every
    `spacing_min`. A carrier without its link drives on the base it was given and stops
    at its end; what master control sends it waits until it is back."""

    kind: Literal["connection_loss"]
    bursts: Annotated[int, Field(ge=1, le=100)] = 1
    spacing_min: FaultMinutes | None = None  # from the start of one burst to the start of the next

    @model_validator(mode="after")
    def _bursts_apart(self) -> ConnectionLoss:
        if self.bursts > 1 and self.spacing_min is None:
            raise ValueError(f"{self.bursts} bursts need spacing_min")
        if self.bursts == 1 and self.spacing_min is not None:
            raise ValueError("spacing_min only applies to more than one burst")
        if self.spacing_min is not None and self.spacing_min <= self.duration_min:
            raise ValueError(
                f"spacing_min ({self.spacing_min:g}) must exceed duration_min ({self.duration_min:g}): bursts would overlap"
            )
        return self

    def windows_s(self) -> list[tuple[float, float]]:
        start, length = self.at_h * 3600, self.duration_min * 60
        every = (self.spacing_min or 0) * 60
        return [(start + k * every, start + k * every + length) for k in range(self.bursts)]


class CraneFailure(InjectedFault):
    kind: Literal["crane_failure"]
    cranes: Annotated[list[CraneId], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _once_each(self) -> CraneFailure:
        twice = _twice(self.cranes)
        if twice:
            raise ValueError(f"crane {', '.join(twice)} is listed twice")
        return self


class ScannerDown(InjectedFault):
    kind: Literal["scanner_down"]
    yard: SideName
    scanners: Annotated[int, Field(ge=1, le=100)] | None = None  # how many of the yard's; all if left out


class PlateMisreads(InjectedFault):
    """A share of the plates the yard's gate camera reads in the window are read wrong
    (a character off, low confidence): an officer checks the truck's papers."""

    kind: Literal["plate_misreads"]
    yard: SideName
    share: Annotated[float, Field(gt=0, le=1)]  # of the trucks read in the window


class WeighbridgeDrift(InjectedFault):
    """The yard's weighbridges read `drift_pct` % off (span) plus `drift_kg` (zero)."""

    kind: Literal["weighbridge_drift"]
    yard: SideName
    drift_pct: Annotated[float, Field(ge=-50, le=50)] = 0.0
    drift_kg: Annotated[float, Field(ge=-20_000, le=20_000)] = 0.0

    @model_validator(mode="after")
    def _drifts(self) -> WeighbridgeDrift:
        if self.drift_pct == 0 and self.drift_kg == 0:
            raise ValueError("a drift needs drift_pct or drift_kg other than 0")
        return self


CampaignFault = CarrierBreakdown | ConnectionLoss | CraneFailure | ScannerDown | PlateMisreads | WeighbridgeDrift
AnyInjectedFault = Annotated[CampaignFault, Field(discriminator="kind")]
CAMPAIGN_MAX = 20  # each fault is simulated alone too: a campaign of 20 is 22 runs


class Endpoint(Strict):
    host: str = "127.0.0.1"
    port: Port


class BridgedVehicle(Strict):
    """A carrier of the fleet that is a VDA 5050 vehicle (real or emulated)."""

    carrier: Annotated[str, Field(pattern=CARRIER_ID_PATTERN)]  # the fleet id the controllers use
    version: Literal["2.0.0", "2.1.0", "3.0.0"] = "2.1.0"  # 3.0.0: on the v3 topics
    # its identity on the broker, where it is not the fleet's maker or its carrier id
    manufacturer: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^/#+]+$")] | None = None
    serial: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None
    interface: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/#+]+$")] = "uagv"


class Vehicles(Strict):
    broker: Endpoint
    manufacturer: Annotated[str, Field(min_length=1, pattern=r"^[^/#+]+$")] = "LangSonTwin"
    state_timeout_s: PositiveSeconds = 10.0  # a vehicle silent this long counts as disconnected
    carriers: Annotated[list[BridgedVehicle], Field(min_length=1)]


class BridgedCrane(Strict):
    crane: Annotated[str, Field(pattern=r"^(VN|CN)-crane-\d+$")]
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://[^/\s]+:\d+(/.*)?$")]


class BridgedGate(Strict):
    """One gate lane's barrier and weighbridge behind a Modbus TCP server."""

    yard: SideName
    endpoint: Endpoint
    barrier_timeout_s: PositiveSeconds = 30.0  # a barrier that has not moved by then is reported


class BridgedCamera(Strict):
    """A plate camera: `frames: twin` hands it rendered frames of each truck the twin sends."""

    yard: SideName
    frames: Literal["twin"] = "twin"
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # more captures before an officer reads the plate
    frames_per_truck: Annotated[int, Field(ge=1, le=20)] = 3  # frames taken per capture, at most
    agree: Annotated[int, Field(ge=1, le=20)] = 2  # the capture stops once this many frames read the plate surely
    crop_dir: str | None = None  # where full-size plate crops are kept for officers (none: thumbnails only)

    @model_validator(mode="after")
    def _agree_within_frames(self) -> BridgedCamera:
        if self.agree > self.frames_per_truck:
            raise ValueError(f"agree ({self.agree}) cannot exceed frames_per_truck ({self.frames_per_truck})")
        return self


class Devices(Strict):
    """The devices that are bridged to real or emulated hardware; all others are simulated."""

    vehicles: Vehicles | None = None
    cranes: list[BridgedCrane] = []
    gates: list[BridgedGate] = []
    cameras: list[BridgedCamera] = []

    @model_validator(mode="after")
    def _once_each(self) -> Devices:
        listed: tuple[tuple[str, list[str]], ...] = (
            ("carrier", [v.carrier for v in self.vehicles.carriers] if self.vehicles else []),
            ("crane", [c.crane for c in self.cranes]),
            ("gate of yard", [g.yard for g in self.gates]),
            ("camera of yard", [c.yard for c in self.cameras]),
        )
        for what, names in listed:
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what} {', '.join(twice)} is listed twice")
        return self


class Realtime(Strict):
    """Mixed mode runs on the wall clock; `speed` model seconds pass per wall second."""

    speed: Annotated[float, Field(gt=0, le=SPEED_MAX)] = 1.0
    tick_s: Annotated[float, Field(ge=0.005, le=1.0)] = 0.05


class Scenario(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    site: Site
    lanes: Annotated[list[LaneDirection], Field(min_length=4, max_length=14)]
    block_length_m: Annotated[float, Field(ge=10, le=500)] = 50.0
    yards: Yards
    fleet: Fleet
    demand: Demand
    traditional: Traditional | None = None
    faults: Faults = Faults()
    controller: ControllerName = "fifo"
    duration_h: Annotated[float, Field(gt=0, le=24 * 60)] = 24.0
    warmup_h: Annotated[float, Field(ge=0, le=24 * 60)] = 0.0
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    sample_interval_min: Annotated[float, Field(gt=0, le=240)] = 5.0
    devices: Devices | None = None  # mixed mode: the bridged devices
    realtime: Realtime = Realtime()
    campaign: Annotated[list[AnyInjectedFault], Field(max_length=CAMPAIGN_MAX)] = []  # faults at set times

    @model_validator(mode="after")
    def _bridged_devices_exist(self) -> Scenario:
        if self.devices is None:
            return self
        fleet = {carrier_id(i) for i in range(self.fleet.carriers)}
        if self.devices.vehicles:
            for v in self.devices.vehicles.carriers:
                if v.carrier not in fleet:
                    raise ValueError(f"devices: carrier {v.carrier} is not in a fleet of {self.fleet.carriers}")
        for c in self.devices.cranes:
            prefix, number = c.crane.split("-crane-")
            yard = self.yards.vietnam if prefix == "VN" else self.yards.china
            if not 1 <= int(number) <= yard.cranes:
                raise ValueError(f"devices: crane {c.crane} does not exist; that yard has {yard.cranes}")
        return self

    @model_validator(mode="after")
    def _a_charge_drives_a_round_trip(self) -> Scenario:
        fleet = self.fleet
        usable_km = fleet.battery_kwh * (1 - fleet.low_battery_pct / 100) / fleet.consumption_kwh_per_km
        trip_km = 2 * (self.site.corridor_length_m() + 2 * self.site.yard_access_m) / 1000
        if usable_km < trip_km:
            raise ValueError(
                f"fleet: a charge drives {usable_km:.2f} km above the low-battery mark "
                f"({fleet.battery_kwh:g} kWh, {fleet.consumption_kwh_per_km:g} kWh/km), less than one round trip of {trip_km:.2f} km"
            )
        return self

    @model_validator(mode="after")
    def _warmup(self) -> Scenario:
        if self.warmup_h >= self.duration_h:
            raise ValueError("warmup_h must be shorter than duration_h")
        if "to_china" not in self.lanes and "reversible" not in self.lanes:
            raise ValueError("no lane can carry containers to China")
        if "to_vietnam" not in self.lanes and "reversible" not in self.lanes:
            raise ValueError("no lane can carry containers to Vietnam")
        return self


    @model_validator(mode="after")
    def _campaign_fits(self) -> Scenario:
        """Each injected fault within the measured run, on devices the scenario has and simulates."""
        names = [f.name for f in self.campaign]
        for i, fault in enumerate(self.campaign):
            here = f"campaign[{i}]"
            if fault.name in names[:i]:
                raise FieldProblem(f"{here}.name", fault.name, "another fault of the campaign has this name")
            if fault.at_h < self.warmup_h:
                raise FieldProblem(f"{here}.at_h", fault.at_h, f"before the end of the warm-up at {self.warmup_h:g} h: it would not be measured")
            if fault.end_s() > self.duration_h * 3600 + 1e-6:
                raise FieldProblem(
                    f"{here}.at_h", fault.at_h,
                    f"the fault lasts until {fault.end_s() / 3600:g} h, past the end of the run at {self.duration_h:g} h",
                )
            self._campaign_devices(here, fault)
        return self

    def _campaign_devices(self, here: str, fault: InjectedFault) -> None:
        bridged = self.devices or Devices()
        if isinstance(fault, CarrierFault):
            fleet = self.fleet.carriers
            vehicles = {v.carrier for v in bridged.vehicles.carriers} if bridged.vehicles else set()
            for cid in fault.carriers or []:
                if not 1 <= int(cid.split("-")[1]) <= fleet:
                    raise FieldProblem(f"{here}.carriers", cid, f"no such carrier in a fleet of {fleet} ({carrier_id(0)}..{carrier_id(fleet - 1)})")
                if cid in vehicles:
                    raise FieldProblem(f"{here}.carriers", cid, "a bridged vehicle: its faults are its own, not injected")
            if fault.count is not None and fault.count > fleet - len(vehicles):
                raise FieldProblem(f"{here}.count", fault.count, f"more than the {fleet - len(vehicles)} simulated carriers of the fleet")
        elif isinstance(fault, CraneFailure):
            real = {c.crane for c in bridged.cranes}
            for crane in fault.cranes:
                prefix, number = crane.split("-crane-")
                yard = self.yards.vietnam if prefix == "VN" else self.yards.china
                if not 1 <= int(number) <= yard.cranes:
                    raise FieldProblem(f"{here}.cranes", crane, f"no such crane; that yard has {yard.cranes}")
                if crane in real:
                    raise FieldProblem(f"{here}.cranes", crane, "a bridged crane: its faults are its own, not injected")
        elif isinstance(fault, ScannerDown):
            servers = getattr(self.yards, fault.yard).stations.scanner.servers
            if fault.scanners is not None and fault.scanners > servers:
                raise FieldProblem(f"{here}.scanners", fault.scanners, f"the {fault.yard} yard has {servers} scanners")
        elif isinstance(fault, PlateMisreads):
            if fault.yard in {c.yard for c in bridged.cameras}:
                raise FieldProblem(f"{here}.yard", fault.yard, "that yard's camera is bridged: it reads real frames")
        elif isinstance(fault, WeighbridgeDrift):
            if fault.yard in {g.yard for g in bridged.gates}:
                raise FieldProblem(f"{here}.yard", fault.yard, "that yard's weighbridge is bridged: its readings are its own")


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is meant for the user."""


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _describe(err: ErrorDetails) -> str:
    raw = err["loc"]
    # neither a validator's name nor a campaign entry's kind (the union's tag) is a field
    loc = tuple(
        p
        for i, p in enumerate(raw)
        if not (isinstance(p, str) and p.startswith("function-"))
        and not (p in FAULT_KINDS and i > 0 and isinstance(raw[i - 1], int))
    )
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown key (a typo?)"
    value = err.get("input")
    ctx = err.get("ctx", {})
    problem = ctx.get("error")
    if isinstance(problem, FieldProblem):  # a check across fields that names its field
        loc, value = (problem.path,), problem.value
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):  # a campaign entry's kind
        key = str(ctx.get("discriminator", "kind")).strip("'")
        loc, value = (*loc, key), value.get(key) if isinstance(value, dict) else None
        if value is None:
            return f"{_field_path(loc)}: missing; one of {', '.join(FAULT_KINDS)}"
        reason = f"not a kind of fault; one of {', '.join(FAULT_KINDS)}"
    # a whole mapping says nothing the reason does not: show plain values only
    shown = "" if err["type"] == "missing" or isinstance(value, dict) else f" = {value!r}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{_field_path(loc)}{shown}: {reason}"


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML data; raise ScenarioError naming source and field."""
    if data is None:
        raise ScenarioError(f"{source}: the file is empty")
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise ScenarioError(f"{source}: " + "\n  ".join(lines)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    path = Path(path)
    try:
        text = read_text_bounded(path)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    except YamlRefused as exc:
        raise ScenarioError(f"{path}: refused: {exc}") from None
    try:
        data = load_yaml(text)
    except YamlRefused as exc:
        raise ScenarioError(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_scenario(data, str(path))
