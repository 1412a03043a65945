"""How often, and how long, a bridged device has been faulted, in wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Downtime:
    """A bridge client's count of its device's faults and the wall seconds spent in them."""

    faults: int = 0  # times the device went from working to faulted
    past_s: float = 0.0  # wall seconds faulted, up to the last time it came back
    _since: float | None = field(default=None, repr=False)

    def began(self) -> None:
        """The device faulted."""
        self.faults += 1
        self._since = time.monotonic()

    def ended(self) -> None:
        """The device is back."""
        if self._since is not None:
            self.past_s += time.monotonic() - self._since
        self._since = None

    def seconds(self) -> float:
        """Wall seconds faulted, all its faults together, the one now too."""
        since = self._since
        return self.past_s + (time.monotonic() - since if since is not None else 0.0)
