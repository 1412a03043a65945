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
from twin.safe_yaml import YamlRefused, load_yaml

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
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
    mean_s: NonNegativeFloat
    low_s: NonNegativeFloat | None = None
    high_s: NonNegativeFloat | None = None
    cv: PositiveFloat | None = None  # coefficient of variation, lognormal only

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

    name: str
    crs: Literal["EPSG:9215", "EPSG:32648"] = "EPSG:9215"
    vietnam_yard: LatLon
    china_yard: LatLon
    border_point: LatLon
    corridor_path: Annotated[list[LatLon], Field(min_length=2)]
    lane_spacing_m: Annotated[float, Field(gt=0, le=20)] = 3.75
    yard_access_m: Annotated[float, Field(ge=0, le=2000)] = 150.0  # yard-internal drive to a lane end
    # the id of the map free-navigating vehicles are given node positions in (twin/map_frame.py)
    map_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] = "lang-son-corridor"


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
    staging_capacity_trucks: Annotated[int, Field(ge=1)]
    stack_capacity_containers: Annotated[int, Field(ge=1)]
    chargers: Annotated[int, Field(ge=0, le=200)]
    stations: Stations
    pickup_delay: ServiceTime  # receiving truck's arrival after the container leaves the far yard


class Yards(Strict):
    vietnam: Yard
    china: Yard


class Fleet(Strict):
    carriers: Annotated[int, Field(ge=1, le=1000)]
    speed_kmh: Annotated[float, Field(gt=0, le=80)]
    battery_kwh: PositiveFloat
    consumption_kwh_per_km: PositiveFloat
    charge_rate_kw: PositiveFloat
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


HourlyRates = Annotated[list[NonNegativeFloat], Field(min_length=24, max_length=24)]


class DirectionDemand(Strict):
    trucks_per_hour: HourlyRates  # one container a truck; index 0 is 00:00-01:00 local time
    cargo_mix: CargoMix


class WeightRange(Strict):
    low_t: PositiveFloat
    high_t: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self) -> WeightRange:
        if self.low_t > self.high_t:
            raise ValueError("low_t must not exceed high_t")
        return self


class Demand(Strict):
    export: DirectionDemand  # Vietnam -> China
    import_: DirectionDemand = Field(alias="import")  # China -> Vietnam
    fruit_deadline_h: PositiveFloat  # from arrival at the first yard to leaving the far one
    season_multiplier: PositiveFloat = 1.0
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
    capacity_trucks_per_hour: PositiveFloat  # the road gate's admission rate
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
    mtbf_h: PositiveFloat
    mttr_min: PositiveFloat


class Faults(Strict):
    """Breakdowns per device kind; a kind left out never breaks down."""

    carrier: FaultSpec | None = None
    crane: FaultSpec | None = None
    scanner: FaultSpec | None = None
    weighbridge: FaultSpec | None = None
    gate: FaultSpec | None = None  # plate camera and barrier of one gate lane


Port = Annotated[int, Field(ge=1, le=65535)]
SideName = Literal["vietnam", "china"]


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
    state_timeout_s: PositiveFloat = 10.0  # a vehicle silent this long counts as disconnected
    carriers: Annotated[list[BridgedVehicle], Field(min_length=1)]


class BridgedCrane(Strict):
    crane: Annotated[str, Field(pattern=r"^(VN|CN)-crane-\d+$")]
    endpoint: Annotated[str, Field(pattern=r"^opc\.tcp://[^/\s]+:\d+(/.*)?$")]


class BridgedGate(Strict):
    """One gate lane's barrier and weighbridge behind a Modbus TCP server."""

    yard: SideName
    endpoint: Endpoint
    barrier_timeout_s: PositiveFloat = 30.0  # a barrier that has not moved by then is reported


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
    name: str
    description: str = ""
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
    warmup_h: NonNegativeFloat = 0.0
    seed: int = 1
    sample_interval_min: Annotated[float, Field(gt=0, le=240)] = 5.0
    devices: Devices | None = None  # mixed mode: the bridged devices
    realtime: Realtime = Realtime()

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
    def _warmup(self) -> Scenario:
        if self.warmup_h >= self.duration_h:
            raise ValueError("warmup_h must be shorter than duration_h")
        if "to_china" not in self.lanes and "reversible" not in self.lanes:
            raise ValueError("no lane can carry containers to China")
        if "to_vietnam" not in self.lanes and "reversible" not in self.lanes:
            raise ValueError("no lane can carry containers to Vietnam")
        return self


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
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown key (a typo?)"
    value = err.get("input")
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    try:
        data = load_yaml(text)
    except YamlRefused as exc:
        raise ScenarioError(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_scenario(data, str(path))
