"""Fan-out benchmark: N due reminders sent through real worker processes sharing one send limit.

For each set-up a fresh schema in the `test` database gets N follow-ups in the outbox, all due
at once (what the scheduler leaves there when a morning's reminders come due; the scheduler's
own rate is bench/scheduler.py's), one a runner (`--per-runner K`: K each, so that the one a
second per chat shows). They are sent by `--workers` real `python -m bot worker` processes, as
deployed: each with its own database connections and its own `SharedSendRateLimiter`, the limit
shared through PostgreSQL, sending over HTTP to one `FakeBotApiServer` in this process. The fake
enforces Telegram's flood limits (fakebotapi/flood.py: 429 with retry_after over 30 a second
overall, 1 a second per chat, 1,000 paid), so "429s" is what Telegram would have answered.
`--in-process` adds the old set-up as a baseline: 3 `OutboxSender`s in this process and event
loop, calling the same fake without a socket. Printed side by side, from the fake's wall clock
at each delivery: messages a second against the limit, the busiest calendar second, seconds
over the limit, 429s, duplicates, lost, the longest wait of one runner from due to delivered,
the longest silence between two messages to one runner (with `--per-runner` over 1), and the
CPU of the workers and of PostgreSQL over the run. `--paid` sends with paid broadcast on.

    python -m bench.fanout                              # 10,000 at 30/s, 1 then 3 workers: ~12 min
    python -m bench.fanout --workers 3                  # 3 workers only: about 6 minutes
    python -m bench.fanout --messages 1500 --per-runner 3 --in-process
    python -m bench.fanout --paid --workers 1,3 --in-process
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TextIO

import psycopg

from bench.scheduler import fresh_database
from bench.workers import (
    cpu_seconds,
    postgres_cpu_seconds,
    start_workers,
    stop_workers,
    wait_until,
)
from bot.app import build_bot
from bot.clock import utc_now
from bot.config import DEFAULT_PAID_BROADCAST_RATE
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage
from bot.outbox import OutboxSender
from bot.ratelimit import SharedSendRateLimiter
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer, LocalBotApiRequest
from fakebotapi.flood import FloodControl

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
FREE_RATE = 30
IN_PROCESS_SENDERS = 3


@dataclass(frozen=True)
class Result:
    label: str
    messages: int
    limit: int
    sent: list[tuple[float, int, str]]  # (delivered at, chat, text) as the fake saw them
    due: float
    refused: Counter[str]
    worker_cpu: list[float]
    postgres_cpu: float
    late: int | None

    @property
    def elapsed(self) -> float:
        return max(at for at, _, _ in self.sent) - self.due if self.sent else float("nan")

    def rows(self) -> dict[str, str]:
        times = sorted(at for at, _, _ in self.sent)
        per_second = Counter(int(at) for at in times)
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
        texts = Counter(text for _, _, text in self.sent)
        by_chat: dict[int, list[float]] = defaultdict(list)
        for at, chat, _ in self.sent:
            by_chat[chat].append(at)
        silences = [
            b - a for ats in map(sorted, by_chat.values()) for a, b in itertools.pairwise(ats)
        ]
        cpu = "+".join(f"{c:.0%}" for c in self.worker_cpu)
        return {
            "delivered": f"{len(self.sent)} in {self.elapsed:.1f} s",
            "messages a second": f"{rate:.1f} (limit {self.limit})",
            "busiest second": str(max(per_second.values(), default=0)),
            "seconds over the limit": str(sum(1 for n in per_second.values() if n > self.limit)),
            "429s from the fake": " ".join(
                [str(sum(self.refused.values()))]
                + [f"{kind}:{n}" for kind, n in sorted(self.refused.items())]
            ),
            "duplicates": str(sum(n - 1 for n in texts.values())),
            "lost": str(self.messages - len(texts)),
            "first delivered after due": f"{times[0] - self.due:.1f} s" if times else "-",
            "longest wait, due to delivered": f"{self.elapsed:.1f} s",
            "longest silence, 1 runner": f"{max(silences):.2f} s" if silences else "- (1 each)",
            "worker CPU": cpu,
            "postgres CPU": f"{self.postgres_cpu:.0%}",
            "slots given up late": "-" if self.late is None else str(self.late),
        }

    @property
    def ok(self) -> bool:
        texts = {text for _, _, text in self.sent}
        per_second = Counter(int(at) for at, _, _ in self.sent)
        return (
            len(texts) == self.messages == len(self.sent)
            and not self.refused
            and all(n <= self.limit for n in per_second.values())
        )


def fill_outbox(url: str, messages: int, per_runner: int) -> float:
    """Store the reminders, all due now; when they came due (epoch seconds)."""
    db = Database.threaded(url)
    due = utc_now()
    rows = [
        {
            "chat_id": 1000 + n // per_runner,
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
    db.run_sync(lambda session: session.execute(OutboxMessage.__table__.insert(), rows))
    db.dispose_sync()
    return due.timestamp()


def fake_api() -> tuple[FakeBotApi, list[tuple[float, int, str]]]:
    """The fake with Telegram's flood limits, noting every delivered reminder."""
    api = FakeBotApi(record_calls=False, flood=FloodControl())
    sent: list[tuple[float, int, str]] = []
    lock = threading.Lock()  # HTTP server threads deliver at once

    def note(call) -> None:
        with lock:
            sent.append((time.time(), int(call.params["chat_id"]), call.params["text"]))

    api.on_call("sendMessage", note, after_delivery=True)
    return api, sent


def deadline_for(messages: int) -> float:
    return messages / FREE_RATE * 3 + 60  # paid broadcast is not always faster


