"""A fault campaign measured: the scenario run without its campaign (the baseline), with
each injected fault alone, and with all of them, on the same seed.

For each run: the containers lost (the container balance, and every container where
the world says it is: on the carrier that carries it, on the stack that holds it),
safety violations, deadlocks, and the cost against the baseline in containers
delivered and in truck waiting (mean and p95). A campaign passes when no run loses a
container or violates safety. `render` prints the table, `to_json` (twin.kpi) writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from twin.carrier import SimCarrier
from twin.kpi import summarise, to_json, write_outputs
from twin.scenario import CampaignFault, Scenario
from twin.world import World
from twin.yard import SimCamera, Weighbridge

BASELINE = "baseline"
ALL = "all faults"


def misplaced(world: World) -> int:
    """Containers that are not where the world's record of them says: on a carrier
    that does not carry them, on a stack that does not hold them, or carried twice."""
    carried: dict[str, int] = {}
    for carrier in world.carriers.values():
        if carrier.load is not None:
            carried[carrier.load] = carried.get(carrier.load, 0) + 1
    stacked = {cid for yard in world.yards.values() for cid in yard.stack}
    wrong = 0
    for cid, c in world.containers.items():
        if c.location == "carrier":
            wrong += carried.get(cid, 0) != 1
        elif c.location == "stack":
            wrong += cid not in stacked
        else:
            wrong += cid in carried or cid in stacked
    wrong += sum(1 for cid in carried if cid not in world.containers)
    return wrong


def measure(world: World) -> dict[str, Any]:
    """What the campaign table reads of one finished run."""
    s = summarise(world)
    yards = world.yards.values()
    alarms = world.controller.stations.alarms
    return {
        "containers_arrived": s["containers_arrived"],
        "containers_delivered": s["containers_delivered"],
        "containers_in_system": s["containers_in_system"],
        "containers_lost": s["containers_lost"] + misplaced(world),
        "safety_violations": s["safety_violations"],
        "deadlocks": s["deadlocks"],
        "unexplained_stops": s["unexplained_stops"],
        "commands_refused": s["commands_refused"],
        "truck_wait_mean_s": s["truck_wait_s"]["mean"],
        "truck_wait_p95_s": s["truck_wait_s"]["p95"],
        "late_perishable": s["late_perishable"],
        "carrier_breakdowns": s["carrier_breakdowns"],
        "link_losses": sum(c.link_losses for c in world.carriers.values() if isinstance(c, SimCarrier)),
        "plates_misread": sum(y.camera.misreads for y in yards if isinstance(y.camera, SimCamera)),
        "weighings_drifted": sum(y.weighbridge.drifted for y in yards if isinstance(y.weighbridge, Weighbridge)),
        "drift_alarms": sum(1 for a in alarms if a.kind == "fault" and "weighbridge" in a.device_id),
        "scanner_alarms": sum(1 for a in alarms if a.kind == "fault" and "scanner" in a.device_id),
        # what the world knows of the weighing and the controllers cannot
        "weights_missed": sum(y.weights_missed for y in yards),  # a declaration off beyond the tolerance let through
        "weights_flagged_wrongly": sum(y.weights_flagged_wrongly for y in yards),  # an honest truck inspected
        "strikes": [
            {"fault": k.fault, "at_h": round(k.start_s / 3600, 4), "until_h": round(k.end_s / 3600, 4), "devices": list(k.devices)}
            for k in world.injected
        ],
    }


def _against(run: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    delivered = run["containers_delivered"] - base["containers_delivered"]
    return {
        "delivered_diff": delivered,
        "delivered_diff_pct": round(100 * delivered / base["containers_delivered"], 2) if base["containers_delivered"] else None,
        "truck_wait_mean_diff_s": round(run["truck_wait_mean_s"] - base["truck_wait_mean_s"], 1),
        "truck_wait_p95_diff_s": round(run["truck_wait_p95_s"] - base["truck_wait_p95_s"], 1),
    }


def _window(faults: list[CampaignFault]) -> list[float]:
    spans = [w for f in faults for w in f.windows_s()]
    return [round(min(s for s, _ in spans) / 3600, 4), round(max(e for _, e in spans) / 3600, 4)]


def run_campaign(
    scenario: Scenario,
    *,
    seed: int | None = None,
    demand_scale: float = 1.0,
    controller: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], World]:
    """Every run of the campaign; returns the result and the world with all the faults."""
    campaign = list(scenario.campaign)
    variants: list[tuple[str, list[CampaignFault]]] = [(BASELINE, []), *((f.name, [f]) for f in campaign)]
    if len(campaign) > 1:
        variants.append((ALL, campaign))
    measured: dict[str, dict[str, Any]] = {}
    world_all: World | None = None
    for name, faults in variants:
        if progress is not None:
            progress(name)
        world = World(scenario.model_copy(update={"campaign": faults}), seed=seed, demand_scale=demand_scale, controller=controller)
        world.run()
        measured[name] = measure(world)
        if faults == campaign:
            world_all = world
    assert world_all is not None
    base = measured[BASELINE]
    rows: list[dict[str, Any]] = []
    for name, faults in variants[1:]:
        row: dict[str, Any] = {"name": name, "kind": faults[0].kind if len(faults) == 1 else "all", "window_h": _window(faults)}
        row.update(measured[name])
        row["vs_baseline"] = _against(measured[name], base)
        rows.append(row)
    failures = [
        f"{r['name']}: {r['containers_lost']} containers lost, {r['safety_violations']} safety violations"
        for r in [{"name": BASELINE, **base}, *rows]
        if r["containers_lost"] or r["safety_violations"]
    ]
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "controller": world_all.controller_name,
        "seed": world_all.seed,
        "demand_scale": demand_scale,
        "duration_h": scenario.duration_h,
        "baseline": base,
        "runs": rows,
        "ok": not failures,
        "failures": failures,
    }
    return result, world_all


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _effect(row: dict[str, Any]) -> str:
    """What the fault did, in a few words."""
    kind = row["kind"]
    struck = sorted({d for k in row["strikes"] for d in k["devices"]})
    if kind in ("carrier_breakdown", "crane_failure"):
        return f"{len(struck)} down ({', '.join(struck)})"
    if kind == "scanner_down":
        return f"{', '.join(struck)} down; scanner alarms {row['scanner_alarms']}"
    if kind == "connection_loss":
        return f"{len(row['strikes'])} bursts, {row['link_losses']} links lost ({len(struck)} carriers)"
    if kind == "plate_misreads":
        return f"{row['plates_misread']} plates misread, each checked by an officer"
    if kind == "weighbridge_drift":
        return (
            f"{row['weighings_drifted']} weighings drifted, drift alarms {row['drift_alarms']}; "
            f"{row['weights_missed']} misdeclared let through, {row['weights_flagged_wrongly']} honest trucks inspected"
        )
    return (
        f"{len(row['strikes'])} strikes; links lost {row['link_losses']}, plates misread {row['plates_misread']}, "
        f"drift alarms {row['drift_alarms']}, misdeclared let through {row['weights_missed']}"
    )


def _hours(window: list[float]) -> str:
    return f"{round(window[0], 2):g}–{round(window[1], 2):g}"


def render(result: dict[str, Any], console: Console) -> None:
    """The campaign table: one row a fault, then all of them, against the baseline."""
    base = result["baseline"]
    console.print(
        f"[bold]Fault campaign[/] · {result['scenario']} · controller {result['controller']} · seed {result['seed']}"
        f" · {result['duration_h']:g} h"
    )
    table = Table(title_justify="left")
    for column, justify in (
        ("run", "left"), ("kind", "left"), ("window h", "right"), ("lost", "right"), ("safety", "right"),
        ("deadlocks", "right"), ("delivered (Δ)", "right"), ("wait mean min (Δ)", "right"), ("wait p95 min (Δ)", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_row(
        BASELINE, "no injected fault", "", str(base["containers_lost"]), str(base["safety_violations"]),
        str(base["deadlocks"]), str(base["containers_delivered"]), _minutes(base["truck_wait_mean_s"]),
        _minutes(base["truck_wait_p95_s"]), end_section=True,
    )
    for row in result["runs"]:
        vs = row["vs_baseline"]
        pct = "" if vs["delivered_diff_pct"] is None else f", {vs['delivered_diff_pct']:+.1f}%"
        table.add_row(
            row["name"],
            row["kind"].replace("_", " "),
            _hours(row["window_h"]),
            f"[bold red]{row['containers_lost']}[/]" if row["containers_lost"] else "0",
            f"[bold red]{row['safety_violations']}[/]" if row["safety_violations"] else "0",
            str(row["deadlocks"]),
            f"{row['containers_delivered']} ({vs['delivered_diff']:+d}{pct})",
            f"{_minutes(row['truck_wait_mean_s'])} ({vs['truck_wait_mean_diff_s'] / 60:+.1f})",
            f"{_minutes(row['truck_wait_p95_s'])} ({vs['truck_wait_p95_diff_s'] / 60:+.1f})",
        )
    console.print(table)
    for row in result["runs"]:
        console.print(f"  {row['name']}: {_effect(row)}", highlight=False)
    if result["ok"]:
        console.print("[green]No run lost a container or violated safety.[/]")
    else:
        for failure in result["failures"]:
            console.print(f"[bold red]{failure}[/]")


def simulate(
    scenario: Scenario,
    console: Console,
    *,
    seed: int | None,
    demand_scale: float,
    controller: str | None,
    out: Path | None,
    quiet: bool,
) -> int:
    """`checkpoint simulate` of a scenario with a campaign: the KPIs of the run with all
    its faults, then the campaign table. Exit code 1 if a run lost a container or
    violated safety."""
    from twin.report import render as render_kpis

    started = time.perf_counter()
    runs = 1 + len(scenario.campaign) + (len(scenario.campaign) > 1)
    if console.is_terminal and not quiet:
        from rich.progress import Progress

        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"fault campaign: {runs} runs of {scenario.duration_h:g} h", total=runs)

            def step(name: str) -> None:
                bar.update(task, description=f"fault campaign: {name}", advance=0 if name == BASELINE else 1)

            result, world = run_campaign(scenario, seed=seed, demand_scale=demand_scale, controller=controller, progress=step)
    else:
        result, world = run_campaign(scenario, seed=seed, demand_scale=demand_scale, controller=controller)
    wall = time.perf_counter() - started
    if out is not None:
        write_outputs(world, summarise(world), out)
        (out / "campaign.json").write_text(to_json(result), encoding="utf-8")
    if not quiet:
        render_kpis(summarise(world), console)
        render(result, console)
        console.print(f"[dim]{runs} runs, {wall:.2f} s of wall time[/]")
        if out is not None:
            console.print(f"Wrote {out / 'summary.json'}, {out / 'timeseries.csv'} and {out / 'campaign.json'}")
    return 0 if result["ok"] else 1
