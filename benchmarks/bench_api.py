"""The HTTP API under load on loopback: the fleet overview and a vehicle's signals.

Run: .venv/bin/python benchmarks/bench_api.py [--vehicles 200] [--days 30] [--data-dir DIR]
     [--rate 200] [--duration 20] [--signals-rate 20] [--port 8765]

Builds the demo fleet (``run_demo``, the same 200 vehicles x 30 days as ``make
demo``; or reuses ``--data-dir`` if it already holds one), starts ``drivetrain
serve`` in its own process (one uvicorn worker), and signs requests with a
``*``-scoped API key of ``fleet-health``. Each endpoint is warmed once (the
first overview runs the fleet scan), then:

- ``GET /api/v1/health/overview`` (cached: served from memory until the lake
  changes) at a fixed ``--rate`` for ``--duration`` s with ``hey`` (open loop:
  ``-q`` per worker x ``-c`` workers), reporting requests/s, p50/p95/p99;
  then closed-loop with ``wrk -t1 -c16`` for the most it sustains;
- ``GET /api/v1/health/vehicles/{top}/signals`` (a governed, audited read of
  one vehicle's telemetry for the whole period, binned to 300 points) at
  ``--signals-rate``, same statistics.

The target of issue #10: overview p99 under 100 ms at 200 requests/s on 2 cores.
The load generator shares the 2 cores with the server, so numbers are a floor.
Needs ``hey`` and ``wrk`` (Debian packages).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.run import run_demo
from drivetrain.governance.identity import issue_api_key
from drivetrain.settings import load_settings
from drivetrain.state import session_scope


def _build(data_dir: Path, vehicles: int, days: int) -> None:
    if (data_dir / "lake").is_dir():
        print(f"reusing the fleet in {data_dir}")
        return
    started = time.perf_counter()
    config = SimulationConfig(vehicles=vehicles, days=days, seed=7, start=date(2026, 10, 1))
    run_demo(data_dir, config, load_settings(data_dir=data_dir))
    print(f"built {vehicles} vehicles x {days} days in {time.perf_counter() - started:.0f} s")


def _get(url: str, token: str, timeout: float = 600) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it answered")
        try:
            urllib.request.urlopen(base + "/api/v1/livez", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def _hey(url: str, token: str, rate: int, duration: int) -> dict[str, float]:
    workers = max(1, min(8, rate // 50))  # hey itself needs CPU: few workers, each 50/s
    out = subprocess.run(
        ["hey", "-z", f"{duration}s", "-c", str(workers), "-q", f"{rate / workers:.3f}",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    stats = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "95", "99"):
        found = re.search(rf"{pct}%% in ([\d.]+) secs", out.replace("%", "%%"))
        stats[f"p{pct}_ms"] = float(found.group(1)) * 1000 if found else float("nan")
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    stats["non_200"] = float(sum(int(n) for code, n in codes if code != "200"))
    return stats


def _wrk(url: str, token: str, duration: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{duration}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--signals-rate", type=int, default=20)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    for tool in ("hey", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install {tool}")
    temporary = args.data_dir is None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-api-")) / "data"
    _build(data_dir, args.vehicles, args.days)
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    settings = load_settings(data_dir=data_dir)
    with session_scope(settings.resolved_state_url) as session:
        _, token = issue_api_key(session, "fleet-health", ["*"], label="bench")
    base = f"http://127.0.0.1:{args.port}"
    drivetrain = Path(sys.executable).with_name("drivetrain")
    server = subprocess.Popen(
        [str(drivetrain), "--data-dir", str(data_dir), "serve", "--port", str(args.port)],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DRIVETRAIN_LOG_LEVEL": "WARNING"},
    )
    try:
        _wait(base, server)
        overview = base + "/api/v1/health/overview"
        started = time.perf_counter()
        import json

        top = json.loads(_get(overview, token))["ranking"][0]["vehicle_id"]
        print(f"first overview (runs the fleet scan): {time.perf_counter() - started:.1f} s")
        signals = f"{base}/api/v1/health/vehicles/{top}/signals"
        started = time.perf_counter()
        _get(signals, token)
        print(f"first signals of {top}: {(time.perf_counter() - started) * 1000:.0f} ms")
        for name, url, rate in (
            ("overview", overview, args.rate),
            ("signals", signals, args.signals_rate),
        ):
            stats = _hey(url, token, rate, args.duration)
            print(
                f"{name:9s} at {rate} req/s for {args.duration} s (hey): {stats['rps']:.0f} req/s, "
                f"p50 {stats['p50_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms, "
                f"p99 {stats['p99_ms']:.1f} ms, non-200 {stats['non_200']:.0f}"
            )
        most = _wrk(overview, token, max(5, args.duration // 2))
        print(
            f"overview closed loop (wrk -t1 -c16): {most['rps']:.0f} req/s, p99 {most['p99_ms']:.1f} ms"
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if temporary:
            shutil.rmtree(data_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
