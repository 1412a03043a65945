"""Websocket fan-out of the control room: frames delivered and latency from the twin's tick
to the client, at 50 and 200 clients, with one deliberately slow client among them.

The server is `checkpoint serve` in its own process (the 8-lane Hữu Nghị scenario with
200 carriers, at 10x); the clients are websocket connections on 127.0.0.1 in this
process. Each frame carries the wall time of its tick ("w"); a client's latency is
its receive time minus that. The slow client reads one message a second.

    python benchmarks/web.py [--record] [--seconds S] [--clients 50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from broker import free_port  # noqa: E402

from benchmarks.results import NA, cell, provenance, record  # noqa: E402

CARRIERS = 200
PASSWORD = "bench-password"


def checkpoint_command() -> list[str]:
    """The `checkpoint` command as installed (next to this Python, else on PATH): the
    benchmark runs the CLI as a user does, whichever module it lives in."""
    here = Path(sys.executable).parent / "checkpoint"
    found = str(here) if here.exists() else shutil.which("checkpoint")
    if found is None:
        raise RuntimeError("no `checkpoint` command: install the project (pip install -e .)")
    return [found]


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    data = yaml.safe_load((ROOT / "scenarios" / "huu_nghi_8lane.yaml").read_text(encoding="utf-8"))
    data["fleet"]["carriers"] = CARRIERS
    data["realtime"] = {"speed": 10}
    scenario = folder / "bench.yaml"
    scenario.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cli = checkpoint_command()
    subprocess.run([*cli, "user", "add", "bench", "--role", "viewer", "--data-dir", str(folder)],
                   input=PASSWORD.encode(), check=True, cwd=ROOT, capture_output=True)
    subprocess.run([*cli, "user", "add", "root", "--role", "admin", "--data-dir", str(folder)],
                   input=PASSWORD.encode(), check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*cli, "serve", str(scenario), "--port", str(port), "--data-dir", str(folder)],
                              cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


def token(port: int) -> str:
    body = json.dumps({"user": "bench", "password": PASSWORD}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/login", body, {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=10).read())["token"]


async def client(url: str, seconds: float, slow: bool, out: list[dict[str, float]]) -> None:
    latencies: list[float] = []
    frames = keys = 0
    async with websockets.connect(url, max_size=None) as ws:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, end - time.monotonic()))
            except TimeoutError:
                break
            now = time.time()
            message = json.loads(raw)
            frames += 1
            keys += message["type"] == "key"
            stamp = message["data"].get("w")
            if stamp is not None:
                latencies.append(now - stamp)
            if slow:
                await asyncio.sleep(1.0)
    out.append({"frames": frames, "keys": keys, "slow": slow, **({"lat": latencies} if latencies else {})})  # type: ignore[dict-item]


async def fan_out(port: int, n: int, seconds: float, with_slow: bool) -> dict[str, float | None]:
    url = f"ws://127.0.0.1:{port}/ws?token={token(port)}"
    results: list[dict[str, float]] = []
    await asyncio.gather(*(client(url, seconds, with_slow and i == 0, results) for i in range(n)))
    quick = [r for r in results if not r["slow"]]
    slow = next((r for r in results if r["slow"]), {"frames": float("nan"), "keys": float("nan")})
    lat = sorted(x for r in quick for x in r.get("lat", []))  # type: ignore[union-attr]
    if not lat:
        return {"clients": n, "frames_per_client": statistics.mean(r["frames"] for r in quick),
                "frames_total": sum(r["frames"] for r in results), "p50_ms": None, "p99_ms": None, "max_ms": None,
                "slow_frames": slow["frames"], "slow_keys": slow["keys"]}
    return {
        "clients": n,
        "frames_per_client": statistics.mean(r["frames"] for r in quick),
        "frames_total": sum(r["frames"] for r in results),
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "max_ms": 1000 * lat[-1],
        "slow_frames": slow["frames"],
        "slow_keys": slow["keys"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the figures into benchmarks/RESULTS.md")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", default="50,200")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        server, port = start_server(Path(folder))
        try:
            time.sleep(2.0)
            rows = [asyncio.run(fan_out(port, n, args.seconds, True)) for n in counts]
            rows.append(asyncio.run(fan_out(port, counts[-1], args.seconds, False)))  # the same without it
        finally:
            server.terminate()
            server.wait(timeout=20)
    head = ("| clients | frames per client (of ~10/s) | total frames | latency p50 ms | p99 ms | max ms "
            "| slow client: frames, whole frames |\n|---|---|---|---|---|---|---|")
    lines = [
        f"| {r['clients']} | {r['frames_per_client']:.0f} in {args.seconds:g} s | {r['frames_total']:,.0f} "
        f"| {cell(r['p50_ms'], '.1f')} | {cell(r['p99_ms'], '.1f')} | {cell(r['max_ms'], '.1f')} "
        + (f"| {r['slow_frames']:.0f}, {r['slow_keys']:.0f} |" if r["slow_frames"] == r["slow_frames"] else f"| {NA} |")
        for r in rows
    ]
    table = "\n".join([head, *lines])
    print(table)
    if args.record:
        note = (
            f"{provenance()} `checkpoint serve` with {CARRIERS} carriers at 10x in its own process, "
            f"websocket clients in a second process on 127.0.0.1, {args.seconds:g} s per row; one client of each row "
            "reads one message a second (the slow client). Latency: from the wall time of the twin's tick in the "
            "frame to the client's receipt, over the clients that are not slow (frames carrying it). "
            f"Frames per client: the mean over those clients; whole frames: key frames. \"{NA}\" in the slow "
            "client's column: the row has no slow client; in a latency column: no frame carried a tick time."
        )
        record("## Control room websocket", f"## Control room websocket (benchmarks/web.py)\n\n{note}\n\n{table}\n")


if __name__ == "__main__":
    main()
