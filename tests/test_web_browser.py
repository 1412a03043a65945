"""The control room in a real browser: Debian's Chromium, driven by Playwright, against the
app served by uvicorn on 127.0.0.1 with a live twin behind it.

Screenshots of the map and the control room are written to test-artifacts/ at the root.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from broker import free_port
from conftest import ROOT, make_scenario, reference_data
from playwright.sync_api import Browser, Page, expect, sync_playwright

from checkpoint.live import CLOCK_CODES, LiveTwin
from controllers.console import REPLY_CODES
from viz.app import Action, create_app
from viz.store import Store

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = ROOT / "test-artifacts"
GATE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CARRIERS = 20
# one user per role, named after it
PASSWORDS = {"viewer": "viewer-pass-1", "operator": "operator-pass-1", "engineer": "engineer-pass-1", "admin": "admin-pass-1"}

expect.set_options(timeout=10_000)


def until(check: Callable[[], Any], timeout_s: float = 10.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class Served:
    url: str
    live: LiveTwin
    store: Store


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The control room on a free port: 20 carriers, the clock at 150 times real time."""
    data = reference_data()
    data["fleet"]["carriers"] = CARRIERS
    data["realtime"] = {"speed": 150}
    with serving(LiveTwin(make_scenario(data)), tmp_path_factory.mktemp("control-room")) as s:
        yield s


# the mixed run: a lane of each kind, and the Vietnamese gate bridged to an emulated one over Modbus TCP
MIXED_LANES = ["to_china", "to_china", "to_china", "reversible", "to_vietnam", "to_vietnam", "to_vietnam", "to_vietnam"]
REVERSIBLE_LANE = 3


@pytest.fixture(scope="module")
def mixed_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A second control room: 8 carriers at 30 times real time, one reversible lane, and the
    Vietnamese gate bridged to the Modbus gate emulator, run as its own process."""
    port = free_port()
    gate = subprocess.Popen([sys.executable, "-m", "checkpoint", "emulate", "gate", "--port", str(port),
                             "--barrier-speed", "2000", "--settle-s", "0.05"], cwd=ROOT)
    try:
        data = reference_data()
        data["fleet"]["carriers"] = 8
        data["realtime"] = {"speed": 30}
        data["lanes"] = MIXED_LANES
        data["devices"] = {"gates": [{"yard": "vietnam", "endpoint": {"host": "127.0.0.1", "port": port}}]}
        scenario = make_scenario(data)
        deadline = time.monotonic() + 20
        while True:  # the emulator needs a moment to listen
            try:
                live = LiveTwin(scenario)
                break
            except ConnectionError:
                assert gate.poll() is None, "the gate emulator stopped"
                assert time.monotonic() < deadline, "the gate emulator did not start"
                time.sleep(0.1)
        with serving(live, tmp_path_factory.mktemp("mixed-control-room"), wait_for_motion=False) as s:
            yield s
    finally:
        gate.terminate()
        gate.wait(timeout=10)


@contextlib.contextmanager
def serving(live: LiveTwin, folder: Path, wait_for_motion: bool = True) -> Iterator[Served]:
    """The control room of `live` on a free port, with one user per role."""
    store = Store(folder / "checkpoint.sqlite")
    for role, password in PASSWORDS.items():
        store.add_user(role, password, role)  # type: ignore[arg-type]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(live, store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="control-room", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert thread.is_alive(), "the control room stopped while starting"
        try:
            return server.started and httpx.get(f"{url}/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(answers, 20, "the control room to answer")
        if wait_for_motion:
            until(lambda: any(c.moving for c in live.world.carriers.values()), 20, "a carrier to move")
        yield Served(url, live, store)
    finally:
        server.should_exit = True
        thread.join(20)
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():  # a missing browser fails the tests: they must not pass unseen
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Problems:
    """Console errors, uncaught exceptions, failed requests, error answers and requests
    that leave the server (the page must work with no internet)."""

    def __init__(self, page: Page, url: str) -> None:
        self.seen: list[str] = []
        page.on("console", lambda m: self.seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.seen.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: self.seen.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith((url, "data:")) else self.seen.append(f"outside request: {r.url}"))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # the browser's own zone is UTC: the page must still show the time at the gate
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC", locale="en-GB")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Page, served: Served, user: str) -> None:
    page.goto(served.url)
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill(PASSWORDS[user])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("app")).to_be_visible()
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")


def marker_positions(page: Page) -> dict[str, tuple[float, float]]:
    boxes = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid^="carrier-AGV-"]')]
             .map(e => { const r = e.getBoundingClientRect(); return [e.dataset.carrier, [r.x, r.y]]; }))"""
    )
    return {k: (v[0], v[1]) for k, v in boxes.items()}


def moving_carrier(live: LiveTwin, loaded: bool = False) -> str:
    def pick() -> str | None:
        for cid, c in live.world.carriers.items():
            if c.moving and not c.paused and not c.broken and (c.load or not loaded):
                return cid
        return None

    found: str = until(pick, 15, "a moving carrier")
    return found


# --- the tests ------------------------------------------------------------------------------


