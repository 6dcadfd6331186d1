"""Webhook mode end to end on loopback: the real runtime without polling, the real aiohttp
server, a real SQLite database, the fake Bot API posting updates over HTTP with the secret."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot import metrics
from bot.app import BotRuntime, build_bot
from bot.config import ConfigError, WebhookSettings, settings_from_env
from bot.db import inbox_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.inbox import ALLOWED_UPDATES
from bot.webhook import SECRET_HEADER, HealthLimits, WebhookServer
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer, LocalBotApiRequest
from fakebotapi.webhook import deliver

SECRET = "s3cret-token_for-the-webhook-tests"
PATH = "/telegram/hook-for-tests"
CHAT = 2024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    api: FakeBotApi
    runtime: BotRuntime
    server: WebhookServer
    db: Database

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def counts(self) -> dict[str, int]:
        return await self.db.run(inbox_store.counts_by_state)


def settings(port: int, **changes: object) -> WebhookSettings:
    values: dict[str, object] = {
        "url": f"http://127.0.0.1:{port}",
        "secret": SECRET,
        "path": PATH,
        "port": port,
        "max_connections": 7,
    }
    values.update(changes)
    return WebhookSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    # SQLite unless a test asks for another database (`indirect` parametrisation).
    api = FakeBotApi()
    db = Database.for_url(request.getfixturevalue(getattr(request, "param", "sqlite_url")))
    upgrade_to_head(db.engine)
    bot = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api),
        pace=False,
    )
    runtime = BotRuntime(bot=bot, db=db, scheduler_interval=0.05, poll=False)
    server = WebhookServer(
        settings=settings(free_port(), max_body=4096),
        db=db,
        bot=bot,
        intake=runtime.poller.intake,
        scheduler=runtime.scheduler,
    )
    await runtime.start()
    await server.start()
    await server.register()
    try:
        yield Served(api, runtime, server, db)
    finally:
        await server.stop()
        await runtime.stop()
        db.dispose_sync()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


UPDATE = b'{"update_id": 7, "message": {"message_id": 1, "date": 1796600000, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "R"}, "text": "/start"}}'  # noqa: E501


async def test_start_up_registers_the_webhook_with_secret_and_allowed_updates(served: Served):
    [call] = served.api.calls_to("setWebhook")
    assert call["url"] == served.base + PATH
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == list(ALLOWED_UPDATES)
    assert call["max_connections"] == 7
    assert served.api.webhook == {
        "url": served.base + PATH,
        "secret_token": SECRET,
        "max_connections": 7,
    }


async def test_a_missing_or_forged_secret_gets_401_and_nothing_is_stored(served: Served):
    url = served.base + PATH
    json = {"Content-Type": "application/json"}
    assert await post(url, UPDATE, json) == 401
    assert await post(url, UPDATE, {**json, SECRET_HEADER: SECRET + "x"}) == 401
    assert await post(url, UPDATE, {**json, SECRET_HEADER: SECRET[:-1]}) == 401
    assert await post(url, UPDATE, {**json, SECRET_HEADER: ""}) == 401
    assert await served.counts() == {}
    assert served.api.sent_to(5) == []


async def test_an_oversized_body_gets_413_and_bad_json_400(served: Served):
    url = served.base + PATH
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    padded = UPDATE[:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    assert await post(url, padded, headers) == 413
    assert await post(url, b"{not json", headers) == 400
    assert await post(url, b'{"message": {}}', headers) == 400
    assert await served.counts() == {}


async def test_only_its_own_path_is_answered(served: Served):
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    assert await post(served.base + "/telegram/other", UPDATE, headers) == 404
    assert await post(served.base + "/", UPDATE, headers) == 404
    assert (await get(served.base + "/anything"))[0] == 404
    assert await served.counts() == {}


async def test_a_valid_update_is_stored_applied_and_answered_once(served: Served):
    received = metrics.value("ankle_updates_received_total")
    applied = metrics.value("ankle_updates_applied_total")
    sent = metrics.value("ankle_sends_total", result="sent")
    served.api.user_sends_text(CHAT, "/start")
    delivery = await deliver(served.api)
    assert dict(delivery.statuses) == {200: 1}
    # Confirmed by the 200: Telegram would not send it again.
    assert served.api.pending_updates == []
    replies = await served.api.wait_for_sent(CHAT, 1)
    assert replies[0]["text"]
    await served.runtime.settle()
    assert await served.counts() == {"done": 1}
    assert metrics.value("ankle_updates_received_total") == received + 1
    assert metrics.value("ankle_updates_applied_total") == applied + 1
    assert metrics.value("ankle_sends_total", result="sent") >= sent + 1

    # Posted twice (Telegram retries when an answer is lost): stored and applied once.
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    assert await post(served.base + PATH, UPDATE, headers) == 200
    assert await post(served.base + PATH, UPDATE, headers) == 200
    await served.runtime.settle()
    assert await served.counts() == {"done": 2}
    assert metrics.value("ankle_updates_received_total") == received + 2


async def test_a_tap_is_answered_right_after_it_is_stored(served: Served):
    served.api.user_sends_text(CHAT, "/start")
    await deliver(served.api)
    await served.api.wait_for_sent(CHAT, 1)
    await served.runtime.settle()
    served.api.user_taps(CHAT, "None of these")
    await deliver(served.api)
    await served.api.wait_for(lambda: served.api.callback_answers or None)
    assert len(served.api.callback_answers) == 1


# On PostgreSQL the applier is `bot.workers.SharedApplier`: its updates count too.
@pytest.mark.parametrize("served", ["sqlite_url", "postgres_url"], indirect=True)
async def test_metrics_are_in_prometheus_text_and_move_after_an_update(served: Served):
    status, before = await get(served.base + "/metrics")
    assert status == 200
    for name in (
        "ankle_updates_received_total",
        "ankle_updates_applied_total",
        'ankle_sends_total{result="retry_after"}',
        "ankle_inbox_lag_seconds",
        "ankle_due_backlog",
        "ankle_scheduler_last_tick_age_seconds",
    ):
        assert name in before
    served.api.user_sends_text(CHAT, "/start")
    await deliver(served.api)
    await served.api.wait_for_sent(CHAT, 1)
    await served.runtime.settle()
    _, after = await get(served.base + "/metrics")

    def sample(text: str, name: str) -> float:
        line = next(line for line in text.splitlines() if line.startswith(name + " "))
        return float(line.split()[-1])

    assert (
        sample(after, "ankle_updates_received_total")
        == sample(before, "ankle_updates_received_total") + 1
    )
    assert (
        sample(after, "ankle_updates_applied_total")
        == sample(before, "ankle_updates_applied_total") + 1
    )


async def test_healthz_is_200_when_database_scheduler_and_inbox_are_fine(served: Served):
    await served.api.wait_for(lambda: served.runtime.scheduler.passes or None)
    status, body = await get(served.base + "/healthz")
    assert status == 200, body
    assert '"database": "ok"' in body
    assert '"inbox_lag_s": 0.0' in body


async def test_healthz_is_503_when_the_database_does_not_answer(served: Served):
    down = Database.for_url("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    server = WebhookServer(
        settings=settings(free_port()),
        db=down,
        bot=served.runtime.bot,
        intake=served.runtime.poller.intake,
        scheduler=served.runtime.scheduler,
    )
    try:
        healthy, report = await server.health()
    finally:
        down.dispose_sync()
    assert not healthy
    assert report["database"].startswith("unreachable")


async def test_healthz_is_503_when_the_scheduler_has_stopped(served: Served):
    server = WebhookServer(
        settings=settings(free_port()),
        db=served.db,
        bot=served.runtime.bot,
        intake=served.runtime.poller.intake,
        scheduler=served.runtime.scheduler,
        limits=HealthLimits(scheduler_stale=0.3),
    )
    await server.start()
    try:
        assert (await get(f"http://127.0.0.1:{server.port}/healthz"))[0] == 200
        await served.runtime.scheduler.stop()
        await asyncio.sleep(0.5)
        status, body = await get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
    assert status == 503
    assert '"scheduler": "stale"' in body


async def test_polling_is_refused_while_a_webhook_is_set(served: Served):
    status, body = served.api.respond("getUpdates", {})
    assert status == 409
    assert "webhook is active" in body["description"]
    served.api.respond("deleteWebhook", {})
    assert served.api.webhook is None
    assert served.api.respond("getUpdates", {})[0] == 200


def test_webhook_mode_needs_a_url_and_a_long_secret_and_derives_a_stable_path():
    base = {"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "BOT_MODE": "webhook"}
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        settings_from_env(base)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        settings_from_env({**base, "WEBHOOK_URL": "https://bot.example.org"})
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        settings_from_env(
            {**base, "WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": "short"}
        )
    env = {**base, "WEBHOOK_URL": "https://bot.example.org/", "WEBHOOK_SECRET": SECRET}
    first, second = settings_from_env(env), settings_from_env(env)
    assert first.webhook is not None and second.webhook is not None
    assert first.webhook.path == second.webhook.path
    assert len(first.webhook.path) > 30
    assert DEFAULT_TOKEN.split(":")[1] not in first.webhook.path
    assert SECRET not in first.webhook.path
    assert first.webhook.public_url == "https://bot.example.org" + first.webhook.path
    assert SECRET not in repr(first)
    other = settings_from_env({**env, "WEBHOOK_SECRET": SECRET + "2"})
    assert other.webhook is not None and other.webhook.path != first.webhook.path
    assert settings_from_env({"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN}).webhook is None


def test_a_webhook_port_already_taken_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    """`python -m bot serve` on a port another program holds: no traceback, one line naming
    the address and the settings to change."""
    with FakeBotApiServer() as server, socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "TELEGRAM_API_URL": server.url,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "WEBHOOK_URL": "https://bot.example.org",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: the webhook server cannot listen on 127.0.0.1:{port} (")
    assert line.endswith("set WEBHOOK_HOST and WEBHOOK_PORT to an address that is free")
