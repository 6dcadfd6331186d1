"""Several workers on one PostgreSQL inbox: every update applied exactly once, in order per chat,
no chat applied by two workers at once, and a worker killed with SIGKILL leaves nothing behind.

The inbox is filled directly (`inbox_store.store_updates`, as the webhook does) with many chats
of many updates each: commands answered with one message each and `/sore N` reports, which add
a soreness row every time they are applied. Exactly once: one soreness row per `/sore` update
and one reply in the outbox per update. In order: each chat's replies, read in outbox order,
answer its updates in the order they were sent (a soreness reply names its score). The workers
are `SharedApplier`s with a database engine each in this process, and real `python -m bot
worker` processes against the fake Bot API over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import bot.workers
from bot.clock import utc_now
from bot.db import inbox_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, Runner, SorenessReport
from bot.inbox import received
from bot.workers import SharedApplier
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "/help": "How I work",
    "/about": "About this bot",
    "/status": "Your status",
    "/plan": "You have no exercise plan",
}
SORE = re.compile(r"Noted: soreness (\d+)/10")


def script(chat: int, length: int) -> list[str]:
    """What a chat sends: commands and soreness reports, in an order of its own."""
    names = list(COMMANDS)
    texts = []
    for i in range(length):
        if (chat + i) % 3 == 0:
            texts.append(f"/sore {(chat + i) % 10}")
        else:
            texts.append(names[(chat * 7 + i) % len(names)])
    return texts


def fill_inbox(url: str, chats: range, length: int) -> dict[int, list[str]]:
    """Store every chat's script, interleaved across chats as updates arrive; the scripts."""
    api = FakeBotApi()
    scripts = {chat: script(chat, length) for chat in chats}
    raws = [
        api.user_sends_text(chat, scripts[chat][i], enqueue=False)
        for i in range(length)
        for chat in chats
    ]
    db = Database.for_url(url)
    try:
        upgrade_to_head(db.engine)
        db.run_sync(inbox_store.store_updates, updates=[received(r) for r in raws], now=utc_now())
    finally:
        db.dispose_sync()
    return scripts


def answered(text: str) -> str:
    """Which update a reply answers: the command, or `/sore N` with the score it noted."""
    plain = re.sub(r"<[^>]+>", "", text)
    if match := SORE.match(plain):
        return f"/sore {match.group(1)}"
    return next((c for c, first in COMMANDS.items() if plain.startswith(first)), plain[:40])


def replies_by_chat(db: Database) -> dict[int, list[str]]:
    """What each chat's replies in the outbox answer, in outbox order (before they are sent:
    a sent message's payload is cleared)."""
    query = select(OutboxMessage.chat_id, OutboxMessage.payload).order_by(OutboxMessage.id)
    out: dict[int, list[str]] = defaultdict(list)
    for chat, payload in db.run_sync(lambda s: list(s.execute(query))):
        out[chat].append(answered(payload.get("text", "")))
    return out


def soreness_by_chat(db: Database) -> dict[int, list[str]]:
    """Each chat's soreness rows in the order they were written, as the updates that wrote them."""
    query = (
        select(Runner.chat_id, SorenessReport.value)
        .join(SorenessReport, SorenessReport.runner_id == Runner.id)
        .order_by(SorenessReport.id)
    )
    out: dict[int, list[str]] = defaultdict(list)
    for chat, value in db.run_sync(lambda s: list(s.execute(query))):
        out[chat].append(f"/sore {value}")
    return out


def assert_each_update_applied_once_in_order(
    db: Database, scripts: dict[int, list[str]], *, replies_sent: bool = False
) -> None:
    """Every update done; one soreness row per `/sore` update, in order; one reply per update,
    in order (when the replies are still unsent: only their number once they were sent)."""
    total = sum(len(texts) for texts in scripts.values())
    assert db.run_sync(inbox_store.counts_by_state) == {"done": total}
    soreness = soreness_by_chat(db)
    replies = replies_by_chat(db)
    for chat, texts in scripts.items():
        assert soreness[chat] == [t for t in texts if t.startswith("/sore")], f"chat {chat}"
        if replies_sent:
            assert len(replies[chat]) == len(texts), f"chat {chat}"
        else:
            assert replies[chat] == texts, f"chat {chat}"


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(item in rest for item in part)


# --- several appliers in one process ---------------------------------------------------------


