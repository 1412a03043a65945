"""The KPI table a planner reads in the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

DIRECTION_TITLES = {"export": "Export VN→CN", "import": "Import CN→VN"}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def render(summary: dict[str, Any], console: Console) -> None:
    head = (
        f"[bold]{summary['scenario']}[/] · {summary['lanes']} lanes · controller {summary['controller']} · "
        f"seed {summary['seed']} · {summary['duration_h']:g} h (warm-up {summary['warmup_h']:g} h)"
    )
    if summary["demand_scale"] != 1:
        head += f" · demand ×{summary['demand_scale']:g}"
    console.print(head)
    if "warning" in summary:
        console.print(f"[bold yellow]{summary['warning']}[/]")

    table = Table(title="Per direction", title_justify="left")
    table.add_column("KPI")
    for d in summary["directions"]:
        table.add_column(DIRECTION_TITLES.get(d, d), justify="right")
    rows: list[tuple[str, Any]] = [
        ("containers moved per day", lambda k: f"{k['containers_per_day']:.0f}"),
        ("containers delivered", lambda k: str(k["containers_delivered"])),
        ("truck wait mean / p50 (min)", lambda k: f"{_minutes(k['truck_wait_s']['mean'])} / {_minutes(k['truck_wait_s']['p50'])}"),
        ("truck wait p95 / max (min)", lambda k: f"{_minutes(k['truck_wait_s']['p95'])} / {_minutes(k['truck_wait_s']['max'])}"),
        ("container dwell mean / p95 (min)", lambda k: f"{_minutes(k['dwell_s']['mean'])} / {_minutes(k['dwell_s']['p95'])}"),
        ("trucks in yard mean / max", lambda k: f"{k['queue_trucks']['mean']:.1f} / {k['queue_trucks']['max']}"),
        ("late perishable / perishable", lambda k: f"{k['late_perishable']} / {k['perishable_delivered']}"),
        ("carrier energy (kWh)", lambda k: f"{k['energy_kwh']:.0f}"),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(k) for k in summary["directions"].values()))
    console.print(table)

    util = Table(title="Utilisation (busiest first)", title_justify="left")
    util.add_column("resource")
    util.add_column("busy", justify="right")
    ranked = sorted(summary["utilisation"].items(), key=lambda kv: -kv[1])
    lanes = [v for k, v in ranked if k.startswith("lane_")]
    shown = [(k, v) for k, v in ranked if not k.startswith("lane_")][:10]
    if lanes:
        shown.append((f"lanes (mean of {len(lanes)}; busiest {max(lanes):.0%})", sum(lanes) / len(lanes)))
    for name, value in shown:
        util.add_row(name, f"{value:.0%}")
    console.print(util)

    b = summary["bottleneck"]
    console.print(f"Bottleneck: [bold]{b['resource']}[/] at {b['utilisation']:.0%} busy")
    console.print(
        f"Lane congestion: carriers stood {summary['carrier_block_wait_h']:.1f} h waiting for blocks "
        f"({summary['carrier_block_wait_share']:.1%} of fleet time)"
    )
    if "traditional" in summary:
        t = summary["traditional"]
        console.print(
            f"Traditional road: {t['trucks_per_day']:.0f} trucks/day, time in system mean "
            f"{_minutes(t['time_in_system_s']['mean'])} min, p95 {_minutes(t['time_in_system_s']['p95'])} min"
        )
    style = "green" if summary["safety_violations"] == 0 and summary["deadlocks"] == 0 else "bold red"
    console.print(
        f"[{style}]Safety violations: {summary['safety_violations']} ({summary['blocks_checked']} block entries checked)"
        f" · deadlocks: {summary['deadlocks']}[/]"
    )
    console.print(
        f"Containers: {summary['containers_arrived']} arrived = {summary['containers_delivered']} delivered"
        f" + {summary['containers_in_system']} in the system + {summary['containers_lost']} lost"
    )


def render_comparison(result: dict[str, Any], console: Console) -> None:
    """Each KPI for each controller with its 95% interval, and the paired difference
    against the baseline."""
    base = result["baseline"]
    names = list(result["controllers"])
    console.print(
        f"[bold]{result['scenario']}[/] · {len(result['seeds'])} seeds ({result['seeds'][0]}..{result['seeds'][-1]})"
        f" · {result['duration_h']:g} h · mean ± 95% half-width"
    )
    table = Table()
    table.add_column("KPI")
    for name in names:
        table.add_column(name, justify="right")
    for name in names[1:]:
        table.add_column(f"{name} − {base}", justify="right")
    for kpi in result["controllers"][base]:
        cells = [f"{result['controllers'][n][kpi]['mean']:,.1f} ± {result['controllers'][n][kpi]['half_width']:,.1f}" for n in names]
        for n in names[1:]:
            d = result["differences"][n][kpi]
            cells.append(f"{d['mean']:+,.1f} ± {d['half_width']:,.1f}")
        table.add_row(kpi, *cells)
    console.print(table)
