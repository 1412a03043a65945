"""Replay: a recorded run fed back through a controller built afresh from its header.

The controllers are time-free and I/O-free: given the same events at the same model
times they must answer with the same commands. Replaying a journal checks exactly
that, entry by entry; the first answer that differs is the divergence, named by its
entry, its time and the event that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from checkpoint.journal import Entry, JournalDb, JournalError, RunHeader
from controllers.messages import Command, Event
from controllers.site import SiteController
from twin.geometry import SiteGeometry
from twin.scenario import ScenarioError, parse_scenario
from twin.world import build_layout, make_controller


@dataclass(frozen=True)
class Divergence:
    seq: int  # the entry of the answer that differs
    t: float
    cause: Event | None  # None: the controller's start
    recorded: tuple[Command, ...]
    replayed: tuple[Command, ...]

    def describe(self) -> str:
        cause = "the start" if self.cause is None else _short(self.cause)
        index = next(
            (i for i, (a, b) in enumerate(zip(self.recorded, self.replayed, strict=False)) if a != b),
            min(len(self.recorded), len(self.replayed)),
        )
        lines = [
            f"first divergence at entry {self.seq}, t = {self.t:.3f} s, answering {cause}:",
            f"  recorded {len(self.recorded)} command(s), replayed {len(self.replayed)}; they differ at command {index}",
            f"  recorded: {_short(self.recorded[index]) if index < len(self.recorded) else '(none)'}",
            f"  replayed: {_short(self.replayed[index]) if index < len(self.replayed) else '(none)'}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ReplayResult:
    run: RunHeader
    controller: str
    events: int  # events fed back
    commands: int  # commands compared
    divergence: Divergence | None
    cut_short: bool  # the last event has no recorded answer: the process died handling it


def _short(message: object, limit: int = 300) -> str:
    text = repr(message)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def controller_for(run: RunHeader, name: str | None = None) -> SiteController:
    """The run's controller as it was at its start: built from the recorded scenario."""
    try:
        scenario = parse_scenario(run.scenario, f"run {run.run_id}'s scenario")
    except ScenarioError as exc:
        raise JournalError(str(exc)) from None
    layout = build_layout(scenario, SiteGeometry.from_scenario(scenario))
    try:
        return make_controller(name or run.controller, layout)
    except ValueError as exc:
        raise JournalError(str(exc)) from None


def _answers(entries: Iterator[Entry], controller: SiteController) -> Iterator[tuple[Entry, Event | None, tuple[Command, ...], Entry | None]]:
    """For each start or event entry: the entry, its event, what the controller answers
    now and the recorded answer (None when the journal ends before it)."""
    cause: Entry | None = None
    answer: tuple[Command, ...] = ()
    for entry in entries:
        if entry.kind == "input":  # what a device gave the world: the controllers heard it as events
            continue
        if entry.kind == "commands":
            if cause is None:
                raise JournalError(f"entry {entry.seq}: an answer with no event before it")
            yield cause, cause.event, answer, entry
            cause = None
            continue
        if cause is not None:
            raise JournalError(f"entry {entry.seq}: entry {cause.seq} has no recorded answer")
        cause = entry
        if entry.kind == "start":
            answer = tuple(controller.start(entry.t))
        else:
            assert entry.event is not None
            answer = tuple(controller.on_event(entry.event, entry.t))
    if cause is not None:
        yield cause, cause.event, answer, None


def replay(db: JournalDb, run_id: int | None = None, controller: str | None = None) -> ReplayResult:
    """Feed the run back through a new controller; stop at the first divergence."""
    run = db.run(run_id)
    ctrl = controller_for(run, controller)
    events = commands = 0
    for cause, event, answer, recorded in _answers(db.entries(run.run_id), ctrl):
        events += event is not None
        if recorded is None:
            return ReplayResult(run, controller or run.controller, events, commands, None, cut_short=True)
        if recorded.commands != answer:
            divergence = Divergence(recorded.seq, cause.t, event, recorded.commands, answer)
            return ReplayResult(run, controller or run.controller, events, commands, divergence, cut_short=False)
        commands += len(answer)
    return ReplayResult(run, controller or run.controller, events, commands, None, cut_short=False)