async def test_several_appliers_apply_each_update_once_in_order_one_chat_at_a_time(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts = fill_inbox(postgres_url, range(1, 25), 8)
    real = bot.workers.apply_inbox_update
    guard = threading.Lock()
    in_hand: dict[int, int] = defaultdict(int)
    overlaps: list[int] = []
    by_worker: dict[int, int] = defaultdict(int)

    def apply(session: Any, *, inbox_id: int, route: Any, now: Any) -> int:
        chat = route.sender.chat_id
        with guard:
            in_hand[chat] += 1
            if in_hand[chat] > 1:
                overlaps.append(chat)
            by_worker[id(session.get_bind())] += 1
        try:
            time.sleep(0.002)  # widen the window in which a second worker could slip in
            return real(session, inbox_id=inbox_id, route=route, now=now)
        finally:
            with guard:
                in_hand[chat] -= 1

    monkeypatch.setattr(bot.workers, "apply_inbox_update", apply)
    databases = [Database.threaded(postgres_url, workers=4) for _ in range(3)]
    appliers = [SharedApplier(db=db, on_applied=lambda: None, scan_every=0.05) for db in databases]
    tasks = [asyncio.create_task(a.run_forever()) for a in appliers]
    try:
        async with asyncio.timeout(30):
            for _ in range(600):
                if not databases[0].run_sync(inbox_store.counts_by_state).get("pending"):
                    break
                await asyncio.sleep(0.05)
            for applier in appliers:
                await applier.idle()
        assert_each_update_applied_once_in_order(databases[0], scripts)
        assert overlaps == []
        assert sum(a.applied for a in appliers) == sum(len(t) for t in scripts.values())
        # Every applier took part, and they met on chats (the lock turned some away).
        assert all(a.applied > 0 for a in appliers), [a.applied for a in appliers]
        assert len(by_worker) == 3
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for applier in appliers:
            await applier.stop()
        for db in databases:
            await db.dispose()


async def test_a_chat_held_by_one_worker_is_left_to_it(postgres_url: str) -> None:
    """The lock itself: while one transaction holds a chat, another worker cannot take it, takes
    other chats, and gets it once the first one commits."""
    db, other = Database.for_url(postgres_url), Database.for_url(postgres_url)
    upgrade_to_head(db.engine)
    try:
        with db.engine.connect() as holder:
            session = Session(bind=holder)
            assert inbox_store.claim_chat(session, chat_key=7)
            assert not other.run_sync(inbox_store.claim_chat, chat_key=7)
            assert other.run_sync(inbox_store.claim_chat, chat_key=8)
            session.rollback()
        assert other.run_sync(inbox_store.claim_chat, chat_key=7)
    finally:
        db.dispose_sync()
        other.dispose_sync()


# --- real worker processes -------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi(token=DEFAULT_TOKEN)) as running:
        yield running


def start_worker(server: FakeBotApiServer, url: str, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "INFO",
        "CHAT_SEND_INTERVAL": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_three_worker_processes_one_killed_apply_every_update_once_in_order(
    postgres_url: str, server: FakeBotApiServer, tmp_path: Path
) -> None:
    scripts = fill_inbox(postgres_url, range(101, 141), 12)
    total = sum(len(t) for t in scripts.values())
    db = Database.for_url(postgres_url)
    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    workers = [start_worker(server, postgres_url, log) for log in logs]
    try:
        # Kill one worker in the middle of the run, with updates of many chats still to apply.
        deadline = time.monotonic() + 40
        while db.run_sync(inbox_store.counts_by_state).get("done", 0) < total // 4:
            assert time.monotonic() < deadline, "the workers did not start applying"
            time.sleep(0.02)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        done_at_kill = db.run_sync(inbox_store.counts_by_state).get("done", 0)
        assert done_at_kill < total
        while db.run_sync(inbox_store.counts_by_state).get("pending"):
            assert time.monotonic() < deadline, "the other workers did not finish"
            time.sleep(0.05)
        assert_each_update_applied_once_in_order(db, scripts, replies_sent=True)
        # What reached each runner so far came in the order of their updates (the killed
        # worker's claimed messages wait for their lease to run out, so some may be missing).
        for chat, texts in scripts.items():
            got = [answered(m.get("text", "")) for m in server.api.sent_to(chat)]
            assert is_subsequence(got, texts), (chat, got, texts)
        for survivor in workers[1:]:
            assert survivor.poll() is None
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=30) == 0
        for log in logs:
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        db.dispose_sync()
