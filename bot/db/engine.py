"""Engines from the plain database URLs people write.

`normalize_url` turns `sqlite:///ankle-bot.db` or `postgresql://user@host/db` into a URL naming
the driver this project ships with (pysqlite/aiosqlite, psycopg 3). `make_engine` and
`make_async_engine` build engines tuned for the bot: on SQLite every connection runs in WAL mode
with foreign keys enforced, and every transaction opens with `BEGIN IMMEDIATE` so that it takes
the write lock up front: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY on the lock upgrade no matter how long busy_timeout is, while one that waits at
BEGIN simply queues. PostgreSQL engines check connections before use and keep a pool big enough
for the worker threads. Nothing here connects until an engine is first used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.built import execute_on_cursor

# Which drivers each backend may name, and whether each is usable sync and/or async.
_SYNC_DRIVERS = {"sqlite": {"pysqlite"}, "postgresql": {"psycopg", "psycopg2", "pg8000"}}
_ASYNC_DRIVERS = {"sqlite": {"aiosqlite"}, "postgresql": {"psycopg", "asyncpg"}}
_DEFAULT_SYNC_DRIVER = {"sqlite": "pysqlite", "postgresql": "psycopg"}
_DEFAULT_ASYNC_DRIVER = {"sqlite": "aiosqlite", "postgresql": "psycopg"}
_BACKEND_ALIASES = {"postgres": "postgresql"}

SQLITE_PRAGMAS = (
    # First, so that a connection meeting another's lock (two processes opening a new file at
    # once) waits for it instead of failing on the pragmas after it.
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

# The threaded Database runs up to 8 workers on PostgreSQL; leave headroom for the scheduler,
# migrations and a console session sharing the same engine.
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 5


def normalize_url(url: str, *, use_async: bool = False) -> str:
    """Return `url` with the driver this project uses for its backend, sync or async."""
    parsed = _parse(url)
    backend = _BACKEND_ALIASES.get(parsed.get_backend_name(), parsed.get_backend_name())
    if backend not in _DEFAULT_SYNC_DRIVER:
        raise ValueError(f"unsupported database {backend!r}: use a sqlite:// or postgresql:// URL")
    wanted = _ASYNC_DRIVERS if use_async else _SYNC_DRIVERS
    default = _DEFAULT_ASYNC_DRIVER if use_async else _DEFAULT_SYNC_DRIVER
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if driver is not None and driver not in _SYNC_DRIVERS[backend] | _ASYNC_DRIVERS[backend]:
        raise ValueError(f"unsupported driver {driver!r} for {backend}")
    if driver is None or driver not in wanted[backend]:
        driver = default[backend]
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def make_engine(url: str, **engine_options: Any) -> Engine:
    """A sync engine for `url` (plain or driver-qualified), tuned for its backend."""
    normalized = make_url(normalize_url(url))
    engine = create_engine(normalized, **_backend_options(normalized), **engine_options)
    if normalized.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def make_async_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """An asyncio engine for `url` (plain or driver-qualified), tuned like `make_engine`."""
    normalized = make_url(normalize_url(url, use_async=True))
    engine = create_async_engine(normalized, **_backend_options(normalized), **engine_options)
    if normalized.get_backend_name() == "sqlite":
        # The asyncio engine fires its events on the sync engine it wraps.
        _install_sqlite_hooks(engine.sync_engine)
    return engine


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as error:
        raise ValueError(f"not a database URL: {url!r}") from error


def _backend_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "postgresql":
        return {
            "pool_pre_ping": True,
            "pool_size": POSTGRES_POOL_SIZE,
            "max_overflow": POSTGRES_MAX_OVERFLOW,
        }
    return {}


def _install_sqlite_hooks(engine: Engine) -> None:
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # Stop the sqlite3 module from issuing its own (deferred) BEGIN; `_begin_immediate` does it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # On the DBAPI cursor: through `exec_driver_sql`, SQLAlchemy's execution machinery cost
    # several times the BEGIN itself, once for every transaction. A database locked past
    # busy_timeout is SQLAlchemy's OperationalError either way.
    cursor = connection.connection.dbapi_connection.cursor()
    execute_on_cursor(cursor, "BEGIN IMMEDIATE", (), connection.dialect)
