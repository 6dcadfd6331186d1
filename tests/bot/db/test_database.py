"""Database: the inline, threaded and asyncio variants run the same store function in one
transaction; the bot runs inline on SQLite and threaded on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from bot.db import database as database_module
from bot.db import store
from bot.db.database import Database, InlineDatabase, ThreadedDatabase
from bot.db.migrate import upgrade_to_head
from bot.db.models import Runner
from tests.bot.runners import make_runner

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VARIANTS = ["inline", "threaded", "asyncio"]
# Those that wait for the database off the event loop's thread.
OFF_LOOP_VARIANTS = ["threaded", "asyncio"]


class Boom(Exception):
    pass


def create_runner_then_fail(session: Session, *, chat_id: int) -> None:
    make_runner(session, chat_id=chat_id, user_id=None, first_name=None, now=NOW)
    session.flush()
    raise Boom


async def migrated(variant: str, url: str) -> AsyncIterator[Database]:
    database = getattr(Database, variant)(url)
    upgrade_to_head(database.engine)
    yield database
    await database.dispose()


@pytest.fixture(params=VARIANTS)
async def variant_db(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Database]:
    """A Database of each variant on a migrated schema."""
    async for database in migrated(request.param, database_url):
        yield database


async def test_run_returns_what_the_store_function_returns(variant_db: Database):
    runner = await variant_db.run(make_runner, chat_id=42, user_id=7, first_name="Ada", now=NOW)
    assert isinstance(runner, Runner)
    assert (runner.chat_id, runner.first_name, runner.created_at) == (42, "Ada", NOW)
    found = await variant_db.run(store.find_runner, chat_id=42)
    assert found is not None and found.id == runner.id


async def test_run_rolls_back_and_reraises_when_the_function_fails(variant_db: Database):
    with pytest.raises(Boom):
        await variant_db.run(create_runner_then_fail, chat_id=42)
    assert await variant_db.run(store.find_runner, chat_id=42) is None


@pytest.fixture(params=OFF_LOOP_VARIANTS)
async def off_loop_db(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Database]:
    """The variants that wait for the database off the event loop's thread."""
    async for database in migrated(request.param, database_url):
        yield database


async def test_waiting_for_the_database_does_not_block_the_event_loop(off_loop_db: Database):
    variant_db = off_loop_db
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    def wait_in_the_database(session: Session) -> None:
        is_postgres = session.get_bind().dialect.name == "postgresql"
        session.execute(text("SELECT pg_sleep(0.2)" if is_postgres else "SELECT 1"))

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    before = ticks
    if variant_db.is_sqlite:
        # SQLite has no sleep: hold the write lock elsewhere so the transaction waits to begin.
        path = variant_db.url.removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        threading.Timer(0.2, holder.rollback).start()
    await variant_db.run(wait_in_the_database)
    ticker.cancel()
    assert ticks - before > 10


async def test_run_sync_runs_the_same_transaction_outside_the_event_loop(variant_db: Database):
    created = await asyncio.to_thread(
        variant_db.run_sync,
        make_runner,
        chat_id=42,
        user_id=None,
        first_name=None,
        now=NOW,
    )
    with pytest.raises(Boom):
        await asyncio.to_thread(variant_db.run_sync, create_runner_then_fail, chat_id=43)
    assert (await variant_db.run(store.find_runner, chat_id=42)).id == created.id
    assert await variant_db.run(store.find_runner, chat_id=43) is None


async def test_both_variants_see_the_same_result_from_the_same_store_function(database_url: str):
    threaded = Database.threaded(database_url)
    asyncio_db = Database.asyncio(database_url)
    try:
        upgrade_to_head(threaded.engine)
        by_thread = await threaded.run(
            make_runner, chat_id=42, user_id=7, first_name="Ada", now=NOW
        )
        by_asyncio = await asyncio_db.run(
            make_runner, chat_id=42, user_id=7, first_name="Ada", now=NOW
        )
        assert (
            by_asyncio.id,
            by_asyncio.chat_id,
            by_asyncio.first_name,
            by_asyncio.created_at,
        ) == (
            by_thread.id,
            by_thread.chat_id,
            by_thread.first_name,
            by_thread.created_at,
        )
    finally:
        await threaded.dispose()
        await asyncio_db.dispose()


