"""Planners' studies: a study file checked whole before anything runs, its runs on a
local Dask cluster, seeds added where the interval is wide, each run stored as it ends,
and a killed study resumed without running again what was finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.study import StudyError, lanes_of, load_study, points
from twin.study_runner import run_study

BASE = ROOT / "scenarios" / "huu_nghi_4lane.yaml"


def write_study(folder: Path, **changes: Any) -> Path:
    study: dict[str, Any] = {
        "name": "small",
        "base": str(BASE),
        "duration_h": 2,
        "warmup_h": 0.25,
        "factors": {"lanes": [4, 8]},
        "replications": {"kpi": "containers_delivered", "half_width": 1e6, "min": 2, "max": 3},
    }
    for key, value in changes.items():
        if value is None:
            study.pop(key, None)
        else:
            study[key] = value
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def checkpoint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "checkpoint", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"factors": {}}, "at least one factor"),
        ({"factors": {"lanes": [3]}}, "factors.lanes.0"),
        ({"factors": {"lanes": [4, 20]}}, "factors.lanes.1"),
        ({"factors": {"lanes": [4, 4]}}, "given twice"),
        ({"factors": {"wheels": [4]}}, "factors.wheels: unknown key"),
        ({"factors": {"carriers": [0]}}, "factors.carriers.0"),
        ({"factors": {"demand_scale": [1e308]}}, "factors.demand_scale.0"),
        ({"factors": {"controller": ["magic"]}}, "factors.controller.0"),
        ({"factors": {"lanes": list(range(4, 15)), "carriers": list(range(1, 60))}}, "more than 500 points"),
        ({"replications": {"kpi": "happiness", "half_width": 1}}, "replications.kpi"),
        ({"replications": {"kpi": "containers_delivered", "half_width": -1}}, "replications.half_width"),
        ({"replications": {"kpi": "containers_delivered", "half_width": 1, "min": 5, "max": 3}}, "below min"),
        ({"design": "latin_hypercube"}, "needs the number of points"),
        ({"samples": 4}, "only a latin_hypercube"),
        ({"design": "latin_hypercube", "samples": 3, "factors": {"lanes": [4, 6, 8]}}, "[low, high]"),
        ({"base": "nowhere.yaml"}, "base: "),
        ({"base": "/dev/zero"}, "more than 1,000,000 characters"),
        ({"duration_h": 0}, "duration_h"),
        ({"name": "no spaces allowed"}, "name"),
        ({"factors": {"cranes": [1], "carriers": [1]}, "base": str(ROOT / "scenarios" / "hil_huu_nghi.yaml")}, "cannot run"),
    ],
)
def test_a_bad_study_is_refused_before_anything_runs(tmp_path: Path, changes: dict[str, Any], named: str) -> None:
    path = write_study(tmp_path, **changes)
    with pytest.raises(StudyError) as refused:
        load_study(path)
    assert str(path) in str(refused.value) and named in str(refused.value)


def test_the_command_refuses_a_bad_study_and_writes_nothing(tmp_path: Path) -> None:
    path = write_study(tmp_path, factors={"lanes": [2]})
    out = tmp_path / "out"
    result = checkpoint("study", str(path), "--out", str(out))
    assert result.returncode == 2 and "factors.lanes.0" in result.stderr and not out.exists()
    junk = tmp_path / "junk.yaml"
    junk.write_text("a: [unclosed", encoding="utf-8")
    assert "not valid YAML" in checkpoint("study", str(junk), "--out", str(out)).stderr


def test_a_latin_hypercube_puts_one_point_in_each_stratum(tmp_path: Path) -> None:
    study, _ = load_study(write_study(tmp_path, design="latin_hypercube", samples=5,
                                      factors={"demand_scale": [0.5, 1.5], "carriers": [20, 70]}))
    chosen = points(study)
    assert len(chosen) == 5
    for name, (low, high) in (("demand_scale", (0.5, 1.5)), ("carriers", (20, 70))):
        strata = sorted(int((p[name] - low) / (high - low) * 5 - 1e-9) for p in chosen)
        assert strata == [0, 1, 2, 3, 4], (name, chosen)
    assert lanes_of(7) == ["to_china"] * 3 + ["to_vietnam"] * 3 + ["reversible"]


def test_a_study_runs_on_dask_adds_seeds_where_the_interval_is_wide_and_stores_each_run(tmp_path: Path) -> None:
    study, base = load_study(write_study(
        tmp_path, factors={"lanes": [4, 8], "demand_scale": [0.5, 1.5]},
        replications={"kpi": "containers_delivered", "half_width": 1e-6, "min": 2, "max": 3},
    ))
    out = tmp_path / "out"
    seen: list[tuple[int, int]] = []
    result = run_study(study, base, out, workers=2, on_progress=lambda p: seen.append((p.done, p.total)))
    # nothing is within a half-width of a millionth of a container: every point gets the cap
    assert [len(p["seeds"]) for p in result["points"]] == [3, 3, 3, 3]
    assert result["runs"] == result["ran"] == 12 and seen[-1] == (12, 12)
    assert all(p["containers_lost"] == 0 and p["safety_violations"] == 0 for p in result["points"])
    files = sorted((out / "runs").glob("*.parquet"))
    assert len(files) == 12 and not list((out / "runs").glob("*.partial"))
    row = pq.read_table(files[0]).to_pylist()[0]
    assert {"point_id", "factor_lanes", "factor_demand_scale", "seed", "truck_wait_p95_s", "timeseries"} <= set(row)
    # the run's time series in the same row: a sample every sample_interval_min over the 2 h
    assert len(row["timeseries"]) >= 8 and row["timeseries"][-1]["time_h"] == pytest.approx(2.0, abs=0.5)
    table = pq.read_table(out / "runs.parquet").to_pylist()
    assert len(table) == 12 and "timeseries" not in table[0]
    stored = json.loads((out / "study.json").read_text(encoding="utf-8"))
    assert stored["headline"] == "containers_delivered" and len(stored["points"]) == 4
    # more demand delivers more at each lane count (the same seeds at every point)
    by = {(p["factors"]["lanes"], p["factors"]["demand_scale"]): p["kpis"]["containers_delivered"]["mean"] for p in stored["points"]}
    assert by[(4, 1.5)] > by[(4, 0.5)] and by[(8, 1.5)] > by[(8, 0.5)]
    # a loose half-width: the minimum is enough
    loose, _ = load_study(write_study(tmp_path, replications={"kpi": "containers_delivered", "half_width": 1e9, "min": 2, "max": 5}))
    again = run_study(loose, base, tmp_path / "loose", workers=1)
    assert [len(p["seeds"]) for p in again["points"]] == [2, 2]


def test_a_stopped_study_resumes_without_running_again_what_it_finished(tmp_path: Path) -> None:
    study, base = load_study(write_study(tmp_path))
    out = tmp_path / "out"
    first = run_study(study, base, out, workers=2, stop_after=2)
    assert first == {"stopped": True, "ran": 2}
    done = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert len(done) == 2
    rest = run_study(study, base, out, workers=2)
    assert rest["ran"] == rest["runs"] - 2
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # not written again
    fresh = run_study(study, base, tmp_path / "fresh", workers=1)
    assert [p["kpis"] for p in fresh["points"]] == [p["kpis"] for p in rest["points"]]  # same seeds, same numbers


def test_a_killed_study_command_resumes(tmp_path: Path) -> None:
    path = write_study(tmp_path, factors={"lanes": [4, 6, 8]}, replications={"kpi": "containers_delivered", "half_width": 1e9, "min": 3, "max": 3})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "checkpoint", "study", str(path), "--out", str(out), "--workers", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    try:
        while len(list((out / "runs").glob("*.parquet"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its workers
        proc.wait(10)
    finished = len(list((out / "runs").glob("*.parquet")))
    assert 2 <= finished < 9
    result = checkpoint("study", str(path), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"9 runs ({9 - finished} now, the others stored before)" in result.stdout


_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_keys = ["name", "base", "duration_h", "warmup_h", "design", "samples", "design_seed", "factors", "replications", "extra"]
_factor_keys = ["lanes", "carriers", "cranes", "scanners", "demand_scale", "season_multiplier", "carrier_mtbf_h", "controller", "junk"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.dictionaries(st.sampled_from(_keys), _junk, max_size=3),
    factors=st.dictionaries(st.sampled_from(_factor_keys), st.lists(_junk, max_size=3) | _junk, max_size=3),
)
def test_any_mutation_of_a_study_loads_or_is_refused_in_words(tmp_path: Path, top: dict[str, Any], factors: dict[str, Any]) -> None:
    path = write_study(tmp_path, **{k: v for k, v in top.items() if v is not None})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data.get("factors"), dict):
        data["factors"].update(factors)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        study, _ = load_study(path)
    except StudyError as exc:
        assert str(exc).startswith(str(path)) and len(str(exc)) < 4000
    else:
        assert 1 <= len(points(study)) <= 500
