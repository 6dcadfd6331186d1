"""Workers benchmark: how many stored updates a second 1 and 2 `python -m bot worker` processes
apply on one PostgreSQL database, side by side, and where the speed stops.

For each worker count it makes a fresh schema in the `test` database (dropped afterwards),
starts the fake Bot API over HTTP in this process and the workers as real processes, warms
them up (a few updates each), then stores every chat's updates at once (as the webhook would)
and times until all are applied, and until all the replies are sent. Each update is a command
answered with one message, or a `/sore N` report (a soreness row and a reply). The CPU seconds
each part used in that window, over the wall time, tell where it stops: the workers (Python and
the event loop: about 100 % is one core), PostgreSQL (every server process, other sessions on
it included), and the fake Bot API (this process). The machine's cores bound the sum.

Run `python -m bench.workers --help`; the default run takes about a minute.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import psycopg

from bench.scheduler import fresh_database
from bot.clock import utc_now
from bot.db import inbox_store, outbox_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxState
from bot.inbox import received
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("/help", "/about", "/status", "/plan")
TICKS = os.sysconf("SC_CLK_TCK")
FINISHED = {OutboxState.SENT.value, OutboxState.FAILED.value}


@dataclass(frozen=True)
class Result:
    workers: int
    updates: int
    applied_s: float
    sent_s: float
    worker_cpu: list[float]
    postgres_cpu: float
    api_cpu: float


def script(chat: int, length: int) -> list[str]:
    return [
        f"/sore {(chat + i) % 10}" if (chat + i) % 3 == 0 else COMMANDS[(chat + i) % 4]
        for i in range(length)
    ]


def updates_for(api: FakeBotApi, chats: range, length: int) -> list[inbox_store.Received]:
    scripts = {chat: script(chat, length) for chat in chats}
    raws = [
        api.user_sends_text(chat, scripts[chat][i], enqueue=False)
        for i in range(length)
        for chat in chats
    ]
    return [received(raw) for raw in raws]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu_seconds() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    """`count` `python -m bot worker` processes with `env`, their output discarded."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker, then wait for each (killing one that does not stop in 30 s)."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(check: object, *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def measure(workers: int, args: argparse.Namespace) -> Result:
    api = FakeBotApi(token=DEFAULT_TOKEN)
    with (
        fresh_database("postgresql", args.postgres_url) as url,
        FakeBotApiServer(api) as server,
    ):
        db = Database.threaded(url)
        upgrade_to_head(db.engine)
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": server.url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "CHAT_SEND_INTERVAL": "0",
        }
        processes = start_workers(env, workers)
        try:

            def counts() -> dict[str, int]:
                return db.run_sync(inbox_store.counts_by_state)

            def unsent() -> int:
                by_state = db.run_sync(outbox_store.counts_by_state)
                return sum(n for state, n in by_state.items() if state not in FINISHED)

            # Warm-up: enough chats that every worker applies some, then a quiet moment.
            warm = updates_for(api, range(1, 1 + 20 * workers), 2)
            db.run_sync(inbox_store.store_updates, updates=warm, now=utc_now())
            wait_until(lambda: counts().get("done", 0) == len(warm), within=120, what="warm-up")
            wait_until(lambda: unsent() == 0, within=60, what="warm-up replies")
            time.sleep(0.5)
            chats = range(1000, 1000 + args.chats)
            updates = updates_for(api, chats, args.per_chat)
            before = [cpu_seconds(p.pid) for p in processes]
            pg_before, api_before = postgres_cpu_seconds(), time.process_time()
            db.run_sync(inbox_store.store_updates, updates=updates, now=utc_now())
            start = time.perf_counter()
            total = len(warm) + len(updates)
            wait_until(lambda: counts().get("done", 0) == total, within=600, what="applying")
            applied = time.perf_counter() - start
            wait_until(lambda: unsent() == 0, within=600, what="sending")
            sent = time.perf_counter() - start
            after = [cpu_seconds(p.pid) for p in processes]
            pg_after, api_after = postgres_cpu_seconds(), time.process_time()
        finally:
            stop_workers(processes)
            db.dispose_sync()
    return Result(
        workers=workers,
        updates=len(updates),
        applied_s=applied,
        sent_s=sent,
        worker_cpu=[(b - a) / sent for a, b in zip(before, after, strict=True)],
        postgres_cpu=(pg_after - pg_before) / sent,
        api_cpu=(api_after - api_before) / sent,
    )


def report(results: list[Result], out: TextIO) -> None:
    print(
        f"{'workers':>7}  {'updates':>7}  {'applied/s':>9}  {'replied/s':>9}  "
        f"{'worker CPU':>14}  {'postgres CPU':>12}  {'fake API CPU':>12}",
        file=out,
    )
    for r in results:
        cpu = "+".join(f"{c:.0%}" for c in r.worker_cpu)
        print(
            f"{r.workers:>7}  {r.updates:>7}  {r.updates / r.applied_s:>9.0f}  "
            f"{r.updates / r.sent_s:>9.0f}  {cpu:>14}  {r.postgres_cpu:>12.0%}  "
            f"{r.api_cpu:>12.0%}",
            file=out,
        )
    if len(results) >= 2:
        first, last = results[0], results[-1]
        speedup = first.applied_s / last.applied_s
        print(
            f"speed-up applying, {last.workers} workers over {first.workers}: {speedup:.2f}x",
            file=out,
        )
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", file=out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--per-chat", type=int, default=10)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER_URL)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parse_args(argv)
    counts = ", ".join(args.workers.split(","))
    print(f"# Workers benchmark: stored updates applied by {counts} worker processes", file=out)
    try:
        psycopg.connect(args.postgres_url, connect_timeout=2).close()
    except psycopg.OperationalError:
        print(f"skipped: PostgreSQL not reachable at {args.postgres_url}", file=out)
        return 0
    counts = [int(n) for n in args.workers.split(",")]
    results = [measure(n, args) for n in counts]
    report(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
