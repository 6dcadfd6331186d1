"""Scheduler benchmark: how fast due follow-ups are found in a big table, how many a second the
scheduler hands to the outbox, and how many a second the outbox sends when nothing else holds it
back.

For each backend and table size it builds a fresh, migrated database (SQLite: a file in a temp
dir; PostgreSQL: a new schema in the `test` database, dropped afterwards) and bulk-loads N
runners with one scheduled message each (executemany on SQLite, COPY on PostgreSQL): a fifth of
them pending and due within the last hour, the rest sent history, which is what the table looks
like after a while (finished messages pile up; unfinished ones stay few). It then reports:

(a) the due query: `schedule_store.take_due` taking a batch of 100 (the SELECT with
    FOR UPDATE SKIP LOCKED on PostgreSQL, loaded as ORM objects), and the SELECT alone, each
    timed over repeated runs that are rolled back so every one faces the full table; and the
    query plan, which must be a range scan of `ix_scheduled_messages_due` with no sort.
(b) queue throughput: a real `bot.scheduler.Scheduler` taking due messages, composing one reply
    each (rendered from a template), writing it to the outbox, marking the message queued, all
    in one transaction per batch.
(c) send throughput: a real `bot.outbox.OutboxSender` delivering what (b) queued (one message
    per chat, each sent at most once: a `sending` mark, the Bot API call, the record of it) with
    the rate limiter off and the Bot API answered in process by
    `fakebotapi.FakeBotApi`, so the figure is the sender's own ceiling (Telegram allows
    about 30 messages a second).

Run `python -m bench.scheduler --help`; the default run (both sizes, both backends) takes a few
minutes on two cores, most of it loading the million-row tables.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import sql
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from bot.app import build_bot
from bot.db import outbox_store, schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, ScheduledMessage
from bot.outbox import OutboxSender
from bot.scheduler import Scheduler
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from flows.due_messages import Due
from flows.types import Reply

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
DUE_EVERY = 5  # one message in five is pending and due; the others are sent history
TAKE_SIZE = 100
REPLY = Reply("triage/unreadable.j2", {"kind": "sticker"})
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def compose(session: Session, *, message: ScheduledMessage, now: datetime) -> Due:
    """One short reply per message, nothing after it."""
    return Due(replies=(REPLY,))


# --- databases -----------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, postgres_url: str) -> Iterator[str]:
    """A URL to an empty database of `backend`, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def postgres_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


# --- loading -------------------------------------------------------------------------------------


def runner_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for number in range(1, count + 1):
        yield (number, 1_000_000 + number, now, now)


def message_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """(id, runner_id, kind, due_at, state, attempts, key, payload, sent_at, created, updated)."""
    for number in range(1, count + 1):
        if number % DUE_EVERY == 0:
            due_at = now - timedelta(seconds=number % 3600)
            state, sent_at = "pending", None
        else:
            due_at = now - timedelta(days=1, seconds=number)
            state, sent_at = "sent", due_at
        key = f"r{number}:checkin:{number}"
        yield (number, number, "checkin", due_at, state, 0, key, "{}", sent_at, now, now)


MESSAGE_COLUMNS = (
    "id, runner_id, kind, due_at, state, attempts, idempotency_key, payload, sent_at,"
    " created_at, updated_at"
)


def load_sqlite(engine: Engine, count: int, now: datetime) -> None:
    def stamp(value: datetime | None) -> str | None:
        return None if value is None else value.strftime(SQLITE_TIME_FORMAT)

    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        # The engine's connections are in autocommit mode (it issues BEGIN IMMEDIATE itself).
        cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(
            "INSERT INTO runners (id, chat_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
            ((n, chat, stamp(c), stamp(u)) for n, chat, c, u in runner_rows(count, now)),
        )
        cursor.executemany(
            f"INSERT INTO scheduled_messages ({MESSAGE_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (*row[:3], stamp(row[3]), *row[4:8], stamp(row[8]), stamp(row[9]), stamp(row[10]))
                for row in message_rows(count, now)
            ),
        )
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        connection.close()


def load_postgres(engine: Engine, count: int, now: datetime) -> None:
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY runners (id, chat_id, created_at, updated_at) FROM STDIN"
            ) as copy:
                for row in runner_rows(count, now):
                    copy.write_row(row)
            with cursor.copy(f"COPY scheduled_messages ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
                for row in message_rows(count, now):
                    copy.write_row(row)
            # Ids were given explicitly: move the sequences past them.
            for table in ("runners", "scheduled_messages"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})")
            cursor.execute("ANALYZE runners")
            cursor.execute("ANALYZE scheduled_messages")
        connection.commit()
    finally:
        connection.close()


