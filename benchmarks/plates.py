"""How well and how fast the cameras read plates and container codes, on CPU.

A named labelled set of synthetic 1280×720 scenes (hardware_bridge.plate_scenes: every
Vietnamese and Chinese plate format, ISO 6346 codes painted across and down the doors,
each scene under one condition — clean, tilt, perspective, blur, noise, low JPEG
quality, night, overexposure, mud, rain, distance) is written into a temporary folder
as JPEG files and read back through `camera.frames(folder)` by one `PlateReader` as
shipped, frame by frame, as a gate lane would:

- exact-match share per country, per format, per layout and per condition, with
  hits/n; wrong reads (a valid plate or code other than the label) are counted apart,
  because they are the costly error, and their rate over all scenes is given;
- plates read in container frames, which hold none (false plates);
- the time of `reader.read(frame)` for a whole frame, p50 and p99 (wall and CPU), with
  the finder's share; plate reads per second over the plate frames, one after another.

The `development` set (seed 1) is for tuning a reader; the `test` set (seed 2, a wider
look) is the one to report.

    python benchmarks/plates.py [--set development|test] [--count 300] [--containers 40] [--record]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import NA, cell, provenance, record  # noqa: E402
from hardware_bridge import camera  # noqa: E402
from hardware_bridge.plate_scenes import CONDITIONS, CONTAINER_FORMATS, PLATE_FORMATS, SETS, write_set  # noqa: E402

TARGET_ACCURACY = 0.95  # exact, per country and for container codes
TARGET_WRONG = 0.005  # wrong reads over all scenes: a wrong plate is worse than none
TARGET_CPU_MS = 100.0  # CPU time of a whole frame, p99


@dataclass(frozen=True, slots=True)
class Outcome:
    """One scene: its label and what the reader made of it."""

    label: dict[str, str]  # the labels.csv row
    got: str | None  # the best reading of the label's kind, None if none

    @property
    def hit(self) -> bool:
        return self.got == self.label["text"]

    @property
    def wrong(self) -> bool:
        return self.got is not None and not self.hit


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def share(outcomes: Iterable[Outcome]) -> tuple[float | None, int, int, int]:
    """Share read exactly (None where there is no such scene), hits, scenes, wrong reads."""
    items = list(outcomes)
    hits = sum(o.hit for o in items)
    return (hits / len(items) if items else None), hits, len(items), sum(o.wrong for o in items)


def _row(title: str, outcomes: Iterable[Outcome]) -> str:
    acc, hits, n, wrong = share(outcomes)
    return f"| {title} | {cell(acc, '.1%')} | {hits}/{n} | {wrong} |"


def breakdown(outcomes: list[Outcome], column: str, order: Iterable[str], title: str,
              name: Callable[[str], str] = str) -> str:
    """A table of exact-match share per value of a label column, in `order`, values the
    set does not hold left out."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.label[column]].append(o)
    lines = [f"| {title} | exact | hits/n | wrong |", "|---|---:|---:|---:|"]
    lines += [_row(name(value), groups[value]) for value in order if value in groups]
    return "\n".join(lines)


def conditions_table(outcomes: list[Outcome]) -> str:
    """Per condition, plates and container codes side by side."""
    lines = ["| condition | plates exact | hits/n | wrong | codes exact | hits/n | wrong |", "|---|---:|---:|---:|---:|---:|---:|"]
    for condition in [*CONDITIONS, "mild"]:
        plates = [o for o in outcomes if o.label["condition"] == condition and o.label["kind"] == "plate"]
        codes = [o for o in outcomes if o.label["condition"] == condition and o.label["kind"] == "container"]
        if not plates and not codes:
            continue
        p, c = share(plates), share(codes)
        lines.append(
            f"| {condition} | {cell(p[0], '.1%')} | {p[1]}/{p[2]} | {p[3] if plates else NA} "
            f"| {cell(c[0], '.1%')} | {c[1]}/{c[2]} | {c[3] if codes else NA} |"
        )
    return "\n".join(lines)


