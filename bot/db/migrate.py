"""Bring a database to the current schema from code, and check that models and migrations agree.

The bot calls `upgrade_to_head(engine)` from its sync entry point before the event loop starts,
on its own engine (so the SQLite pragmas and BEGIN IMMEDIATE apply to migrations too).
`check_no_drift(engine)` lists the differences Alembic's autogenerate would find between the
models and the migrated database; a test keeps that list empty.

`foreign_keys_suspended` exists for SQLite: the engine turns foreign keys on for every
connection, and Alembic's batch mode rebuilds a table by copying it and dropping the original.
Dropping a parent table with foreign keys on runs an implicit DELETE that fires ON DELETE
CASCADE, which would wipe every runner's conversation and assessments. So migrations run with
foreign keys off and verify them with `PRAGMA foreign_key_check` before committing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine

from bot.db.models import Base

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"


class ForeignKeyViolation(RuntimeError):
    """A migration left rows pointing at parents that do not exist."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for this project's migrations, optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration not yet applied to the database behind `engine`."""
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")


def check_no_drift(engine: Engine) -> list[Any]:
    """The differences between the models and the database; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


@contextmanager
def foreign_keys_suspended(connection: Connection) -> Iterator[None]:
    """Turn SQLite foreign keys off around a migration on `connection`, then back on.

    The pragma is ignored inside a transaction, so it is issued on the DB-API connection
    before SQLAlchemy begins one. If the caller already opened a transaction with foreign keys
    on, batch migrations are not safe and this refuses rather than risk cascading deletes.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    was_on = _pragma(connection, "PRAGMA foreign_keys") == [(1,)]
    if not was_on:
        yield
        return
    if connection.in_transaction():
        raise RuntimeError(
            "SQLite migrations need foreign keys off, which is impossible inside a transaction:"
            " pass a connection that has not begun one"
        )
    _pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        # A migration commits or rolls back its own transaction; one still open here was never
        # committed, and it would make SQLite ignore the pragma that turns foreign keys back on.
        if connection.in_transaction():
            connection.rollback()
        _pragma(connection, "PRAGMA foreign_keys=ON")


def assert_foreign_keys_hold(connection: Connection) -> None:
    """Raise `ForeignKeyViolation` if any row references a missing parent (SQLite only)."""
    if connection.dialect.name != "sqlite":
        return
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if violations:
        raise ForeignKeyViolation(f"foreign keys broken by migration: {violations[:5]}")


def _pragma(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    # Straight to the DB-API cursor: going through SQLAlchemy would autobegin a transaction.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()
