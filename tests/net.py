"""Helpers for the tests that run servers and device emulators on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT

HIL = ROOT / "scenarios" / "hil_huu_nghi.yaml"


def listening(port: int, timeout_s: float = 20.0) -> None:
    """Wait until something takes TCP connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill -9: no goodbye on the wire."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def run_losing(scenario: Path, out: Path, lose: Callable[[], None], *, speed: float, minutes: int) -> tuple[dict[str, Any], str]:
    """`checkpoint run` of `scenario` that loses a device (`lose`) a few model minutes in
    and must still end by itself, with exit code 0 and no traceback; its summary and stderr."""
    run = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "run", str(scenario), "--speed", str(speed), "--duration-min", str(minutes),
         "--out", str(out), "--progress-s", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert run.stdout is not None
        progress = 0
        while progress < 3:  # a few model minutes with the device, then without it to the end
            line = run.stdout.readline()
            assert line, f"the run ended before it was under way: {run.communicate()}"
            progress += line.startswith("model ")
        lose()
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), stderr


def bridging_only(kind: str) -> dict[str, Any]:
    """The HIL scenario with only its bridged devices of `kind` ("vehicles", "cranes",
    "gates", "cameras"), the fifo controller, and exports enough to keep the Vietnamese
    gate and cranes busy from the first model minutes."""
    data: dict[str, Any] = yaml.safe_load(HIL.read_text(encoding="utf-8"))
    data["devices"] = {kind: data["devices"][kind]}
    data["demand"]["export"]["trucks_per_hour"] = [45] * 24
    data["controller"] = "fifo"
    return data
