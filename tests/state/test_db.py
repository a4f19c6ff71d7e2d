"""The state store on SQLite and PostgreSQL: migrations, drift, sessions, errors."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, func, inspect, select, text
from sqlalchemy.exc import StatementError

from drivetrain.errors import StorageError
from drivetrain.state import (
    NAMING_CONVENTION,
    Base,
    VehicleRow,
    alembic_config,
    create_engine_for,
    migrate,
    session_scope,
)
from drivetrain.state.db import migrations_dir

REGISTERED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _vehicle(vehicle_id: str = "veh_000000000001", **changes: object) -> VehicleRow:
    values: dict[str, object] = {
        "vehicle_id": vehicle_id,
        "vin": "1M8GDM9AXKP042788",
        "brand": "Ridgeway",
        "model_id": "ridgeway-coach",
        "model_name": "Coach",
        "model_year": 2019,
        "platform": "RC1",
        "market": "US",
        "region": "us",
        "powertrain": "ice",
        "registered_at": REGISTERED,
    }
    values.update(changes)
    return VehicleRow(**values)


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current_revision(url: str) -> str | None:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    config = alembic_config()
    assert config.config_file_name is None
    assert (migrations_dir() / "env.py").is_file()
    assert (migrations_dir() / "versions" / "0001_fleet_registry.py").is_file()
    assert _head() == "0008"


def test_migrate_creates_the_tables_and_a_second_run_is_a_no_op(
    state_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="alembic"):
        migrate(state_url)
    assert any("Running upgrade" in r.getMessage() for r in caplog.records)
    assert _current_revision(state_url) == _head()
    with session_scope(state_url) as session:
        session.add(_vehicle())

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="alembic"):
        migrate(state_url)
    assert not any("Running upgrade" in r.getMessage() for r in caplog.records)
    assert _current_revision(state_url) == _head()
    with session_scope(state_url) as session:
        assert session.scalar(select(func.count()).select_from(VehicleRow)) == 1


def test_migrated_schema_matches_the_models(migrated_url: str) -> None:
    engine = create_engine_for(migrated_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []

            # The comparison is not vacuous: a column the migrations lack is reported.
            drifted = MetaData(naming_convention=NAMING_CONVENTION)
            for table in Base.metadata.sorted_tables:
                table.to_metadata(drifted)
            drifted.tables["vehicles"].append_column(Column("colour", String(20)))
            diff = compare_metadata(context, drifted)
            assert [d[0] for d in diff] == ["add_column"]
    finally:
        engine.dispose()


def test_constraints_carry_conventional_names(migrated_url: str) -> None:
    engine = create_engine_for(migrated_url)
    try:
        inspector = inspect(engine)
        assert {u["name"] for u in inspector.get_unique_constraints("vehicles")} == {
            "uq_vehicles_vin"
        }
        assert {u["name"] for u in inspector.get_unique_constraints("ecu_software")} == {
            "uq_ecu_software_vehicle_id_ecu_software_version"
        }
        (fk,) = inspector.get_foreign_keys("ecu_software")
        assert fk["name"] == "fk_ecu_software_vehicle_id_vehicles"
        assert fk["options"].get("ondelete", "").upper() == "CASCADE"
        indexes = inspector.get_indexes("vehicles")
        # PostgreSQL also lists the index behind each unique constraint.
        assert {i["name"] for i in indexes if not i.get("duplicates_constraint")} == {
            "ix_vehicles_brand_market",
            "ix_vehicles_model_id",
        }
    finally:
        engine.dispose()


def test_timestamps_are_stored_and_read_back_as_utc(migrated_url: str) -> None:
    paris_summer = timezone(timedelta(hours=2))
    with session_scope(migrated_url) as session:
        session.add(_vehicle(registered_at=datetime(2024, 7, 1, 14, 30, tzinfo=paris_summer)))
    with session_scope(migrated_url) as session:
        row = session.get(VehicleRow, "veh_000000000001")
        assert row is not None
        assert row.registered_at == datetime(2024, 7, 1, 12, 30, tzinfo=UTC)
        assert row.registered_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(migrated_url: str) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime"),
        session_scope(migrated_url) as session,
    ):
        session.add(_vehicle(registered_at=datetime(2024, 7, 1, 14, 30)))
        session.flush()


def test_session_scope_commits_or_rolls_back(migrated_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope(migrated_url) as session:
        session.add(_vehicle())
        session.flush()
        raise RuntimeError("abort the unit of work")
    with session_scope(migrated_url) as session:
        assert session.scalar(select(func.count()).select_from(VehicleRow)) == 0
        session.add(_vehicle())
    with session_scope(migrated_url) as session:
        assert session.scalar(select(func.count()).select_from(VehicleRow)) == 1


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'state.db'}"
    migrate(url)  # creates the missing directories
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_unreachable_server_names_the_url_without_the_password() -> None:
    url = "postgresql+psycopg://fleet:s3cret-pw@127.0.0.1:1/drivetrain?connect_timeout=2"
    with pytest.raises(StorageError) as caught:
        migrate(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "fleet:***@127.0.0.1:1/drivetrain" in message
    assert caught.value.hint is not None
    assert "127.0.0.1:1" in caught.value.hint
    assert "running" in caught.value.hint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a valid SQLAlchemy URL"),
        ("mysql://root:pw@localhost/db", "unsupported database 'mysql'"),
        ("postgresql+nodriver://u:pw@localhost/db", "cannot be used"),
    ],
)
def test_bad_urls_raise_storage_error(url: str, expected: str) -> None:
    with pytest.raises(StorageError, match=expected) as caught:
        migrate(url)
    assert ":pw@" not in str(caught.value)


def test_sqlite_file_that_cannot_be_created_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="a-file"):
        migrate(f"sqlite:///{blocker / 'state.db'}")


def test_unmigrated_store_raises_storage_error_with_a_hint(state_url: str) -> None:
    with pytest.raises(StorageError) as caught, session_scope(state_url) as session:
        session.scalar(select(func.count()).select_from(VehicleRow))
    assert caught.value.hint is not None
    assert "migrated" in caught.value.hint


def test_a_replaced_sqlite_file_is_not_read_through_a_stale_handle(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'state.db'}"
    migrate(url)
    with session_scope(url) as session:
        session.add(_vehicle())
    shutil.rmtree(data_dir)  # e.g. a fresh demo directory in the same process
    migrate(url)
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(VehicleRow)) == 0
