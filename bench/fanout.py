"""Fan-out benchmark: N due reminders sent by 3 senders sharing one limit on PostgreSQL.

A fresh schema in the `test` database gets N follow-ups in the outbox, one per runner, all due
now (what the scheduler leaves there when a morning's reminders come due; the scheduler's own
rate is bench/scheduler.py's). Three `OutboxSender`s, each with a `Database` and a
`SharedSendRateLimiter` of its own as three worker processes would have (here in one process
and event loop, so the figure includes their sharing one core's loop), deliver them to one
in-process `FakeBotApi` that notes the wall time of every send. Printed: messages a second
against the limit, the busiest calendar second, how many seconds went over the limit (each
would have drawn 429s from Telegram), duplicates, lost messages, and the longest wait of one
runner from due to delivered. `--paid` runs with paid broadcast on (follow-ups from the paid
budget, `--paid-rate` a second).

    python -m bench.fanout                      # 10,000 reminders at 30/s: about 6 minutes
    python -m bench.fanout --messages 1500      # a shorter run
    python -m bench.fanout --paid               # 10,000 as paid broadcasts
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TextIO

import psycopg
from psycopg import sql

from bot.app import build_bot
from bot.clock import utc_now
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage
from bot.outbox import OutboxSender
from bot.ratelimit import SharedSendRateLimiter
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
FREE_RATE = 30


async def run(messages: int, *, workers: int, paid: bool, paid_rate: int, out: TextIO) -> int:
    schema = f"bench_fanout_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = f"{POSTGRES_SERVER_URL}?options=-csearch_path%3D{schema}"
    try:
        return await _run(url, messages, workers=workers, paid=paid, paid_rate=paid_rate, out=out)
    finally:
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def _run(
    url: str, messages: int, *, workers: int, paid: bool, paid_rate: int, out: TextIO
) -> int:
    setup = Database.threaded(url)
    upgrade_to_head(setup.engine)
    due = utc_now()
    rows = [
        {
            "chat_id": 1000 + n,
            "source": "followup",
            "method": "sendMessage",
            "payload": {"text": f"reminder {n}"},
            "at_most_once": True,
            "urgent": False,
            "state": "pending",
            "attempts": 0,
            "not_before": due,
            "created_at": due,
            "updated_at": due,
        }
        for n in range(messages)
    ]
    setup.run_sync(lambda session: session.execute(OutboxMessage.__table__.insert(), rows))
    setup.dispose_sync()

    api = FakeBotApi(record_calls=False)
    sent: list[tuple[float, str]] = []
    api.on_call(
        "sendMessage",
        lambda call: sent.append((time.time(), call.params["text"])),
        after_delivery=True,
    )
    limit = paid_rate if paid else FREE_RATE
    started = time.time()
    async with AsyncExitStack() as stack:
        senders, limiters = [], []
        for n in range(workers):
            db = Database.threaded(url)
            stack.push_async_callback(db.dispose)
            limiter = SharedSendRateLimiter(db, paid_per_second=paid_rate if paid else None)
            bot = build_bot(
                token=DEFAULT_TOKEN,
                request=LocalBotApiRequest(api),
                get_updates_request=LocalBotApiRequest(api),
                pacer=limiter,
            )
            await stack.enter_async_context(bot)
            sender = OutboxSender(
                db=db, bot=bot, worker=f"w{n}", batch=50, pacer=limiter, paid_broadcast=paid
            )
            sender.start()
            stack.push_async_callback(sender.stop, grace=2.0)
            senders.append(sender)
            limiters.append(limiter)
        deadline = started + messages / limit * 3 + 60
        while len(sent) < messages and time.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a duplicate would arrive now
    per_second = Counter(int(at) for at, _ in sent)
    texts = Counter(text for _, text in sent)
    first, last = min(at for at, _ in sent), max(at for at, _ in sent)
    rate = (len(sent) - 1) / (last - first) if last > first else float("nan")
    over = sum(1 for count in per_second.values() if count > limit)
    print(
        f"fan-out of {messages} due reminders, {workers} senders on PostgreSQL, "
        f"{'paid broadcast' if paid else 'free'} limit {limit}/s",
        file=out,
    )
    print(f"  sent                   {len(sent)} in {last - started:.1f} s", file=out)
    print(f"  messages a second      {rate:.1f} (limit {limit})", file=out)
    print(f"  busiest second         {max(per_second.values())}", file=out)
    print(f"  seconds over the limit {over} (each would draw 429s)", file=out)
    print(f"  duplicates             {sum(c - 1 for c in texts.values())}", file=out)
    print(f"  lost                   {messages - len(texts)}", file=out)
    print(f"  longest wait, 1 runner {last - started:.1f} s from due to delivered", file=out)
    print(f"  per sender             {[s.sent for s in senders]}", file=out)
    print(f"  slots given up late    {sum(limiter.late for limiter in limiters)}", file=out)
    return 0 if over == 0 and len(texts) == messages == len(sent) else 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--paid", action="store_true", help="paid broadcast on")
    parser.add_argument("--paid-rate", type=int, default=970)
    args = parser.parse_args(argv)
    return asyncio.run(
        run(
            args.messages,
            workers=args.workers,
            paid=args.paid,
            paid_rate=args.paid_rate,
            out=out or sys.stdout,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
