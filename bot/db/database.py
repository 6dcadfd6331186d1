"""Run one store transaction from async code without blocking the event loop.

Store functions are plain sync functions taking a `Session` first. `Database.run(fn, **kwargs)`
calls `fn(session, **kwargs)` inside one transaction (commit on return, roll back and re-raise on
exception) and returns its result. Three interchangeable ways of doing that exist, so the
benchmark can compare them; `Database.for_url` picks the one the bot runs on:

- `Database.inline(url)` (SQLite): a sync engine, the transaction run on the event loop's own
  thread. SQLite admits one writer at a time and one process owns the file, so a thread gives no
  parallelism; handing each transaction to one costs more than most transactions (the hop, the
  wake-ups, and the database thread waiting for the GIL while the loop runs Python; in
  `bench.triage --db both`, 194 against 166 updates a second, 5.8 against 8.4 ms p50). A
  transaction blocks the loop while it runs, as it blocked the one database thread before; the
  WAL is checkpointed by a thread of its own (`bot.db.checkpoint`), not inside a runner's commit.
- `Database.threaded(url)` (PostgreSQL): a sync engine driven from a dedicated thread pool, so
  several transactions wait on the server at once. SQLite gets a single worker by default.
- `Database.asyncio(url)`: an asyncio engine (aiosqlite / psycopg async); the sync function runs
  through `AsyncSession.run_sync`, on the event loop itself: waiting for the database yields to
  other tasks, but the function's own Python work does not.

`run_grouped` is `run` for the busiest calls (applying an update, recording a send): inline,
the calls made before the event loop next turns share one transaction (see there).

Either way `run_sync` runs the same transaction for code outside an event loop (scripts, the
console) and `engine` is a plain sync `Engine` for migrations; the asyncio variant keeps one
beside its asyncio engine, because an asyncio engine's `sync_engine` cannot connect outside the
event loop. Creating a Database connects to nothing: pools fill on first use.
Sessions keep loaded attributes after commit (`expire_on_commit=False`), so returned objects
stay readable; they are detached, and relationships must be loaded explicitly.
"""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from bot.db.checkpoint import CHECKPOINT_EVERY, NO_AUTOMATIC_CHECKPOINT, WalCheckpointer
from bot.db.engine import make_async_engine, make_engine, normalize_url

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_WORKERS = 1
# Calls of `run_grouped` sharing one transaction, at most (a getUpdates batch).
GROUP_LIMIT = 100
POSTGRES_WORKERS = 8


