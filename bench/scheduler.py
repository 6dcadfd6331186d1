"""Scheduler benchmark: how fast due messages are found and claimed in a big table, and how many
messages a second the scheduler can claim, send and record when nothing else holds it back.

For each backend and table size it builds a fresh, migrated database (SQLite: a file in a temp
dir; PostgreSQL: a new schema in the `test` database, dropped afterwards) and bulk-loads N
runners with one message each (executemany on SQLite, COPY on PostgreSQL): a fifth of them
pending and due within the last hour, the rest sent history, which is what a table looks like
after a while (finished messages pile up; unfinished ones stay few). It then reports:

(a) the due query: `schedule_store.claim_due` taking a batch of 100 (the SELECT with
    FOR UPDATE SKIP LOCKED on PostgreSQL, and the UPDATE that claims them), timed over repeated
    claims that are rolled back, so each one faces the full table; and the query plan of the
    due SELECT, which must be a range scan of `ix_scheduled_messages_due` with no sort.
(b) claim-and-send throughput: a real `bot.scheduler.Scheduler` (its claim, begin and record
    transactions, rendering) with the rate limiter off and the Bot API answered in process by
    `tests.fakes.botapi.FakeBotApi`, so the figure is the scheduler's own ceiling (Telegram
    allows about 30 messages a second).

Run `python -m bench.scheduler --help`; the default run (both sizes, both backends) takes a
couple of minutes on two cores, most of it loading the million-row tables.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from telegram import Bot

from bot.db import schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import ScheduledMessage
from bot.scheduler import Composed, Scheduler
from flows.types import Reply
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
DUE_EVERY = 5  # one message in five is pending and due; the others are sent history
CLAIM_SIZE = 100
REPLY = Reply("triage/unreadable.j2", {"kind": "sticker"})
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def compose(session: Session, *, message: ScheduledMessage, now: datetime) -> Composed:
    """One short reply per message, nothing after it."""
    return Composed(replies=(REPLY,))


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


def time_claims(engine: Engine, now: datetime, repeats: int) -> list[float]:
    """Seconds per claim of CLAIM_SIZE due messages, each rolled back so the table stays full."""
    timings: list[float] = []
    for _ in range(repeats):
        with Session(engine) as session:
            started = time.perf_counter()
            claimed = schedule_store.claim_due(
                session, now=now, limit=CLAIM_SIZE, worker="bench", lease=timedelta(seconds=60)
            )
            timings.append(time.perf_counter() - started)
            if len(claimed) != CLAIM_SIZE:
                raise RuntimeError(f"claimed {len(claimed)} messages, expected {CLAIM_SIZE}")
            session.rollback()
    return timings


def time_due_select(engine: Engine, now: datetime, repeats: int) -> list[float]:
    """Seconds per run of the due SELECT alone (rows fetched, no ORM objects, no UPDATE)."""
    query = schedule_store.due_query(now=now, limit=CLAIM_SIZE)
    timings: list[float] = []
    with engine.connect() as connection:
        for _ in range(repeats):
            with connection.begin() as transaction:
                started = time.perf_counter()
                rows = connection.execute(query).all()
                timings.append(time.perf_counter() - started)
                transaction.rollback()
            if len(rows) != CLAIM_SIZE:
                raise RuntimeError(f"the due query found {len(rows)} rows, expected {CLAIM_SIZE}")
    return timings


def due_query_plan(engine: Engine, now: datetime) -> list[str]:
    query = schedule_store.due_query(now=now, limit=CLAIM_SIZE)
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


# --- (b) claim-and-send throughput ---------------------------------------------------------------


async def claim_and_send(
    url: str, messages: int, *, batch: int, concurrency: int
) -> tuple[int, float]:
    """Send `messages` due messages through a real Scheduler (no pacing); (sent, seconds)."""
    api = FakeBotApi()
    db = Database.threaded(url)
    try:
        async with Bot(DEFAULT_TOKEN, request=LocalBotApiRequest(api)) as bot:
            scheduler = Scheduler(
                db=db, bot=bot, compose=compose, pace=False, batch=batch, concurrency=concurrency
            )
            await scheduler.run_once()  # warm up: connections, templates, code paths
            warm = len(api.calls_to("sendMessage"))
            started = time.perf_counter()
            sent = 0
            while sent < messages:
                processed = await scheduler.run_once()
                if not processed:
                    break
                sent += processed
            elapsed = time.perf_counter() - started
            delivered = len(api.calls_to("sendMessage")) - warm
            if delivered != sent:
                raise RuntimeError(f"{sent} messages processed but {delivered} delivered")
            return sent, elapsed
    finally:
        await db.dispose()


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
            time_claims(db.engine, now, 3)  # warm the cache and the statement caches
            selects = time_due_select(db.engine, now, args.claims)
            claims = time_claims(db.engine, now, args.claims)
            print(
                f"{label}: due query, a batch of {CLAIM_SIZE}: the SELECT alone"
                f" {milliseconds(selects)}; the whole claim (SELECTs, UPDATE, ORM objects)"
                f" {milliseconds(claims)} ({args.claims} runs each, rolled back)",
                file=out,
                flush=True,
            )
        finally:
            db.dispose_sync()
        sent, seconds = asyncio.run(
            claim_and_send(url, args.messages, batch=args.batch, concurrency=args.concurrency)
        )
        print(
            f"{label}: claim-and-send throughput: {sent:,} messages in {seconds:.2f} s ="
            f" {sent / seconds:,.0f} messages/s (rate limiter off, Bot API in process,"
            f" batch {args.batch}, concurrency {args.concurrency}; one claim transaction per"
            f" batch, a begin and a record transaction per message)",
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
    parser.add_argument("--claims", type=int, default=50, help="timed claims per table")
    parser.add_argument(
        "--messages", type=int, default=5_000, help="messages sent for the throughput figure"
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER_URL)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parse_args(argv)
    out = out or sys.stdout
    print("# Scheduler benchmark: the due query and claim-and-send throughput", file=out)
    for backend in args.backend:
        if backend == "postgres" and not postgres_reachable(args.postgres_url):
            print(f"postgres: skipped, not reachable at {args.postgres_url}", file=out)
            continue
        for rows in args.rows:
            bench_one(backend, rows, args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
