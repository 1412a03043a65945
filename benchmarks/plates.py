"""How well and how fast the cameras read plates and container codes, on CPU.

A labelled set of synthetic 1280×720 scenes is written by hardware_bridge.plate_scenes
into a temporary folder as JPEG files (half Vietnamese plates, a third of them on two
lines; half Chinese; container doors besides) and read back through
`camera.frames(folder)` by one `PlateReader`, frame by frame, as a gate lane would:

- exact-match accuracy per country (and per Vietnamese layout), and for container
  codes; wrong reads (a valid plate or code other than the label) are counted apart,
  because they are the costly error;
- plates read in container frames, which hold none (false plates);
- the time of `reader.read(frame)` for a whole frame, p50 and p99 (wall and CPU),
  with the finder's share; plate reads per second over the plate frames, one after
  another. The reader runs as configured by default, its 85 ms budget per frame
  included: on a loaded machine it may give up a frame early (counted).

    python benchmarks/plates.py [--record] [--count 300] [--containers 40] [--seed 1]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import NA, cell, provenance, record  # noqa: E402
from hardware_bridge import camera  # noqa: E402
from hardware_bridge.plate_scenes import write_set  # noqa: E402

TARGET_ACCURACY = 0.95
TARGET_FRAME_MS = 100.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the figures into benchmarks/RESULTS.md")
    parser.add_argument("--count", type=int, default=300, help="plate scenes, half per country (default 300)")
    parser.add_argument("--containers", type=int, default=40, help="container-door scenes (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.count < 2 or args.containers < 0:
        parser.error("--count must be 2 or more and --containers 0 or more")

    load_before = os.getloadavg()[0]
    reader = camera.PlateReader()
    load_start = time.perf_counter()
    reader.warm_up()
    load_s = time.perf_counter() - load_start
    groups: dict[str, list[bool]] = defaultdict(list)
    wrong: dict[str, int] = defaultdict(int)
    frame_ms: list[float] = []
    finder_ms: list[float] = []
    cpu_ms: list[float] = []
    plate_s = 0.0
    false_plates = 0
    with tempfile.TemporaryDirectory() as folder:
        gen_start = time.perf_counter()
        labels_csv = write_set(Path(folder), args.count, args.seed, args.containers)
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
            start = time.perf_counter()
            camera.find_candidates(frame)
            finder_ms.append((time.perf_counter() - start) * 1000)
            got = camera.best(readings, label["kind"])  # type: ignore[arg-type]
            group = label["kind"] if label["kind"] == "container" else f"{label['country']}/{label['layout']}"
            groups[group].append(got is not None and got.text == label["text"])
            if got is not None and got.text != label["text"]:
                wrong[group] += 1
            if label["kind"] == "plate":
                plate_s += elapsed
            else:
                false_plates += camera.best(readings, "plate") is not None

    def accuracy(keys: list[str]) -> tuple[float | None, int, int]:
        """Share read exactly (None where the set has no such scene), hits, scenes."""
        hits = [h for k in keys for h in groups.get(k, [])]
        return (sum(hits) / len(hits) if hits else None), sum(hits), len(hits)

    vietnam = accuracy(["vietnam/one_line", "vietnam/two_line"])
    china = accuracy(["china/one_line"])
    plates_n = vietnam[2] + china[2]
    rows = [
        ("Vietnamese plates, exact match", vietnam, wrong["vietnam/one_line"] + wrong["vietnam/two_line"]),
        ("Vietnamese one-line (12C-123.45)", accuracy(["vietnam/one_line"]), wrong["vietnam/one_line"]),
        ("Vietnamese two-line (12-C1 / 123.45)", accuracy(["vietnam/two_line"]), wrong["vietnam/two_line"]),
        ("Chinese plates (桂A·12345), exact match", china, wrong["china/one_line"]),
        ("container codes (ISO 6346, check digit verified)", accuracy(["container"]), wrong["container"]),
    ]
    p50, p99 = statistics.median(frame_ms), _pct(frame_ms, 0.99)
    load_after = os.getloadavg()[0]
    lines = ["| figure | value |", "|---|---:|"]
    for title, (acc, hit, n), bad in rows:
        lines.append(f"| {title} | {cell(acc, '.1%')} ({hit}/{n}; {bad} wrong) |")
    lines += [
        f"| plates read in the {args.containers} container frames (false plates) "
        f"| {false_plates if args.containers else NA} |",
        f"| whole 1280×720 frame, `read`, p50 ({len(frame_ms)} frames) | {p50:.1f} ms |",
        f"| whole frame, p99 | {p99:.1f} ms |",
        f"| whole frame, max | {max(frame_ms):.1f} ms |",
        f"| CPU time of this process per frame, p50 / p99 | {statistics.median(cpu_ms):.1f} / {_pct(cpu_ms, 0.99):.1f} ms |",
        f"| of which the finder on the 640 px copy, p50 | {statistics.median(finder_ms):.1f} ms |",
        f"| frames given up at the {reader.budget_ms:.0f} ms budget before every candidate was read | {reader.cut_short} |",
        f"| plate reads per second (plate frames one after another, one reader) "
        f"| {cell(plates_n / plate_s if plate_s else None, '.1f')} |",
        f"| model load and first read | {load_s:.2f} s |",
        f"| scenes generated and written | {gen_s:.1f} s |",
        f"| machine load average (1 min) before / after, other work included "
        f"| {load_before:.2f} / {load_after:.2f} |",
    ]
    table = "\n".join(lines)
    print(table)
    met_accuracy = all(share is not None and share >= TARGET_ACCURACY for share in (vietnam[0], china[0]))
    met_time = p99 <= TARGET_FRAME_MS
    verdict = (
        f"Targets: at least {TARGET_ACCURACY:.0%} exact per country — {'met' if met_accuracy else 'NOT met'}; "
        f"at most {TARGET_FRAME_MS:.0f} ms a whole frame — {'met' if met_time else 'NOT met'} at p99 ({p99:.0f} ms)."
    )
    print(verdict)
    if args.record:
        scenes = (
            f"CPU only; {plates_n} plate scenes "
            f"(seed {args.seed}: {vietnam[2]} Vietnamese, {accuracy(['vietnam/two_line'])[2]} of them two-line; "
            f"{china[2]} Chinese) and {args.containers} container doors, with blur, noise, tilt, perspective "
            f"and low light, written as JPEG and read back from the folder. Recognition: rapidocr "
            f"{_version('rapidocr')} (PP-OCR rec model in the wheel) on onnxruntime {_version('onnxruntime')}"
        )
        note = f"\"{NA}\": the set has no scene of that kind (a share of none, or false plates without container frames)."
        record(
            "## Cameras",
            f"## Cameras (benchmarks/plates.py)\n\n{provenance(scenes)}\n\n{table}\n\n{verdict}\n\n{note}\n",
        )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
