"""Settings: file, environment and overrides, and the errors for bad configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivetrain.errors import ConfigError, StorageError
from drivetrain.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("DRIVETRAIN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert s.data_dir == Path(".drivetrain")
    assert s.lake_engine == "embedded"
    assert s.resolved_state_url.startswith("sqlite:///") and s.resolved_state_url.endswith(
        ".drivetrain/state.db"
    )


def test_file_then_environment_then_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "drivetrain.toml").write_text('data_dir = "from-file"\nlog_level = "INFO"\n')
    assert load_settings().data_dir == Path("from-file")
    monkeypatch.setenv("DRIVETRAIN_DATA_DIR", "from-env")
    s = load_settings()
    assert s.data_dir == Path("from-env") and s.log_level == "INFO"
    assert load_settings(data_dir=Path("from-arg")).data_dir == Path("from-arg")


def test_postgres_url_switches_the_state_store(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    (tmp_path / "d.toml").write_text(f'state_url = "{url}"\n')
    assert load_settings(tmp_path / "d.toml").resolved_state_url == url


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_missing_file_named_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIVETRAIN_CONFIG", "/nonexistent/drivetrain.toml")
    with pytest.raises(ConfigError, match="DRIVETRAIN_CONFIG"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data_dir = [", "not valid TOML"),
        ('lake_engine = "hadoop"', "lake_engine"),
        ('colour = "red"', "colour"),
        ('state_url = "mysql://x"', "state_url"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path / "bad.toml")


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="not writable"):
        load_settings(data_dir=blocker / "sub").ensure_data_dir()
