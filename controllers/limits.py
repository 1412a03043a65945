"""Bounds and names that more than one part of the system must agree on, written once."""

from __future__ import annotations

from typing import Literal, get_args

SPEED_MAX = 1000.0  # the fastest pace of a live or mixed run, model seconds per wall second
ControllerName = Literal["fifo", "greedy", "cpsat"]
CONTROLLER_NAMES: tuple[ControllerName, ...] = get_args(ControllerName)
CARRIER_ID_PATTERN = r"^AGV-\d{3}$"
MAX_LANES = 14
