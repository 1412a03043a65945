"""The `checkpoint` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT, reference_data


def checkpoint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checkpoint", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_simulate_prints_the_kpi_table_and_writes_json_and_csv(tmp_path: Path) -> None:
    result = checkpoint("simulate", "scenarios/huu_nghi_8lane.yaml", "--out", str(tmp_path), "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("Export VN→CN", "Import CN→VN", "truck wait p95", "Bottleneck:", "Safety violations: 0"):
        assert text in out
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] == 3
    assert summary["containers_delivered"] > 2000
    assert summary["containers_lost"] == 0 and summary["safety_violations"] == 0
    assert summary["bottleneck"]["resource"] in out
    csv_lines = (tmp_path / "timeseries.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 1 + 24 * 12 + 1  # header, every 5 minutes from 0:00, the end of the run


def test_simulate_without_a_scenario_runs_the_8_lane_default(tmp_path: Path) -> None:
    result = checkpoint("simulate", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["scenario"] == "huu_nghi_8lane"


def test_a_bad_scenario_gives_one_clear_message_and_exit_code_2(tmp_path: Path) -> None:
    data = reference_data()
    data["fleet"]["speed_kmh"] = -5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = checkpoint("simulate", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[0].startswith(f"checkpoint: error: {bad}: fleet.speed_kmh = -5")
    assert "greater than 0" in result.stderr


def test_a_missing_scenario_file_is_exit_code_2(tmp_path: Path) -> None:
    result = checkpoint("simulate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml: cannot read the file" in result.stderr and "Traceback" not in result.stderr


def test_bad_flags_are_exit_code_2() -> None:
    for args in (("simulate", "--seed", "abc"), ("simulate", "--demand-scale", "-1"), ("fly",)):
        result = checkpoint(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert "error" in result.stderr


def test_compare_writes_each_kpi_with_its_interval_for_each_controller(tmp_path: Path) -> None:
    result = checkpoint(
        "compare", "scenarios/huu_nghi_8lane_fruit_peak.yaml",
        "--controllers", "fifo,greedy,cpsat", "--seeds", "2", "--duration-h", "3", "--out", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "cpsat − fifo" in result.stdout and "truck_wait_p95_s" in result.stdout
    data = json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    assert data["seeds"] == [1, 2] and data["baseline"] == "fifo"
    for name in ("fifo", "greedy", "cpsat"):
        kpis = data["controllers"][name]
        for kpi in ("truck_wait_p95_s", "late_perishable", "containers_delivered", "safety_violations"):
            k = kpis[kpi]
            assert k["ci_low"] <= k["mean"] <= k["ci_high"] and len(k["values"]) == 2
        assert kpis["safety_violations"]["mean"] == 0
    diff = data["differences"]["cpsat"]["containers_delivered"]
    fifo, cpsat = data["controllers"]["fifo"], data["controllers"]["cpsat"]
    assert diff["values"] == [c - f for c, f in zip(cpsat["containers_delivered"]["values"], fifo["containers_delivered"]["values"])]


def test_compare_refuses_unknown_controllers_and_bad_seeds() -> None:
    for args in (("--controllers", "fifo,magic"), ("--seeds", "0"), ("--controllers", "fifo,fifo")):
        result = checkpoint("compare", "scenarios/huu_nghi_8lane.yaml", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "error" in result.stderr


# --- the control room ---------------------------------------------------------------------------


def test_user_add_creates_the_first_admin_and_refuses_bad_input(tmp_path: Path) -> None:
    def add(name: str, role: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "checkpoint", "user", "add", name, "--role", role, "--data-dir", str(tmp_path)],
            cwd=ROOT, input=password + "\n", capture_output=True, text=True, timeout=60,
        )

    made = add("chief", "admin", "a long password")
    assert made.returncode == 0, made.stderr
    assert "admin chief" in made.stdout
    again = add("chief", "viewer", "another password")
    assert again.returncode == 2 and "exists" in again.stderr
    short = add("ops", "operator", "short")
    assert short.returncode == 2 and "password" in short.stderr and "Traceback" not in short.stderr
    wrong_role = add("ops", "king", "a long password")
    assert wrong_role.returncode == 2 and "role" in wrong_role.stderr
    from viz.store import Store

    store = Store(tmp_path / "checkpoint.sqlite")
    assert store.check_password("chief", "a long password") is not None
    assert "a long password" not in (tmp_path / "checkpoint.sqlite").read_bytes().decode("latin-1")  # only a hash


def test_serve_without_an_admin_says_how_to_make_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "checkpoint", "serve", "--data-dir", str(tmp_path)],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "checkpoint user add" in result.stderr and "Traceback" not in result.stderr


def test_serve_opens_a_working_control_room(tmp_path: Path) -> None:
    import time
    import urllib.request

    from broker import free_port

    subprocess.run([sys.executable, "-m", "checkpoint", "user", "add", "chief", "--role", "admin", "--data-dir", str(tmp_path)],
                   cwd=ROOT, input="a long password\n", text=True, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "checkpoint", "serve", "--port", str(port), "--data-dir", str(tmp_path), "--speed", "60"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(base + "/", timeout=2).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.2)
        assert "<!doctype html" in page.lower()
        login = urllib.request.Request(base + "/api/login", json.dumps({"user": "chief", "password": "a long password"}).encode(),
                                       {"Content-Type": "application/json"})
        token = json.loads(urllib.request.urlopen(login, timeout=10).read())["token"]
        time.sleep(1.0)
        state = urllib.request.Request(base + "/api/state", headers={"Authorization": f"Bearer {token}"})
        frame = json.loads(urllib.request.urlopen(state, timeout=10).read())["data"]
        assert frame["t"] > 0 and "c:AGV-076" in frame  # the default 8-lane scenario, running
        assert frame["clock"]["speed"] == 60
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode in (0, -15), server.stderr.read() if server.stderr else ""


def test_run_names_a_bridged_device_that_does_not_answer(tmp_path: Path) -> None:
    from broker import free_port

    data = yaml.safe_load((ROOT / "scenarios" / "hil_huu_nghi.yaml").read_text(encoding="utf-8"))
    port = free_port()  # nothing listens there
    data["devices"] = {"cranes": [{"crane": "VN-crane-1", "endpoint": f"opc.tcp://127.0.0.1:{port}/crane/"}]}
    path = tmp_path / "hil.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = checkpoint("run", str(path), "--duration-min", "1")
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    too_fast = checkpoint("run", str(path), "--speed", "5000")
    assert too_fast.returncode == 2 and "--speed" in too_fast.stderr


def test_a_bad_devices_section_names_the_field(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "hil_huu_nghi.yaml").read_text(encoding="utf-8"))
    data["devices"]["vehicles"]["carriers"].append({"carrier": "AGV-042"})
    data["devices"]["gates"][0]["endpoint"]["port"] = 70000
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = checkpoint("run", str(path))
    assert result.returncode == 2
    assert "devices.gates[0].endpoint.port" in result.stderr
    data["devices"]["gates"][0]["endpoint"]["port"] = 5020
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = checkpoint("run", str(path))
    assert result.returncode == 2 and "AGV-042" in result.stderr and "fleet of 8" in result.stderr


def test_user_lists_removes_and_resets_passwords(tmp_path: Path) -> None:
    def user(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "checkpoint", "user", *args, "--data-dir", str(tmp_path)],
            cwd=ROOT, input=password + "\n", capture_output=True, text=True, timeout=60,
        )

    missing = user("list")
    assert missing.returncode == 2 and "checkpoint user add" in missing.stderr
    assert user("add", "chief", "--role", "admin", password="a long password").returncode == 0
    assert user("add", "ops", "--role", "operator", password="operator pass").returncode == 0
    listed = user("list")
    assert listed.returncode == 0 and listed.stdout.split() == ["chief", "admin", "ops", "operator"]

    from viz.store import Store

    store = Store(tmp_path / "checkpoint.sqlite")
    token = store.issue_token(store.check_password("ops", "operator pass"))  # type: ignore[arg-type]
    reset = user("passwd", "ops", password="a new password")
    assert reset.returncode == 0, reset.stderr
    assert store.check_password("ops", "operator pass") is None and store.check_password("ops", "a new password")
    assert store.user_for_token(token) is None  # its sessions ended
    short = user("passwd", "ops", password="short")
    assert short.returncode == 2 and "password" in short.stderr and "Traceback" not in short.stderr

    last_admin = user("remove", "chief")
    assert last_admin.returncode == 2 and "last admin" in last_admin.stderr
    nobody = user("remove", "nobody")
    assert nobody.returncode == 2 and "nobody" in nobody.stderr
    assert user("remove", "ops").returncode == 0
    assert user("list").stdout.split() == ["chief", "admin"]


def test_run_prints_its_progress_while_it_runs(tmp_path: Path) -> None:
    result = checkpoint(
        "run", "scenarios/huu_nghi_4lane.yaml", "--speed", "1000", "--duration-min", "20", "--progress-s", "0.25",
        "--out", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("model ")]
    assert len(lines) >= 2, result.stdout
    assert "containers arrived" in lines[0] and "safety violations" in lines[0]
    times = [line.split()[1] for line in lines]
    assert times == sorted(times) and len(set(times)) == len(times)  # model time goes on between lines
    assert (tmp_path / "summary.json").is_file()
    quiet = checkpoint("run", "scenarios/huu_nghi_4lane.yaml", "--speed", "1000", "--duration-min", "5", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == ""
