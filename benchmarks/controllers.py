"""Controllers compared on the fruit peak: `checkpoint compare` run as a user runs it, and its
compare.json written out as a table.

Runs

    checkpoint compare scenarios/huu_nghi_8lane_fruit_peak.yaml --controllers fifo,greedy,cpsat
        --seeds 10 --out DIR [--workers N]

as a subprocess (the installed `checkpoint` command), times it, and turns DIR/compare.json
into the table of each KPI's mean ± 95% half-width per controller and the paired
differences of the last controller against each of the others. The differences against
the baseline (the first controller) are compare.json's own; the others are taken here from
the per-seed values in compare.json, paired seed by seed with the same Student's t
interval (checked against compare.json's on the baseline).

    python benchmarks/controllers.py [--record] [--workers N] [--seeds N] [--controllers a,b,c]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import load_average, provenance, record  # noqa: E402

SCENARIO = "scenarios/huu_nghi_8lane_fruit_peak.yaml"
HEAD = "## Controllers on the fruit peak"

# label, decimals, and what is counted (twin/kpi.py); a KPI not listed is shown by its key
KPIS: dict[str, tuple[str, int]] = {
    "truck_wait_p95_s": ("truck wait p95 (s)", 0),
    "truck_wait_mean_s": ("truck wait mean (s)", 0),
    "late_perishable": ("late perishable containers", 1),
    "containers_delivered": ("containers delivered", 0),
    "export_wait_p95_s": ("export truck wait p95 (s)", 0),
    "import_wait_p95_s": ("import truck wait p95 (s)", 0),
    "safety_violations": ("safety violations", 1),
    "deadlocks": ("deadlocks", 1),
}

# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom, as twin/compare.py has them
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def interval(values: list[float]) -> dict[str, Any]:
    """Mean and 95% half-width of independent replications (the formula of twin/compare.py)."""
    n = len(values)
    mean = statistics.fmean(values)
    half = 0.0
    if n > 1:
        t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
        half = t * statistics.stdev(values) / math.sqrt(n)
    return {"mean": round(mean, 3), "half_width": round(half, 3), "values": values}


def paired(a: list[float], b: list[float]) -> dict[str, Any]:
    if len(a) != len(b):
        raise ValueError(f"paired differences need as many values on both sides, not {len(a)} and {len(b)}")
    return interval([x - y for x, y in zip(a, b)])


def number(value: float, decimals: int, signed: bool = False) -> str:
    """`value` with `decimals` (more where it would otherwise show a nonzero as 0), thousands
    separated, a true minus sign, and '+' on a positive difference."""
    while decimals < 6 and value != 0 and round(abs(value), decimals) == 0:
        decimals += 1
    text = f"{abs(value):,.{decimals}f}"
    if round(value, decimals) == 0:
        return text
    if value < 0:
        return "−" + text
    return ("+" + text) if signed else text


def figure(iv: dict[str, Any], decimals: int, signed: bool = False) -> str:
    """'mean ± half-width'; the value alone where every seed gave the same one."""
    values = iv.get("values") or []
    if values and all(v == values[0] for v in values):
        value = float(values[0])
        return number(value, 0 if value.is_integer() else decimals, signed)
    return f"{number(iv['mean'], decimals, signed)} ± {number(iv['half_width'], decimals)}"


def table(result: dict[str, Any]) -> tuple[str, list[str]]:
    """The KPI table from compare.json, and the columns of differences it holds."""
    controllers = list(result["controllers"])
    base = result["baseline"]
    last = controllers[-1]
    others = [c for c in controllers if c != last]
    kpis = list(result["controllers"][base])
    diffs: dict[str, dict[str, dict[str, Any]]] = {}
    for other in others:
        if other == base:
            diffs[other] = result["differences"][last]
            for k in kpis:  # the interval here must be compare.json's
                mine = paired(result["controllers"][last][k]["values"], result["controllers"][base][k]["values"])
                theirs = diffs[other][k]
                if abs(mine["mean"] - theirs["mean"]) > 1e-6 + 1e-9 * abs(theirs["mean"]) or abs(
                    mine["half_width"] - theirs["half_width"]
                ) > 1e-3 + 1e-6 * abs(theirs["half_width"]):
                    raise ValueError(f"{k}: {last} − {base} here {mine} is not compare.json's {theirs}")
        else:
            diffs[other] = {
                k: paired(result["controllers"][last][k]["values"], result["controllers"][other][k]["values"])
                for k in kpis
            }
    columns = [f"{last} − {o}" for o in others]
    lines = [
        "| KPI | " + " | ".join(controllers + columns) + " |",
        "|---|" + "---:|" * (len(controllers) + len(columns)),
    ]
    for k in kpis:
        label, decimals = KPIS.get(k, (k, 1))
        cells = [figure(result["controllers"][c][k], decimals) for c in controllers]
        cells += [figure(diffs[o][k], decimals, signed=True) for o in others]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines), columns


def notes(result: dict[str, Any], columns: list[str]) -> str:
    seeds = result["seeds"]
    base = result["baseline"]
    last = list(result["controllers"])[-1]
    seed_text = f"seeds {seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"seeds {seeds}"
    text = [
        f"Mean ± 95% half-width (Student's t) over {len(seeds)} runs of {result['duration_h']:g} h, {seed_text}; "
        "a figure without ± was the same in every run. Every controller runs the same seeds, so sees the same "
        "trucks, and a difference is taken seed by seed, then its mean and half-width.",
    ]
    if columns:
        computed = [c for c in columns if not c.endswith(f" − {base}")]
        text.append(
            f"*{last} − {base}* is compare.json's own difference"
            + (
                f"; {', '.join(f'*{c}*' for c in computed)} taken here from compare.json's per-seed values in the "
                "same way." if computed else "."
            )
        )
    text.append(
        "What is counted (twin/kpi.py): *truck wait*, a delivering truck's time from its arrival at the yard to "
        "its release once a crane has lifted its container, over the trucks released during the run (one still "
        "waiting at the end is not in it; export and import: the trucks of that direction), p95 and mean per run; "
        "*containers delivered*, containers that left the far yard on their receiving truck during the run; "
        "*late perishable containers*, perishable containers delivered after their deadline (one still in the "
        "system at the end is not counted, late or not); *safety violations*, breaches the twin's safety monitor "
        "found; *deadlocks*, those its deadlock watch found."
    )
    return "\n\n".join(text)


def checkpoint_command() -> str:
    """The installed `checkpoint` command: next to this Python, else on PATH."""
    here = Path(sys.executable).parent / "checkpoint"
    found = str(here) if here.exists() else shutil.which("checkpoint")
    if found is None:
        sys.exit("controllers: no `checkpoint` command; install the project (pip install -e .)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the section into benchmarks/RESULTS.md")
    parser.add_argument("--controllers", default="fifo,greedy,cpsat", help="passed to compare (default fifo,greedy,cpsat)")
    parser.add_argument("--seeds", type=int, default=10, help="passed to compare (default 10)")
    parser.add_argument("--workers", type=int, help="passed to compare (default: compare's, one per core)")
    parser.add_argument("--out", type=Path, help="keep compare.json in this folder (default: a temporary one)")
    args = parser.parse_args()

    shown = ["checkpoint", "compare", SCENARIO, "--controllers", args.controllers, "--seeds", str(args.seeds)]
    if args.workers is not None:
        shown += ["--workers", str(args.workers)]
    before = provenance()  # taken before the run: the tree as it ran
    load_before = load_average()
    niceness = os.nice(0)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        command = [checkpoint_command(), *shown[1:], "--out", str(out)]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=False)
        wall = time.perf_counter() - start
        result_file = out / "compare.json"
        if done.returncode not in (0, 1) or not result_file.exists():
            sys.exit(f"controllers: `{' '.join(shown)}` failed (exit status {done.returncode}, no compare.json)")
        result = json.loads(result_file.read_text(encoding="utf-8"))
    load_after = load_average()
    text, columns = table(result)
    explained = notes(result, columns)
    print(text + "\n\n" + explained)
    if done.returncode == 1:
        print("controllers: compare exited 1: a controller had safety violations or deadlocks", file=sys.stderr)
    if args.record:
        loads = (
            f"; machine load average (1 min) before / after {load_before:.2f} / {load_after:.2f}, other work included"
            if load_before is not None and load_after is not None
            else ""
        )
        run = (
            f"`{' '.join(shown)} --out DIR` ({wall:.0f} s wall, "
            + (f"{args.workers} worker{'s' if args.workers != 1 else ''}" if args.workers else "compare's default workers")
            + (f", niceness {niceness}" if niceness else "")
            + f"{loads}); scenario {result['scenario']!r}, written by `python benchmarks/controllers.py --record"
            + (f" --workers {args.workers}" if args.workers is not None else "")
            + "`"
        )
        section = f"{HEAD} (benchmarks/controllers.py)\n\n{before[:-1]}; {run}.\n\n{text}\n\n{explained}\n"
        record(HEAD, section)


if __name__ == "__main__":
    main()
