"""The control room's API and websocket, through FastAPI's test client: log-in and roles,
commands through the runtime and their audit log, tracking, and state frames."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario, reference_data
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from checkpoint.live import CLOCK_CODES, Client, LiveTwin
from controllers.console import REPLY_CODES
from viz.app import create_app
from viz.frames import apply
from viz.store import Store, User

PASSWORDS = {"ada": "admin-pass-1", "otto": "operator-pass", "eng": "engineer-pass", "vic": "viewer-pass"}
ROLE = {"ada": "admin", "otto": "operator", "eng": "engineer", "vic": "viewer"}


def small_scenario(speed: float = 300.0) -> Any:
    data = reference_data()
    data["fleet"]["carriers"] = 16
    data["realtime"] = {"speed": speed, "tick_s": 0.02}
    return make_scenario(data)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, LiveTwin, Store]]:
    live = LiveTwin(small_scenario())
    store = Store(tmp_path_factory.mktemp("data") / "checkpoint.sqlite")
    for name, password in PASSWORDS.items():
        store.add_user(name, password, ROLE[name])  # type: ignore[arg-type]
    with TestClient(create_app(live, store)) as client:
        until(lambda: live.world.env.now > 600)
        yield client, live, store


def until(check: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def headers(client: TestClient, name: str) -> dict[str, str]:
    reply = client.post("/api/login", json={"user": name, "password": PASSWORDS[name]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["role"] == ROLE[name]
    return {"Authorization": f"Bearer {reply.json()['token']}"}


# --- log-in and roles -------------------------------------------------------------------------


def test_log_in_needs_the_right_password_and_a_token_for_everything(served: Any) -> None:
    client, _, _ = served
    assert client.post("/api/login", json={"user": "ada", "password": "wrong"}).status_code == 401
    assert client.post("/api/login", json={"user": "nobody", "password": "x"}).status_code == 401
    for path in ("/api/state", "/api/site", "/api/kpis", "/api/me", "/api/runs"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    h = headers(client, "vic")
    assert client.get("/api/me", headers=h).json() == {"user": "vic", "role": "viewer"}
    client.post("/api/logout", headers=h)
    assert client.get("/api/me", headers=h).status_code == 401


def test_a_viewer_cannot_command_and_the_refusal_is_audited(served: Any) -> None:
    client, live, _ = served
    speed = live.mixed.speed
    reply = client.post("/api/commands", headers=headers(client, "vic"), json={"action": "set_speed", "speed": 5})
    assert reply.status_code == 403
    assert live.mixed.speed == speed
    log = client.get("/api/audit", headers=headers(client, "ada")).json()
    refused = [e for e in log if e["user"] == "vic" and e["action"] == "set_speed"]
    assert refused and refused[0]["ok"] is False and "viewer" in refused[0]["result"]
    assert (refused[0]["code"], refused[0]["args"]) == ("forbidden_role", {"role": "viewer"})


def test_only_admins_read_the_audit_log_and_manage_users(served: Any) -> None:
    client, _, _ = served
    for name in ("vic", "otto", "eng"):
        assert client.get("/api/audit", headers=headers(client, name)).status_code == 403
        assert client.get("/api/users", headers=headers(client, name)).status_code == 403
    admin = headers(client, "ada")
    assert client.post("/api/users", headers=admin, json={"name": "newop", "password": "12345678", "role": "operator"}).status_code == 200
    assert client.post("/api/users", headers=admin, json={"name": "newop", "password": "12345678", "role": "operator"}).status_code == 409
    short = client.post("/api/users", headers=admin, json={"name": "x", "password": "short", "role": "viewer"})
    assert short.status_code == 422 and "password" in short.text
    assert {"name": "newop", "role": "operator"} in client.get("/api/users", headers=admin).json()
    assert client.post("/api/login", json={"user": "newop", "password": "12345678"}).status_code == 200


# --- commands through the runtime ---------------------------------------------------------------


def test_pausing_a_carrier_stops_the_twins_carrier_and_is_audited(served: Any) -> None:
    client, live, _ = served
    op = headers(client, "otto")
    world = live.world
    cid = "AGV-003"
    reply = client.post("/api/commands", headers=op, json={"action": "pause_carrier", "carrier_id": cid})
    assert reply.status_code == 200 and reply.json()["ok"], reply.text
    assert reply.json()["code"] in ("carrier_paused", "carrier_paused_already_stopped")
    assert reply.json()["args"]["carrier"] == cid and cid in reply.json()["detail"]
    until(lambda: not world.carriers[cid].moving)
    where, t = world.carrier_wgs84(cid), world.env.now
    until(lambda: world.env.now > t + 300)  # five model minutes later it has not moved
    assert world.carriers[cid].paused and world.carrier_wgs84(cid) == where
    assert client.post("/api/commands", headers=op, json={"action": "resume_carrier", "carrier_id": cid}).json()["ok"]
    assert not world.carriers[cid].paused
    entries = client.get("/api/audit", headers=headers(client, "ada")).json()
    mine = [(e["user"], e["action"], e["body"].get("carrier_id"), e["ok"]) for e in entries]
    assert ("otto", "pause_carrier", cid, True) in mine and ("otto", "resume_carrier", cid, True) in mine
    resumed = next(e for e in entries if e["action"] == "resume_carrier" and e["body"].get("carrier_id") == cid)
    assert resumed["code"] in ("carrier_resumed", "carrier_resumed_still_stopped") and resumed["args"]["carrier"] == cid


def test_refused_commands_say_why_and_bad_bodies_name_the_field(served: Any) -> None:
    client, live, _ = served
    op = headers(client, "otto")
    unknown = client.post("/api/commands", headers=op, json={"action": "pause_carrier", "carrier_id": "AGV-999"})
    assert unknown.status_code == 200 and unknown.json()["ok"] is False and "AGV-999" in unknown.json()["detail"]
    assert (unknown.json()["code"], unknown.json()["args"]) == ("unknown_carrier", {"carrier": "AGV-999"})
    for body, field in (
        ({"action": "fly"}, "action"),
        ({"action": "close_lane", "lane": 99}, "lane"),
        ({"action": "set_speed", "speed": 5000}, "speed"),
        ({"action": "set_speed", "speed": 2, "colour": "red"}, "colour"),
        ({"action": "pause_carrier", "carrier_id": "../etc"}, "carrier_id"),
        ({"action": "place_carrier", "carrier_id": "AGV-001", "yard": "mars"}, "yard"),
    ):
        reply = client.post("/api/commands", headers=op, json=body)
        assert reply.status_code == 422, body
        assert any(field in str(d["loc"]) for d in reply.json()["detail"]), reply.text
    assert client.post("/api/commands", headers=op, content=b"{not json", ).status_code == 422
    # a carrier the controllers know the place of is not placed again: said, with the code
    cid = next(iter(live.world.carriers))
    placed = client.post("/api/commands", headers=op, json={"action": "place_carrier", "carrier_id": cid, "yard": "china"})
    assert placed.status_code == 200 and placed.json()["ok"] is False and placed.json()["code"] == "not_unplaced"
    # the system goes on, and what was accepted before is still in the log
    assert client.get("/api/state", headers=op).status_code == 200
    assert any(e["action"] == "pause_carrier" and e["ok"] for e in client.get("/api/audit", headers=headers(client, "ada")).json())


def test_the_simulation_clock_can_be_paused_and_its_speed_changed(served: Any) -> None:
    client, live, _ = served
    op = headers(client, "otto")
    paused = client.post("/api/commands", headers=op, json={"action": "pause_sim"}).json()
    assert paused["ok"] and (paused["code"], paused["args"]) == ("sim_paused", {})
    time.sleep(0.1)
    t = live.world.env.now
    time.sleep(0.3)
    assert live.world.env.now == t
    assert client.post("/api/commands", headers=op, json={"action": "resume_sim"}).json()["ok"]
    until(lambda: live.world.env.now > t)
    faster = client.post("/api/commands", headers=op, json={"action": "set_speed", "speed": 500}).json()
    assert faster["ok"] and (faster["code"], faster["args"]) == ("speed_set", {"speed": "500"})
    assert live.mixed.speed == 500
    log = client.get("/api/audit?limit=1", headers=headers(client, "ada")).json()
    assert (log[0]["action"], log[0]["code"], log[0]["args"]) == ("set_speed", "speed_set", {"speed": "500"})
    assert client.post("/api/commands", headers=op, json={"action": "set_speed", "speed": 300}).json()["ok"]


def test_only_engineers_save_runs_and_saved_runs_can_be_read(served: Any) -> None:
    client, live, _ = served
    assert client.post("/api/runs", headers=headers(client, "otto"), json={"name": "x"}).status_code == 403
    eng = headers(client, "eng")
    run_id = client.post("/api/runs", headers=eng, json={"name": "8 lanes, morning"}).json()["id"]
    listed = client.get("/api/runs", headers=headers(client, "vic")).json()
    assert any(r["id"] == run_id and r["scenario"] == live.scenario.name for r in listed)
    run = client.get(f"/api/runs/{run_id}", headers=eng).json()
    assert run["summary"]["containers_arrived"] >= 0 and isinstance(run["timeseries"], list)
    assert client.get("/api/runs/999999", headers=eng).status_code == 404


# --- what the page reads --------------------------------------------------------------------------


def test_site_state_and_kpis_describe_the_checkpoint(served: Any) -> None:
    client, live, _ = served
    h = headers(client, "vic")
    site = client.get("/api/site", headers=h).json()
    kinds = {f["properties"]["kind"] for f in site["geojson"]["features"]}
    assert {"lane", "block", "yard", "border", "charger", "gate", "crane"} <= kinds
    blocks = [f for f in site["geojson"]["features"] if f["properties"]["kind"] == "block"]
    assert len(blocks) == sum(lane.n_blocks for lane in live.world.layout.lanes)
    lon, lat = blocks[0]["geometry"]["coordinates"][0][0]
    assert 21.9 < lat < 22.1 and 106.6 < lon < 106.8  # WGS84 at Hữu Nghị
    state = client.get("/api/state", headers=h).json()["data"]
    assert {f"c:{cid}" for cid in live.world.carriers} <= set(state)
    assert state["clock"]["t0"] > 0 and "y:vietnam" in state and "l:0" in state
    kpis = client.get("/api/kpis", headers=h).json()
    assert set(kpis["summary"]["directions"]) == {"export", "import"}
    detail = client.get("/api/carriers/AGV-001", headers=h).json()
    assert {"status", "battery_pct", "order", "container", "lat", "lon"} <= set(detail)
    assert client.get("/api/carriers/AGV-777", headers=h).status_code == 404
    assert "/api/commands" in client.get("/openapi.json").json()["paths"]


def test_a_container_is_found_by_its_code_or_its_trucks_plate(served: Any) -> None:
    client, live, _ = served
    h = headers(client, "vic")
    until(lambda: len(live.world.containers) > 3)
    c = next(iter(live.world.containers.values()))
    for query in (c.container_id, c.container_id.lower(), c.plate):
        results = client.get("/api/track", headers=h, params={"q": query}).json()["results"]
        found = [r for r in results if r["container_id"] == c.container_id]
        assert found, query
        steps = [e["step"] for e in found[0]["history"]]
        assert steps[0] == "arrived" and found[0]["step"] == steps[-1]
        assert all(e["at"].endswith("+07:00") for e in found[0]["history"])  # the gate's time zone
    assert client.get("/api/track", headers=h, params={"q": "ZZZU0000000"}).json()["results"] == []


# --- the websocket --------------------------------------------------------------------------------


def test_the_websocket_needs_a_token(served: Any) -> None:
    client, _, _ = served
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws?token=forged") as ws:
            ws.receive_text()
    assert refused.value.code == 4401


def test_frames_are_a_whole_frame_then_deltas_that_rebuild_the_state(served: Any) -> None:
    client, live, _ = served
    token = headers(client, "vic")["Authorization"].split()[1]
    with client.websocket_connect(f"/ws?token={token}") as ws:
        first = json.loads(ws.receive_text())
        assert first["type"] == "key"
        state, seq = first["data"], first["seq"]
        stamps = []
        for _ in range(12):
            message = json.loads(ws.receive_text())
            assert message["type"] == "delta" and message["base"] == seq
            state, seq = apply(state, message["data"]), message["seq"]
            stamps.append(state["w"])
        assert len(state) > 10 and all(k.startswith(("c:", "b:", "l:", "y:")) or k in ("t", "clock", "k", "w") for k in state)
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] < 5  # about 10 a second
    # a client that comes back with the last frame it has gets the deltas it missed
    time.sleep(0.35)
    with client.websocket_connect(f"/ws?token={token}&since={seq}") as ws:
        message = json.loads(ws.receive_text())
        assert message["type"] == "delta" and message["base"] == seq
    # one that was away too long gets a whole frame
    with client.websocket_connect(f"/ws?token={token}&since=1") as ws:
        assert json.loads(ws.receive_text())["type"] == "key"


def test_a_slow_client_is_skipped_to_a_whole_frame_without_holding_others() -> None:
    live = LiveTwin(small_scenario())  # not served: this test publishes the frames itself
    live.mixed.start()
    slow, quick = Client(), Client()
    live.clients.update({slow, quick})
    delivered: list[str] = []
    for i in range(40):  # the slow client takes nothing, the quick one everything
        live.mixed.world.env.run(until=60 * (i + 1))
        live.publish_frame()
        while not quick.queue.empty():
            delivered += live.next_messages(quick, quick.queue.get_nowait())
    types = [json.loads(m)["type"] for m in delivered]
    assert len(delivered) == 40 and types[0] == "key" and set(types[1:]) == {"delta"}
    assert slow.skipped > 0 and slow.queue.qsize() <= slow.queue.maxsize
    messages = [m for _ in range(slow.queue.qsize()) for m in live.next_messages(slow, slow.queue.get_nowait())]
    assert json.loads(messages[0])["type"] == "key"  # it catches up with a whole frame
    live.mixed.close()


def test_engineers_simulate_a_scenario_into_a_saved_run_to_compare(served: Any) -> None:
    client, _, _ = served
    eng = headers(client, "eng")
    assert "huu_nghi_4lane" in client.get("/api/scenarios", headers=eng).json()
    assert client.post("/api/runs/simulate", headers=headers(client, "otto"), json={"scenario": "huu_nghi_4lane"}).status_code == 403
    assert client.post("/api/runs/simulate", headers=eng, json={"scenario": "no_such_place"}).status_code == 404
    assert client.post("/api/runs/simulate", headers=eng, json={"scenario": "../secrets"}).status_code == 422
    made = client.post("/api/runs/simulate", headers=eng, json={"scenario": "huu_nghi_4lane", "seed": 2, "controller": "fifo"})
    assert made.status_code == 200, made.text
    run = client.get(f"/api/runs/{made.json()['id']}", headers=eng).json()
    assert run["scenario"] == "huu_nghi_4lane" and run["summary"]["lanes"] == 4 and run["summary"]["seed"] == 2
    assert run["summary"]["containers_delivered"] > 2000 and len(run["timeseries"]) > 200


def test_a_live_mixed_run_shows_its_bridged_devices_and_keeps_its_pace(tmp_path: Path) -> None:
    import subprocess
    import sys

    from broker import free_port
    from conftest import ROOT

    port = free_port()
    gate = subprocess.Popen([sys.executable, "-m", "checkpoint", "emulate", "gate", "--port", str(port),
                             "--barrier-speed", "2000", "--settle-s", "0.05"], cwd=ROOT)
    try:
        data = reference_data()
        data["fleet"]["carriers"] = 8
        data["realtime"] = {"speed": 30}
        data["devices"] = {"gates": [{"yard": "vietnam", "endpoint": {"host": "127.0.0.1", "port": port}}]}
        deadline = time.monotonic() + 20
        while True:
            try:
                live = LiveTwin(make_scenario(data))
                break
            except ConnectionError:
                assert time.monotonic() < deadline, "the gate emulator did not start"
                time.sleep(0.2)
        live.mixed.start()
        for _ in range(60):  # 30 wall seconds at most: the first trucks go through the bridged gate
            live.mixed.step(3600)
            live.publish_frame()
            if live.world.yards["vietnam"].gate.opened > 0:
                break
            time.sleep(0.5)
        devices = live.frame["d"]
        assert devices == [{"id": "VN-gate", "kind": "gate", "protocol": "Modbus TCP", "endpoint": f"127.0.0.1:{port}",
                            "online": True, "fault": False, "alarm": "", "waiting": 0}]
        assert live.world.yards["vietnam"].gate.opened > 0  # trucks came through the real barrier
        assert live.frame["clock"]["bridged"] is True
        ok, detail, code, args = live.command("set_speed", speed=100)
        assert not ok and "bridged" in detail  # real devices keep their pace
        assert (code, dict(args)) == ("speed_fixed_bridged", {"speed": "30"})
        live.mixed.close()
    finally:
        gate.terminate()
        gate.wait(timeout=10)


# --- replies in the operator's language ------------------------------------------------------------

I18N = Path(__file__).resolve().parent.parent / "viz" / "static" / "i18n.js"
# what the page makes of a reply's args before it fills a sentence (viz/static/app.js replyText)
DERIVED = {"count": "n", "why": "why"}


def test_every_reply_code_has_a_sentence_in_both_languages_using_only_its_args() -> None:
    text = I18N.read_text(encoding="utf-8")
    en_at = text.index("  en: {")
    tables = {"vi": text[:en_at], "en": text[en_at:]}
    codes = {*REPLY_CODES, *CLOCK_CODES, "forbidden_role", "run_saved", "user_added"}
    for lang, table in tables.items():
        sentences = dict(re.findall(r'^    "reply\.([a-z_]+)": "(.*)",?$', table, re.MULTILINE))
        assert codes <= set(sentences), (lang, sorted(codes - set(sentences)))
        for code in codes:
            names = set(re.findall(r"\{(\w+)\}", sentences[code]))
            known = {"carrier", "lane", "last", "heading", "side", "status", "n", "carriers", "why", "action",
                     "field", "value", "speed", "role", "run", "name", *DERIVED}
            assert names <= known, (lang, code, names)
    assert "Đã tạm dừng xe {carrier}; xe giữ các khối đã đặt" in tables["vi"]


def test_an_audit_file_of_the_old_schema_gets_the_reply_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, user TEXT NOT NULL, "
        "role TEXT NOT NULL, action TEXT NOT NULL, body TEXT NOT NULL, ok INTEGER NOT NULL, result TEXT NOT NULL);"
        "INSERT INTO audit (at, user, role, action, body, ok, result) VALUES (1, 'otto', 'operator', 'pause_sim', '{}', 1, 'simulation paused');"
    )
    db.commit()
    db.close()
    store = Store(path)
    store.record(User("otto", "operator"), "pause_carrier", {"carrier_id": "AGV-003"}, True,
                 "carrier AGV-003 paused", "carrier_paused", {"carrier": "AGV-003"})
    new, old = store.audit()
    assert (new["code"], new["args"]) == ("carrier_paused", {"carrier": "AGV-003"})
    assert (old["code"], old["args"], old["result"]) == ("", {}, "simulation paused")
    store.close()
    Store(path).close()  # a second opening finds the columns there


def test_two_servers_on_one_data_directory_keep_their_audit_entries_apart(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.sqlite"
    eight, four = Store(path, scenario="huu_nghi_8lane"), Store(path, scenario="huu_nghi_4lane")
    otto = User("otto", "operator")
    eight.record(otto, "pause_corridor", {}, True, "corridor paused", "corridor_paused", {"n": 3})
    four.record(otto, "estop_all", {}, True, "emergency stop", "estop_engaged", {"n": 5})
    assert [e["scenario"] for e in eight.audit()] == ["huu_nghi_4lane", "huu_nghi_8lane"]  # one log, each entry named
    assert [e["action"] for e in eight.audit(scenario="huu_nghi_8lane")] == ["pause_corridor"]
    assert [e["action"] for e in four.audit(scenario="huu_nghi_4lane")] == ["estop_all"]
    eight.close()
    four.close()


def test_the_audit_api_filters_by_scenario_and_a_refusal_reads_right(served: Any) -> None:
    client, live, _ = served
    otto = headers(client, "otto")
    client.post("/api/commands", headers=otto, json={"action": "pause_sim"})
    client.post("/api/commands", headers=otto, json={"action": "resume_sim"})
    ada = headers(client, "ada")
    mine = client.get("/api/audit", headers=ada, params={"scenario": live.scenario.name}).json()
    assert mine and all(e["scenario"] == live.scenario.name for e in mine)
    assert client.get("/api/audit", headers=ada, params={"scenario": "elsewhere"}).json() == []
    refused = client.post("/api/runs", headers=otto, json={"name": "x"})
    assert refused.status_code == 403 and refused.json()["detail"] == "an operator may not do this; it needs an engineer"


def test_the_live_twin_opens_at_the_present_time_of_day(tmp_path: Path) -> None:
    from checkpoint.live import midnight_at_gate, present_time_of_day

    noon = midnight_at_gate() + 12 * 3600
    assert present_time_of_day(noon) == 12 * 3600
    live = LiveTwin(small_scenario(speed=60), start_at_s=present_time_of_day(noon))
    store = Store(tmp_path / "checkpoint.sqlite")
    store.add_user("vic", PASSWORDS["vic"], "viewer")
    with TestClient(create_app(live, store)) as client:
        until(lambda: live.hub.seq > 2)
        state = client.get("/api/state", headers=headers(client, "vic")).json()["data"]
        assert 12 * 3600 <= state["t"] < 12 * 3600 + 600  # opened at noon, not at midnight
        assert len(live.world.containers) > 50  # the morning's trucks came: the yard is busy from the start
        assert state["clock"]["speed"] == 60
