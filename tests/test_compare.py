"""Confidence intervals of the comparison, checked against scipy."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from twin.compare import interval


@pytest.mark.parametrize("values", [[1.0, 2.0], [3.0, 5.0, 4.0, 10.0], [float(i * i) for i in range(12)], [7.0] * 5])
def test_interval_matches_students_t(values: list[float]) -> None:
    got = interval(values)
    n = len(values)
    mean = statistics.fmean(values)
    half = stats.t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n)
    assert got["mean"] == pytest.approx(mean, abs=1e-3)
    assert got["half_width"] == pytest.approx(half, abs=2e-3)
    assert got["ci_low"] == pytest.approx(mean - half, abs=2e-3)


def test_one_value_has_no_interval() -> None:
    assert interval([4.0])["half_width"] == 0.0
