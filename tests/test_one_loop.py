"""One loop owns the controllers: under concurrent REST requests and websocket clients,
every controller call and every read of the live site runs on the thread of the loop
that runs the live twin, never on a web worker thread."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conftest import make_scenario, reference_data
from fastapi.testclient import TestClient

from checkpoint.live import LiveTwin
from viz.app import create_app
from viz.store import Store

USERS = {"otto": ("operator-pass", "operator"), "vic": ("viewer-pass", "viewer"), "eng": ("engineer-pass", "engineer")}
READS = ("snapshot", "carrier", "track", "summary", "timeseries", "site", "command", "publish_frame")


class ThreadLog:
    """Which thread ran each call, per name."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.threads: dict[str, Counter[int]] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.threads.setdefault(name, Counter())[threading.get_ident()] += 1
            return fn(*args, **kwargs)

        return recorded

    def all_threads(self) -> set[int]:
        return {t for counts in self.threads.values() for t in counts}


def test_every_controller_call_and_every_read_runs_on_the_loop_thread(tmp_path: Path) -> None:
    data = reference_data()
    data["fleet"]["carriers"] = 12
    data["realtime"] = {"speed": 200, "tick_s": 0.02}
    live = LiveTwin(make_scenario(data))
    log = ThreadLog()
    controller = live.world.controller
    controller.on_event = log.wrap("on_event", controller.on_event)  # type: ignore[method-assign]
    for name in READS:
        setattr(live, name, log.wrap(name, getattr(live, name)))
    store = Store(tmp_path / "checkpoint.sqlite")
    for name, (password, role) in USERS.items():
        store.add_user(name, password, role)  # type: ignore[arg-type]

    with TestClient(create_app(live, store)) as client:
        tokens = {
            name: client.post("/api/login", json={"user": name, "password": password}).json()["token"]
            for name, (password, _) in USERS.items()
        }
        auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        carriers = list(live.world.carriers)

        def rest(worker: int) -> list[int]:
            codes = []
            for i in range(12):
                cid = carriers[(worker + i) % len(carriers)]
                action = ("pause_carrier", "resume_carrier", "pause_corridor", "resume_corridor")[i % 4]
                requests: tuple[tuple[str, str, dict[str, Any] | None, str], ...] = (
                    ("POST", "/api/commands", {"action": action, "carrier_id": cid}, "otto"),
                    ("POST", "/api/commands", {"action": "set_speed", "speed": 150 + i}, "otto"),
                    ("GET", f"/api/carriers/{cid}", None, "vic"),
                    ("GET", "/api/track?q=AB-123", None, "vic"),
                    ("GET", "/api/kpis", None, "vic"),
                    ("GET", "/api/state", None, "vic"),
                    ("GET", "/api/site", None, "vic"),
                    ("POST", "/api/runs", {"name": f"r{worker}-{i}"}, "eng"),
                )
                method, path, body, user = requests[(worker + i) % len(requests)]
                codes.append(client.request(method, path, json=body, headers=auth[user]).status_code)
            return codes

        def watch(_: int) -> int:
            with client.websocket_connect(f"/ws?token={tokens['vic']}") as ws:
                return sum(1 for _ in range(15) if ws.receive_text())

        with ThreadPoolExecutor(max_workers=7) as pool:
            rest_runs = [pool.submit(rest, w) for w in range(4)]
            ws_runs = [pool.submit(watch, w) for w in range(3)]
            codes = [c for f in rest_runs for c in f.result(timeout=120)]
            frames = [f.result(timeout=120) for f in ws_runs]

    assert set(codes) == {200} and len(codes) == 48
    assert frames == [15, 15, 15]
    # the calls did happen: operator requests reached the controller, reads the live site
    assert sum(log.threads["command"].values()) >= 8
    assert sum(log.threads["on_event"].values()) > sum(log.threads["command"].values())
    for name in ("carrier", "track", "summary", "site", "publish_frame"):
        assert sum(log.threads[name].values()) > 0, name
    loop_thread = log.threads["publish_frame"].most_common(1)[0][0]
    assert loop_thread != threading.get_ident()  # the app's loop, not the test's own thread
    assert log.all_threads() == {loop_thread}, {name: dict(c) for name, c in log.threads.items()}
