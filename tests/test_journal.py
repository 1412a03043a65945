"""The journal: every event and command written before it is acted on, read back
whole, and a recorded run replayed through the controllers with its first divergence
named."""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

import psycopg
import pytest
from conftest import ROOT, make_scenario, reference_data
from hypothesis import given, settings
from hypothesis import strategies as st
from postgres import Postgres

from checkpoint.journal import JournalDb, JournalError, RunHeader
from checkpoint.replay import replay
from controllers.codec import MESSAGE_TYPES, BadMessage, from_plain, to_plain
from controllers.messages import (
    BarrierCommand,
    Command,
    CommandRefused,
    Event,
    OperatorRequest,
    PlateRead,
    SetTimer,
    TimerFired,
    WeighDecision,
)
from controllers.runtime import Runtime
from twin.world import World

_databases = itertools.count(1)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL on 127.0.0.1, for this module's tests."""
    server = Postgres()
    server.start()
    yield server
    server.stop()


def new_database(server: Postgres) -> str:
    name = f"journal_{next(_databases)}"
    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.url_of(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a journal goes: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.sqlite")
    return new_database(request.getfixturevalue("postgres"))


def short_scenario(hours: float = 3.0) -> Any:
    data = reference_data()
    data["duration_h"] = hours
    data["warmup_h"] = 0.5
    return make_scenario(data)


def header_of(scenario: Any, controller: str = "fifo", mode: str = "simulate") -> RunHeader:
    return RunHeader(mode, scenario.name, scenario.model_dump(mode="json"), controller, scenario.seed)


def journaled_run(path: Path | str, controller: str = "fifo", hours: float = 3.0) -> tuple[JournalDb, World]:
    scenario = short_scenario(hours)
    db = JournalDb(path)
    world = World(scenario, controller=controller)
    writer = db.writer(db.new_run(header_of(scenario, world.controller_name)), durable=False)
    world.runtime.journal = writer
    world.run()
    writer.close()
    return db, world


# --- the codec ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_every_message_type_reads_back_as_it_was_written(data: st.DataObject) -> None:
    for name, cls in sorted(MESSAGE_TYPES.items()):
        message = data.draw(st.from_type(cls), label=name)
        stored = json.dumps(to_plain(message))
        back = from_plain(json.loads(stored))
        assert type(back) is cls
        assert json.dumps(to_plain(back)) == stored  # NaN compares unequal; its text does not


def test_a_stored_message_that_does_not_fit_is_refused_naming_the_field() -> None:
    good = to_plain(PlateRead("VN-gate", "vietnam", "T1", "29C12345", "deliver"))
    cases: list[tuple[Any, str]] = [
        ([1, 2], "known type"),
        ({"type": "Nothing"}, "Nothing"),
        ({**good, "extra": 1}, "extra"),
        ({**good, "yard": "mars"}, "PlateRead.yard"),
        ({**good, "plate": 5}, "PlateRead.plate"),
        ({k: v for k, v in good.items() if k != "truck_id"}, "truck_id"),
        ({**good, "evidence": {"type": "PlateEvidence"}}, "PlateEvidence"),
    ]
    for plain, named in cases:
        with pytest.raises(BadMessage, match=named):
            from_plain(plain)


# --- written before it is acted on ---------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def call_later(self, delay_s: float, callback: Any) -> None:
        pass


def last_entries(where: str, n: int) -> list[tuple[str, Any]]:
    """The newest entries as another process would read them: only what is committed."""
    other = JournalDb(where, create=False)
    try:
        entries = list(other.entries(other.run().run_id))[-n:]
    finally:
        other.close()
    return [(e.kind, to_plain(e.event) if e.event else [to_plain(c) for c in e.commands]) for e in entries]


def test_each_event_and_each_answer_is_committed_before_it_is_acted_on(where: str) -> None:
    path = where
    db = JournalDb(path)
    seen: list[Any] = []

    class Controller:
        def start(self, now: float) -> list[Command]:
            return [SetTimer(60.0, "first")]

        def on_event(self, event: Event, now: float) -> list[Command]:
            seen.append(last_entries(path, 1))  # the controller sees the event only once it is written
            return [BarrierCommand("VN-gate", "T1", True)]

    class Gate:
        device_id = "VN-gate"
        kind = "barrier"

        def accept(self, command: Command) -> None:
            seen.append(last_entries(path, 1))  # the device gets the command only once it is written

    runtime = Runtime(ManualClock(), Controller(), db.writer(db.new_run(header_of(short_scenario())), durable=True))  # type: ignore[arg-type]
    runtime.attach(Gate())  # type: ignore[arg-type]
    runtime.start()
    runtime.publish(TimerFired("first"))
    assert seen == [
        [("event", to_plain(TimerFired("first")))],
        [("commands", [to_plain(BarrierCommand("VN-gate", "T1", True))])],
    ]
    assert [kind for kind, _ in last_entries(path, 10)] == ["start", "commands", "event", "commands"]


# --- replay ---------------------------------------------------------------------------------


def test_a_recorded_run_replays_to_the_same_commands(where: str) -> None:
    db, world = journaled_run(where, "greedy")
    result = replay(db)
    assert result.divergence is None and not result.cut_short
    assert result.events == world.runtime.events_delivered > 1000
    assert result.commands == world.runtime.commands_sent
    run = db.run()
    assert run.ended_at is not None and run.controller == "greedy" and run.mode == "simulate"
    kinds = [e.kind for e in db.entries(run.run_id)]
    assert kinds[:2] == ["start", "commands"]
    assert kinds[2::2] == ["event"] * ((len(kinds) - 2) // 2)  # each event, then its answer
    assert kinds[3::2] == ["commands"] * ((len(kinds) - 2) // 2)


def test_the_first_divergence_is_named_by_its_entry_time_and_event(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    db, _ = journaled_run(path, "fifo")
    # another controller decides otherwise from the start
    other = replay(db, controller="cpsat")
    assert other.divergence is not None and other.divergence.cause is None and other.divergence.seq == 1
    # an answer changed on disk: the replay stops exactly there
    con = sqlite3.connect(path)
    seq, t, body = con.execute(
        "SELECT seq, t, body FROM journal_entries WHERE kind = 'commands' AND body LIKE '%\"Order\"%' ORDER BY seq LIMIT 1 OFFSET 20"
    ).fetchone()
    commands = json.loads(body)
    commands[0]["order_update_id"] += 1
    con.execute("UPDATE journal_entries SET body = ? WHERE seq = ?", (json.dumps(commands), seq))
    con.commit()
    con.close()
    result = replay(JournalDb(path, create=False))
    assert result.divergence is not None
    assert (result.divergence.seq, result.divergence.t) == (seq, t)
    described = result.divergence.describe()
    assert f"entry {seq}" in described and "order_update_id" in described
    assert result.divergence.cause is not None and f"{type(result.divergence.cause).__name__}(" in described


def test_a_journal_cut_short_replays_up_to_its_last_event(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    db, _ = journaled_run(path, "fifo", hours=1.0)
    con = sqlite3.connect(path)
    last = con.execute("SELECT max(seq) FROM journal_entries").fetchone()[0]
    con.execute("DELETE FROM journal_entries WHERE seq = ?", (last,))  # the process died handling it
    con.execute("UPDATE journal_runs SET ended_at = NULL")
    con.commit()
    con.close()
    result = replay(JournalDb(path, create=False))
    assert result.divergence is None and result.cut_short


def test_a_file_that_is_no_journal_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no such journal"):
        JournalDb(tmp_path / "missing.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(JournalError, match="junk.sqlite"):
        JournalDb(junk, create=False)
    db = JournalDb(tmp_path / "empty.sqlite")
    with pytest.raises(JournalError, match="no run"):
        db.run()
    run_id = db.new_run(header_of(short_scenario()))
    db.writer(run_id, durable=True).delivered(0.0, TimerFired("x"))
    con = sqlite3.connect(tmp_path / "empty.sqlite")
    con.execute("UPDATE journal_entries SET body = '{\"type\": \"TimerFired\", \"tag\": 7}'")
    con.commit()
    con.close()
    with pytest.raises(JournalError, match=r"entry 0: TimerFired.tag"):
        list(db.entries(run_id))


# --- the command line -----------------------------------------------------------------------


def checkpoint(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "checkpoint", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_a_control_run_keeps_a_journal_that_replays(tmp_path: Path) -> None:
    ran = checkpoint("run", "scenarios/huu_nghi_4lane.yaml", "--speed", "1000", "--duration-min", "60", "--quiet",
                     "--data-dir", str(tmp_path), "--controller", "cpsat")
    assert ran.returncode == 0, ran.stderr
    journal = str(tmp_path / "journal.sqlite")
    listed = checkpoint("replay", journal, "--list")
    assert listed.returncode == 0 and "run 1: run huu_nghi_4lane, controller cpsat" in listed.stdout
    same = checkpoint("replay", journal)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "the controller issued the same commands" in same.stdout
    other = checkpoint("replay", journal, "--controller", "fifo")
    assert other.returncode == 1 and "first divergence at entry 1" in other.stdout
    assert checkpoint("replay", str(tmp_path / "nothing.sqlite")).returncode == 2
    off = checkpoint("run", "scenarios/huu_nghi_4lane.yaml", "--speed", "1000", "--duration-min", "5", "--quiet",
                     "--no-journal", "--journal", str(tmp_path / "off.sqlite"))
    assert off.returncode == 0 and not (tmp_path / "off.sqlite").exists()


def test_a_killed_control_process_leaves_a_journal_that_replays(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "run", "scenarios/huu_nghi_4lane.yaml", "--speed", "500", "--quiet",
         "--journal", str(journal)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not journal.exists() or JournalDb(journal, create=False).runs() == [] or \
                JournalDb(journal, create=False).entry_count(1) < 400:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    db = JournalDb(journal, create=False)
    assert db.run().ended_at is None  # cut short, and known to be
    result = replay(db)
    assert result.divergence is None and result.events >= 200


def test_operator_commands_are_journaled_with_their_replies(tmp_path: Path) -> None:
    from checkpoint.live import LiveTwin

    data = reference_data()
    data["realtime"] = {"speed": 300.0, "tick_s": 0.02}
    db = JournalDb(tmp_path / "journal.sqlite")
    live = LiveTwin(make_scenario(data), journal=db)
    request = OperatorRequest(live.console.device_id, "r-1", "close_lane", lane=2)
    live.world.runtime.publish(request)
    live.mixed.close()
    entries = list(db.entries(db.run().run_id))
    at = next(i for i, e in enumerate(entries) if e.event == request)
    replies = [c for c in entries[at + 1].commands if getattr(c, "request_id", None) == "r-1"]
    assert len(replies) == 1 and replies[0].ok  # type: ignore[union-attr]
    assert db.run().mode == "serve" and db.run().ended_at is not None
    assert replay(db).divergence is None


def _types(union: Any) -> Sequence[type]:
    return get_args(union)


def test_the_codec_knows_every_event_and_command() -> None:
    assert set(MESSAGE_TYPES) == {t.__name__ for t in (*_types(Event), *_types(Command))}
    assert {CommandRefused.__name__, WeighDecision.__name__} <= set(MESSAGE_TYPES)


def test_a_control_run_can_keep_its_journal_in_postgresql(postgres: Postgres) -> None:
    url = new_database(postgres)
    ran = checkpoint("run", "scenarios/huu_nghi_4lane.yaml", "--speed", "1000", "--duration-min", "30", "--quiet",
                     "--journal", url)
    assert ran.returncode == 0, ran.stderr
    same = checkpoint("replay", url)
    assert same.returncode == 0 and "the controller issued the same commands" in same.stdout, same.stdout + same.stderr
    nowhere = f"postgresql://nobody:secret@127.0.0.1:{postgres.port + 1}/none"
    refused = checkpoint("run", "scenarios/huu_nghi_4lane.yaml", "--duration-min", "1", "--quiet", "--journal", nowhere)
    assert refused.returncode == 2
    assert "cannot open the journal" in refused.stderr and "secret" not in refused.stderr
