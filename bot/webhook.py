"""Webhook mode: an aiohttp server Telegram posts updates to, with the operator's view beside it.

`WebhookServer` answers three paths and nothing else (404):
- POST on the webhook path: the `X-Telegram-Bot-Api-Secret-Token` header must equal the
  secret given to `setWebhook` (compared in constant time; else 401 and nothing stored), the
  body must fit the limit (413) and be one JSON update (400). The update then goes through the
  poller's own `Intake`: stored and committed in the inbox (a redelivery is recognised by its
  key), its callback query answered, its row handed to the applier in this process; only then
  does Telegram get its 200. A database that fails gets a 503, so Telegram sends it again.
- GET /healthz: JSON with the database reachable, the scheduler's last pass age and the inbox
  lag; 200 when all three are fine, 503 otherwise (a load balancer stops sending here).
- GET /metrics: `bot.metrics` in Prometheus text format, the database gauges read at scrape.
`register` calls `setWebhook` with the public URL, the secret, the updates the poller asks for
and the connection limit, at start-up.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from telegram import Bot

from bot import metrics
from bot.clock import utc_now
from bot.config import WebhookSettings
from bot.db import health_store
from bot.db.database import Database
from bot.inbox import ALLOWED_UPDATES, Intake
from bot.scheduler import Scheduler

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """When /healthz says 503: a scheduler pass older than `scheduler_stale` seconds, or an
    update pending longer than `inbox_lag` seconds (the applier is stuck or far behind)."""

    scheduler_stale: float = 60.0
    inbox_lag: float = 120.0


class WebhookServer:
    """The webhook, /healthz and /metrics of one bot process (see module doc)."""

    def __init__(
        self,
        *,
        settings: WebhookSettings,
        db: Database,
        bot: Bot,
        intake: Intake,
        scheduler: Scheduler | None,
        clock: Callable[[], datetime] = utc_now,
        limits: HealthLimits = HealthLimits(),
    ) -> None:
        self.settings = settings
        self._db = db
        self._bot = bot
        self._intake = intake
        self._scheduler = scheduler
        self._clock = clock
        self._limits = limits
        self._secret = settings.secret.encode()
        self._started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body)
        app.router.add_post(self.settings.path, self._update)
        app.router.add_get(HEALTH_PATH, self._healthz)
        app.router.add_get(METRICS_PATH, self._metrics)
        return app

    async def start(self) -> None:
        """Listen on the configured host and port (port 0: any free one, in `self.port`)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.settings.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("webhook server listening on %s:%s", self.settings.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def register(self) -> None:
        """Tell Telegram where to post, with the secret it must send back."""
        await self._bot.set_webhook(
            url=self.settings.public_url,
            secret_token=self.settings.secret,
            allowed_updates=list(ALLOWED_UPDATES),
            max_connections=self.settings.max_connections,
        )
        log.info("webhook registered (max %s connections)", self.settings.max_connections)

    # --- the webhook ----------------------------------------------------------------------------

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            # Checked before the body is read: a forger learns nothing and costs nothing.
            return web.Response(status=401, text="Unauthorized")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="Request Entity Too Large")
        try:
            raw = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="Bad Request: not JSON")
        if not isinstance(raw, dict) or type(raw.get("update_id")) is not int:
            return web.Response(status=400, text="Bad Request: not an update")
        try:
            rows = await self._intake.store([raw])
        except Exception as error:
            # Not stored, so not confirmed: Telegram posts it again later.
            log.warning("could not store update %s (%s); answered 503", raw["update_id"], error)
            return web.Response(status=503, text="Service Unavailable")
        self._intake.hand_over([raw], rows)
        return web.Response(status=200)

    # --- the operator's view ----------------------------------------------------------------------

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, what /healthz shows)."""
        now = self._clock()
        report: dict[str, Any] = {}
        try:
            lag = await self._db.run(_read_lag, now=now)
            report["database"] = "ok"
        except Exception as error:
            lag = None
            report["database"] = f"unreachable: {type(error).__name__}"
        age = self._scheduler_age()
        report["scheduler_last_pass_age_s"] = None if age is None else round(age, 3)
        report["scheduler"] = (
            "none" if age is None else "ok" if age <= self._limits.scheduler_stale else "stale"
        )
        report["inbox_lag_s"] = None if lag is None else round(lag, 3)
        report["inbox"] = (
            "unknown" if lag is None else "ok" if lag <= self._limits.inbox_lag else "behind"
        )
        healthy = all(report[key] == "ok" for key in ("database", "scheduler", "inbox"))
        report["status"] = "ok" if healthy else "unhealthy"
        return healthy, report

    def _scheduler_age(self) -> float | None:
        """Seconds since the scheduler's last pass; None when this process runs none."""
        if self._scheduler is None:
            return None
        last = self._scheduler.last_pass_at
        # Before its first pass the scheduler is as old as the server.
        return time.monotonic() - (last if last is not None else self._started)

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, report = await self.health()
        return web.json_response(report, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        now = self._clock()
        try:
            lag, backlog = await self._db.run(_read_gauges, now=now)
            metrics.INBOX_LAG.set(lag)
            metrics.DUE_BACKLOG.set(backlog)
        except Exception as error:
            # The counters are still worth scraping; the gauges keep their last value.
            log.warning("metrics: database gauges not read (%s)", type(error).__name__)
        age = self._scheduler_age()
        metrics.SCHEDULER_TICK_AGE.set(-1 if age is None else age)
        body, content_type = metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response


def _read_lag(session: Any, *, now: datetime) -> float:
    health_store.ping(session)
    return health_store.inbox_lag(session, now=now)


def _read_gauges(session: Any, *, now: datetime) -> tuple[float, int]:
    return health_store.inbox_lag(session, now=now), health_store.due_backlog(session, now=now)


async def serve_until_stopped(runtime: Any, server: WebhookServer) -> None:
    """Start the runtime (without polling) and the server, register the webhook, run until
    SIGINT/SIGTERM or a fatal error, then stop the server before the runtime (no update is
    accepted that nobody would apply)."""
    runtime.stop_on_signals()
    await runtime.start()
    try:
        await server.start()
        await server.register()
        log.info("the bot is running (webhook)")
        await runtime.wait_stopped()
    finally:
        await server.stop()
        await runtime.stop()
        log.info("the bot stopped")