async def test_the_inline_variant_runs_the_transaction_on_the_event_loops_thread(sqlite_url: str):
    db = Database.inline(sqlite_url)
    upgrade_to_head(db.engine)
    seen: list[int] = []

    def note_thread(session: Session) -> None:
        seen.append(threading.get_ident())

    try:
        await db.run(note_thread)
    finally:
        await db.dispose()
    assert seen == [threading.get_ident()]


def big_rows(session: Session, *, first: int) -> None:
    """About 2 MB: twice the log SQLite would checkpoint by itself (1,000 pages)."""
    session.execute(text("CREATE TABLE IF NOT EXISTS ballast (id INTEGER PRIMARY KEY, body TEXT)"))
    insert = text("INSERT INTO ballast VALUES (:n, :body)")
    for n in range(first, first + 200):
        session.execute(insert, {"n": n, "body": "x" * 10_000})


def automatic_checkpoint_pages(session: Session) -> int:
    return session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()


@pytest.mark.parametrize("every", [0.05, 3600.0])
def test_the_inline_variant_checkpoints_the_wal_in_a_thread_never_in_a_commit(
    tmp_path: Path, every: float
):
    path = tmp_path / "bot.db"
    db = Database.inline(f"sqlite:///{path}", checkpoint_every=every)
    try:
        db.run_sync(big_rows, first=0)
        assert db.run_sync(automatic_checkpoint_pages) == 0
        db.run_sync(big_rows, first=1000)
        assert db.checkpointer is not None
        deadline = time.monotonic() + 5
        while every < 1 and path.stat().st_size < 3_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        if every < 1:
            # The thread copied the log into the database file.
            assert path.stat().st_size > 3_000_000
            assert db.checkpointer.checkpoints > 0
        else:
            # No checkpoint yet: 4 MB of commits stayed in the log; no commit copied any of it.
            assert path.stat().st_size < 1_000_000
            assert Path(f"{path}-wal").stat().st_size > 3_000_000
    finally:
        db.dispose_sync()
    # Disposing checkpoints once more: nothing is left only in the log.
    assert path.stat().st_size > 3_000_000


def test_the_bot_runs_inline_on_sqlite_and_threaded_on_postgres(sqlite_url: str):
    on_sqlite = Database.for_url(sqlite_url)
    on_postgres = Database.for_url("postgresql://bot@db/bot")
    try:
        assert isinstance(on_sqlite, InlineDatabase)
        assert isinstance(on_postgres, ThreadedDatabase)
        assert on_postgres.workers == 8
    finally:
        on_sqlite.dispose_sync()
        on_postgres.dispose_sync()


def test_the_threaded_variant_uses_one_worker_for_sqlite(sqlite_url: str):
    db = Database.threaded(sqlite_url)
    try:
        assert db.workers == 1
    finally:
        db.dispose_sync()


def test_the_threaded_variant_uses_eight_workers_for_postgres():
    db = Database.threaded("postgresql://bot@db/bot")
    try:
        assert db.workers == 8
    finally:
        db.dispose_sync()


def test_the_worker_count_can_be_chosen(sqlite_url: str):
    db = Database.threaded(sqlite_url, workers=3)
    try:
        assert db.workers == 3
    finally:
        db.dispose_sync()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_offers_a_sync_engine_for_migrations(variant: str, sqlite_url: str):
    db = getattr(Database, variant)(sqlite_url)
    try:
        assert isinstance(db.engine, Engine)
        assert db.url == sqlite_url
        upgrade_to_head(db.engine)
        assert db.run_sync(store.find_runner, chat_id=1) is None
    finally:
        db.dispose_sync()


async def test_many_concurrent_runs_on_sqlite_all_commit(sqlite_url: str):
    for variant in VARIANTS:
        db = getattr(Database, variant)(sqlite_url)
        upgrade_to_head(db.engine)
        try:
            base = 1000 * VARIANTS.index(variant)
            await asyncio.gather(
                *(
                    db.run(
                        make_runner,
                        chat_id=base + n,
                        user_id=None,
                        first_name=None,
                        now=NOW,
                    )
                    for n in range(50)
                )
            )
            found = [await db.run(store.find_runner, chat_id=base + n) for n in range(50)]
            assert all(runner is not None for runner in found)
        finally:
            await db.dispose()