# --- (a) the due query ---------------------------------------------------------------------------


def time_takes(engine: Engine, now: datetime, repeats: int) -> list[float]:
    """Seconds per `take_due` of TAKE_SIZE messages, each rolled back so the table stays full."""
    timings: list[float] = []
    for _ in range(repeats):
        with Session(engine) as session:
            started = time.perf_counter()
            taken = schedule_store.take_due(session, now=now, limit=TAKE_SIZE)
            timings.append(time.perf_counter() - started)
            if len(taken) != TAKE_SIZE:
                raise RuntimeError(f"took {len(taken)} messages, expected {TAKE_SIZE}")
            session.rollback()
    return timings


def time_due_select(engine: Engine, now: datetime, repeats: int) -> list[float]:
    """Seconds per run of the due SELECT alone (rows fetched, no ORM objects)."""
    query = schedule_store.due_query(now=now, limit=TAKE_SIZE)
    timings: list[float] = []
    with engine.connect() as connection:
        for _ in range(repeats):
            with connection.begin() as transaction:
                started = time.perf_counter()
                rows = connection.execute(query).all()
                timings.append(time.perf_counter() - started)
                transaction.rollback()
            if len(rows) != TAKE_SIZE:
                raise RuntimeError(f"the due query found {len(rows)} rows, expected {TAKE_SIZE}")
    return timings


def due_query_plan(engine: Engine, now: datetime) -> list[str]:
    query = schedule_store.due_query(now=now, limit=TAKE_SIZE)
    with engine.connect() as connection:
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        if engine.dialect.name == "sqlite":
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return [str(row[-1]) for row in rows]
        rows = connection.execute(text(f"EXPLAIN (COSTS OFF) {compiled}")).all()
        return [row[0].strip() for row in rows]


