"""Crash recovery: the control process of a hardware-in-the-loop run killed with
SIGKILL at random moments, restarted each time with `--recover`, and the run carried
on to its end with nothing lost, nothing twice, no block given to two carriers and no
vehicle left with an order the controllers no longer know."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT
from test_hil import SPEED, Rig, rig  # noqa: F401  (the fixture: Mosquitto and the emulators)

from checkpoint.journal import JournalDb
from checkpoint.replay import replay
from controllers.messages import CarrierState, CommandRefused, Order

MINUTES = 80  # model minutes of the whole run: long enough for containers to cross
KILLS = 3


def control(scenario: Path, journal: Path, out: Path, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "run", str(scenario), "--speed", str(SPEED), "--duration-min", str(MINUTES),
         "--quiet", "--journal", str(journal), "--out", str(out), *more],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def entries_so_far(journal: Path) -> int:
    if not journal.exists():
        return 0
    db = JournalDb(journal, create=False)
    try:
        runs = db.runs()
        return db.entry_count(runs[-1].run_id) if runs else 0
    finally:
        db.close()


def test_a_killed_control_process_recovers_from_its_journal_and_carries_on(rig: Rig, tmp_path: Path) -> None:  # noqa: F811
    scenario = tmp_path / "hil.yaml"
    scenario.write_text(yaml.safe_dump(rig.scenario.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    journal, out = tmp_path / "journal.sqlite", tmp_path / "out"
    chance = random.Random()  # at random moments: each CI run kills elsewhere
    proc = control(scenario, journal, out)
    seen = 0
    for kill in range(KILLS):
        # let it make some progress past what the last process wrote, then kill it
        target = seen + chance.randint(150, 900)
        deadline = time.monotonic() + 120
        while entries_so_far(journal) < target:
            assert proc.poll() is None, f"the control process ended before kill {kill}: {proc.communicate()}"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(chance.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        seen = entries_so_far(journal)
        db = JournalDb(journal, create=False)
        assert db.run().ended_at is None and len(db.runs()) == 1
        db.close()
        proc = control(scenario, journal, out, "--recover")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["safety_violations"] == 0  # no block held by two carriers, over the whole run
    assert summary["containers_lost"] == 0
    assert summary["deadlocks"] == 0
    assert summary["containers_delivered"] >= 5
    # what was under way at a kill was made again: no barrier left waiting for an opening that never came
    assert summary["devices"]["gates"]["vietnam"]["barrier_stuck"] == 0

    db = JournalDb(journal, create=False)
    run = db.run()
    assert run.ended_at is not None and len(db.runs()) == 1  # one run, carried on, ended
    entries = list(db.entries(run.run_id))
    # the whole run, across its three restarts, is what one controller that never died would have done
    result = replay(db)
    assert result.divergence is None and not result.cut_short
    assert result.events == sum(e.kind == "event" for e in entries)
    # no vehicle was left with a stale order: each last reported the order last sent to it, and none refused one
    orders: dict[str, Order] = {}
    states: dict[str, CarrierState] = {}
    for e in entries:
        for c in e.commands:
            if isinstance(c, Order):
                orders[c.device_id] = c
        if isinstance(e.event, CarrierState):
            states[e.event.device_id] = e.event
        assert not (isinstance(e.event, CommandRefused) and e.event.command == "Order"), e.event
    bridged = {c.carrier for c in rig.scenario.devices.vehicles.carriers}  # type: ignore[union-attr]
    driven = bridged & set(orders)
    assert driven, "no bridged vehicle was sent an order"
    for vehicle in driven:
        assert states[vehicle].order_id == orders[vehicle].order_id, (vehicle, states[vehicle], orders[vehicle].order_id)
    # nothing twice: every container the journal saw delivered arrived once
    arrived: list[Any] = [e.event.container_id for e in entries if type(e.event).__name__ == "ContainerReady"]  # type: ignore[union-attr]
    assert len(arrived) == len(set(arrived))
