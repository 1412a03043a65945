"""Bounds and names that more than one part of the system must agree on, written once."""

from __future__ import annotations

SPEED_MAX = 1000.0  # the fastest pace of a live or mixed run, model seconds per wall second
CONTROLLER_NAMES = ("fifo", "greedy", "cpsat")
CARRIER_ID_PATTERN = r"^AGV-\d{3}$"
MAX_LANES = 14
