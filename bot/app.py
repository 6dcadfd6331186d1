"""Builds the python-telegram-bot Application: requests, update processor, handlers, hooks.

Updates of different runners are processed concurrently and each runner's strictly in order
(`PerChatUpdateProcessor`), so one runner's slow network call never stalls another's reply.
Nothing here connects anywhere: the Application connects when it is started.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot.clock import utc_now
from bot.db.database import Database
from bot.followups import compose
from bot.handlers import Deps, add_handlers, register_commands
from bot.scheduler import Scheduler, attach
from bot.updates import PerChatUpdateProcessor


def build_application(
    *,
    token: str,
    db: Database,
    base_url: str = "https://api.telegram.org/bot",
    base_file_url: str = "https://api.telegram.org/file/bot",
    clock: Callable[[], datetime] = utc_now,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    scheduler_interval: float | None = 1.0,
) -> Application:
    """The bot's Application; `request`s replace the HTTP layer in tests and benchmarks.

    The follow-up scheduler runs inside it, waking every `scheduler_interval` seconds (None:
    no scheduler, for tests that drive it themselves).
    """
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(register_commands)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()
    application.bot_data["deps"] = Deps(db=db, clock=clock)
    add_handlers(application)
    if scheduler_interval is not None:
        scheduler = Scheduler(
            db=db, bot=application.bot, compose=compose, clock=clock, interval=scheduler_interval
        )
        attach(application, scheduler)
    return application
