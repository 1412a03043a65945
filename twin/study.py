"""A planner's study: a base scenario, the factors to vary and how many runs each point
needs, read from one YAML file and checked whole before anything runs.

    name: lanes_vs_demand
    base: ../huu_nghi_8lane.yaml      # relative to the study file
    duration_h: 24                    # optional: each run's length (and warmup_h)
    design: grid                      # every combination; or latin_hypercube with samples
    factors:
      lanes: [4, 6, 8, 14]
      demand_scale: [0.8, 1.2]
    replications: {kpi: truck_wait_p95_s, half_width: 900, min: 3, max: 10}

A point is one setting of the factors. Its runs use the seeds base seed, base seed + 1,
... (the same seeds at every point: common random numbers), and more are run until the
95% interval of the headline KPI is within `half_width` (in the KPI's unit), or `max`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from controllers.limits import MAX_LANES, ControllerName
from twin.kpi import summarise
from twin.safe_yaml import YamlRefused, load_yaml, read_text_bounded
from twin.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from twin.world import World

# the headline KPIs a study may steer its replications by, read from a run's summary
KPIS: dict[str, Callable[[dict[str, Any]], float]] = {
    "truck_wait_p95_s": lambda s: s["truck_wait_s"]["p95"],
    "truck_wait_mean_s": lambda s: s["truck_wait_s"]["mean"],
    "containers_per_day": lambda s: s["containers_delivered"] / max(s["measured_h"], 1e-9) * 24,
    "containers_delivered": lambda s: s["containers_delivered"],
    "late_perishable": lambda s: s["late_perishable"],
}
MAX_POINTS = 500  # a grid beyond this is a typo, or a study for a cluster and its own file
MAX_SEEDS = 100

Lanes = Annotated[int, Field(ge=4, le=MAX_LANES)]
Carriers = Annotated[int, Field(ge=1, le=1000)]
Cranes = Annotated[int, Field(ge=1, le=100)]
Scanners = Annotated[int, Field(ge=1, le=50)]
Scale = Annotated[float, Field(gt=0, le=20)]
Season = Annotated[float, Field(gt=0, le=10)]
Mtbf = Annotated[float, Field(ge=0.1, le=100_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factors(Strict):
    """The levels of each factor: a list (grid), or for a Latin hypercube of numbers [low, high]."""

    lanes: list[Lanes] | None = None  # lanes in the corridor: half each way, an odd one reversible
    carriers: list[Carriers] | None = None  # the fleet
    cranes: list[Cranes] | None = None  # cranes in each yard
    scanners: list[Scanners] | None = None  # scanners in each yard
    demand_scale: list[Scale] | None = None  # times the scenario's demand (both directions)
    season_multiplier: list[Season] | None = None  # the fruit season: times the export demand
    carrier_mtbf_h: list[Mtbf] | None = None  # hours between carrier breakdowns
    controller: list[ControllerName] | None = None

    def named(self) -> dict[str, list[Any]]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Replications(Strict):
    kpi: Literal["truck_wait_p95_s", "truck_wait_mean_s", "containers_per_day", "containers_delivered", "late_perishable"]
    half_width: Annotated[float, Field(gt=0, le=1e9)]  # the 95% interval's half-width to reach, in the KPI's unit
    min: Annotated[int, Field(ge=2, le=MAX_SEEDS)] = 3
    max: Annotated[int, Field(ge=2, le=MAX_SEEDS)] = 10

    @model_validator(mode="after")
    def _ordered(self) -> Replications:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Study(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,80}$")]
    description: str = ""
    base: str  # the base scenario, relative to the study file
    duration_h: Annotated[float, Field(gt=0, le=24 * 60)] | None = None
    warmup_h: Annotated[float, Field(ge=0, le=24 * 30)] | None = None
    design: Literal["grid", "latin_hypercube"] = "grid"
    samples: Annotated[int, Field(ge=1, le=MAX_POINTS)] | None = None  # points of a Latin hypercube
    design_seed: Annotated[int, Field(ge=0, le=2**31)] = 0
    factors: Factors
    replications: Replications

    @model_validator(mode="after")
    def _design(self) -> Study:
        named = self.factors.named()
        if not named:
            raise ValueError("factors: name at least one factor to vary")
        for name, levels in named.items():
            if not levels:
                raise ValueError(f"factors.{name}: give at least one level")
            if len(set(map(str, levels))) != len(levels):
                raise ValueError(f"factors.{name}: a level is given twice")
        if self.design == "grid":
            if self.samples is not None:
                raise ValueError("samples: only a latin_hypercube has samples; a grid takes every combination")
            if math.prod(len(v) for v in named.values()) > MAX_POINTS:
                raise ValueError(f"factors: the grid has more than {MAX_POINTS} points")
        else:
            if self.samples is None:
                raise ValueError("samples: a latin_hypercube needs the number of points")
            for name, levels in named.items():
                if name != "controller" and len(levels) != 2:
                    raise ValueError(f"factors.{name}: a latin_hypercube takes [low, high] for a number")
        return self


class StudyError(Exception):
    """A study file that cannot be run; the message names the file, the field and the reason."""


def load_study(path: str | Path) -> tuple[Study, Scenario]:
    """Read a study and its base scenario, and check every point's scenario before any runs."""
    path = Path(path)
    try:
        data = load_yaml(read_text_bounded(path))
    except OSError as exc:
        raise StudyError(f"{path}: cannot read the file ({exc.strerror})") from None
    except (YamlRefused, UnicodeDecodeError) as exc:
        raise StudyError(f"{path}: refused: {exc}") from None
    except Exception as exc:  # the YAML parser's own errors
        raise StudyError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: the top level must be a mapping of keys")
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            reason = "unknown key (a typo?)" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {reason}")
        raise StudyError(f"{path}: " + "\n  ".join(lines)) from None
    try:
        base = load_scenario(path.parent / study.base)
    except ScenarioError as exc:
        raise StudyError(f"{path}: base: {exc}") from None
    for point in points(study):
        try:
            scenario_for(base, study, point)
        except ScenarioError as exc:
            raise StudyError(f"{path}: the point {point} gives a scenario that cannot run: {exc}") from None
    return study, base