def test_the_page_logs_in_and_every_tab_loads_without_errors(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    page.goto(served.url)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_test_id("login")).to_be_visible()
    expect(page.get_by_test_id("app")).to_be_hidden()
    log_in(page, served, "admin")
    assert page.evaluate("() => L.version") == "1.9.4"  # the vendored Leaflet, from /static
    expect(page.get_by_test_id("who")).to_contain_text("admin")
    expect(page.locator("[data-testid=map] .leaflet-overlay-pane path")).not_to_have_count(0)

    page.get_by_test_id("tab-control").click()
    expect(page.locator("[data-testid^=fleet-row-]")).to_have_count(CARRIERS)
    expect(page.get_by_test_id("yard-vietnam")).to_be_visible()
    expect(page.get_by_test_id("kpi-delivered_export")).to_be_visible()
    expect(page.locator("[data-testid^=lane-row-]")).to_have_count(len(served.live.world.layout.lanes))
    expect(page.get_by_test_id("devices-none")).to_have_text("Tất cả thiết bị đều được mô phỏng.")  # no bridged devices
    expect(page.get_by_test_id("devices-table")).to_be_hidden()
    expect(page.get_by_test_id("speed-fixed")).to_be_hidden()
    expect(page.get_by_test_id("cmd-speed")).to_be_enabled()
    expect(page.get_by_test_id("cmd-set_speed")).to_be_enabled()
    page.get_by_test_id("tab-management").click()
    expect(page.get_by_test_id("lane-util-chart")).to_be_visible()
    expect(page.get_by_test_id("mgmt-series-chart")).to_be_visible()
    page.get_by_test_id("tab-tracking").click()
    expect(page.get_by_test_id("track-q")).to_be_visible()
    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_test_id("user-row-admin")).to_be_visible()
    page.get_by_test_id("user-name").fill("ca-dem")
    page.get_by_test_id("user-password").fill("ca-dem-pass-1")
    page.get_by_test_id("user-role").select_option("operator")
    page.get_by_test_id("user-add-btn").click()
    expect(page.get_by_test_id("user-row-ca-dem")).to_contain_text("Điều hành viên")
    assert served.store.check_password("ca-dem", "ca-dem-pass-1") is not None
    newest = page.locator("[data-testid^=audit-row-]").first  # newest first
    expect(newest).to_contain_text("Thêm người dùng")
    expect(newest).to_contain_text("Đã thêm người dùng ca-dem (Điều hành viên)")  # the reply, in Vietnamese
    page.get_by_test_id("tab-map").click()

    # the clock is the model time at the gate (UTC+7), though the browser runs in UTC
    shown, epoch = page.evaluate(
        "() => [document.querySelector('#clock-time').textContent, controlRoom.frame.clock.t0 + controlRoom.frame.t]"
    )
    hms = re.search(r"(\d\d):(\d\d):(\d\d)", shown)
    assert hms, shown
    expected = datetime.fromtimestamp(epoch, GATE_TZ)
    seconds_shown = int(hms[1]) * 3600 + int(hms[2]) * 60 + int(hms[3])
    seconds_expected = expected.hour * 3600 + expected.minute * 60 + expected.second
    gap = abs(seconds_shown - seconds_expected) % 86400
    assert min(gap, 86400 - gap) < 300, (shown, expected)

    page.wait_for_timeout(1000)  # a second of live frames on the map
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('cr.token')") is None
    assert problems.seen == []


