"""Data-subject access export and erasure, on a small demo fleet."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from drivetrain.demo import SimulationConfig
from drivetrain.demo.run import run_demo
from drivetrain.errors import NotFound
from drivetrain.governance import AuditLog
from drivetrain.governance.keys import KEK_FILE, NONCE_BYTES, Keyring, keys_of_subject
from drivetrain.governance.sealing import read_opened
from drivetrain.governance.subject_rights import (
    compact_state,
    erase_subject,
    export_subject,
    subject_data,
)
from drivetrain.governance.subjects import links_of_subject
from drivetrain.lake import Lake
from drivetrain.settings import load_settings
from drivetrain.state import session_scope
from drivetrain.state.governance_models import DataKeyRow

SUBJECT = "owner-00002"
LAT = "Vehicle.CurrentLocation.Latitude"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    config = SimulationConfig(vehicles=12, days=2, seed=5, start=date(2026, 4, 13))
    data_dir = tmp_path / "demo"
    run_demo(data_dir, config, load_settings(data_dir=data_dir))
    return data_dir


def test_access_export_holds_exactly_the_subjects_data(demo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{demo / 'state.db'}"
    lake = Lake(demo / "lake")
    out = tmp_path / "export.zip"
    with session_scope(url) as session:
        data = export_subject(session, lake, SUBJECT, out, Keyring.load_or_create(demo))
        (link,) = links_of_subject(session, SUBJECT)
    assert data.rows["telemetry"] > 0 and "telemetry_sealed" not in data.rows
    with zipfile.ZipFile(out) as archive:
        document = json.loads(archive.read("subject.json"))
        telemetry = pq.read_table(archive.open("telemetry.parquet"))
    assert document["subject"]["subject_id"] == SUBJECT
    assert document["consent_receipt"]["piiPrincipalId"] == SUBJECT
    assert set(telemetry["vehicle_id"].to_pylist()) == {link.vehicle_id}
    theirs = sum(
        lake.read(t, filter=pc.field("vehicle_id") == link.vehicle_id).num_rows
        for t in ("telemetry", "telemetry_sealed")
    )
    assert telemetry.num_rows == theirs
    # the subject gets their positions opened, not ciphertext
    positions = telemetry.filter(pc.field("signal") == LAT)
    assert (
        positions.num_rows
        == lake.read(
            "telemetry_sealed",
            filter=(pc.field("vehicle_id") == link.vehicle_id) & (pc.field("signal") == LAT),
        ).num_rows
        > 0
    )
    assert all(-90 <= v <= 90 for v in positions["value"].to_pylist())


def _quarantine_a_row_of(lake: Lake, vehicle_id: str) -> None:
    """A refused row of the vehicle, refused long after its ownership period began."""
    from drivetrain.ingest import CollectionContext
    from drivetrain.ingest.sink import quarantine_records

    quarantine_records(
        lake,
        CollectionContext("test", "vehicle_health"),
        "telemetry",
        [("late.log:1", "value is above the VSS maximum", "{}")],
        vehicle_id=vehicle_id,
    )


def test_erasure_leaves_nothing_readable(demo: Path) -> None:
    url = f"sqlite:///{demo / 'state.db'}"
    lake = Lake(demo / "lake")
    with session_scope(url) as session:
        (link,) = links_of_subject(session, SUBJECT)
    _quarantine_a_row_of(lake, link.vehicle_id)
    with session_scope(url) as session:
        assert subject_data(session, lake, SUBJECT).rows["quarantine"] == 1
        report = erase_subject(session, lake, SUBJECT, audit=AuditLog(demo))
        compact_state(session)
    assert report.rows_deleted["telemetry"] > 0 and report.files_removed > 0
    # no parquet file of any table still holds a row of the erased subject's car
    tables = ("telemetry", "telemetry_sealed", "trips", "dtc_events", "vehicles_snapshot")
    for table in (*tables, "quarantine"):
        on_disk = pds.dataset(demo / "lake" / table, format="parquet").to_table()
        if on_disk.num_rows:  # a table whose every file was vacuumed has nothing left
            assert link.vehicle_id not in set(on_disk["vehicle_id"].to_pylist()), table
    assert SUBJECT.encode() not in (demo / "state.db").read_bytes()
    with session_scope(url) as session, pytest.raises(NotFound):
        subject_data(session, lake, SUBJECT)
    erasures = [e for e in AuditLog(demo).entries() if e.kind == "erasure"]
    assert erasures and erasures[0].details["subject"] == SUBJECT
    AuditLog(demo).verify()


def test_erasure_shreds_personal_data_even_in_copies_of_the_files(
    demo: Path, tmp_path: Path
) -> None:
    """Crypto-shredding: a copy of the lake taken before the erasure reads nothing of the subject."""
    url = f"sqlite:///{demo / 'state.db'}"
    keyring = Keyring.load_or_create(demo)
    backup = tmp_path / "backup"
    shutil.copytree(demo / "lake" / "telemetry_sealed", backup)
    with session_scope(url) as session:
        (link,) = links_of_subject(session, SUBJECT)
        (key_id,) = keys_of_subject(session, SUBJECT)
        wrapped = session.scalar(select(DataKeyRow.wrapped).where(DataKeyRow.key_id == key_id))
        copy = pds.dataset(backup, format="parquet").to_table()
        before = read_opened(session, keyring, copy)
    assert wrapped is not None and before.shredded == 0
    mine = pc.field("vehicle_id") == link.vehicle_id
    theirs = before.telemetry.filter(mine).num_rows
    assert theirs > 0
    with session_scope(url) as session:
        report = erase_subject(session, Lake(demo / "lake"), SUBJECT)
        compact_state(session)
    assert report.keys_destroyed == [key_id]
    with session_scope(url) as session:
        after = read_opened(session, keyring, copy)
    # exactly the subject's rows are noise now; everyone else's still open
    assert after.shredded == theirs
    assert after.telemetry.filter(mine).num_rows == 0
    assert after.telemetry.num_rows == before.telemetry.num_rows - theirs
    # and the key is nowhere: not in the state database file, wrapped or not
    kek = AESGCM((demo / KEK_FILE).read_bytes())
    raw_key = kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
    state_bytes = (demo / "state.db").read_bytes()
    assert wrapped not in state_bytes and raw_key not in state_bytes
    assert key_id.encode() not in state_bytes


def test_cli_export_and_erase(demo: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from drivetrain.cli.main import app

    runner = CliRunner()
    base = ["--data-dir", str(demo), "governance"]
    out = tmp_path / "s.zip"
    exported = runner.invoke(app, [*base, "export", SUBJECT, "--out", str(out)])
    assert exported.exit_code == 0, exported.stderr
    assert zipfile.is_zipfile(out)
    refused = runner.invoke(app, [*base, "erase", SUBJECT])
    assert refused.exit_code == 65 and "--yes" in refused.stderr
    erased = runner.invoke(app, [*base, "erase", SUBJECT, "--yes"])
    assert erased.exit_code == 0, erased.stderr
    again = runner.invoke(app, [*base, "export", SUBJECT, "--out", str(out)])
    assert again.exit_code == 66
    kinds = [e.kind for e in AuditLog(demo).entries()]
    assert "export" in kinds and "erasure" in kinds