# --- grouped transactions ------------------------------------------------------------------------


def counting_begins(engine: Engine) -> list[int]:
    begins: list[int] = []
    event.listen(engine, "begin", lambda connection: begins.append(1))
    return begins


def add_runner(session: Session, *, chat_id: int) -> int:
    return make_runner(session, chat_id=chat_id, user_id=None, first_name=None, now=NOW).chat_id


def chats_stored(db: Database) -> list[int]:
    return db.run_sync(lambda s: sorted(s.scalars(select(Runner.chat_id))))


@pytest.fixture
async def inline_db(sqlite_url: str) -> AsyncIterator[Database]:
    """An inline Database (the grouping one) on a migrated SQLite file."""
    async for database in migrated("inline", sqlite_url):
        yield database


async def test_grouped_calls_made_together_share_one_transaction_inline(inline_db: Database):
    begins = counting_begins(inline_db.engine)
    results = await asyncio.gather(
        *(inline_db.run_grouped(add_runner, chat_id=chat) for chat in range(1, 6))
    )
    assert results == [1, 2, 3, 4, 5]  # each caller gets its own call's result
    assert len(begins) == 1
    assert chats_stored(inline_db) == [1, 2, 3, 4, 5]
    # A call made alone is one transaction too.
    before = len(begins)
    assert await inline_db.run_grouped(add_runner, chat_id=6) == 6
    assert len(begins) == before + 1


async def test_a_failing_grouped_call_fails_only_its_caller_and_runs_once(inline_db: Database):
    calls: list[int] = []

    def add_or_fail(session: Session, *, chat_id: int) -> int:
        calls.append(chat_id)
        if chat_id == 3:
            create_runner_then_fail(session, chat_id=chat_id)
        return add_runner(session, chat_id=chat_id)

    results = await asyncio.gather(
        *(inline_db.run_grouped(add_or_fail, chat_id=chat) for chat in range(1, 6)),
        return_exceptions=True,
    )
    assert results[:2] == [1, 2] and results[3:] == [4, 5]
    assert isinstance(results[2], Boom)
    assert calls.count(3) == 1  # its try is not repeated behind its caller's back
    assert chats_stored(inline_db) == [1, 2, 4, 5]  # the others committed, its row did not


async def test_a_grouped_call_whose_caller_was_cancelled_is_not_run(inline_db: Database):
    gone = asyncio.ensure_future(inline_db.run_grouped(add_runner, chat_id=1))
    kept = asyncio.ensure_future(inline_db.run_grouped(add_runner, chat_id=2))
    await asyncio.sleep(0)  # both queued
    gone.cancel()
    assert await kept == 2
    assert chats_stored(inline_db) == [2]


async def test_grouped_calls_on_postgresql_keep_a_transaction_each(postgres_url: str):
    # Threads wait on the server side by side: grouping would put them in a row.
    db = Database.for_url(postgres_url)
    upgrade_to_head(db.engine)
    begins = counting_begins(db.engine)
    try:
        results = await asyncio.gather(
            *(db.run_grouped(add_runner, chat_id=chat) for chat in range(1, 4))
        )
        assert results == [1, 2, 3] and len(begins) == 3
    finally:
        await db.dispose()


async def test_a_large_group_is_committed_in_transactions_of_at_most_the_limit(
    inline_db: Database, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(database_module, "GROUP_LIMIT", 4)
    begins = counting_begins(inline_db.engine)
    results = await asyncio.gather(
        *(inline_db.run_grouped(add_runner, chat_id=chat) for chat in range(1, 11))
    )
    assert results == list(range(1, 11))
    assert len(begins) == 3  # 4 + 4 + 2


async def test_when_the_shared_commit_fails_each_call_runs_again_on_its_own(
    inline_db: Database,
):
    failures = ["the disk was full for a moment"]

    def commit_fails_once(connection: Any) -> None:
        if failures:
            raise RuntimeError(failures.pop())

    event.listen(inline_db.engine, "commit", commit_fails_once)
    begins = counting_begins(inline_db.engine)
    results = await asyncio.gather(
        *(inline_db.run_grouped(add_runner, chat_id=chat) for chat in range(1, 4))
    )
    assert results == [1, 2, 3]
    assert len(begins) == 4  # the failed group, then one each
    assert chats_stored(inline_db) == [1, 2, 3]
