"""One reading of a truck's plate from the readings of several frames.

A gate camera takes a few frames of each truck; each frame gives its most confident
plate reading, or none (nothing plate-like seen, a plate seen but not readable, a
broken frame). The rule:

- A frame with no plate reading abstains: it neither votes nor counts against the
  others, so one unreadable frame among good ones does not spoil the vote.
- The frames that read a plate vote for its normalised text (`Reading.text`, the
  canonical plate). Each text scores the sum of its readings' confidences; the highest
  score wins; a tie goes to the text with the highest single confidence, then to the
  text read first.
- The vote's confidence is the winner's score divided by the number of frames that
  read a plate: the mean confidence of the agreeing reads times the share of reads
  that agree. Three frames agreeing at 0.95 give 0.95; two at 0.95 and one
  dissenting give 0.63.
- Any dissenting read means the frames disagreed, and the truck goes to an officer
  whatever the score (`Vote.disagreed`).
- A capture may stop early once one text has been read `agree` times, each with
  confidence `sure` or more (`settled`), so that a clear plate costs fewer frames; a
  dissent read before then still sends the truck to an officer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hardware_bridge.camera import Reading


@dataclass(frozen=True, slots=True)
class Tally:
    text: str
    votes: int
    score: float  # the sum of its readings' confidences
    surest: float  # its most confident single reading
    first: int  # the frame it was first read in


@dataclass(frozen=True, slots=True)
class Vote:
    text: str | None  # the winning plate; None when no frame read one
    confidence: float  # 0..1, see the module's rule; 0 when no frame read a plate
    frames: int  # frames that took part, abstaining ones included
    read: int  # frames that read a plate
    votes: int  # frames that read the winner
    best: int | None  # the frame whose reading of the winner was the most confident
    tallies: tuple[Tally, ...]  # every text read, the winner first

    @property
    def disagreed(self) -> bool:
        return len(self.tallies) > 1


def _plate_text(reading: Reading | None) -> str | None:
    return reading.text if reading is not None and reading.kind == "plate" and reading.text else None


def vote(reads: Sequence[Reading | None]) -> Vote:
    """The vote of one truck's frames: `reads[i]` is frame i's best plate reading, or None."""
    scores: dict[str, list[float]] = {}
    first: dict[str, int] = {}
    best_at: dict[str, int] = {}
    for i, reading in enumerate(reads):
        text = _plate_text(reading)
        if text is None:
            continue
        assert reading is not None
        scores.setdefault(text, []).append(reading.confidence)
        first.setdefault(text, i)
        best = reads[best_at[text]] if text in best_at else None
        if best is None or reading.confidence > best.confidence:
            best_at[text] = i
    tallies = sorted(
        (Tally(t, len(c), sum(c), max(c), first[t]) for t, c in scores.items()),
        key=lambda t: (-t.score, -t.surest, t.first),
    )
    read = sum(t.votes for t in tallies)
    if not tallies:
        return Vote(None, 0.0, len(reads), 0, 0, None, ())
    win = tallies[0]
    return Vote(win.text, win.score / read, len(reads), read, win.votes, best_at[win.text], tuple(tallies))


def settled(reads: Sequence[Reading | None], agree: int, sure: float) -> bool:
    """Whether one text has been read `agree` times with confidence `sure` or more."""
    counts: dict[str, int] = {}
    for reading in reads:
        text = _plate_text(reading)
        if text is not None and reading is not None and reading.confidence >= sure:
            counts[text] = counts.get(text, 0) + 1
            if counts[text] >= agree:
                return True
    return False


def describe(v: Vote) -> str:
    """The tally in words, for an officer: "12C-123.45 ×2, 12C-123.46 ×1"."""
    return ", ".join(f"{t.text} ×{t.votes}" for t in v.tallies)