def test_the_map_shows_the_carriers_and_they_move(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "viewer")
    markers = page.locator("[data-testid^=carrier-AGV-]")
    expect(markers).to_have_count(CARRIERS)
    blocks = sum(lane.n_blocks for lane in served.live.world.layout.lanes)
    assert page.locator("[data-testid=map] path.leaflet-interactive").count() >= blocks
    moving_carrier(served.live)
    before = marker_positions(page)
    page.wait_for_timeout(1500)
    after = marker_positions(page)
    moved = [cid for cid in before if abs(after[cid][0] - before[cid][0]) + abs(after[cid][1] - before[cid][1]) > 1.0]
    assert len(moved) >= 2, (before, after)
    # blocks held by carriers are drawn as reserved or occupied
    expect(page.locator('[data-testid=map] path[fill="#e74c3c"], [data-testid=map] path[fill="#f5b041"]')).not_to_have_count(0)

    # clicking a carrier shows its state, order, battery and container
    cid = moving_carrier(served.live, loaded=True)
    page.get_by_test_id(f"carrier-{cid}").click()
    panel = page.get_by_test_id("carrier-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(cid)
    expect(page.get_by_test_id("carrier-order")).not_to_be_empty()
    expect(page.get_by_test_id("carrier-battery")).to_contain_text("%")
    expect(page.get_by_test_id("carrier-container")).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    assert problems.seen == []


def test_an_operator_pauses_a_carrier_and_it_stops(page: Page, served: Served) -> None:
    live = served.live
    problems = Problems(page, served.url)
    log_in(page, served, "operator")
    page.get_by_test_id("tab-control").click()
    expect(page.get_by_test_id("cmd-pause_carrier")).to_be_enabled()
    cid = moving_carrier(live)
    page.get_by_test_id("cmd-carrier").select_option(cid)
    page.get_by_test_id("cmd-pause_carrier").click()
    result = page.get_by_test_id("cmd-result")
    expect(result).to_have_attribute("data-ok", "true")
    # the controller's reply, said in Vietnamese, and in English after switching
    vietnamese = f"Đã tạm dừng xe {cid}; xe giữ các khối đã đặt và không nhận việc mới cho đến khi chạy lại"
    english = f"Carrier {cid} paused; it keeps its blocks and gets no new job until resumed"
    expect(result).to_contain_text(vietnamese)
    expect(page.get_by_test_id("cmd-log")).to_contain_text(vietnamese)
    page.get_by_test_id("lang").select_option("en")
    expect(result).to_contain_text(english)
    expect(page.get_by_test_id("cmd-log")).to_contain_text(english)
    page.get_by_test_id("lang").select_option("vi")
    expect(result).to_contain_text(vietnamese)

    # the truth on the server: the carrier is paused and stands still while the clock runs
    until(lambda: live.world.carriers[cid].paused, 5, f"{cid} to be paused")

    def still() -> tuple[float, float] | None:
        first = live.world.carrier_wgs84(cid)
        time.sleep(0.4)
        return first if live.world.carrier_wgs84(cid) == first else None

    where = until(still, 5, f"{cid} to stop")
    model_then = live.world.env.now
    time.sleep(1.0)
    assert live.world.env.now > model_then + 60  # at 150x, more than a model minute went by
    assert live.world.carrier_wgs84(cid) == where
    assert live.world.carriers[cid].paused and not live.world.carriers[cid].moving

    # the page shows it paused, in the fleet list and on the map
    expect(page.get_by_test_id(f"alarms-{cid}")).to_have_attribute("data-flags", re.compile("P"))
    expect(page.get_by_test_id(f"badge-{cid}-P")).to_be_visible()
    expect(page.get_by_test_id(f"carrier-{cid}")).to_have_attribute("data-alarms", re.compile("P"))
    expect(page.get_by_test_id("cmd-log")).to_contain_text(cid)
    page.screenshot(path=str(ARTIFACTS / "control-room.png"), full_page=True)
    entry = served.store.audit(1)[0]
    assert (entry["user"], entry["action"], entry["body"].get("carrier_id"), entry["ok"]) == ("operator", "pause_carrier", cid, True)

    page.get_by_test_id("cmd-resume_carrier").click()
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text(f"Xe {cid} đã chạy lại")
    until(lambda: not live.world.carriers[cid].paused, 5, f"{cid} to be resumed")
    expect(page.get_by_test_id(f"alarms-{cid}")).not_to_have_attribute("data-flags", re.compile("P"))
    assert problems.seen == []


def test_an_operator_aborts_a_trip_and_returns_the_carrier_to_service(page: Page, served: Served) -> None:
    live = served.live
    problems = Problems(page, served.url)
    log_in(page, served, "operator")
    page.get_by_test_id("tab-control").click()
    trips = live.world.controller.traffic.trips  # type: ignore[attr-defined]

    def on_a_trip() -> str | None:
        for cid, c in live.world.carriers.items():
            trip = trips.get(cid)
            if c.moving and not c.paused and not c.broken and trip is not None and not trip.aborted:
                return cid
        return None

    cid: str = until(on_a_trip, 15, "a carrier on a trip")
    page.get_by_test_id("cmd-carrier").select_option(cid)
    page.get_by_test_id("cmd-abort_trip").click()
    result = page.get_by_test_id("cmd-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text(f"Đã lệnh xe {cid} hủy chuyến")
    # the vehicle was told cancelOrder: it stops at its next node and stands there
    until(lambda: live.world.carriers[cid].cancelled and not live.world.carriers[cid].moving, 10, f"{cid} to stop")
    where = live.world.carrier_wgs84(cid)
    time.sleep(0.5)
    assert live.world.carrier_wgs84(cid) == where
    # a second abort is refused with its reason, in both languages
    page.get_by_test_id("cmd-abort_trip").click()
    expect(result).to_have_attribute("data-ok", "false")
    expect(result).to_contain_text(f"Xe {cid} không có chuyến nào")
    page.get_by_test_id("lang").select_option("en")
    expect(result).to_contain_text(f"Carrier {cid} is not on a trip")
    page.get_by_test_id("lang").select_option("vi")
    page.get_by_test_id("cmd-return_to_service").click()
    expect(result).to_have_attribute("data-ok", "true")
    until(lambda: live.world.carrier_wgs84(cid) != where, 10, f"{cid} to drive on")
    entries = [(e["action"], e["ok"]) for e in served.store.audit(3)]
    assert entries == [("return_to_service", True), ("abort_trip", False), ("abort_trip", True)], entries
    assert problems.seen == []


def test_an_operator_closes_a_lane_and_opens_it_again(page: Page, served: Served) -> None:
    live = served.live
    problems = Problems(page, served.url)
    lane = len(live.world.layout.lanes) - 1
    blocks = live.world.layout.lanes[lane].n_blocks
    log_in(page, served, "operator")
    page.get_by_test_id("tab-control").click()
    page.get_by_test_id("cmd-lane").select_option(str(lane))
    # the lane is fixed (none here is reversible): its direction is not offered
    assert live.world.layout.lanes[lane].policy == "to_vietnam"
    expect(page.get_by_test_id(f"lane-row-{lane}")).to_have_attribute("data-policy", "to_vietnam")
    expect(page.get_by_test_id(f"lane-policy-{lane}")).to_have_text("Chỉ về Việt Nam")
    expect(page.get_by_test_id("cmd-set_lane_direction")).to_be_disabled()
    expect(page.get_by_test_id("cmd-direction")).to_be_disabled()
    expect(page.get_by_test_id("cmd-direction")).to_have_value("to_vietnam")
    expect(page.get_by_test_id("lane-note")).to_have_text("Không có làn nào đảo chiều được, nên không đặt hướng làn được.")
    expect(page.get_by_test_id("cmd-close_lane")).to_be_enabled()
    page.get_by_test_id("cmd-close_lane").click()
    expect(page.get_by_test_id("cmd-result")).to_have_attribute("data-ok", "true")
    assert lane in live.world.controller.lanes.closed
    expect(page.get_by_test_id(f"lane-row-{lane}")).to_have_attribute("data-open", "false")
    closed = page.locator(f'[data-testid=map] path[data-lane="{lane}"][data-state^="closed"]')
    expect(closed).to_have_count(blocks)  # the whole lane drawn closed on the map
    page.get_by_test_id("cmd-open_lane").click()
    expect(page.get_by_test_id("cmd-result")).to_have_attribute("data-ok", "true")
    assert lane not in live.world.controller.lanes.closed
    expect(page.get_by_test_id(f"lane-row-{lane}")).to_have_attribute("data-open", "true")
    expect(closed).to_have_count(0)
    assert problems.seen == []


def test_a_viewer_cannot_command(page: Page, served: Served) -> None:
    live = served.live
    log_in(page, served, "viewer")
    page.get_by_test_id("tab-control").click()
    expect(page.get_by_test_id("readonly-note")).to_be_visible()
    buttons = page.locator("[data-testid=commands] [data-action]")
    actions = [b.get_attribute("data-action") for b in buttons.all()]
    assert sorted(actions) == sorted(get_args(Action))  # every action of the API has its button
    for button in buttons.all():
        expect(button).to_be_disabled()
    for control in ("cmd-carrier", "cmd-yard", "cmd-lane", "cmd-direction", "cmd-speed"):
        expect(page.get_by_test_id(control)).to_be_disabled()
    expect(page.get_by_test_id("tab-audit")).to_be_hidden()
    page.get_by_test_id("tab-management").click()
    expect(page.get_by_test_id("run-save-btn")).to_be_disabled()

    # forced through, the server says no and nothing changes
    status, body = page.evaluate(
        """async () => {
             const r = await fetch('/api/commands', {method: 'POST', headers: {'Content-Type': 'application/json',
               Authorization: 'Bearer ' + sessionStorage.getItem('cr.token')}, body: JSON.stringify({action: 'pause_corridor'})});
             return [r.status, await r.json()];
           }"""
    )
    assert status == 403, body
    assert live.world.controller.operator.corridor_paused is False
    entry = served.store.audit(1)[0]
    assert (entry["user"], entry["action"], entry["ok"]) == ("viewer", "pause_corridor", False)


def test_tracking_finds_a_container_by_its_code_and_its_plate(page: Page, served: Served) -> None:
    live = served.live
    problems = Problems(page, served.url)
    container = until(lambda: next((c for c in list(live.world.containers.values()) if len(c.history) >= 3), None), 15, "a container")
    code, plate, first_at = container.container_id, container.plate, container.history[0][0]
    log_in(page, served, "viewer")
    page.get_by_test_id("tab-tracking").click()
    page.get_by_test_id("track-q").fill(code)
    page.get_by_test_id("track-submit").click()
    card = page.locator(f'[data-testid=track-result][data-container="{code}"]')
    expect(card).to_be_visible()
    expect(card.get_by_test_id("track-plate")).to_have_text(plate)
    history = card.get_by_test_id("track-history").locator("li")
    assert history.count() >= 3
    # the first step, in Vietnamese, at the time of the gate
    arrived = datetime.fromtimestamp(live.t0 + first_at, GATE_TZ).strftime("%H:%M:%S")
    expect(history.first).to_contain_text("Đến cửa khẩu")
    expect(history.first).to_contain_text(arrived)

    page.get_by_test_id("track-q").fill(plate)
    page.get_by_test_id("track-submit").click()
    expect(page.locator(f'[data-testid=track-result][data-container="{code}"]')).to_be_visible()

    page.get_by_test_id("track-q").fill("NOPE0000000")
    page.get_by_test_id("track-submit").click()
    expect(page.get_by_test_id("track-status")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("track-result")).to_have_count(0)
    assert problems.seen == []


def test_the_language_switches_from_vietnamese_to_english(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    page.goto(served.url)
    expect(page.locator("html")).to_have_attribute("lang", "vi")  # Vietnamese by default
    expect(page.get_by_test_id("login-submit")).to_have_text("Đăng nhập")
    log_in(page, served, "viewer")
    expect(page.get_by_test_id("tab-map")).to_have_text("Bản đồ")
    expect(page.get_by_test_id("conn")).to_contain_text("Trực tuyến")
    page.get_by_test_id("tab-control").click()
    expect(page.get_by_test_id("kpi-delivered_export")).to_contain_text("Đã giao")

    page.get_by_test_id("lang").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("tab-map")).to_have_text("Map")
    expect(page.get_by_test_id("tab-control")).to_have_text("Control room")
    expect(page.get_by_test_id("conn")).to_contain_text("Live")
    expect(page.get_by_test_id("kpi-delivered_export")).to_contain_text("Delivered")
    expect(page.get_by_test_id("readonly-note")).to_have_text("View only: your account may not give commands.")
    english = {"Idle", "Going to a job", "Loading", "Crossing", "Unloading", "Waiting to unload", "Charging",
               "Waiting for a charger", "Repositioning", "Unknown"}
    states = set(page.locator("[data-testid^=fleet-row-] td:nth-child(2)").all_text_contents())
    assert states and states <= english, states

    # both tables have the same keys, and the page asked for none that is missing
    assert page.evaluate("() => Object.keys(I18N.vi).filter(k => !(k in I18N.en)).concat(Object.keys(I18N.en).filter(k => !(k in I18N.vi)))") == []
    assert page.evaluate("() => [...controlRoom.missingI18n]") == []

    # the choice and the session survive a reload
    page.reload()
    expect(page.get_by_test_id("app")).to_be_visible()
    expect(page.get_by_test_id("tab-map")).to_have_text("Map")
    page.get_by_test_id("lang").select_option("vi")
    expect(page.get_by_test_id("tab-map")).to_have_text("Bản đồ")
    assert problems.seen == []


def test_an_engineer_saves_runs_and_compares_them(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "engineer")
    page.get_by_test_id("tab-management").click()
    expect(page.get_by_test_id("mgmt-throughput")).to_contain_text("Container")
    ids = []
    for name in ("trước", "sau"):
        page.get_by_test_id("run-name").fill(name)
        page.get_by_test_id("run-save-btn").click()
        saved = page.get_by_test_id("run-save-result")
        expect(saved).to_have_attribute("data-run-id", re.compile(r"\d+"))
        ids.append(saved.get_attribute("data-run-id"))
        expect(page.get_by_test_id(f"run-row-{ids[-1]}")).to_contain_text(name)
        page.wait_for_timeout(500)
    assert [r["name"] for r in served.store.runs()[:2]] == ["sau", "trước"]
    page.get_by_test_id("run-a").select_option(ids[0])
    page.get_by_test_id("run-b").select_option(ids[1])
    page.get_by_test_id("run-series").select_option("containers_delivered")
    page.get_by_test_id("run-compare").click()
    expect(page.get_by_test_id("cmp-delivered")).to_be_visible()
    expect(page.get_by_test_id("compare-bars")).to_be_visible()
    expect(page.locator("[data-testid=compare-series-chart] path.series")).to_have_count(2)
    assert problems.seen == []


def test_the_page_reconnects_and_picks_up_where_it_left_off(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    with page.expect_websocket() as first:
        log_in(page, served, "viewer")
    assert "since=" not in first.value.url
    seq = page.evaluate("() => controlRoom.seq")
    with page.expect_websocket() as second:
        page.evaluate("() => controlRoom.ws.close()")  # the link drops
    assert re.search(r"[?&]since=\d+", second.value.url), second.value.url
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    page.wait_for_function(f"() => controlRoom.seq > {seq} + 5")
    keys = set(page.evaluate("() => Object.keys(controlRoom.frame).filter(k => k.startsWith('c:'))"))
    assert keys == {f"c:{cid}" for cid in served.live.world.carriers}
    assert problems.seen == []


def test_the_control_room_shows_the_bridged_devices_and_the_fixed_speed(page: Page, mixed_served: Served) -> None:
    live = mixed_served.live
    problems = Problems(page, mixed_served.url)
    log_in(page, mixed_served, "operator")
    page.get_by_test_id("tab-control").click()
    expect(page.get_by_test_id("devices-none")).to_be_hidden()
    gate = page.get_by_test_id("device-row-VN-gate")
    expect(gate).to_have_attribute("data-kind", "gate")
    expect(gate).to_have_attribute("data-online", "true")
    expect(gate).to_have_attribute("data-fault", "false")
    expect(page.get_by_test_id("device-protocol-VN-gate")).to_have_text("Modbus TCP")
    expect(page.get_by_test_id("device-endpoint-VN-gate")).to_have_text(f"127.0.0.1:{live.scenario.devices.gates[0].endpoint.port}")
    expect(page.get_by_test_id("device-link-VN-gate")).to_have_text("Trực tuyến")
    expect(page.get_by_test_id("devices-count")).to_have_text("1/1 trực tuyến")
    expect(page.locator("[data-testid^=device-row-]")).to_have_count(1)

    # the run keeps the speed it started with: the speed control says so and is locked
    fixed = page.get_by_test_id("speed-fixed")
    expect(fixed).to_be_visible()
    expect(fixed).to_contain_text("Tốc độ cố định ×30")
    expect(page.get_by_test_id("cmd-speed")).to_be_disabled()
    expect(page.get_by_test_id("cmd-speed")).to_have_value("30")
    expect(page.get_by_test_id("cmd-set_speed")).to_be_disabled()
    expect(page.get_by_test_id("cmd-pause_sim")).to_be_enabled()  # pausing the model is still allowed
    expect(page.get_by_test_id("clock-note")).to_contain_text("tốc độ cố định")
    assert live.mixed.speed == 30

    # a bridged carrier is marked on the map and in the fleet list (here written into the frame,
    # as a VDA 5050 vehicle would be reported), and it all reads in English too
    page.evaluate(
        """() => {
             controlRoom.frame.d = controlRoom.frame.d.concat([{id: 'AGV-001', kind: 'vehicle',
               protocol: 'VDA 5050 2.0.0 over MQTT', endpoint: '127.0.0.1:1883', online: true, fault: false}]);
             const lang = document.querySelector('#lang');
             lang.value = 'en';
             lang.dispatchEvent(new Event('change'));
           }"""
    )
    expect(page.get_by_test_id("device-link-VN-gate")).to_have_text("Online")
    expect(page.get_by_test_id("device-protocol-AGV-001")).to_have_text("VDA 5050 2.0.0 over MQTT")
    expect(page.get_by_test_id("device-row-AGV-001")).to_contain_text("Carrier")
    expect(page.get_by_test_id("bridged-AGV-001")).to_have_text("VDA 5050")
    expect(page.get_by_test_id("fleet-row-AGV-001")).to_have_class(re.compile(r"\bbridged\b"))
    expect(page.get_by_test_id("fleet-row-AGV-002")).not_to_have_class(re.compile(r"\bbridged\b"))
    expect(page.get_by_test_id("carrier-AGV-001")).to_have_attribute("data-bridged", "VDA 5050 2.0.0 over MQTT")
    expect(page.get_by_test_id("carrier-AGV-001")).to_have_class(re.compile(r"\bbridged\b"))
    expect(page.locator("[data-testid=carrier-AGV-001] .bridge-tag")).to_have_text("VDA 5050")
    expect(page.locator(".carrier-dot.bridged")).to_have_count(1)
    expect(fixed).to_contain_text("keeps the speed it started with")
    expect(page.get_by_test_id("clock-note")).to_contain_text("speed fixed")
    assert page.evaluate("() => [...controlRoom.missingI18n]") == []
    page.screenshot(path=str(ARTIFACTS / "control-room-bridged.png"), full_page=True)
    assert problems.seen == []


def test_a_faulted_gate_shows_its_alarm_in_the_devices_panel_until_it_is_back(page: Page, mixed_served: Served) -> None:
    from pymodbus.client import ModbusTcpClient

    from hardware_bridge.modbus_gate import ERRORS

    live = mixed_served.live
    problems = Problems(page, mixed_served.url)
    log_in(page, mixed_served, "operator")
    page.get_by_test_id("tab-control").click()
    gate = page.get_by_test_id("device-row-VN-gate")
    expect(gate).to_have_attribute("data-fault", "false")
    expect(page.get_by_test_id("device-alarm-VN-gate")).to_have_count(0)
    raw = ModbusTcpClient("127.0.0.1", port=live.scenario.devices.gates[0].endpoint.port)  # type: ignore[union-attr]
    assert raw.connect()
    try:
        raw.write_register(ERRORS, 1, device_id=1)  # the emulator answers every read with an exception
        expect(gate).to_have_attribute("data-fault", "true")
        expect(gate).to_have_attribute("data-online", "false")
        alarm = page.get_by_test_id("device-alarm-VN-gate")
        expect(alarm).to_contain_text("Barie giữ đóng")
        expect(alarm).to_contain_text("Modbus exception 4 (device failure)")
        assert live.failure is None  # the twin runs on
    finally:
        raw.write_register(ERRORS, 0, device_id=1)
        raw.close()
    expect(gate).to_have_attribute("data-fault", "false", timeout=20_000)
    expect(page.get_by_test_id("device-alarm-VN-gate")).to_have_count(0)
    assert problems.seen == []


def test_only_a_reversible_lane_is_offered_a_new_direction(page: Page, mixed_served: Served) -> None:
    live = mixed_served.live
    lanes = live.world.controller.lanes
    problems = Problems(page, mixed_served.url)
    log_in(page, mixed_served, "operator")
    page.get_by_test_id("tab-control").click()
    rev = REVERSIBLE_LANE
    expect(page.get_by_test_id(f"lane-row-{rev}")).to_have_attribute("data-policy", "reversible")
    expect(page.get_by_test_id(f"lane-policy-{rev}")).to_have_text("Đảo chiều được")
    expect(page.get_by_test_id("lane-policy-0")).to_have_text("Chỉ sang Trung Quốc")
    expect(page.locator(f"[data-testid=cmd-lane] option[value='{rev}']")).to_have_text(f"Làn {rev + 1} · đảo chiều được")  # people count lanes from 1

    # a fixed lane: no direction to set
    page.get_by_test_id("cmd-lane").select_option("0")
    expect(page.get_by_test_id("cmd-set_lane_direction")).to_be_disabled()
    expect(page.get_by_test_id("cmd-direction")).to_be_disabled()
    expect(page.get_by_test_id("lane-note")).to_contain_text("cố định")
    expect(page.get_by_test_id("cmd-close_lane")).to_be_enabled()

    # the reversible lane: offered the other way round, and the controller turns it
    now = "to_china" if lanes.heading(rev) == "export" else "to_vietnam"
    other = "to_vietnam" if now == "to_china" else "to_china"
    page.get_by_test_id("cmd-lane").select_option(str(rev))
    expect(page.get_by_test_id("cmd-set_lane_direction")).to_be_enabled()
    expect(page.get_by_test_id("cmd-direction")).to_be_enabled()
    expect(page.get_by_test_id("cmd-direction")).to_have_value(other)
    expect(page.get_by_test_id("lane-note")).to_contain_text("đảo chiều được")
    page.get_by_test_id("cmd-set_lane_direction").click()
    expect(page.get_by_test_id("cmd-result")).to_have_attribute("data-ok", "true")
    assert lanes.heading(rev) == ("export" if other == "to_china" else "import")

    # forced through for a fixed lane, the server refuses it as the page said
    ok, detail = page.evaluate(
        """async () => {
             const r = await fetch('/api/commands', {method: 'POST', headers: {'Content-Type': 'application/json',
               Authorization: 'Bearer ' + sessionStorage.getItem('cr.token')},
               body: JSON.stringify({action: 'set_lane_direction', lane: 0, direction: 'to_vietnam'})});
             const body = await r.json();
             return [body.ok, body.detail];
           }"""
    )
    assert not ok and "not reversible" in detail
    assert problems.seen == []


# --- the page's corridor-wide state, lanes, clocks, replies, and the API's docs offline -------------


def command_as(served: Served, user: str, body: dict[str, Any]) -> dict[str, Any]:
    """A command sent straight to the API (as another operator's console would)."""
    token = httpx.post(f"{served.url}/api/login", json={"user": user, "password": PASSWORDS[user]}, timeout=10).json()["token"]
    reply = httpx.post(f"{served.url}/api/commands", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def test_an_emergency_stop_is_shown_to_everyone_and_survives_a_reload(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "viewer")  # a viewer sees it too
    estop = page.get_by_test_id("banner-estop")
    paused = page.get_by_test_id("banner-paused")
    expect(estop).to_be_hidden()
    expect(paused).to_be_hidden()
    try:
        assert command_as(served, "operator", {"action": "estop_all"})["ok"]
        expect(estop).to_be_visible()
        expect(estop).to_contain_text("DỪNG KHẨN CẤP")
        expect(page.get_by_test_id("banners")).to_have_attribute("data-estop", "true")
        page.reload()  # the banner comes with the frames, not from this page's memory
        expect(page.get_by_test_id("app")).to_be_visible()
        expect(estop).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "estop-banner.png"))
        page.get_by_test_id("lang").select_option("en")
        expect(estop).to_contain_text("EMERGENCY STOP in force")
        page.get_by_test_id("lang").select_option("vi")
        assert command_as(served, "operator", {"action": "release_estop"})["ok"]
        expect(estop).to_be_hidden()
        expect(page.get_by_test_id("banners")).to_be_hidden()

        # a paused corridor has its own banner
        assert command_as(served, "operator", {"action": "pause_corridor"})["ok"]
        expect(paused).to_be_visible()
        expect(paused).to_contain_text("Hành lang đang tạm dừng")
        expect(estop).to_be_hidden()
        page.reload()
        expect(paused).to_be_visible()
        assert command_as(served, "operator", {"action": "resume_corridor"})["ok"]
        expect(paused).to_be_hidden()
    finally:  # the other tests need a running corridor
        operator = served.live.world.controller.operator
        if operator.estop:
            command_as(served, "operator", {"action": "release_estop"})
        if operator.corridor_paused:
            command_as(served, "operator", {"action": "resume_corridor"})
    assert problems.seen == []


def test_lanes_are_numbered_from_1_and_commands_still_send_the_api_index(page: Page, served: Served) -> None:
    live = served.live
    lanes = len(live.world.layout.lanes)
    problems = Problems(page, served.url)
    log_in(page, served, "operator")
    page.get_by_test_id("tab-control").click()
    for i in range(lanes):  # the rows keep the API's index in their ids, and say the lane's number
        expect(page.get_by_test_id(f"lane-name-{i}")).to_have_text(f"Làn {i + 1}")
        expect(page.locator(f"[data-testid=cmd-lane] option[value='{i}']")).to_have_text(f"Làn {i + 1}")
    options = page.locator("[data-testid=cmd-lane] option").all_text_contents()
    assert "Làn 0" not in options and f"Làn {lanes}" in options

    page.get_by_test_id("cmd-lane").select_option(label="Làn 1")
    page.get_by_test_id("cmd-close_lane").click()
    result = page.get_by_test_id("cmd-result")
    expect(result).to_have_attribute("data-ok", "true")
    assert 0 in live.world.controller.lanes.closed  # "Làn 1" is lane 0 of the API
    assert served.store.audit(1)[0]["body"]["lane"] == 0
    expect(result).to_contain_text("Đóng làn Làn 1")
    expect(result).to_contain_text("Đã đóng làn 1 (")
    expect(page.get_by_test_id("cmd-log")).to_contain_text("Đã đóng làn 1 (")
    page.get_by_test_id("cmd-open_lane").click()
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("Đã mở làn 1 (")
    assert 0 not in live.world.controller.lanes.closed

    # a lane that does not exist, forced through: the reply numbers lanes from 1 too
    said = page.evaluate(
        """async () => {
             const r = await fetch('/api/commands', {method: 'POST', headers: {'Content-Type': 'application/json',
               Authorization: 'Bearer ' + sessionStorage.getItem('cr.token')}, body: JSON.stringify({action: 'close_lane', lane: 13})});
             const body = await r.json();
             return controlRoom.say.reply(body.code, body.args, body.detail);
           }"""
    )
    assert said == f"Không có làn 14; các làn được đánh số từ 1 đến {lanes}", said

    page.get_by_test_id("tab-management").click()
    labels = page.locator("[data-testid=lane-util-chart] .hbar-label")
    expect(labels).to_have_count(lanes)
    assert labels.all_text_contents() == [f"Làn {i + 1}" for i in range(lanes)]
    assert problems.seen == []


def test_the_reversible_lane_is_offered_by_its_number_from_1(page: Page, mixed_served: Served) -> None:
    problems = Problems(page, mixed_served.url)
    log_in(page, mixed_served, "operator")
    page.get_by_test_id("tab-control").click()
    rev = REVERSIBLE_LANE  # the API's index
    expect(page.locator(f"[data-testid=cmd-lane] option[value='{rev}']")).to_have_text(f"Làn {rev + 1} · đảo chiều được")
    expect(page.get_by_test_id(f"lane-name-{rev}")).to_have_text(f"Làn {rev + 1}")
    page.get_by_test_id("cmd-lane").select_option(str(rev))
    expect(page.get_by_test_id("lane-note")).to_contain_text(f"Làn {rev + 1} đảo chiều được")
    page.get_by_test_id("cmd-lane").select_option("0")
    expect(page.get_by_test_id("lane-note")).to_contain_text("Làn 1 cố định")
    assert problems.seen == []


def test_the_map_draws_the_lanes_apart_and_spreads_carriers_sharing_a_point(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "viewer")
    expect(page.locator("[data-testid^=carrier-AGV-]")).to_have_count(CARRIERS)
    page.get_by_test_id("map-fit").click()
    page.wait_for_timeout(600)
    last = len(served.live.world.layout.lanes) - 1
    block = served.live.world.layout.lanes[0].n_blocks // 2

    def centre(lane: int) -> tuple[float, float]:
        box = page.locator(f'[data-testid=map] path[data-lane="{lane}"][data-block="{block}"]').bounding_box()
        assert box is not None
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # at corridor zoom, neighbouring lanes stand some pixels apart and the outer ones well apart
    (x0, y0), (x1, y1), (xl, yl) = centre(0), centre(1), centre(last)
    assert ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 >= 5, (x0, y0, x1, y1)
    assert ((xl - x0) ** 2 + (yl - y0) ** 2) ** 0.5 >= 5 * last
    # each block is still there to point at where it is drawn (the carriers' markers set aside)
    page.evaluate("() => { document.querySelector('.leaflet-marker-pane').style.visibility = 'hidden'; }")
    for lane in (0, last // 2, last):
        x, y = centre(lane)
        hit = page.evaluate(f"() => {{ const e = document.elementFromPoint({x}, {y}); return [e.dataset.lane, e.dataset.block]; }}")
        assert hit == [str(lane), str(block)], (lane, hit)
    page.evaluate("() => { document.querySelector('.leaflet-marker-pane').style.visibility = ''; }")

    # carriers on the same point (parked at a yard) are drawn apart, not on top of one another
    spots = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid^="carrier-AGV-"]')].map(e => {
             const r = e.getBoundingClientRect(); return [e.dataset.lat + ',' + e.dataset.lon, r.x, r.y]; })"""
    )
    shared: dict[str, list[tuple[float, float]]] = {}
    for point, x, y in spots:
        shared.setdefault(point, []).append((x, y))
    groups = [g for g in shared.values() if len(g) > 1]
    for g in groups:
        assert len({(round(x), round(y)) for x, y in g}) == len(g), g
    page.screenshot(path=str(ARTIFACTS / "map-lanes-apart.png"))
    assert problems.seen == []


def test_every_reply_and_step_is_said_by_code_in_both_languages(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "viewer")
    codes = sorted({*REPLY_CODES, *CLOCK_CODES, "forbidden_role", "run_saved", "user_added"})
    args = {"carrier": "AGV-001", "lane": 0, "last": 7, "heading": "to_china", "side": "vietnam", "status": "idle", "n": 2,
            "carriers": "AGV-002", "why": "estop,corridor,operator", "action": "pause_carrier", "field": "lane", "value": "x",
            "speed": "30", "role": "viewer", "run": 1, "name": "ca-dem"}
    steps = ["arrived", "gate", "weighbridge", "scanner", "inspection (red)", "awaiting carrier", "on AGV-003",
             "stack at VN", "on the receiving truck at CN", "leaving", "delivered"]
    for lang in ("vi", "en"):
        page.get_by_test_id("lang").select_option(lang)
        said = page.evaluate(
            """([codes, args, steps]) => [codes.map(c => [c, controlRoom.say.reply(c, args, 'FALLBACK ' + c)]),
                                           steps.map(s => [s, controlRoom.say.step(s)])]""",
            [codes, args, steps],
        )
        replies, stepped = dict(said[0]), dict(said[1])
        untranslated = [c for c, text in replies.items() if text.startswith("FALLBACK") or "{" in text]
        assert untranslated == [], (lang, untranslated)
        assert [s for s, text in stepped.items() if text == s or "{" in text] == [], (lang, stepped)
        assert "1" in replies["lane_closed"] and "0" not in replies["lane_closed"], replies["lane_closed"]  # lane 0 is "1"
    assert page.evaluate("() => [...controlRoom.missingI18n]") == []
    page.get_by_test_id("lang").select_option("vi")
    assert problems.seen == []


def test_the_clocks_say_which_is_model_time_and_which_is_wall_time(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    log_in(page, served, "viewer")
    expect(page.get_by_test_id("clock-label")).to_have_text("Giờ mô hình")
    expect(page.get_by_test_id("wall-label")).to_have_text("Giờ thực")
    wall = page.get_by_test_id("wall-time")
    expect(wall).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
    hms = re.search(r"(\d\d):(\d\d):(\d\d)", wall.text_content() or "")
    assert hms
    now = datetime.now(GATE_TZ)  # the wall clock at the gate, though the browser runs in UTC
    gap = abs(int(hms[1]) * 3600 + int(hms[2]) * 60 + int(hms[3]) - (now.hour * 3600 + now.minute * 60 + now.second)) % 86400
    assert min(gap, 86400 - gap) < 60, (hms[0], now)
    page.get_by_test_id("lang").select_option("en")
    expect(page.get_by_test_id("clock-label")).to_have_text("Model time")
    expect(page.get_by_test_id("wall-label")).to_have_text("Wall time")
    page.get_by_test_id("lang").select_option("vi")
    assert problems.seen == []


def test_the_api_docs_load_with_no_internet(page: Page, served: Served) -> None:
    problems = Problems(page, served.url)
    left: list[str] = []

    def only_here(route: Any) -> None:
        host = httpx.URL(route.request.url).host
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # the network is closed: nothing may leave for another host
            left.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(f"{served.url}/docs")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("control room")
    commands = page.locator('.opblock-summary-path[data-path="/api/commands"]')
    expect(commands).to_be_visible()
    expect(commands).to_have_text("/api/commands")
    expect(page.locator(".opblock-tag-section")).not_to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "docs.png"))
    assert left == []
    assert problems.seen == []


def test_a_twin_that_stops_on_an_error_is_shown_stopped_with_the_reason(page: Page, tmp_path: Path) -> None:
    data = reference_data()
    data["fleet"]["carriers"] = 8
    data["realtime"] = {"speed": 100}
    with serving(LiveTwin(make_scenario(data)), tmp_path) as dying:
        log_in(page, dying, "viewer")
        stopped = page.get_by_test_id("banner-stopped")
        expect(page.get_by_test_id("app")).to_be_visible()
        expect(stopped).to_be_hidden()

        def broken(end: float) -> None:
            raise RuntimeError("a carrier's process failed")

        dying.live.mixed.step = broken  # type: ignore[method-assign]
        expect(stopped).to_be_visible(timeout=10_000)
        expect(stopped).to_contain_text("Bản sao số đã DỪNG")
        expect(page.get_by_test_id("banner-stopped-reason")).to_have_text("RuntimeError: a carrier's process failed")
        expect(page.get_by_test_id("banners")).to_have_attribute("data-health", "stopped")
        page.get_by_test_id("lang").select_option("en")
        expect(stopped).to_contain_text("The twin has STOPPED on an error")
        page.screenshot(path=str(ARTIFACTS / "twin-stopped-banner.png"))
