"""Sealing throughput: AES-256-GCM per personal value at the collection gate, and opening.

Run: .venv/bin/python benchmarks/bench_sealing.py [--rows N --vehicles V]
Registers V vehicles with one owner each in a SQLite state database under a
temporary directory, builds the ``Sealer`` (one data key per owner), then
seals a batch of N latitude/longitude rows spread over the vehicles with
``Sealer.split`` and opens them again with ``open_sealed``; prints rows/s of
both (best of ``--repeat``) and checks that every value comes back.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from drivetrain.fleet import VehicleRecord, register_vehicles
from drivetrain.fleet.vin import make_vin
from drivetrain.governance.keys import Keyring
from drivetrain.governance.sealing import Sealer, open_sealed
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.state import migrate, session_scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fleet(url: str, vehicles: int) -> list[str]:
    ids = [f"veh_{n:012d}" for n in range(vehicles)]
    with session_scope(url) as s:
        register_vehicles(
            s,
            [
                VehicleRecord(
                    vehicle_id=v,
                    vin=make_vin("WVW", "AB12C", 2024, "K", f"{n:06d}"),
                    brand="Volkswagen",
                    model_id="vw-golf",
                    model_name="Golf",
                    model_year=2024,
                    platform="MQB",
                    market="DE",
                    region="eu",
                    powertrain="ice",
                )
                for n, v in enumerate(ids)
            ],
        )
        for n, v in enumerate(ids):
            register_subject(s, f"owner-{n}", kind="owner", display_name="x", region="eu")
            link_vehicle(s, f"owner-{n}", v, "owner", T0)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        migrate(url)
        ids = fleet(url, args.vehicles)
        keyring = Keyring.load_or_create(Path(tmp))
        began = time.perf_counter()
        with session_scope(url) as s:
            sealer = Sealer.build(s, keyring, ids)
        build_s = time.perf_counter() - began
        rng = np.random.default_rng(0)
        n = args.rows
        ts_us = int(T0.timestamp() * 1e6) + np.sort(rng.integers(0, 86_400_000_000, n))
        signals = np.where(
            np.arange(n) % 2 == 0,
            "Vehicle.CurrentLocation.Latitude",
            "Vehicle.CurrentLocation.Longitude",
        )
        values = rng.uniform(-80, 80, n)
        batch = pa.RecordBatch.from_pydict(
            {
                "vehicle_id": pa.array(np.array(ids, dtype=object)[rng.integers(0, len(ids), n)]),
                "ts": pa.array(ts_us, pa.timestamp("us", tz="UTC")),
                "signal": pa.array(signals.tolist()).dictionary_encode(),
                "value": values,
            }
        )
        seal_times, open_times = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            _, sealed, refused = sealer.split(batch)
            seal_times.append(time.perf_counter() - t)
            assert not refused and sealed.num_rows == n
            with session_scope(url) as s:
                keys = keyring.open_keys(s, sealed.column("key_id").to_pylist())
            table = pa.Table.from_batches([sealed])
            t = time.perf_counter()
            opened = open_sealed(table, keys)
            open_times.append(time.perf_counter() - t)
            assert np.array_equal(opened.telemetry.column("value").to_numpy(), values)
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(f"{args.vehicles} data keys built and unwrapped in {build_s:.2f} s")
    print(f"seal {n:,} rows: best {min(seal_times):.2f} s = {n / min(seal_times):,.0f} rows/s")
    print(f"open {n:,} rows: best {min(open_times):.2f} s = {n / min(open_times):,.0f} rows/s")


if __name__ == "__main__":
    main()