def run_processes(workers: int, args: argparse.Namespace, limit: int, out: TextIO) -> Result:
    api, sent = fake_api()
    with fresh_database("postgresql", args.postgres_url) as url, FakeBotApiServer(api) as server:
        setup = Database.threaded(url)
        upgrade_to_head(setup.engine)
        setup.dispose_sync()
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": server.url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "PAID_BROADCAST": "1" if args.paid else "0",
            "PAID_BROADCAST_RATE": str(args.paid_rate),
        }
        started_me = [0]
        api.on_call("getMe", lambda call: started_me.__setitem__(0, started_me[0] + 1))
        processes = start_workers(env, workers)
        try:
            wait_until(lambda: started_me[0] >= workers, within=60, what="workers starting")
            time.sleep(1.0)  # past getMe: the runtimes are up
            before = [cpu_seconds(p.pid) for p in processes]
            pg_before = postgres_cpu_seconds()
            due = fill_outbox(url, args.messages, args.per_runner)
            wait_until(
                lambda: len(sent) >= args.messages,
                within=deadline_for(args.messages),
                what="sending",
            )
            time.sleep(1.0)  # a duplicate would arrive now
            after = [cpu_seconds(p.pid) for p in processes]
            pg_after = postgres_cpu_seconds()
        finally:
            stop_workers(processes)
    wall = time.time() - due
    return Result(
        label=f"{workers} worker process{'es' if workers > 1 else ''}",
        messages=args.messages,
        limit=limit,
        sent=list(sent),
        due=due,
        refused=Counter(api.flood.refused),
        worker_cpu=[(b - a) / wall for a, b in zip(before, after, strict=True)],
        postgres_cpu=(pg_after - pg_before) / wall,
        late=None,
    )


async def run_in_process(args: argparse.Namespace, limit: int) -> Result:
    api, sent = fake_api()
    paid_rate = args.paid_rate if args.paid else None
    with fresh_database("postgresql", args.postgres_url) as url:
        setup = Database.threaded(url)
        upgrade_to_head(setup.engine)
        setup.dispose_sync()
        async with AsyncExitStack() as stack:
            limiters = []
            for n in range(IN_PROCESS_SENDERS):
                db = Database.threaded(url)
                stack.push_async_callback(db.dispose)
                limiter = SharedSendRateLimiter(db, paid_per_second=paid_rate)
                bot = build_bot(
                    token=DEFAULT_TOKEN,
                    request=LocalBotApiRequest(api),
                    get_updates_request=LocalBotApiRequest(api),
                    pacer=limiter,
                )
                await stack.enter_async_context(bot)
                sender = OutboxSender(
                    db=db, bot=bot, worker=f"w{n}", pacer=limiter, paid_broadcast=args.paid
                )
                sender.start()
                stack.push_async_callback(sender.stop, grace=2.0)
                limiters.append(limiter)
            cpu_before, pg_before = time.process_time(), postgres_cpu_seconds()
            due = await asyncio.to_thread(fill_outbox, url, args.messages, args.per_runner)
            deadline = time.time() + deadline_for(args.messages)
            while len(sent) < args.messages and time.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # a duplicate would arrive now
            cpu_after, pg_after = time.process_time(), postgres_cpu_seconds()
    wall = time.time() - due
    return Result(
        label=f"{IN_PROCESS_SENDERS} senders, 1 process",
        messages=args.messages,
        limit=limit,
        sent=list(sent),
        due=due,
        refused=Counter(api.flood.refused),
        worker_cpu=[(cpu_after - cpu_before) / wall],
        postgres_cpu=(pg_after - pg_before) / wall,
        late=sum(limiter.late for limiter in limiters),
    )


def report(results: list[Result], args: argparse.Namespace, limit: int, out: TextIO) -> None:
    print(
        f"fan-out of {args.messages} due reminders ({args.per_runner} a runner) on PostgreSQL, "
        f"{'paid broadcast' if args.paid else 'free'} limit {limit}/s; the fake answers 429 over "
        f"{limit}/s{'' if args.paid else ' overall'} and 1/s per chat",
        file=out,
    )
    table = [r.rows() for r in results]
    cells = max([len(c) for row in table for c in row.values()] + [len(r.label) for r in results])
    print(f"{'':32}" + "".join(f"{r.label:>{cells + 2}}" for r in results), file=out)
    for key in table[0]:
        print(f"  {key:30}" + "".join(f"{row[key]:>{cells + 2}}" for row in table), file=out)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--per-runner", type=int, default=1, help="reminders a runner (1)")
    parser.add_argument("--workers", default="1,3", help="worker process counts (1,3)")
    parser.add_argument(
        "--in-process", action="store_true", help=f"also {IN_PROCESS_SENDERS} senders in one loop"
    )
    parser.add_argument("--paid", action="store_true", help="paid broadcast on")
    parser.add_argument("--paid-rate", type=int, default=DEFAULT_PAID_BROADCAST_RATE)
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER_URL)
    args = parser.parse_args(argv)
    try:
        psycopg.connect(args.postgres_url, connect_timeout=2).close()
    except psycopg.OperationalError:
        print(f"skipped: PostgreSQL not reachable at {args.postgres_url}", file=out)
        return 0
    limit = args.paid_rate if args.paid else FREE_RATE
    results = []
    if args.in_process:
        results.append(asyncio.run(run_in_process(args, limit)))
    for workers in (int(n) for n in args.workers.split(",") if n):
        results.append(run_processes(workers, args, limit, out))
    report(results, args, limit, out)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
