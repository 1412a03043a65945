"""Shared helpers: scenarios built in code from the reference scenario."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from broker import Broker
from hypothesis import settings

from twin.scenario import Scenario, parse_scenario

# The randomised tests draw the same examples on every run, so that CI is reproducible;
# HYPOTHESIS_PROFILE=explore draws new ones, to look further.
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "scenarios" / "huu_nghi_8lane.yaml"


def reference_data() -> dict[str, Any]:
    """The 8-lane Hữu Nghị scenario as plain data, for tests to edit."""
    return copy.deepcopy(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))


def make_scenario(data: dict[str, Any]) -> Scenario:
    return parse_scenario(data, "<test scenario>")


@pytest.fixture
def data() -> dict[str, Any]:
    return reference_data()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on 127.0.0.1 at a free port, for this test alone."""
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()