def milliseconds(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def uses_due_index(plan: list[str]) -> bool:
    joined = "\n".join(plan)
    return "ix_scheduled_messages_due" in joined and not any(
        marker in joined for marker in ("TEMP B-TREE", "Sort", "Seq Scan", "SCAN scheduled")
    )


# --- (b) queueing and (c) sending ----------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """How many messages a stage dealt with, in how many seconds."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


async def queue_due(url: str, messages: int, *, batch: int, now: datetime) -> Throughput:
    """Queue `messages` due messages through a real Scheduler; its throughput."""
    db = Database.threaded(url)
    try:
        # The warm-up batch is queued too, and sent by the sender afterwards.
        scheduler = Scheduler(db=db, compose=compose, clock=lambda: now, batch=batch)
        await scheduler.run_once()  # warm up: connections, templates, code paths
        started = time.perf_counter()
        queued = 0
        while queued < messages:
            taken = await scheduler.run_once()
            if not taken:
                break
            queued += taken
        elapsed = time.perf_counter() - started
    finally:
        await db.dispose()
    return Throughput(queued, elapsed)


async def send_queued(url: str, *, batch: int, now: datetime) -> Throughput:
    """Send everything in the outbox through a real OutboxSender (no pacing); its throughput."""
    api = FakeBotApi(record_calls=False)
    db = Database.threaded(url)
    try:
        waiting = await db.run(outbox_store.backlog, now=now)
        chats = await db.run(
            lambda session: list(session.scalars(select(OutboxMessage.chat_id).distinct()))
        )
        async with build_bot(
            token=DEFAULT_TOKEN,
            request=LocalBotApiRequest(api),
            get_updates_request=LocalBotApiRequest(api),
            pace=False,
        ) as bot:
            sender = OutboxSender(db=db, bot=bot, clock=lambda: now, batch=batch, interval=0.01)
            started = time.perf_counter()
            sender.start()
            try:
                await sender.idle(within=3600)
            finally:
                await sender.stop()
            elapsed = time.perf_counter() - started
        # The figure counts only what the fake Bot API really received, once per chat.
        delivered = sum(len(api.sent_to(chat_id)) for chat_id in chats)
        counts = await db.run(outbox_store.counts_by_state)
        if sender.failed or delivered != waiting or counts != {"sent": waiting}:
            raise RuntimeError(
                f"{waiting} messages waiting, {delivered} delivered, {sender.failed} failed;"
                f" outbox now {counts}"
            )
        return Throughput(sender.sent, elapsed)
    finally:
        await db.dispose()


def scheduled_states(url: str) -> dict[str, int]:
    db = Database.threaded(url)
    try:
        return dict(
            db.run_sync(
                lambda session: session.execute(
                    select(ScheduledMessage.state, func.count()).group_by(ScheduledMessage.state)
                ).all()
            )
        )
    finally:
        db.dispose_sync()


# --- the run -------------------------------------------------------------------------------------


def bench_one(backend: str, rows: int, args: argparse.Namespace, out: TextIO) -> None:
    label = f"{backend}, {rows:,} rows"
    now = datetime.now(UTC)
    with fresh_database(backend, args.postgres_url) as url:
        db = Database.threaded(url)
        try:
            upgrade_to_head(db.engine)
            started = time.perf_counter()
            (load_sqlite if backend == "sqlite" else load_postgres)(db.engine, rows, now)
            due = rows // DUE_EVERY
            print(
                f"{label}: loaded {rows:,} runners and {rows:,} messages ({due:,} due, "
                f"{rows - due:,} sent) in {time.perf_counter() - started:.1f} s",
                file=out,
                flush=True,
            )
            plan = due_query_plan(db.engine, now)
            verdict = "index range scan, no sort" if uses_due_index(plan) else "INDEX NOT USED"
            print(f"{label}: due query plan ({verdict}): {' | '.join(plan)}", file=out)
            time_takes(db.engine, now, 3)  # warm the cache and the statement caches
            selects = time_due_select(db.engine, now, args.takes)
            takes = time_takes(db.engine, now, args.takes)
            print(
                f"{label}: due query, a batch of {TAKE_SIZE}: the SELECT alone"
                f" {milliseconds(selects)}; take_due (locking SELECT, ORM objects)"
                f" {milliseconds(takes)} ({args.takes} runs each, rolled back)",
                file=out,
                flush=True,
            )
        finally:
            db.dispose_sync()
        messages = min(args.messages, due - args.batch)
        queued = asyncio.run(queue_due(url, messages, batch=args.batch, now=now))
        print(
            f"{label}: queue throughput: {queued.count:,} messages in {queued.seconds:.2f} s ="
            f" {queued.per_second:,.0f} messages/s (scheduler batch {args.batch}: take, compose"
            f" and render, write the outbox, mark queued, one transaction per batch)",
            file=out,
            flush=True,
        )
        sent = asyncio.run(send_queued(url, batch=args.send_batch, now=now))
        states = scheduled_states(url)
        if states.get("queued") or states.get("sent", 0) != rows - due + sent.count:
            raise RuntimeError(f"scheduled messages after sending: {states}")
        print(
            f"{label}: send throughput: {sent.count:,} messages in {sent.seconds:.2f} s ="
            f" {sent.per_second:,.0f} messages/s (outbox sender, rate limiter off, Bot API in"
            f" process, one message per chat, at most once: a sending mark, the call and its"
            f" record; sender batch {args.send_batch})",
            file=out,
            flush=True,
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scheduler", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--backend", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--takes", type=int, default=50, help="timed due queries per table")
    parser.add_argument(
        "--messages",
        type=int,
        default=5_000,
        help="messages queued and then sent for the throughput figures",
    )
    parser.add_argument("--batch", type=int, default=100, help="the scheduler's batch")
    parser.add_argument(
        "--send-batch", type=int, default=200, help="chats the sender claims per pass"
    )
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER_URL)
    args = parser.parse_args(argv)
    smallest = min(args.rows)
    if smallest // DUE_EVERY < TAKE_SIZE + args.batch:
        parser.error(
            f"--rows {smallest} leaves too few due messages: at least"
            f" {(TAKE_SIZE + args.batch) * DUE_EVERY} rows are needed"
        )
    return args


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parse_args(argv)
    out = out or sys.stdout
    print("# Scheduler benchmark: the due query, queue and send throughput", file=out)
    for backend in args.backend:
        if backend == "postgres" and not postgres_reachable(args.postgres_url):
            print(f"postgres: skipped, not reachable at {args.postgres_url}", file=out)
            continue
        for rows in args.rows:
            bench_one(backend, rows, args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