def points(study: Study) -> list[dict[str, Any]]:
    """Every point of the design, in a stable order."""
    named = study.factors.named()
    if study.design == "grid":
        return [dict(zip(named, combo, strict=True)) for combo in itertools.product(*named.values())]
    rng = random.Random(study.design_seed)
    n = study.samples or 1
    columns: dict[str, list[Any]] = {}
    for name, levels in named.items():
        if name == "controller":
            columns[name] = [levels[i % len(levels)] for i in range(n)]
        else:
            low, high = levels
            cells = [(i + rng.random()) / n for i in range(n)]  # one value in each of n strata
            values = [low + c * (high - low) for c in cells]
            columns[name] = [round(v) for v in values] if isinstance(low, int) and isinstance(high, int) else [round(v, 4) for v in values]
        rng.shuffle(columns[name])
    return [{name: columns[name][i] for name in named} for i in range(n)]


def point_id(point: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(point, sort_keys=True).encode()).hexdigest()[:10]


def lanes_of(count: int) -> list[str]:
    half = count // 2
    return ["to_china"] * half + ["to_vietnam"] * half + ["reversible"] * (count % 2)


def scenario_for(base: Scenario, study: Study, point: dict[str, Any]) -> Scenario:
    """The base scenario with the point's factors set (the demand scale and the
    controller are given to the run, not written in the scenario)."""
    data = base.model_dump(mode="json")
    if study.duration_h is not None:
        data["duration_h"] = study.duration_h
    if study.warmup_h is not None:
        data["warmup_h"] = study.warmup_h
    for name, value in point.items():
        if name == "lanes":
            data["lanes"] = lanes_of(value)
        elif name == "carriers":
            data["fleet"]["carriers"] = value
        elif name == "cranes":
            for side in ("vietnam", "china"):
                data["yards"][side]["cranes"] = value
        elif name == "scanners":
            for side in ("vietnam", "china"):
                data["yards"][side]["stations"]["scanner"]["servers"] = value
        elif name == "season_multiplier":
            data["demand"]["season_multiplier"] = value
        elif name == "carrier_mtbf_h":
            faults = data.setdefault("faults", {}) or {}
            carrier = faults.get("carrier") or {"mttr_min": 60.0}  # est.: an hour to tow and fix
            faults["carrier"] = {**carrier, "mtbf_h": value}
            data["faults"] = faults
    return parse_scenario(data, f"{base.name} at {point}")


def run_point(job: dict[str, Any]) -> dict[str, Any]:
    """One run of one point with one seed (on a worker): its row for the study's table."""
    scenario = parse_scenario(job["scenario"], job["point_id"])
    started = time.perf_counter()
    point = job["point"]
    world = World(scenario, seed=job["seed"], demand_scale=point.get("demand_scale", 1.0),
                  controller=point.get("controller"))
    world.run()
    summary = summarise(world)
    row: dict[str, Any] = {"point_id": job["point_id"], **{f"factor_{k}": v for k, v in point.items()}, "seed": job["seed"]}
    for name, read in KPIS.items():
        row[name] = float(read(summary))
    row.update(
        containers_arrived=summary["containers_arrived"],
        containers_in_system=summary["containers_in_system"],
        containers_lost=summary["containers_lost"],
        safety_violations=summary["safety_violations"],
        deadlocks=summary["deadlocks"],
        bottleneck=summary["bottleneck"]["resource"] or "",
        bottleneck_utilisation=float(summary["bottleneck"]["utilisation"] or 0.0),
        wall_s=round(time.perf_counter() - started, 3),
        summary=json.dumps(summary, default=str),
        timeseries=world.timeseries,
    )
    return row