_COUNTRY = {"vietnam": "Vietnamese plates", "china": "Chinese plates", "": "container codes (ISO 6346, check digit verified)"}
_LAYOUT = {"one_line": "plates, one line", "two_line": "plates, two lines", "horizontal": "codes, across", "vertical": "codes, down the door post"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the figures into benchmarks/RESULTS.md")
    parser.add_argument("--set", choices=sorted(SETS), default="test", help="the named set to read (default test)")
    parser.add_argument("--count", type=int, default=300, help="plate scenes, half per country (default 300)")
    parser.add_argument("--containers", type=int, default=40, help="container-door scenes (default 40)")
    args = parser.parse_args()
    if args.count < 2 or args.containers < 0:
        parser.error("--count must be 2 or more and --containers 0 or more")
    spec = SETS[args.set]

    load_before = os.getloadavg()[0]
    reader = camera.PlateReader()  # as shipped
    load_start = time.perf_counter()
    reader.warm_up()
    load_s = time.perf_counter() - load_start
    finder = getattr(camera, "find_candidates", None)
    outcomes: list[Outcome] = []
    frame_ms: list[float] = []
    finder_ms: list[float] = []
    cpu_ms: list[float] = []
    plate_s = 0.0
    false_plates = 0
    with tempfile.TemporaryDirectory() as folder:
        gen_start = time.perf_counter()
        labels_csv = write_set(Path(folder), args.count, spec.seed, args.containers, spec.variety)
        gen_s = time.perf_counter() - gen_start
        with labels_csv.open(encoding="utf-8") as f:
            labels = {row["file"]: row for row in csv.DictReader(f)}
        for name, frame in camera.frames(folder):
            label = labels[name]
            start, cpu = time.perf_counter(), time.process_time()
            readings = reader.read(frame)
            elapsed = time.perf_counter() - start
            frame_ms.append(elapsed * 1000)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            if finder is not None:
                start = time.perf_counter()
                finder(frame)
                finder_ms.append((time.perf_counter() - start) * 1000)
            got = camera.best(readings, label["kind"])  # type: ignore[arg-type]
            outcomes.append(Outcome(label, got.text if got is not None else None))
            if label["kind"] == "plate":
                plate_s += elapsed
            else:
                false_plates += camera.best(readings, "plate") is not None

    by_country = {c: [o for o in outcomes if o.label["country"] == c] for c in _COUNTRY}
    plates = by_country["vietnam"] + by_country["china"]
    all_wrong = share(outcomes)[3]
    countries = "\n".join(
        ["| scenes | exact | hits/n | wrong |", "|---|---:|---:|---:|"]
        + [_row(title, by_country[c]) for c, title in _COUNTRY.items() if by_country[c]]
        + [_row("all plates", plates), _row("all scenes", outcomes)]
    )
    formats = breakdown(outcomes, "format", [*PLATE_FORMATS["vietnam"], *PLATE_FORMATS["china"], *CONTAINER_FORMATS], "format")
    layouts = breakdown(outcomes, "layout", list(_LAYOUT), "layout", lambda v: _LAYOUT[v])
    per_condition = conditions_table(outcomes)

    p50, p99 = statistics.median(frame_ms), _pct(frame_ms, 0.99)
    load_after = os.getloadavg()[0]
    timing = [
        "| figure | value |",
        "|---|---:|",
        f"| wrong reads over all {len(outcomes)} scenes (a valid plate or code not the label's) "
        f"| {all_wrong} ({all_wrong / len(outcomes):.1%}) |",
        f"| plates read in the {args.containers} container frames (false plates) "
        f"| {false_plates if args.containers else NA} |",
        f"| whole 1280×720 frame, `read`, p50 ({len(frame_ms)} frames) | {p50:.1f} ms |",
        f"| whole frame, p99 | {p99:.1f} ms |",
        f"| whole frame, max | {max(frame_ms):.1f} ms |",
        f"| CPU time of this process per frame, p50 / p99 | {statistics.median(cpu_ms):.1f} / {_pct(cpu_ms, 0.99):.1f} ms |",
        f"| of which the finder on the 640 px copy, p50 | {cell(statistics.median(finder_ms) if finder_ms else None, '.1f', ' ms')} |",
        f"| frames the cheap finder could not read, handed to the text detector | {reader.detected} of {len(frame_ms)} |",
        f"| plate reads per second (plate frames one after another, one reader) "
        f"| {cell(len(plates) / plate_s if plate_s else None, '.1f')} |",
        f"| model load and first read | {load_s:.2f} s |",
        f"| scenes generated and written | {gen_s:.1f} s |",
        f"| machine load average (1 min) before / after, other work included "
        f"| {load_before:.2f} / {load_after:.2f} |",
    ]
    tables = "\n\n".join([countries, formats, layouts, per_condition, "\n".join(timing)])
    print(tables)
    shares = [share(by_country[c])[0] for c in ("vietnam", "china", "") if by_country[c]]
    met_accuracy = all(s is not None and s >= TARGET_ACCURACY for s in shares)
    met_wrong = all_wrong / len(outcomes) <= TARGET_WRONG
    cpu_p99 = _pct(cpu_ms, 0.99)

    def said(met: bool) -> str:
        return "met" if met else "NOT met"

    verdict = (
        f"Targets: at least {TARGET_ACCURACY:.0%} exact per country and for codes — {said(met_accuracy)}; "
        f"wrong reads at most {TARGET_WRONG:.1%} ({all_wrong / len(outcomes):.1%}) — {said(met_wrong)}; "
        f"at most {TARGET_CPU_MS:.0f} ms CPU a frame at p99 ({cpu_p99:.0f} ms; p50 {statistics.median(cpu_ms):.0f} ms) "
        f"— {said(cpu_p99 <= TARGET_CPU_MS)}."
    )
    print(verdict)
    if args.record:
        scenes = (
            f"CPU only; the {args.set} set (seed {spec.seed}, {spec.variety} look): {len(plates)} plate scenes "
            f"({len(by_country['vietnam'])} Vietnamese, {len(by_country['china'])} Chinese, every format) and "
            f"{args.containers} container doors, each under one condition, written as JPEG and read back from the "
            f"folder by `PlateReader()` as shipped. Recognition: rapidocr {_version('rapidocr')} "
            f"(PP-OCR rec model in the wheel) on onnxruntime {_version('onnxruntime')}"
        )
        note = (
            "*exact*: the reading of the label's kind equals the label; *wrong*: it is a valid plate or code but "
            f"not the label's (no reading is a miss, not a wrong read). \"{NA}\": not measured, or the set has "
            "no scene of that kind."
        )
        record(
            "## Cameras",
            f"## Cameras (benchmarks/plates.py)\n\n{provenance(scenes)}\n\n{tables}\n\n{verdict}\n\n{note}\n",
        )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
