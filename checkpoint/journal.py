"""The journal: every event the runtime delivers and every command the controller
answers with, appended to a database before it is acted on.

A journal holds runs. A run's header is what is needed to build its controller again
(the scenario as validated, the controller's name, the seed); its entries are, in
order, the start, each event and each answer, with the model time. That is enough to
feed a recorded run back through the controllers (`checkpoint replay`) and to rebuild
a controller's state after the control process died.

By default the journal is one SQLite file in WAL mode. Each entry is its own
transaction when the journal is `durable` (the control process: an entry written is
one a kill -9 cannot take back; the WAL is not synced at each commit, so an OS crash
or a power cut may take back the last few); a simulation's journal commits in batches.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from controllers.codec import BadMessage, from_plain, to_plain
from controllers.messages import Command, Event

EntryKind = Literal["start", "event", "commands"]
SCHEMA_VERSION = 1
BATCH = 5000  # entries per transaction when not durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    scenario_name TEXT NOT NULL,
    scenario TEXT NOT NULL,
    controller TEXT NOT NULL,
    seed INTEGER NOT NULL,
    demand_scale REAL NOT NULL,
    schema_version INTEGER NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS journal_entries (
    run_id INTEGER NOT NULL REFERENCES journal_runs(run_id),
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""


class JournalError(Exception):
    """A journal that cannot be opened or read; the message names the file and the entry."""


@dataclass(frozen=True)
class RunHeader:
    mode: str  # simulate, run, serve
    scenario_name: str
    scenario: dict[str, Any]  # the scenario as validated, in JSON form
    controller: str
    seed: int
    demand_scale: float = 1.0
    run_id: int = 0
    started_at: str = ""
    ended_at: str | None = None


@dataclass(frozen=True)
class Entry:
    seq: int
    t: float
    kind: EntryKind
    event: Event | None = None  # for an event
    commands: tuple[Command, ...] = ()  # for commands


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class JournalDb:
    """One journal database; SQLite (a path)."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise JournalError(f"{self.path}: no such journal")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._db.executescript(_SCHEMA)
            self._db.execute("SELECT count(*) FROM journal_runs").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: not a journal ({exc})") from None

    def close(self) -> None:
        self._db.close()

    # --- writing ------------------------------------------------------------------

    def new_run(self, header: RunHeader) -> int:
        cur = self._db.execute(
            "INSERT INTO journal_runs (started_at, mode, scenario_name, scenario, controller, seed, demand_scale,"
            " schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_now_iso(), header.mode, header.scenario_name, json.dumps(header.scenario), header.controller,
             header.seed, header.demand_scale, SCHEMA_VERSION),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def writer(self, run_id: int, *, durable: bool) -> JournalWriter:
        return JournalWriter(self, run_id, durable=durable)

    # --- reading ------------------------------------------------------------------

    def runs(self) -> list[RunHeader]:
        rows = self._db.execute(
            "SELECT run_id, started_at, mode, scenario_name, scenario, controller, seed, demand_scale, ended_at,"
            " schema_version FROM journal_runs ORDER BY run_id"
        ).fetchall()
        out = []
        for run_id, started, mode, name, scenario, controller, seed, scale, ended, version in rows:
            if version != SCHEMA_VERSION:
                raise JournalError(f"{self.path}: run {run_id} is of journal version {version}, not {SCHEMA_VERSION}")
            out.append(RunHeader(mode, name, json.loads(scenario), controller, seed, scale, run_id, started, ended))
        return out

    def run(self, run_id: int | None = None) -> RunHeader:
        """The run with that id, or the last one."""
        runs = self.runs()
        if not runs:
            raise JournalError(f"{self.path}: the journal holds no run")
        if run_id is None:
            return runs[-1]
        for header in runs:
            if header.run_id == run_id:
                return header
        raise JournalError(f"{self.path}: no run {run_id}; runs: {', '.join(str(r.run_id) for r in runs)}")

    def entries(self, run_id: int) -> Iterator[Entry]:
        """The run's entries in order, read back into messages."""
        rows = self._db.execute(
            "SELECT seq, t, kind, body FROM journal_entries WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        for seq, t, kind, body in rows:
            try:
                plain = json.loads(body)
                if kind == "event":
                    yield Entry(seq, t, "event", event=from_plain(plain))  # type: ignore[arg-type]
                elif kind == "commands":
                    yield Entry(seq, t, "commands", commands=tuple(from_plain(c) for c in plain))  # type: ignore[misc]
                elif kind == "start":
                    yield Entry(seq, t, "start")
                else:
                    raise BadMessage(f"unknown entry kind {kind!r}")
            except (ValueError, BadMessage) as exc:
                raise JournalError(f"{self.path}: run {run_id}, entry {seq}: {exc}") from None

    def entry_count(self, run_id: int) -> int:
        row = self._db.execute("SELECT count(*) FROM journal_entries WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def _last_seq(self, run_id: int) -> int:
        row = self._db.execute("SELECT max(seq) FROM journal_entries WHERE run_id = ?", (run_id,)).fetchone()
        return -1 if row[0] is None else int(row[0])


class JournalWriter:
    """Appends one run's entries (the runtime's `JournalPort`)."""

    def __init__(self, db: JournalDb, run_id: int, *, durable: bool) -> None:
        self.db = db
        self.run_id = run_id
        self.durable = durable
        self.seq = db._last_seq(run_id) + 1  # a resumed run goes on after its last entry
        self._uncommitted = 0

    def started(self, now: float) -> None:
        self._append(now, "start", "null")

    def delivered(self, now: float, event: Event) -> None:
        self._append(now, "event", json.dumps(to_plain(event), separators=(",", ":")))

    def issued(self, now: float, commands: Sequence[Command]) -> None:
        self._append(now, "commands", json.dumps([to_plain(c) for c in commands], separators=(",", ":")))

    def _append(self, now: float, kind: EntryKind, body: str) -> None:
        db = self.db._db
        if not self.durable and self._uncommitted == 0:
            db.execute("BEGIN")
        db.execute(
            "INSERT INTO journal_entries (run_id, seq, t, kind, body) VALUES (?, ?, ?, ?, ?)",
            (self.run_id, self.seq, now, kind, body),
        )
        self.seq += 1
        if not self.durable:
            self._uncommitted += 1
            if self._uncommitted >= BATCH:
                self.flush()

    def flush(self) -> None:
        if self._uncommitted:
            self.db._db.execute("COMMIT")
            self._uncommitted = 0

    def close(self) -> None:
        """The run ended as it should: marked so (a run without an end was cut short)."""
        self.flush()
        self.db._db.execute("UPDATE journal_runs SET ended_at = ? WHERE run_id = ?", (_now_iso(), self.run_id))