class Database(ABC):
    """A database URL, its engine(s), and the one way to run a transaction against them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        """A sync engine on the same database, for migrations and `run_sync`."""
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_url(cls, url: str) -> Database:
        """What the bot runs on: inline for SQLite, threaded for PostgreSQL (see module doc)."""
        return InlineDatabase(url) if _is_sqlite(url) else ThreadedDatabase(url)

    @classmethod
    def inline(cls, url: str, *, checkpoint_every: float = CHECKPOINT_EVERY) -> InlineDatabase:
        """Sync engine; `run` executes on the calling event loop's thread (for SQLite)."""
        return InlineDatabase(url, checkpoint_every=checkpoint_every)

    @classmethod
    def threaded(cls, url: str, *, workers: int | None = None) -> ThreadedDatabase:
        """Sync engine; `run` executes on a dedicated thread pool (SQLite: 1, PostgreSQL: 8)."""
        return ThreadedDatabase(url, workers=workers)

    @classmethod
    def asyncio(cls, url: str) -> AsyncioDatabase:
        """Asyncio engine; `run` executes the sync function via `AsyncSession.run_sync`."""
        return AsyncioDatabase(url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the URL names SQLite (one writer at a time)."""
        return _is_sqlite(self.url)

    @abstractmethod
    async def run(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(session, ...)` in one transaction, awaiting the database; return its result."""

    async def run_grouped(self, fn: Callable[Concatenate[Session, P], T], **kwargs: Any) -> T:
        """`run`, where the Database may let calls made at about the same time share one
        transaction (`InlineDatabase`): each `fn` must change nothing but the database, since
        it may run twice (see there). Elsewhere it is `run`."""
        return await self.run(fn, **kwargs)

    def run_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(session, ...)` in one transaction on the calling thread and return its result."""
        with self._sessions() as session, session.begin():
            return fn(session, *args, **kwargs)

    async def dispose(self) -> None:
        """Close every pooled connection; the Database must not be used afterwards."""
        self.dispose_sync()

    def dispose_sync(self) -> None:
        """`dispose` for code outside an event loop."""
        self.engine.dispose()


def _is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


class InlineDatabase(Database):
    """`Database.run` on a sync engine, on the event loop's thread (see module doc). On a
    SQLite file its connections never checkpoint the WAL themselves: a thread does, once a
    second, from the first transaction on (`bot.db.checkpoint`)."""

    def __init__(self, url: str, *, checkpoint_every: float = CHECKPOINT_EVERY) -> None:
        super().__init__(url)
        path = make_url(normalize_url(url)).database
        self.checkpointer: WalCheckpointer | None = None
        if self.is_sqlite and path and path != ":memory:":
            self.checkpointer = WalCheckpointer(path, every=checkpoint_every)
            event.listen(self.engine, "connect", _no_automatic_checkpoint)
        self._group: list[tuple[Callable[..., Any], dict[str, Any], asyncio.Future[Any]]] = []

    async def run_grouped(self, fn: Callable[Concatenate[Session, P], T], **kwargs: Any) -> T:
        """`run`, in one transaction with the other grouped calls made before the event loop
        next turns: under load, the applies and send records of many chats commit together.
        Each transaction's fixed cost (session, BEGIN, COMMIT: about 70 µs of Python) then
        counts once a group instead of once a call; SQLite runs them one after another anyway.
        When a call raises, the shared transaction is rolled back: that call's caller gets the
        error, and the others run again, each in a transaction of its own, so one call's
        failure reaches only its caller (hence: nothing but the database may be changed by
        `fn`, which may run twice)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._group.append((fn, kwargs, future))
        if len(self._group) == 1:
            # After the tasks ready now, which may add theirs.
            loop.call_soon(self._commit_group)
        return await future

    def _commit_group(self) -> None:
        # At most GROUP_LIMIT calls a transaction, so that one commit does not keep the event
        # loop (the long poll, buttons waiting for their answer) for long; the rest follow at
        # its next turn.
        taken, self._group = self._group[:GROUP_LIMIT], self._group[GROUP_LIMIT:]
        if self._group:
            asyncio.get_running_loop().call_soon(self._commit_group)
        # A caller cancelled meanwhile (a stop) is not run: it is gone and expects nothing.
        group = [call for call in taken if not call[2].done()]
        if len(group) > 1:
            try:
                results = self.run_sync(_each, group=group)
            except _CallFailed as failed:
                # Its caller gets the error (a try of its own would be a second try); the
                # others, rolled back with it, run again below.
                _, _, future = group.pop(failed.index)
                future.set_exception(failed.error)
            except Exception:
                pass  # the commit failed: each on its own, below
            else:
                for (_, _, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                return
        for fn, kwargs, future in group:
            try:
                result = self.run_sync(fn, **kwargs)
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

    def run_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self.checkpointer is not None:
            self.checkpointer.start()
        return super().run_sync(fn, *args, **kwargs)

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return self.run_sync(fn, *args, **kwargs)

    def dispose_sync(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        super().dispose_sync()


class _CallFailed(Exception):
    """Call `index` of a group raised `error`."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


def _each(
    session: Session, *, group: list[tuple[Callable[..., Any], dict[str, Any], Any]]
) -> list[Any]:
    results = []
    for index, (fn, kwargs, _) in enumerate(group):
        try:
            results.append(fn(session, **kwargs))
        except Exception as error:
            raise _CallFailed(index, error) from error
    return results


def _no_automatic_checkpoint(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(NO_AUTOMATIC_CHECKPOINT)
    finally:
        cursor.close()


class ThreadedDatabase(Database):
    """`Database.run` on a sync engine and a thread pool of its own."""

    def __init__(self, url: str, *, workers: int | None = None) -> None:
        super().__init__(url)
        if workers is None:
            workers = SQLITE_WORKERS if self.is_sqlite else POSTGRES_WORKERS
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        call = functools.partial(self.run_sync, fn, *args, **kwargs)
        # Cancelling the awaiting task does not stop the thread: the transaction still commits.
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def dispose(self) -> None:
        # Off the loop: shutting the pool down waits for transactions still running in it.
        await asyncio.to_thread(self.dispose_sync)

    def dispose_sync(self) -> None:
        self._executor.shutdown(wait=True)
        super().dispose_sync()


class AsyncioDatabase(Database):
    """`Database.run` on an asyncio engine through `AsyncSession.run_sync`."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.async_engine: AsyncEngine = make_async_engine(url)
        self._async_sessions = async_sessionmaker(self.async_engine, expire_on_commit=False)

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        async with self._async_sessions() as session, session.begin():
            return await session.run_sync(fn, *args, **kwargs)

    async def dispose(self) -> None:
        await self.async_engine.dispose()
        super().dispose_sync()

    def dispose_sync(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.async_engine.dispose())
        else:
            raise RuntimeError("an event loop is running: use `await db.dispose()`") from None
        super().dispose_sync()
