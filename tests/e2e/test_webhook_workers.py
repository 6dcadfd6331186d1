"""Real processes on one PostgreSQL database: a webhook server (`python -m bot serve`) and two
workers (`python -m bot worker`), fed by the fake Bot API posting updates to the webhook with its
secret. Workers are killed with SIGKILL while updates are applied, and the webhook process once
while updates are being posted to it; a restarted worker joins in. Every update the webhook
accepted is applied exactly once and in order per chat, what reached each runner came in the
order of their updates, never twice, and no second held more than 30 sends across processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import inbox_store
from bot.db.database import Database
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer
from fakebotapi.webhook import deliver
from tests.bot.test_workers import (
    answered,
    assert_each_update_applied_once_in_order,
    is_subsequence,
    script,
)

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-secret_for-webhook-and-workers"
CHATS = range(301, 331)
PER_CHAT = 8
DEADLINE = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi(token=DEFAULT_TOKEN)) as running:
        yield running


def start(
    command: str, server: FakeBotApiServer, url: str, port: int, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """`python -m bot <command>` on `url` against the fake, as the webhook's process or a
    worker; `env` adds or overrides settings."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": url,
        "CHAT_SEND_INTERVAL": "0",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", command],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition, what: str, deadline: float) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def deliver_all(api: FakeBotApi, deadline: float) -> None:
    """Post the queued updates until the webhook has confirmed every one."""
    while api.pending_updates:
        assert time.monotonic() < deadline, "the webhook did not confirm every update"
        if not asyncio.run(deliver(api)).confirmed:
            time.sleep(0.1)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_webhook_and_workers_killed_mid_run_apply_each_accepted_update_once_in_order(
    postgres_url: str, server: FakeBotApiServer, tmp_path: Path
) -> None:
    api = server.api
    sent_at: list[float] = []
    api.on_call("sendMessage", lambda call: sent_at.append(time.time()), after_delivery=True)
    port = free_port()
    scripts = {chat: script(chat, PER_CHAT) for chat in CHATS}
    logs = [tmp_path / f"process-{i}.log" for i in range(5)]
    db = Database.for_url(postgres_url)
    processes: list[subprocess.Popen[bytes]] = []
    deadline = time.monotonic() + DEADLINE
    try:
        webhook = start("serve", server, postgres_url, port, logs[0])
        processes.append(webhook)
        wait_for(lambda: api.webhook is not None, "the webhook was not registered", deadline)
        processes += [start("worker", server, postgres_url, port, logs[i]) for i in (1, 2)]

        # The first half of every chat's updates; the webhook stores, all three apply.
        for i in range(PER_CHAT // 2):
            for chat in CHATS:
                api.user_sends_text(chat, scripts[chat][i])
        deliver_all(api, deadline)
        half = len(CHATS) * PER_CHAT // 2

        def done() -> int:
            return db.run_sync(inbox_store.counts_by_state).get("done", 0)

        # Kill a worker while updates are being applied; a new one joins.
        wait_for(lambda: done() >= half // 4, "nothing was applied", deadline)
        kill(processes[1])
        processes.append(start("worker", server, postgres_url, port, logs[3]))

        # Kill the webhook process while the second half is being posted to it, then start it
        # again: Telegram (the fake) posts again what was not confirmed with a 2xx, and the
        # store keeps one copy of an update it already has.
        for i in range(PER_CHAT // 2, PER_CHAT):
            for chat in CHATS:
                api.user_sends_text(chat, scripts[chat][i])
        queued = len(api.pending_updates)
        posting = threading.Thread(target=lambda: asyncio.run(deliver(api)))
        posting.start()
        wait_for(lambda: len(api.pending_updates) < queued - 10, "nothing was posted", deadline)
        kill(webhook)
        posting.join(timeout=30)
        assert api.pending_updates, "the kill came too late to interrupt the posting"
        processes[0] = webhook = start("serve", server, postgres_url, port, logs[4])
        wait_for(lambda: _answers(port), "the webhook did not come back", deadline)
        deliver_all(api, deadline)

        total = len(CHATS) * PER_CHAT
        wait_for(lambda: done() == total, "not every accepted update was applied", deadline)
        assert_each_update_applied_once_in_order(db, scripts, replies_sent=True)
        # Every process paced its sends against one limit kept in the database: at most 30 in
        # any calendar second, however many processes sent (and crashed).
        wait_for(lambda: len(sent_at) >= 60, "the replies were not sent", deadline)
        busiest = max(Counter(int(at) for at in sent_at).values())
        assert busiest <= 30, busiest
        # What reached each runner came in the order of their updates, and nothing twice.
        for chat, texts in scripts.items():
            got = [answered(m.get("text", "")) for m in api.sent_to(chat)]
            assert is_subsequence(got, texts), (chat, got, texts)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
        for log in logs:
            if log.exists():
                assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        db.dispose_sync()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
