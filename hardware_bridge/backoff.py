"""How long a bridge client waits before it tries a lost device again."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Waits that double from `first_s` up to `most_s`: a device that is back soon is
    found soon, and one that stays away is not asked many times a second."""

    first_s: float = 0.5
    most_s: float = 10.0
    _next_s: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.most_s:
            raise ValueError(f"back-off: first_s must be more than 0 and at most most_s, not {self.first_s} and {self.most_s}")
        self._next_s = self.first_s

    def next(self) -> float:
        """The wait before the next try (each call doubles the one after, up to `most_s`)."""
        wait = self._next_s
        self._next_s = min(self.most_s, wait * 2)
        return wait

    def reset(self) -> None:
        """The device answered: the next loss starts again from `first_s`."""
        self._next_s = self.first_s
