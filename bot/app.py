"""The running bot: one Bot API client, the inbox, the outbox, the scheduler, started and stopped.

`build_bot` makes the `ExtBot` every call goes through: its rate limiter
(`bot.ratelimit.TelegramRateLimiter`) paces every message the bot sends, and its HTTP pools are
sized so that slow sends to some chats cannot starve the others (a large connection pool, short
timeouts, and a pool timeout that means "nothing was sent", so the outbox tries again).
`BotRuntime` wires the parts: the poller stores updates and hands them to the applier; the
applier commits state and replies together and wakes the outbox sender; the scheduler queues
due follow-ups and wakes it too. On PostgreSQL the applier is `bot.workers.SharedApplier`, so
several processes can share the inbox; a worker (`poll=False`) runs everything but the poller
and finds the updates another process stored by scanning the inbox often. Nothing here connects
at import or construction: `start` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import BotCommand
from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot import i18n
from bot.clock import utc_now
from bot.db import inbox_store, outbox_store
from bot.db.database import Database
from bot.inbox import Applier, Poller
from bot.outbox import OutboxSender
from bot.ratelimit import Pacer, TelegramRateLimiter
from bot.request import AiohttpRequest
from bot.scheduler import Scheduler, compose
from bot.workers import SharedApplier
from flows.commands import MENU

log = logging.getLogger(__name__)

# Enough connections for every send the rate limiter lets through while others hang up to the
# read timeout (30 a second x 10 s), plus the callback-query answers.
CONNECTION_POOL_SIZE = 512
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 5.0
POLL_TIMEOUT = 30
# How long the inbox and outbox keep what they are done with: applied updates for a day (a
# redelivery comes within minutes), updates set aside for a month (for the operator to look
# at), finished messages for a week. Pruned every ten minutes.
KEEP_APPLIED = timedelta(days=1)
KEEP_SET_ASIDE = timedelta(days=30)
KEEP_FINISHED_MESSAGES = timedelta(days=7)
HOUSEKEEPING_EVERY = 600.0
# How often the applier looks for pending updates it was not handed: now and then when this
# process polls (a crash's leftovers, another process's chats), often in a worker, whose
# updates all come through the database.
SCAN_EVERY_POLLING = 5.0
SCAN_EVERY_WORKER = 0.2


def default_requests(transport: str = "aiohttp") -> tuple[BaseRequest, BaseRequest]:
    """(general request, getUpdates request) over aiohttp (`bot.request`, the default) or
    PTB's HTTPX, sized as above."""
    if transport == "aiohttp":
        return AiohttpRequest(
            connection_pool_size=CONNECTION_POOL_SIZE,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            write_timeout=WRITE_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
        ), AiohttpRequest(
            connection_pool_size=1,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=POLL_TIMEOUT + 10,
            pool_timeout=POOL_TIMEOUT,
        )
    general = HTTPXRequest(
        connection_pool_size=CONNECTION_POOL_SIZE,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
    )
    polling = HTTPXRequest(
        connection_pool_size=1,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=POLL_TIMEOUT + 10,
        pool_timeout=POOL_TIMEOUT,
    )
    return general, polling


def build_bot(
    *,
    token: str,
    base_url: str = "https://api.telegram.org/bot",
    base_file_url: str = "https://api.telegram.org/file/bot",
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    pace: bool = True,
    pacer: Pacer | None = None,
    transport: str = "aiohttp",
) -> ExtBot:
    """The Bot API client over `transport` ("aiohttp" or "httpx"); `request`s replace the HTTP
    layer in tests and benchmarks, and `pace=False` drops the rate limiter (benchmarks of the
    bot's own cost only)."""
    if request is None or get_updates_request is None:
        general, polling = default_requests(transport)
        request = request or general
        get_updates_request = get_updates_request or polling
    return ExtBot(
        token=token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        get_updates_request=get_updates_request,
        rate_limiter=TelegramRateLimiter(pacer) if pace else None,
    )


