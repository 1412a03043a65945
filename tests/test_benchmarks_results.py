"""The benchmarks' shared writer and table builders, on tiny inputs (no benchmark is run)."""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import controllers, twin_speed  # noqa: E402
from benchmarks.results import NA, cell, commit, provenance, record  # noqa: E402


def test_not_measured_is_a_dash_and_zero_stays_zero() -> None:
    assert cell(None) == NA == "—"
    assert cell(0) == "0"
    assert cell(1234.5, ".1f", " ms") == "1234.5 ms"


def test_record_replaces_its_section_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\nintro\n\n## A (a.py)\n\nold a\n## B (b.py)\n\nold b\n", encoding="utf-8")
    record("## A", "## A (a.py)\n\nnew a\n", path)
    record("## C", "## C (c.py)\n\nnew c\n", path)
    record("## B", "## B (b.py)\n\nnew b\n\n", path)
    assert path.read_text(encoding="utf-8") == (
        "# Benchmark results\n\nintro\n\n## A (a.py)\n\nnew a\n\n## B (b.py)\n\nnew b\n\n## C (c.py)\n\nnew c\n"
    )
    with pytest.raises(ValueError):
        record("## A", "## Z\n\nwrong heading\n", path)


def test_provenance_names_the_commit() -> None:
    sha = commit()
    assert sha and " " not in sha.replace(" + uncommitted changes", "")
    assert sha in provenance("x") and provenance("x").endswith("; x.")


def test_step_counter_counts_events_processed() -> None:
    env = simpy.Environment()

    def ticker(env: simpy.Environment) -> Generator[Any, Any, None]:
        for _ in range(5):
            yield env.timeout(1)

    env.process(ticker(env))
    counter = twin_speed.StepCounter(env)
    env.run()
    # the process's start, its five timeouts, and the process ending (its own event)
    assert counter.processed == 7
    env2 = simpy.Environment()
    env2.process(ticker(env2))
    counter2 = twin_speed.StepCounter(env2)
    env2.run(until=3)  # starts and timeouts at 1 and 2: the one at 3 comes after the until event
    assert counter2.processed == 3


def _case(wall: float, **more: object) -> dict[str, object]:
    return {"wall_s": wall, "peak_mib": 20.0, "same": True, **more}


def test_twin_speed_table_shows_unmeasured_figures_as_dashes() -> None:
    twin = {"sim_s": 86400, "events": 1000, "arrived": 10, "across": 9, "delivered": 8, "violations": 0, "deadlocks": 0}
    results = {name: _case(2.0, **twin) for name, spec in twin_speed.CASES.items() if spec[0] == "twin"}
    results[twin_speed.PLAIN] = _case(1.0, sim_s=86400, events=2000, across=9)
    results[twin_speed.BARE] = _case(0.5, sim_s=None, events=1000)
    text = twin_speed.table(results)
    plain = next(line for line in text.splitlines() if line.startswith(f"| {twin_speed.PLAIN} "))
    bare = next(line for line in text.splitlines() if line.startswith(f"| {twin_speed.BARE} "))
    assert plain.split("|")[8].strip() == NA  # delivered: no receiving trucks in the plain model
    assert plain.split("|")[9].strip() == "1.00"
    cells = [c.strip() for c in bare.split("|")[1:-1]]
    assert cells[2] == NA and cells[6] == NA and cells[7] == NA and cells[8] == NA
    assert cells[3] == "1,000" and cells[4] == "2,000"
    assert "| 0 |" not in bare


def test_controller_table_from_compare_json() -> None:
    def kpis(delivered: list[float], violations: list[float]) -> dict[str, dict[str, object]]:
        return {
            "containers_delivered": controllers.interval(delivered),
            "safety_violations": controllers.interval(violations),
        }

    fifo = kpis([100, 110, 120], [0, 0, 0])
    greedy = kpis([105, 112, 121], [0, 0, 0])
    cpsat = kpis([130, 135, 150], [0, 1, 0])
    result = {
        "scenario": "tiny",
        "seeds": [1, 2, 3],
        "duration_h": 24,
        "baseline": "fifo",
        "controllers": {"fifo": fifo, "greedy": greedy, "cpsat": cpsat},
        "differences": {
            c: {
                k: controllers.paired(v[k]["values"], fifo[k]["values"])  # type: ignore[arg-type]
                for k in v
            }
            for c, v in (("greedy", greedy), ("cpsat", cpsat))
        },
    }
    text, columns = controllers.table(result)
    assert columns == ["cpsat − fifo", "cpsat − greedy"]
    rows = text.splitlines()
    assert rows[0] == "| KPI | fifo | greedy | cpsat | cpsat − fifo | cpsat − greedy |"
    delivered = [c.strip() for c in rows[2].split("|")[1:-1]]
    assert delivered[1] == "110 ± 25"
    assert delivered[4].startswith("+28 ± ") and delivered[5].startswith("+26 ± ")
    violations = [c.strip() for c in rows[3].split("|")[1:-1]]
    assert violations[1] == "0" and violations[3] == "0.3 ± 1.4"  # a nonzero mean is never shown as 0
    notes = controllers.notes(result, columns)
    assert "seeds 1..3" in notes and "*cpsat − greedy*" in notes
    result["differences"]["cpsat"]["containers_delivered"]["mean"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError):
        controllers.table(result)


def test_numbers() -> None:
    assert controllers.number(-8014.2, 0, signed=True) == "−8,014"
    assert controllers.number(601.4, 0, signed=True) == "+601"
    assert controllers.number(0.04, 1) == "0.04"
    assert controllers.number(0.0, 0, signed=True) == "0"
