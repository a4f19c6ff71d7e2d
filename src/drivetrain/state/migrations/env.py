"""Alembic environment of the control-plane store.

Run through :func:`drivetrain.state.migrate`, which passes an open connection
in ``config.attributes["connection"]``; :func:`drivetrain.state.alembic_config`
with a URL passes ``config.attributes["url"]`` instead (for ``alembic``
commands such as autogenerating the next revision). New revisions are named
``NNNN_slug.py`` with ``revision = "NNNN"``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from drivetrain.state.db import create_engine_for
from drivetrain.state.models import Base, UTCDateTime

target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations spell the portable type; UTCDateTime only adds Python-side conversion.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import sqlalchemy as sa")
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection or URL handed over by drivetrain."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection or URL given; use drivetrain.state.alembic_config(url)")
    engine = create_engine_for(url, foreign_keys=False)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run drivetrain migrate")
run_migrations_online()
