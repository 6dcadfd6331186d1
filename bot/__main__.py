"""Entry point: `python -m bot` runs the Telegram bot (polling); `python -m bot serve` runs it
behind a webhook (`bot.webhook`, also with BOT_MODE=webhook); `python -m bot worker` applies the
stored updates without polling (beside a webhook, and as many as wanted on one PostgreSQL
database: `bot.workers`); `python -m bot chat` the terminal.

Configuration is read here, once, from the environment. Database migrations are applied before
the event loop starts (under a lock, so several processes may start at once), so the bot never
runs against an out-of-date schema. A Bot API that does not answer is waited for; a token it
rejects ends the process with one line naming the setting (never the token) and exit code 2,
and so does a malformed file in content/ (the exercise library, the zone lists), which is read
and checked before anything else starts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime

from bot.clock import OffsetClock, file_clock, utc_now
from bot.config import ConfigError, Settings, database_url_from, settings_from_env
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.logs import configure_logging
from flows.content import ContentError
from flows.exercise_library import exercises
from flows.sessions import check_library
from flows.zones import zone_lists


def load_content() -> str | None:
    """Read and check every content file once; the one-line error, or None when all are sound.

    Done before the database and the Bot API, so that a mistake in content/ stops the process
    at once instead of failing the first runner who reaches the broken exercise.
    """
    try:
        exercises()
        check_library()
        zone_lists()
    except ContentError as error:
        return str(error)
    return None


def open_database(url: str) -> Database:
    db = Database.for_url(url)
    upgrade_to_head(db.engine)
    return db


def run_bot(*, webhook: bool = False, poll: bool = True) -> int:
    env = dict(os.environ, BOT_MODE="webhook") if webhook else os.environ
    try:
        settings = settings_from_env(env)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if (content_error := load_content()) is not None:
        print(f"error: {content_error}", file=sys.stderr)
        return 2
    configure_logging(
        settings.log_level, token=settings.token, json_logs=settings.log_format == "json"
    )
    db = open_database(settings.database_url)
    clock = utc_now
    if settings.clock_file is not None:
        logging.getLogger(__name__).warning(
            "BOT_CLOCK_FILE is set: the bot's clock reads %s (testing only)", settings.clock_file
        )
        clock = file_clock(settings.clock_file)
    try:
        return asyncio.run(serve(settings, db, clock, poll=poll))
    except KeyboardInterrupt:
        return 0
    finally:
        db.dispose_sync()


async def serve(
    settings: Settings, db: Database, clock: Callable[[], datetime], *, poll: bool = True
) -> int:
    """Run the Telegram bot until it is stopped; the process's exit code."""
    from telegram.error import InvalidToken  # telegram is only needed for the Telegram bot

    from bot.app import BotRuntime, build_bot
    from bot.ratelimit import pacer_for
    from bot.startup import TokenRejected, connect_to_bot_api

    bot = build_bot(
        token=settings.token,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        pacer=pacer_for(
            db,
            per_chat_interval=settings.chat_send_interval,
            paid_per_second=settings.paid_broadcast_rate if settings.paid_broadcast else None,
        ),
        transport=settings.http_transport,
    )
    try:
        await connect_to_bot_api(bot)
    except TokenRejected as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runtime = BotRuntime(
        bot=bot,
        db=db,
        clock=clock,
        scheduler_interval=settings.scheduler_interval,
        poll=poll and settings.webhook is None,
        paid_broadcast=settings.paid_broadcast,
    )
    if settings.webhook is None:
        await runtime.run_until_stopped()
    else:
        from bot.webhook import WebhookServer, serve_until_stopped

        server = WebhookServer(
            settings=settings.webhook,
            db=db,
            bot=bot,
            intake=runtime.poller.intake,
            scheduler=runtime.scheduler,
            clock=clock,
        )
        try:
            await serve_until_stopped(runtime, server)
        except OSError as error:  # the address is taken or not ours: one line, as for a token
            where = f"{settings.webhook.host}:{settings.webhook.port}"
            print(
                f"error: the webhook server cannot listen on {where} ({error.strerror or error}):"
                " set WEBHOOK_HOST and WEBHOOK_PORT to an address that is free",
                file=sys.stderr,
            )
            return 2
    if isinstance(runtime.fatal, InvalidToken):
        print(
            "error: TELEGRAM_BOT_TOKEN was rejected by the Bot API: get a new token from "
            "@BotFather",
            file=sys.stderr,
        )
        return 2
    return 0 if runtime.fatal is None else 1


def run_chat(chat_id: int) -> int:
    if (content_error := load_content()) is not None:
        print(f"error: {content_error}", file=sys.stderr)
        return 2
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING").upper())
    db = open_database(database_url_from(os.environ))
    from bot.console import run_console

    try:
        asyncio.run(run_console(db, clock=OffsetClock(), chat_id=chat_id))
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose_sync()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument("--chat-id", type=int, default=0, help="which terminal runner (default 0)")
    sub.add_parser(
        "serve",
        help="run the bot behind a webhook (WEBHOOK_URL, WEBHOOK_SECRET; same as BOT_MODE=webhook)",
    )
    sub.add_parser(
        "worker", help="apply stored updates, send and schedule, without polling Telegram"
    )
    args = parser.parse_args(argv)
    if args.command == "chat":
        return run_chat(args.chat_id)
    if args.command == "worker":
        return run_bot(poll=False)
    return run_bot(webhook=args.command == "serve")


if __name__ == "__main__":
    sys.exit(main())
