"""OBD-II response logs: SAE J1979 worked examples, DTC decoding, rejects, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.catalog import get_vehicle_model
from drivetrain.cli.main import app
from drivetrain.errors import InputError
from drivetrain.ingest import Campaign, CampaignFilter, CollectionContext, VehicleTarget
from drivetrain.ingest.obd_log import ingest_obd_log, read_obd_log
from drivetrain.lake import Lake

FIAT = get_vehicle_model("fiat-tipo")
GOOD = """\
# a short drive, one response per line
2026-10-01T08:00:00.000000Z 7E8 04 41 0C 1A F8
2026-10-01T08:00:00.100000Z 7E8 03 41 05 7B
2026-10-01T08:00:00.200000Z 7E8 03 41 0D 32
2026-10-01T08:00:00.300000Z 7E8 06 41 A6 00 00 30 39
2026-10-01T08:00:01.000000Z 7E8 06 43 02 01 28 03 00
2026-10-01T08:00:01.100000Z 7E9 04 47 01 41 23
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "drive.log"
    path.write_text(text)
    return path


def test_sae_j1979_worked_examples(tmp_path: Path) -> None:
    log = read_obd_log(write(tmp_path, GOOD), FIAT)
    values = {signal: value for _, signal, value in log.signals}
    assert values["Vehicle.Powertrain.CombustionEngine.Speed"] == 1726.0  # (256*0x1A+0xF8)/4
    assert values["Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"] == 83.0
    assert values["Vehicle.Speed"] == 50.0
    assert values["Vehicle.TraveledDistance"] == 1_234_500.0  # 12345 × 0.1 km, in m
    assert [(d[1], d[2], d[3]) for d in log.dtcs] == [
        ("P0128", "0x7E8", "confirmed"),
        ("P0300", "0x7E8", "confirmed"),
        ("C0123", "0x7E9", "pending"),
    ]
    assert not log.rejects


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("2026-10-01T08:00:00Z 7E8 04 41 0C 1A", "announces 4"),
        ("2026-10-01T08:00:00Z 7E8 10 14 49 02 01", "single frames"),
        ("2026-10-01T08:00:00Z 7E8 02 7F 01", "service 0x7F"),
        ("2026-10-01T08:00:00Z 7E8 03 41 11 80", "not in the fiat-tipo manifest"),
        ("2026-10-01T08:00:00Z 7E8 03 41 0C 1A", "needs 2 data byte"),
        ("2026-10-01T08:00:00 7E8 03 41 0D 32", "no time zone"),
        ("yesterday 7E8 03 41 0D 32", "unreadable"),
        ("2026-10-01T08:00:00Z 7E8 03 41 0D ZZ", "unreadable"),
        ("2026-10-01T08:00:00Z 7E8 06 43 03 01 28 03 00", "3 DTC(s) announced, 2 present"),
    ],
)
def test_bad_lines_are_rejected_with_their_number(tmp_path: Path, line: str, reason: str) -> None:
    log = read_obd_log(write(tmp_path, GOOD + line + "\n"), FIAT)
    assert len(log.signals) == 4
    ((number, why, text),) = log.rejects
    assert number == 8 and reason in why and text == line


def test_a_model_without_obd_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no OBD-II PID"):
        read_obd_log(write(tmp_path, GOOD), get_vehicle_model("ram-1500"))


def test_ingest_stores_signals_dtcs_and_quarantines_bad_lines(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    flt = CampaignFilter(
        [Campaign("engine", "vehicle_health", ("Vehicle.Powertrain.*",))],
        {"v1": VehicleTarget("Fiat", "fiat-tipo", "IT")},
    )
    report = ingest_obd_log(
        lake,
        write(tmp_path, GOOD + "garbage\n"),
        vehicle_id="v1",
        model=FIAT,
        context=CollectionContext("obd:test", "vehicle_health"),
        campaigns=flt,
    )
    assert report.telemetry.rows_written == 2 and report.telemetry.rows_dropped == 2
    assert (report.dtc_events, report.rejected_lines) == (3, 1)
    assert sorted(lake.read("dtc_events")["dtc"].to_pylist()) == ["C0123", "P0128", "P0300"]
    (q,) = lake.read("quarantine").to_pylist()
    assert q["location"] == "drive.log:8" and q["record"] == "garbage"


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    made = runner.invoke(
        app,
        [
            *base,
            "fleet",
            "simulate",
            "--vehicles",
            "2",
            "--days",
            "1",
            "--model",
            "fiat-tipo",
            "--json",
        ],
    )
    assert made.exit_code == 0, made.stderr
    vehicle = json.loads(runner.invoke(app, [*base, "fleet", "list", "--json"]).stdout)[0]
    runner.invoke(
        app,
        [
            *base,
            "campaign",
            "create",
            "all",
            "--purpose",
            "vehicle_health",
            "--signal",
            "Vehicle.*",
        ],
    )
    result = runner.invoke(
        app,
        [
            *base,
            "ingest",
            "obd",
            str(write(tmp_path, GOOD)),
            "--vehicle",
            vehicle["vehicle_id"],
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["signals_stored"] == 4 and summary["dtc_events"] == 3
    missing = runner.invoke(
        app, [*base, "ingest", "obd", str(tmp_path / "drive.log"), "--vehicle", "veh_nobody"]
    )
    assert missing.exit_code == 66
    described = runner.invoke(app, ["catalog", "dtc", "p0128"])
    assert "thermostat" in described.stdout.lower() and "P0128" in described.stdout


def test_service_04_clears_the_codes_set_and_episodes_recur(tmp_path: Path) -> None:
    import polars as pl

    from drivetrain.health.episodes import derive_episodes

    lake = Lake(tmp_path / "lake")
    first = GOOD  # 7E8 sets P0128 and P0300 at 08:00:01; 7E9 has C0123 pending
    later = """\
2026-10-02T09:00:00.000000Z 7E8 01 44
2026-10-03T10:00:00.000000Z 7E8 04 43 01 01 28
"""
    for name, text in (("day1.log", first), ("day2.log", later)):
        path = tmp_path / name
        path.write_text(text)
        report = ingest_obd_log(
            lake, path, vehicle_id="v1", model=FIAT,
            context=CollectionContext("obd:test", "vehicle_health"),
        )  # fmt: skip
    assert report.dtcs_cleared == 2  # 7E8's two codes; the other ECU's code stays
    events = pl.from_arrow(lake.read("dtc_events"))
    assert isinstance(events, pl.DataFrame)
    cleared = events.filter(pl.col("status") == "cleared").sort("dtc")
    assert cleared.select("dtc", "ecu").rows() == [("P0128", "0x7E8"), ("P0300", "0x7E8")]
    episodes = pl.from_arrow(derive_episodes(lake.read("dtc_events")))
    assert isinstance(episodes, pl.DataFrame)
    p0128 = episodes.filter(pl.col("dtc") == "P0128").sort("recurrence")
    assert p0128["recurrence"].to_list() == [0, 1] and p0128["active"].to_list() == [False, True]
    # importing the same logs again stores nothing twice
    before = lake.read("dtc_events").num_rows
    for name in ("day1.log", "day2.log"):
        ingest_obd_log(
            lake, tmp_path / name, vehicle_id="v1", model=FIAT,
            context=CollectionContext("obd:test", "vehicle_health"),
        )  # fmt: skip
    assert lake.read("dtc_events").num_rows == before