class BotRuntime:
    """The bot's moving parts, started and stopped together (see module doc)."""

    def __init__(
        self,
        *,
        bot: ExtBot,
        db: Database,
        clock: Callable[[], datetime] = utc_now,
        scheduler_interval: float | None = 1.0,
        poll_timeout: int = POLL_TIMEOUT,
        outbox_interval: float = 1.0,
        poll: bool = True,
        paid_broadcast: bool = False,
    ) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        limiter = bot.rate_limiter
        self.outbox = OutboxSender(
            db=db,
            bot=bot,
            clock=clock,
            interval=outbox_interval,
            pacer=limiter.pacer if isinstance(limiter, TelegramRateLimiter) else None,
            paid_broadcast=paid_broadcast,
        )
        scan_every = SCAN_EVERY_POLLING if poll else SCAN_EVERY_WORKER
        self.applier: Applier | SharedApplier
        if db.is_sqlite:
            # One process: the applier hands each update's first reply to this sender.
            self.applier = Applier(
                db=db,
                clock=clock,
                on_applied=self.outbox.wake,
                scan_every=scan_every,
                sender=self.outbox,
            )
        else:
            self.applier = SharedApplier(
                db=db, clock=clock, on_applied=self.outbox.wake, scan_every=scan_every
            )
        # False in a worker, and in webhook mode: updates arrive through `bot.webhook` into the
        # poller's intake, or from other processes through the database.
        self._poll = poll
        self.poller = Poller(
            db=db, bot=bot, clock=clock, on_stored=self.applier.submit, timeout=poll_timeout
        )
        # With no interval the scheduler is not run by itself (tests drive `run_once`).
        self.scheduler = Scheduler(
            db=db,
            compose=compose,
            on_queued=self.outbox.wake,
            clock=clock,
            interval=scheduler_interval or 1.0,
        )
        self._run_scheduler = scheduler_interval is not None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self.fatal: BaseException | None = None

    async def start(self) -> None:
        """Connect, recover what a crash left, and start every loop. The caller has checked
        that the Bot API answers (`bot.startup.connect_to_bot_api`) or accepts that it may not."""
        await self.bot.initialize()
        await register_commands(self.bot)
        await self.outbox.recover()
        self.outbox.start()
        # What was stored and not applied before a crash goes first, in order.
        await self.applier.scan()
        self._tasks = [
            asyncio.create_task(self.applier.run_forever(), name="inbox-scan"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
        ]
        if self._poll:
            self._tasks.append(asyncio.create_task(self.poller.run_forever(), name="poller"))
        for task in self._tasks:
            task.add_done_callback(self._on_task_end)
        if self._run_scheduler:
            self.scheduler.start()

    async def prune(self) -> int:
        """Delete what the inbox and outbox are long done with; how many rows."""
        now = self.clock()

        def prune(session: Any) -> int:
            return inbox_store.prune(
                session, done_before=now - KEEP_APPLIED, failed_before=now - KEEP_SET_ASIDE
            ) + outbox_store.prune(session, before=now - KEEP_FINISHED_MESSAGES)

        return await self.db.run(prune)

    async def _housekeeping(self) -> None:
        while True:
            try:
                pruned = await self.prune()
                if pruned:
                    log.info("pruned %s finished inbox and outbox rows", pruned)
            except Exception:
                log.exception("housekeeping failed; trying again later")
            await asyncio.sleep(HOUSEKEEPING_EVERY)

    def _on_task_end(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.fatal = error
            if isinstance(error, InvalidToken):
                log.error("the Bot API rejected TELEGRAM_BOT_TOKEN; stopping")
            else:
                log.error(
                    "%s stopped unexpectedly (%s); stopping", task.get_name(), type(error).__name__
                )
            self._stopped.set()

    async def stop(self) -> None:
        """Stop taking updates, let the work in hand finish briefly, hand back the rest."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.fatal is None and self._poll:
            await self.poller.confirm()
        await self.applier.stop()
        await self.scheduler.stop()
        await self.outbox.stop()
        with contextlib.suppress(Exception):
            await self.bot.shutdown()
        self._stopped.set()

    async def run_until_stopped(self) -> None:
        """Start, run until SIGINT or SIGTERM (or a fatal error), then stop cleanly."""
        self.stop_on_signals()
        await self.start()
        log.info("the bot is running")
        try:
            await self.wait_stopped()
        finally:
            await self.stop()
            log.info("the bot stopped")

    def stop_on_signals(self) -> None:
        """Make SIGINT and SIGTERM end `wait_stopped`."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, self._stopped.set)

    async def wait_stopped(self) -> None:
        """Wait for a signal (`stop_on_signals`) or a fatal error in one of the loops."""
        await self._stopped.wait()

    async def settle(self, *, within: float = 10.0) -> None:
        """Wait until every update received is applied and the outbox is empty (tests)."""
        async with asyncio.timeout(within):
            while True:
                await self.applier.idle()
                await self.outbox.idle(within=within)
                if not self.applier.busy:
                    return


async def register_commands(bot: ExtBot) -> None:
    """Show the command list in Telegram's menu in every shipped language: the default list in
    English (for every language without a list of its own), then one list per language in
    `menu_languages`, its descriptions from that language's catalogue. Each failure is logged,
    not fatal, and does not keep the other lists from being registered."""
    menus: list[tuple[str | None, str]] = [(None, i18n.SOURCE_LOCALE)]
    menus.extend(menu_languages().items())
    for language_code, locale in menus:
        gettext = i18n.gettext(locale)
        commands = [BotCommand(c.name, gettext(c.description)) for c in MENU]
        try:
            await bot.set_my_commands(commands, language_code=language_code)
        except TelegramError as error:
            log.warning(
                "could not register the command list (%s) with Telegram: %s",
                language_code or "default",
                error,
            )


def menu_languages() -> dict[str, str]:
    """Telegram language code -> the shipped locale whose command menu it shows, for every
    shipped language but English.

    Telegram files a menu under a two-letter language, not a region ("pt", not "pt_BR"), so
    each language shows the locale a runner with just that code is answered in (`locale_for`):
    a language shipped only for a region keeps the English menu rather than disagree with the
    replies."""
    menus: dict[str, str] = {}
    for locale in i18n.shipped_locales():
        language = locale.split("_")[0].lower()
        shown = i18n.locale_for(language)
        if shown != i18n.SOURCE_LOCALE:
            menus[language] = shown
    return menus
