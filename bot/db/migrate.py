"""Bring a database to the current schema from code, and check that models and migrations agree.

The bot calls `upgrade_to_head(engine)` from its sync entry point before the event loop starts,
on its own engine (so the SQLite pragmas and BEGIN IMMEDIATE apply to migrations too).
`check_no_drift(engine)` lists the differences Alembic's autogenerate would find between the
models and the migrated database; a test keeps that list empty.

Several processes may start at once on an empty database (a deploy starting replicas, a restart
loop), and two migrations running side by side both try to create the same tables: PostgreSQL
fails one of them with a unique violation on its catalogue. So `upgrade_to_head` runs under
`migration_lock(engine)`: a session-level advisory lock on PostgreSQL, an exclusive `flock` on a
`<database file>.migrate.lock` file next to a SQLite database. The second process waits, then
finds the schema at head and has nothing to do.

`foreign_keys_suspended` exists for SQLite: the engine turns foreign keys on for every
connection, and Alembic's batch mode rebuilds a table by copying it and dropping the original.
Dropping a parent table with foreign keys on runs an implicit DELETE that fires ON DELETE
CASCADE, which would wipe every runner's conversation and assessments. So migrations run with
foreign keys off and verify them with `PRAGMA foreign_key_check` before committing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text

from bot.db.models import Base

try:
    import fcntl
except ImportError:  # not POSIX: SQLite migrations run unlocked, as they did before
    fcntl = None  # type: ignore[assignment]

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"

# The advisory lock key is derived from a name rather than picked by hand, so it documents
# itself and is unlikely to collide with another application's lock in a shared database.
MIGRATION_LOCK_NAME = "ankle-bot: alembic upgrade"
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(MIGRATION_LOCK_NAME.encode()).digest()[:8], "big", signed=True
)
SQLITE_LOCK_SUFFIX = ".migrate.lock"

log = logging.getLogger(__name__)


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
    """Apply every migration not yet applied to the database behind `engine`.

    Safe to call from any number of processes at once: they take turns (see `migration_lock`).
    """
    with migration_lock(engine), engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's migration lock for the block; released on error too.

    PostgreSQL: `pg_advisory_lock(MIGRATION_LOCK_KEY)` on a connection of its own in autocommit
    mode, so the lock outlives the migration's transactions and the migration's connection is
    handed to Alembic untouched. The lock is per database, not per schema. SQLite: `flock` on
    `<file>.migrate.lock`; none for an in-memory database, which no other process can see.
    Other backends: no lock.
    """
    backend = engine.dialect.name
    if backend == "postgresql":
        with _postgres_advisory_lock(engine):
            yield
    elif backend == "sqlite":
        with _file_lock(sqlite_lock_path(engine)):
            yield
    else:
        yield


def sqlite_lock_path(engine: Engine) -> Path | None:
    """The lock file next to the engine's SQLite database file, or None when it has no file."""
    database = engine.url.database or ""
    if database.startswith("file:"):  # a URI filename (`?uri=true`): the path is before `?`
        if engine.url.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:").partition("?")[0]
    if not database or database == ":memory:":
        return None
    return Path(database + SQLITE_LOCK_SUFFIX)


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


@contextmanager
def _postgres_advisory_lock(engine: Engine) -> Iterator[None]:
    # Autocommit: a lock taken inside a transaction would tie up a transaction for the whole
    # migration, and a session-level lock is released by unlock or by closing the connection,
    # never by a commit or rollback.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock_connection:
        acquired = lock_connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        ).scalar_one()
        if not acquired:
            log.info("Another process is migrating the database; waiting for it to finish")
            lock_connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        try:
            yield
        finally:
            try:
                lock_connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            except Exception:
                # Never hand a connection that may still hold the lock back to the pool, where
                # it would keep every later migration waiting: closing it frees the lock.
                lock_connection.invalidate()
                raise


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None or fcntl is None:
        yield
        return
    # The file is left in place afterwards: deleting a lock file lets a late process lock a
    # new file while an earlier one still holds the old, unlinked one.
    with open(path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("Another process is migrating %s; waiting for it to finish", path.name)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _pragma(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    # Straight to the DB-API cursor: going through SQLAlchemy would autobegin a transaction.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()
