"""The control room's API against a careless user and a hostile client: bodies bounded
before they are parsed, numbers bounded, the bearer scheme as RFC 7235 has it, refusals
that are always JSON, the twin's death said out loud, and no freeze under a burst of
commands from several threads."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario, reference_data
from fastapi.testclient import TestClient

from checkpoint.live import LiveTwin
from viz.app import create_app
from viz.store import Store

USERS = {"otto": ("operator-pass", "operator"), "vic": ("viewer-pass", "viewer"), "ada": ("admin-pass-1", "admin")}


def _served(tmp_path: Path, speed: float) -> tuple[TestClient, LiveTwin]:
    data = reference_data()
    data["duration_h"] = 240  # at speed 1000 a day ends in 86 s: on a slow machine within the test
    data["fleet"]["carriers"] = 16
    data["realtime"] = {"speed": speed, "tick_s": 0.02}
    live = LiveTwin(make_scenario(data))
    store = Store(tmp_path / "checkpoint.sqlite")
    for name, (password, role) in USERS.items():
        store.add_user(name, password, role)  # type: ignore[arg-type]
    return TestClient(create_app(live, store)), live


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, LiveTwin]]:
    client, live = _served(tmp_path_factory.mktemp("hostile"), 300.0)
    with client:
        yield client, live


def _auth(client: TestClient, name: str) -> dict[str, str]:
    reply = client.post("/api/login", json={"user": name, "password": USERS[name][0]})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def test_a_huge_log_in_body_is_refused_before_it_is_parsed(served: Any) -> None:
    client, _ = served
    hostile = json.dumps({f"k{i}": i for i in range(300_000)})  # 3.5 MB of unknown keys
    start = time.monotonic()
    reply = client.post("/api/login", content=hostile, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and "at most 4096" in reply.json()["detail"]
    assert time.monotonic() - start < 2.0
    assert client.get("/api/state", headers=_auth(client, "vic")).status_code == 200


def test_a_body_without_a_length_is_bounded_as_it_streams(served: Any) -> None:
    client, _ = served

    def chunks() -> Iterator[bytes]:
        yield b'{"user": "vic", "password": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    reply = client.post("/api/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert "at most" in reply.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/api/runs/9223372036854775808", "/api/runs/0", "/api/audit?before=99999999999999999999999"],
)
def test_ids_beyond_the_databases_integers_are_refused_not_a_crash(served: Any, path: str) -> None:
    client, _ = served
    reply = client.get(path, headers=_auth(client, "ada"))
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["loc"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"action": "set_speed", "speed": NaN}', "speed"),
        ('{"action": "set_speed", "speed": 1e999}', "speed"),
        ('{"action": "set_speed", "speed": "5"}', "speed"),
        ('{"action": "close_lane", "lane": true}', "lane"),
        ('{"action": "close_lane", "lane": "1"}', "lane"),
    ],
)
def test_numbers_that_are_not_numbers_are_refused_in_json(served: Any, body: str, field: str) -> None:
    client, _ = served
    reply = client.post("/api/commands", content=body, headers={**_auth(client, "otto"), "Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    said = reply.json()  # the refusal itself is valid JSON: the value is left out
    assert any(field in d["loc"] for d in said["detail"]) and "input" not in said["detail"][0]


def test_thousands_of_errors_come_back_as_a_few(served: Any) -> None:
    client, _ = served
    body = json.dumps({"action": "set_speed", **{f"x{i}": i for i in range(500)}})
    reply = client.post("/api/commands", content=body, headers={**_auth(client, "otto"), "Content-Type": "application/json"})
    assert reply.status_code == 422
    assert len(reply.json()["detail"]) == 20 and reply.json()["errors"] == 500


def test_the_bearer_scheme_is_case_blind_and_a_bare_token_is_refused(served: Any) -> None:
    client, _ = served
    token = _auth(client, "vic")["Authorization"].split()[1]
    assert client.get("/api/me", headers={"Authorization": f"bearer {token}"}).status_code == 200
    assert client.get("/api/me", headers={"Authorization": f"BEARER {token}"}).status_code == 200
    assert client.get("/api/me", headers={"Authorization": token}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"Basic {token}"}).status_code == 401


def test_the_openapi_document_lists_the_refusals_and_the_bearer_scheme(served: Any) -> None:
    client, _ = served
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    command = doc["paths"]["/api/commands"]["post"]
    assert {"401", "403", "413", "422"} <= set(command["responses"])
    assert command.get("security")
    assert "503" in doc["paths"]["/api/health"]["get"]["responses"]


def test_health_says_the_twin_runs(served: Any) -> None:
    client, _ = served
    reply = client.get("/api/health")
    assert reply.status_code == 200 and reply.json()["status"] == "running"
    assert "reason" not in reply.json()  # to a watchdog without a token: the status only


def test_a_twin_that_dies_says_so_and_the_server_stays_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client, live = _served(tmp_path, 300.0)
    with client:
        auth = _auth(client, "vic")
        deadline = time.monotonic() + 15
        while live.world.env.now < 60:
            assert time.monotonic() < deadline
            time.sleep(0.02)

        def broken(end: float) -> None:
            raise RuntimeError("a carrier's process failed")

        live.mixed.step = broken  # type: ignore[method-assign]
        deadline = time.monotonic() + 10
        while live.failure is None:
            assert time.monotonic() < deadline, "the failure was never noticed"
            time.sleep(0.02)
        reply = client.get("/api/health", headers=auth)
        assert reply.status_code == 503
        assert reply.json()["status"] == "stopped" and reply.json()["reason"] == "RuntimeError: a carrier's process failed"
        assert "reason" not in client.get("/api/health").json()
        assert client.get("/api/state", headers=auth).status_code == 200  # the last frame is still served
    assert any("the live twin stopped" in r.message and r.exc_info for r in caplog.records)


def test_a_burst_of_commands_from_several_threads_does_not_freeze_the_twin(tmp_path: Path) -> None:
    """300 random operator commands over HTTP from four threads at speed 1000: the twin
    keeps moving and publishing frames, and says it runs."""
    client, live = _served(tmp_path, 1000.0)
    with client:
        auth = _auth(client, "otto")
        carriers = list(live.world.carriers)
        actions = ["pause_carrier", "resume_carrier", "pause_corridor", "resume_corridor", "set_speed", "pause_sim", "resume_sim", "close_lane", "open_lane"]

        def burst(worker: int) -> list[int]:
            rng = random.Random(worker)
            codes = []
            for _ in range(75):
                action = rng.choice(actions)
                body: dict[str, Any] = {"action": action}
                if "carrier" in action:
                    body["carrier_id"] = rng.choice(carriers)
                elif action == "set_speed":
                    body["speed"] = rng.choice([200, 500, 1000])
                elif "lane" in action:
                    body["lane"] = rng.randrange(4)
                codes.append(client.post("/api/commands", json=body, headers=auth).status_code)
            return codes

        with ThreadPoolExecutor(4) as pool:
            codes = [c for run in pool.map(burst, range(4)) for c in run]
        assert len(codes) == 300 and set(codes) <= {200}
        client.post("/api/commands", json={"action": "resume_sim"}, headers=auth)
        client.post("/api/commands", json={"action": "resume_corridor"}, headers=auth)
        seq, model_s = live.hub.seq, live.world.env.now
        deadline = time.monotonic() + 10
        while live.hub.seq <= seq + 5 or live.world.env.now <= model_s:
            assert time.monotonic() < deadline, "the twin stopped moving after the burst"
            time.sleep(0.05)
        assert live.failure is None
        assert client.get("/api/health").json()["status"] == "running"
    assert threading.active_count() < 50
