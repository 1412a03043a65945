"""A run's summary is always strict JSON, even for a run that ended before anything was
measured (a hardware-in-the-loop run stopped within its warm-up)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from conftest import make_scenario, reference_data
from rich.console import Console

from twin.kpi import finite, summarise, to_json, write_outputs
from twin.report import render
from twin.world import World


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_run_stopped_before_anything_was_measured_gives_finite_figures_and_says_so(tmp_path: Path) -> None:
    """Stopped at once (devices that never answered): an empty window, no division by it."""
    world = World(make_scenario(reference_data()))
    summary = summarise(world)
    assert summary["warning"] == "the run ended before anything was measured"
    assert summary["measured_h"] == 0 and summary["bottleneck"]["resource"] == "none"
    assert all(v == 0 for v in summary["utilisation"].values())
    assert summary["carrier_block_wait_share"] == 0
    write_outputs(world, summary, tmp_path)
    _strict((tmp_path / "summary.json").read_text(encoding="utf-8"))
    console = Console(record=True, width=120)
    render(summary, console)
    assert "before anything was measured" in console.export_text()


def test_a_run_stopped_within_its_warm_up_says_its_figures_include_it(tmp_path: Path) -> None:
    data = reference_data()
    data["duration_h"] = 4
    data["warmup_h"] = 2
    world = World(make_scenario(data))
    world.env.run(until=1800)  # stopped half an hour in
    summary = summarise(world)
    assert "within its warm-up" in summary["warning"]
    assert all(0 <= v <= 1 for v in summary["utilisation"].values())
    _strict(to_json(summary))


def test_whatever_is_not_finite_is_written_as_null() -> None:
    summary = {"a": math.inf, "b": [1.0, -math.inf, {"c": math.nan}], "d": "x", "e": 2}
    assert finite(summary) == {"a": None, "b": [1.0, None, {"c": None}], "d": "x", "e": 2}
    assert _strict(to_json(summary)) == {"a": None, "b": [1.0, None, {"c": None}], "d": "x", "e": 2}
