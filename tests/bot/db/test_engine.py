"""Engines: URL normalization, SQLite connection set-up, and writers that queue instead of fail."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine, text

from bot.db.engine import (
    POSTGRES_POOL_SIZE,
    make_async_engine,
    make_engine,
    normalize_url,
)


@pytest.mark.parametrize(
    ("url", "use_async", "expected"),
    [
        ("sqlite:///ankle-bot.db", False, "sqlite+pysqlite:///ankle-bot.db"),
        ("sqlite:///ankle-bot.db", True, "sqlite+aiosqlite:///ankle-bot.db"),
        ("sqlite:////var/lib/bot/bot.db", False, "sqlite+pysqlite:////var/lib/bot/bot.db"),
        ("sqlite://", False, "sqlite+pysqlite://"),
        ("sqlite+pysqlite:///a.db", False, "sqlite+pysqlite:///a.db"),
        ("sqlite+pysqlite:///a.db", True, "sqlite+aiosqlite:///a.db"),
        ("sqlite+aiosqlite:///a.db", False, "sqlite+pysqlite:///a.db"),
        ("sqlite+aiosqlite:///a.db", True, "sqlite+aiosqlite:///a.db"),
        ("postgresql://bot@db/bot", False, "postgresql+psycopg://bot@db/bot"),
        ("postgresql://bot@db/bot", True, "postgresql+psycopg://bot@db/bot"),
        ("postgres://bot:s3cret@db:5433/bot", False, "postgresql+psycopg://bot:s3cret@db:5433/bot"),
        ("postgres://bot@db/bot", True, "postgresql+psycopg://bot@db/bot"),
        ("postgresql+psycopg://bot@db/bot", True, "postgresql+psycopg://bot@db/bot"),
        ("postgresql+psycopg2://bot@db/bot", False, "postgresql+psycopg2://bot@db/bot"),
        ("postgresql+psycopg2://bot@db/bot", True, "postgresql+psycopg://bot@db/bot"),
        ("postgresql+asyncpg://bot@db/bot", True, "postgresql+asyncpg://bot@db/bot"),
        ("postgresql+asyncpg://bot@db/bot", False, "postgresql+psycopg://bot@db/bot"),
        (
            "postgresql://postgres@127.0.0.1/test?options=-csearch_path%3Dt_1",
            False,
            "postgresql+psycopg://postgres@127.0.0.1/test?options=-csearch_path%3Dt_1",
        ),
    ],
)
def test_normalize_url_names_the_driver_for_the_mode(url: str, use_async: bool, expected: str):
    assert normalize_url(url, use_async=use_async) == expected


@pytest.mark.parametrize(
    "url",
    ["", "ankle-bot.db", "mysql://bot@db/bot", "sqlite+nosuchdriver:///a.db", "oracle://x@y/z"],
)
def test_normalize_url_rejects_other_databases_with_a_one_line_message(url: str):
    with pytest.raises(ValueError) as raised:
        normalize_url(url)
    assert str(raised.value)
    assert "\n" not in str(raised.value)


def test_making_an_engine_connects_to_nothing():
    # Nothing listens on port 1: any connection attempt here would raise.
    engine = make_engine("postgresql://nobody@127.0.0.1:1/nothing")
    async_engine = make_async_engine("postgresql://nobody@127.0.0.1:1/nothing")
    assert engine.pool.checkedout() == 0
    assert async_engine.sync_engine.pool.checkedout() == 0


def test_postgres_engines_ping_connections_and_pool_for_the_worker_threads():
    engine = make_engine("postgresql://bot@db/bot")
    assert engine.pool._pre_ping is True
    assert engine.pool.size() == POSTGRES_POOL_SIZE >= 8


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_engine: Engine):
    with sqlite_engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    # synchronous=1 is NORMAL.
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 5000,
    }


async def test_async_sqlite_connections_get_the_same_pragmas(sqlite_url: str):
    engine = make_async_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            journal_mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
    finally:
        await engine.dispose()
    assert (journal_mode, foreign_keys) == ("wal", 1)


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_a_sqlite_transaction_takes_the_write_lock_when_it_begins(
    sqlite_engine: Engine, sqlite_url: str
):
    with sqlite_engine.begin() as connection:
        connection.execute(text("SELECT 1"))
        # Another writer that will not wait finds the database reserved by a read-only transaction.
        other = sqlite3.connect(sqlite_path(sqlite_url), timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_a_begin_that_cannot_take_the_write_lock_raises_sqlalchemys_error(
    sqlite_engine: Engine, sqlite_url: str
):
    # What callers catch is SQLAlchemy's OperationalError, as from any statement.
    with sqlite_engine.connect() as connection:  # connected (and in WAL mode) first
        connection.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")
        holder = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(sqlalchemy.exc.OperationalError, match="locked"):
                connection.begin()
        finally:
            holder.close()


async def test_an_async_sqlite_transaction_takes_the_write_lock_when_it_begins(sqlite_url: str):
    engine = make_async_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
            other = sqlite3.connect(sqlite_path(sqlite_url), timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        await engine.dispose()


def test_two_threads_writing_one_sqlite_file_queue_instead_of_failing(sqlite_url: str):
    """Read-then-write transactions from two engines (as from two processes) never hit
    'database is locked' and never lose an increment."""
    setup = make_engine(sqlite_url)
    with setup.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    setup.dispose()
    increments_per_thread = 60
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def increment_repeatedly() -> None:
        engine = make_engine(sqlite_url)
        try:
            start.wait()
            for _ in range(increments_per_thread):
                with engine.begin() as connection:
                    n = connection.execute(text("SELECT n FROM counter")).scalar_one()
                    connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=increment_repeatedly) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    check = make_engine(sqlite_url)
    with check.connect() as connection:
        assert (
            connection.execute(text("SELECT n FROM counter")).scalar_one()
            == 2 * increments_per_thread
        )
    check.dispose()
