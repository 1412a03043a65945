"""Running a study on Dask: every run a task, each stored as it ends, more seeds where
the interval is still wide.

A LocalCluster with one worker process per core is the default; `scheduler` names an
existing cluster (tcp://HOST:PORT) instead. A task whose worker dies is run again
(`RETRIES`), so a lost worker costs only the runs it had. Each finished run is one
Parquet file under DIR/runs/ (its factors, seed, KPIs and time series), written whole
or not at all: a study started again on the same DIR reads what is there and runs only
what is missing. At the end DIR/runs.parquet holds every run and DIR/study.json each
point's KPIs with their 95% intervals.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from twin.compare import interval
from twin.kpi import to_json
from twin.scenario import Scenario
from twin.study import KPIS, Study, point_id, points, run_point, scenario_for

RETRIES = 2


@dataclass
class Progress:
    done: int = 0
    total: int = 0  # runs known to be needed so far: it grows when a point needs more seeds
    ran: int = 0  # runs this invocation made (the others were stored before)


@dataclass
class PointState:
    point: dict[str, Any]
    scenario: dict[str, Any]
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # by seed
    running: set[int] = field(default_factory=set)


def _run_file(out: Path, pid: str, seed: int) -> Path:
    return out / "runs" / f"{pid}-seed{seed}.parquet"


def _write_row(path: Path, row: dict[str, Any]) -> None:
    """Write the run's file whole, or not at all (a killed study leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist([row]), partial)
    os.replace(partial, path)


def _read_row(path: Path) -> dict[str, Any] | None:
    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowInvalid):
        return None  # unreadable: run again
    return rows[0] if len(rows) == 1 else None


def _wide(state: PointState, study: Study) -> bool:
    """Whether the point needs another seed: its interval is wider than asked, and it may."""
    rep = study.replications
    n = len(state.rows)
    if n < rep.min:
        return True
    if n >= rep.max:
        return False
    values = [state.rows[s][rep.kpi] for s in sorted(state.rows)]
    return bool(interval(values)["half_width"] > rep.half_width)


def run_study(
    study: Study,
    base: Scenario,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Run the study into `out`; `stop_after` ends it after that many new runs (as a
    kill would, for resuming)."""
    from dask.distributed import Client, LocalCluster, as_completed

    out.mkdir(parents=True, exist_ok=True)
    states: dict[str, PointState] = {}
    for point in points(study):
        pid = point_id(point)
        states[pid] = PointState(point, scenario_for(base, study, point).model_dump(mode="json"))
    seeds = [base.seed + k for k in range(study.replications.max)]
    for pid, state in states.items():  # what an earlier start of the study finished
        for seed in seeds:
            path = _run_file(out, pid, seed)
            if path.exists() and (row := _read_row(path)) is not None:
                state.rows[seed] = row
    progress = Progress(done=sum(len(s.rows) for s in states.values()))

    def free_seed(state: PointState) -> int | None:
        return next((s for s in seeds if s not in state.rows and s not in state.running), None)

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        pending = as_completed()

        def submit(pid: str, seed: int) -> None:
            state = states[pid]
            state.running.add(seed)
            job = {"point_id": pid, "point": state.point, "scenario": state.scenario, "seed": seed}
            future = client.submit(run_point, job, key=f"run-{study.name}-{pid}-{seed}", retries=RETRIES, pure=False)
            pending.add(future)

        for pid, state in states.items():
            while len(state.rows) + len(state.running) < study.replications.min:
                first = free_seed(state)
                if first is None:
                    break
                submit(pid, first)
            if not state.running and _wide(state, study) and (more := free_seed(state)) is not None:
                submit(pid, more)  # stored before, at least `min`, still wide
        _refresh_total(progress, states, study)
        if on_progress:
            on_progress(progress)
        stopped = False
        for future in pending:
            row = future.result()
            pid, seed = row["point_id"], row["seed"]
            state = states[pid]
            state.running.discard(seed)
            _write_row(_run_file(out, pid, seed), row)
            state.rows[seed] = row
            progress.done += 1
            progress.ran += 1
            if stop_after is not None and progress.ran >= stop_after:
                stopped = True
                break
            if not state.running and _wide(state, study) and (more := free_seed(state)) is not None:
                submit(pid, more)
            _refresh_total(progress, states, study)
            if on_progress:
                on_progress(progress)
        if stopped:
            client.cancel(list(pending.futures))
            return {"stopped": True, "ran": progress.ran}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _finish(study, states, out, progress)


def _refresh_total(progress: Progress, states: dict[str, PointState], study: Study) -> None:
    progress.total = sum(max(len(s.rows) + len(s.running), study.replications.min) for s in states.values())


def _finish(study: Study, states: dict[str, PointState], out: Path, progress: Progress) -> dict[str, Any]:
    rows = [row for state in states.values() for _, row in sorted(state.rows.items())]
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "timeseries"} for r in rows]),
                   out / "runs.parquet")
    result: dict[str, Any] = {
        "study": study.model_dump(mode="json"),
        "headline": study.replications.kpi,
        "runs": len(rows),
        "ran": progress.ran,
        "points": [],
    }
    for pid, state in states.items():
        ordered = [state.rows[s] for s in sorted(state.rows)]
        kpis = {name: interval([r[name] for r in ordered]) for name in KPIS}
        headline = kpis[study.replications.kpi]
        result["points"].append({
            "point_id": pid,
            "factors": state.point,
            "seeds": sorted(state.rows),
            "kpis": kpis,
            "converged": headline["half_width"] <= study.replications.half_width,
            "containers_lost": sum(r["containers_lost"] for r in ordered),
            "safety_violations": sum(r["safety_violations"] for r in ordered),
            "bottlenecks": sorted({r["bottleneck"] for r in ordered if r["bottleneck"]}),
        })
    (out / "study.json").write_text(to_json(result), encoding="utf-8")
    return result

