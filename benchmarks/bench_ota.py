"""OTA at fleet scale: director metadata for N vehicles, and update checks per second.

Run: .venv/bin/python benchmarks/bench_ota.py [--vehicles 10000] [--ecus 3] [--checks 3000]

1. Metadata generation: an image repository releases one image per ECU kind,
   then the director assigns every vehicle its ECUs' images (per vehicle a
   signed targets, snapshot and timestamp, ed25519, written atomically), then
   re-signs every vehicle's timestamp (the daily online job). Reported as
   vehicles/s and the projection to 100,000.
2. Update checks: what a vehicle does when nothing changed — GET its
   ``timestamp.json`` — against ``drivetrain serve``'s ``/api/v1/ota`` (FastAPI
   under uvicorn, API key, registry check) over a small demo fleet, with
   ``--threads`` concurrent clients; requests/s and latency percentiles. The
   clients run in this process (they share the GIL with the server), so this is
   a lower bound; an external load generator (hey, wrk) gives the server's own.
The time to detect a bad wave belongs to the rollout engine (not measured here).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import uvicorn

from drivetrain.api import create_api
from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.run import run_demo
from drivetrain.fleet import list_vehicles
from drivetrain.governance.identity import issue_api_key
from drivetrain.ota import DirectorRepository, EcuAssignment, ImageRepository
from drivetrain.settings import load_settings
from drivetrain.state import session_scope


def generation(root: Path, vehicles: int, ecus: int) -> dict[str, float]:
    image = ImageRepository.create(root / "image")
    director = DirectorRepository.create(root / "director")
    released = [
        image.add_image(f"ecu{k}/fw-1.0.{k}.bin", os.urandom(64 * 1024), hardware_id=f"hw-{k}",
                        version="1.0", release_counter=1)
        for k in range(ecus)
    ]  # fmt: skip
    started = time.perf_counter()
    for n in range(vehicles):
        director.assign(
            f"VEH{n:08d}",
            [EcuAssignment(f"S{n:08d}-{k}", f"hw-{k}", released[k]) for k in range(ecus)],
        )
    assign_s = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(vehicles):
        director.refresh_timestamp(f"VEH{n:08d}")
    refresh_s = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (root / "director").rglob("*.json"))
    return {"assign_s": assign_s, "refresh_s": refresh_s, "bytes": size}


def checks(root: Path, total: int, threads: int) -> dict[str, float]:
    data = root / "api"
    config = SimulationConfig(vehicles=20, days=1, seed=5, start=date(2026, 4, 13))
    settings, _, _, _ = run_demo(data, config, load_settings(data_dir=data))
    (data / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    with session_scope(settings.resolved_state_url) as session:
        fleet = [v for v in list_vehicles(session) if v.region == "eu"]
        token = issue_api_key(session, "ota-service", ["ota:read"], label="bench")[1]
    image = ImageRepository.create(data / "ota" / "image")
    director = DirectorRepository.create(data / "ota" / "director")
    fw = image.add_image("bms/fw-1.bin", b"x" * 4096, hardware_id="hw", version="1",
                         release_counter=1)  # fmt: skip
    for v in fleet:
        director.assign(v.vehicle_id, [EcuAssignment("BMS", "hw", fw)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_api(settings), log_level="warning",
                                           access_log=False))  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    while True:
        try:
            if httpx.get(f"{base}/api/v1/livez", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()

    def one(n: int) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(headers=headers, timeout=10)
        vid = fleet[n % len(fleet)].vehicle_id
        t0 = time.perf_counter()
        answer = client.get(f"{base}/api/v1/ota/director/{vid}/metadata/timestamp.json")
        assert answer.status_code == 200, answer.text
        return time.perf_counter() - t0

    for n in range(50):  # warm the caches (registry, credentials)
        one(n)
    external = _hey(f"{base}/api/v1/ota/director/{fleet[0].vehicle_id}/metadata/timestamp.json",
                    headers["Authorization"], total, threads)  # fmt: skip
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = sorted(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=15)  # the request auditor flushes before the folder goes
    return {
        **external,
        "rps": total / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
    }


def _hey(url: str, authorization: str, total: int, threads: int) -> dict[str, float]:
    """The same check from hey, an external load generator, when it is installed."""
    if shutil.which("hey") is None:
        return {}
    out = subprocess.run(
        ["hey", "-n", str(total), "-c", str(threads), "-H", f"Authorization: {authorization}", url],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    found = {"hey_rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in (50, 95):
        if m := re.search(rf"{pct}% in ([\d.]+) secs", out):
            found[f"hey_p{pct}_ms"] = float(m.group(1)) * 1000
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--ecus", type=int, default=3)
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{platform.node()} · {os.cpu_count()} CPUs · {platform.python_version()} · {date.today()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-ota-") as tmp:
        gen = generation(Path(tmp) / "gen", args.vehicles, args.ecus)
        per_s = args.vehicles / gen["assign_s"]
        print(f"director metadata for {args.vehicles:,} vehicles × {args.ecus} ECUs: "
              f"{gen['assign_s']:.1f} s ({per_s:,.0f} vehicles/s; 100,000 in "
              f"{100_000 / per_s / 60:.1f} min), {gen['bytes'] / 2**20:,.0f} MiB on disk")  # fmt: skip
        print(f"re-signing every timestamp: {gen['refresh_s']:.1f} s "
              f"({args.vehicles / gen['refresh_s']:,.0f} vehicles/s)")  # fmt: skip
        got = checks(Path(tmp), args.checks, args.threads)
        print(f"update checks (GET timestamp.json through /api/v1/ota, {args.threads} clients): "
              f"{got['rps']:,.0f} requests/s, p50 {got['p50_ms']:.1f} ms, "
              f"p95 {got['p95_ms']:.1f} ms (clients in this process)")  # fmt: skip
        if "hey_rps" in got:
            print(f"  the same from hey (external): {got['hey_rps']:,.0f} requests/s, "
                  f"p50 {got.get('hey_p50_ms', 0):.1f} ms, p95 {got.get('hey_p95_ms', 0):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
