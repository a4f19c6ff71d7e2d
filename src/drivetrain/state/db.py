"""Engines, sessions and migrations of the control-plane store.

The store is a SQLite file in the data directory by default and PostgreSQL
(through psycopg 3) in server deployments; ``Settings.resolved_state_url``
chooses. Call :func:`migrate` once at start-up, then do each unit of work in
:func:`session_scope`::

    migrate(url)
    with session_scope(url) as session:
        register_vehicles(session, records)

Errors from the database driver that mean "the store cannot be used" (bad URL,
server down, file not writable, schema not migrated) become ``StorageError``
naming the URL with its password hidden.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from drivetrain.errors import StorageError

POSTGRES_CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_S = 30.0

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def redact_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``, safe to log or show."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StorageError(
            f"state store URL {redact_url(url)!r} is not a valid SQLAlchemy URL ({exc})",
            hint="use sqlite:///<path> or postgresql+psycopg://user:password@host:port/database",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; SQLAlchemy's own default would be psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError(
            f"state store URL {redact_url(parsed)!r} names an unsupported database "
            f"{parsed.get_backend_name()!r}",
            hint="use sqlite:///<path> or postgresql+psycopg://user@host:port/database",
        )
    return parsed


def _storage_hint(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return (
            "check that the directory of the SQLite file exists and is writable, "
            "and that the store was migrated (drivetrain.state.migrate)"
        )
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    return (
        f"check that PostgreSQL is running and reachable at {host}, that database "
        f"{url.database!r} exists, that user {url.username!r} may connect, and that the "
        "store was migrated; set state_url in drivetrain.toml or DRIVETRAIN_STATE_URL"
    )


def storage_error(url: str | URL, exc: BaseException) -> StorageError:
    """A ``StorageError`` for a driver failure ``exc`` on the store at ``url``."""
    parsed = url if isinstance(url, URL) else _parse_url(url)
    reason = getattr(exc, "orig", None) or exc
    detail = " ".join(str(reason).split())
    return StorageError(
        f"state store {redact_url(parsed)} cannot be used: {detail}",
        hint=_storage_hint(parsed),
    )


def _set_sqlite_pragmas(engine: Engine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy ("begin" below) so that
        # SAVEPOINT and transactional DDL work; pysqlite's own BEGIN handling
        # breaks both on Python < 3.12.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def create_engine_for(url: str | URL, *, foreign_keys: bool = True) -> Engine:
    """A new engine for the state store at ``url`` (SQLite file or PostgreSQL via psycopg).

    SQLite connections get ``foreign_keys=ON`` (``foreign_keys=False`` is for
    migrations that rebuild tables) and WAL journaling. The engine connects
    lazily; the first failed connection raises the driver's error, which
    :func:`session_scope` and :func:`migrate` turn into ``StorageError``.
    """
    parsed = _parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            # No pooled connections: opening a SQLite file is cheap, and an idle
            # pooled handle would keep reading a data directory that was deleted
            # or replaced since (e.g. a fresh demo in the same process).
            engine = create_engine(
                parsed,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
                poolclass=NullPool if parsed.database not in (None, "", ":memory:") else None,
            )
            _set_sqlite_pragmas(engine, foreign_keys=foreign_keys)
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
            engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise storage_error(parsed, exc) from exc
    return engine


def engine_for(url: str | URL) -> Engine:
    """The process-wide shared engine for ``url`` (created on first use)."""
    key = _parse_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine_for(key)
        return engine


def dispose_engines(url: str | URL | None = None) -> None:
    """Close the pooled connections of the shared engine for ``url`` (or of all of them)."""
    key = None if url is None else _parse_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        keys = list(_engines) if key is None else [key]
        for k in keys:
            engine = _engines.pop(k, None)
            if engine is not None:
                engine.dispose()


def session_factory(url: str | URL | Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``url`` (shared engine) or to the given engine."""
    engine = url if isinstance(url, Engine) else engine_for(url)
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(url: str | URL | Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    Driver errors that mean the store is unusable (connection refused, no such
    table, read-only file…) are raised as ``StorageError``.
    """
    factory = session_factory(url)
    session = factory()
    try:
        yield session
        session.commit()
    except (OperationalError, ProgrammingError) as exc:
        session.rollback()
        if isinstance(exc, ProgrammingError) and not _missing_schema(exc):
            raise
        raise storage_error(factory.kw["bind"].url, exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL SQLSTATEs meaning "not migrated": undefined_table, invalid_schema_name.
_MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "3F000"})


def _missing_schema(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _MISSING_SCHEMA_SQLSTATES


def migrations_dir() -> Path:
    """Directory of the alembic environment shipped inside the package."""
    return Path(str(resources.files("drivetrain.state") / "migrations"))


def alembic_config(url: str | URL | None = None) -> Config:
    """An alembic ``Config`` for the packaged migrations; no ``alembic.ini`` needed.

    With ``url`` it can drive alembic commands directly, e.g. to write the next
    migration: ``command.revision(alembic_config(url), "add consents",
    autogenerate=True, rev_id="0002")``.
    """
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.attributes["url"] = _parse_url(url)
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Bring the store at ``url`` to ``revision`` (default: the latest); a no-op when current.

    For a SQLite file the parent directory is created if missing.
    """
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory of state store {redact_url(parsed)} ({exc.strerror})",
                hint=_storage_hint(parsed),
            ) from exc
    # Foreign keys off while migrating: SQLite rebuilds tables to alter them, and
    # dropping a referenced table with foreign keys on would cascade deletes.
    engine = create_engine_for(parsed, foreign_keys=False)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if engine.dialect.name == "sqlite":
                _check_sqlite_foreign_keys(connection, parsed)
    except DBAPIError as exc:
        raise storage_error(parsed, exc) from exc
    finally:
        engine.dispose()


def _check_sqlite_foreign_keys(connection: Any, url: URL) -> None:
    violations = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
    if violations:
        tables = sorted({str(row[0]) for row in violations})
        raise StorageError(
            f"migrating state store {redact_url(url)} left rows with dangling foreign keys "
            f"in {', '.join(tables)}; the migration was rolled back",
            hint="fix the migration so that it keeps referenced rows",
        )
