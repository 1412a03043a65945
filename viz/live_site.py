"""What the web app needs of the live site it serves, as a protocol.

The composition root hands `create_app` an object with these members (the live twin,
`checkpoint.live.LiveTwin`); the web never reaches past them. Every member is called
from the asyncio loop that runs `run`, which is the loop that owns the controllers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal, Protocol

from controllers.readport import SiteReader
from viz.stream import FrameHub

ClockAction = Literal["set_speed", "pause_sim", "resume_sim"]  # the live site's own, not the controllers'
Args = tuple[tuple[str, str | int], ...]
Outcome = tuple[bool, str, str, Args]  # ok, detail (English), code, args
Summary = dict[str, Any]
Series = list[dict[str, float]]


class LiveSite(SiteReader, Protocol):
    hub: FrameHub
    t0: float  # epoch seconds of model time 0

    @property
    def scenario_error(self) -> type[Exception]:
        """What `check_scenario` raises for a bad scenario file."""

    async def run(self, stop: asyncio.Event) -> None:
        """Advance the site and publish frames to `hub` until `stop` is set."""

    def site(self) -> dict[str, Any]:
        """Name, site, GeoJSON, carrier ids and the number of lanes."""

    def scenario_name(self) -> str: ...

    def health(self) -> dict[str, Any]:
        """`status` (running, ended, stopped, stale), `reason` (why it stopped, or None),
        `frame_age_s` and `model_s`."""

    def carrier(self, carrier_id: str) -> dict[str, Any] | None: ...

    def track(self, query: str) -> list[dict[str, Any]]: ...

    def summary(self) -> Summary: ...

    def timeseries(self, last: int | None = None) -> Series:
        """The last `last` samples (all of them when None)."""

    def command(self, action: str, **args: Any) -> Outcome:
        """Carry out an operator's command (the controllers' or the clock's)."""

    def simulate(self, path: Path, seed: int | None, controller: str | None) -> tuple[Summary, Series]:
        """A whole scenario run (picklable: the web runs it in a worker process)."""

    def check_scenario(self, path: Path) -> str:
        """The scenario's name, or `scenario_error` naming what is wrong with the file."""
