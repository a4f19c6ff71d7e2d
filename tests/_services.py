"""Test services shared by the state and fleet suites: one store per test, on each dialect.

``state_url`` is parametrised over SQLite (a file in ``tmp_path``) and the
PostgreSQL server at :data:`POSTGRES_URL` (override with
``DRIVETRAIN_TEST_POSTGRES_URL``). For PostgreSQL every test gets a fresh
schema ``t_<random>`` and a URL whose ``options=-csearch_path=<schema>`` makes
that schema the default for everything the test creates (alembic's version
table included); the schema is dropped when the test ends. Tests therefore run
side by side (xdist, several CI jobs on one server) and leave nothing behind.

If the server cannot be reached the PostgreSQL variants are skipped with the
reason, unless ``CI=true``, where they fail: CI must not go green by skipping.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from drivetrain.state import dispose_engines, migrate

POSTGRES_URL = os.environ.get(
    "DRIVETRAIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DIALECTS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def _libpq_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def postgres_unavailable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or ``None`` if it can."""
    try:
        with psycopg.connect(_libpq_conninfo(POSTGRES_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {where} is not reachable ({first_line})"
    return None


def require_postgres() -> None:
    """Skip the test when PostgreSQL is unreachable; fail instead when ``CI=true``."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it (start the service or fix the URL)")
    pytest.skip(f"{reason}; set DRIVETRAIN_TEST_POSTGRES_URL or start the server")


def _admin(sql_statement: sql.Composed) -> None:
    with psycopg.connect(_libpq_conninfo(POSTGRES_URL), autocommit=True) as conn:
        # Do not hang teardown for ever if a test leaked a connection holding locks.
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(sql_statement)


def postgres_schema_url() -> Iterator[str]:
    """Yield a URL whose default schema is a new, empty ``t_<random>``; drop it afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    _admin(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        yield rendered
    finally:
        dispose_engines(rendered)
        _admin(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def schema_exists(url: str) -> bool:
    """Whether the schema named in ``url``'s search_path still exists on the server."""
    options = make_url(url).query["options"]
    schema = str(options).removeprefix("-csearch_path=")
    with psycopg.connect(_libpq_conninfo(POSTGRES_URL)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
    return row is not None and row[0] == 1


@pytest.fixture(params=DIALECTS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty state store of each dialect, not yet migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        yield url
        dispose_engines(url)
        return
    require_postgres()
    yield from postgres_schema_url()


@pytest.fixture
def migrated_url(state_url: str) -> str:
    """``state_url`` with the migrations applied."""
    migrate(state_url)
    return state_url
