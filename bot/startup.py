"""Start-up against the Bot API: wait out an unreachable server, stop at once on a bad token.

Before polling, the bot asks the Bot API who it is (`getMe`, through `Bot.initialize`). A network
error, a timeout or a 5xx answer means the server is not reachable yet (a restarting proxy,
Telegram having a bad minute, the container's network not up): `connect_to_bot_api` retries
with exponential backoff, one log line per attempt and no traceback. A rejected token (401 or
404 from getMe) cannot get better by waiting, so it raises `TokenRejected` at once, with a
one-line message that names the setting and never the token. PTB's own InvalidToken text quotes
the token, so it is dropped (`from None`) rather than chained.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, User
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.config import DEFAULT_API_URL
from bot.logs import redact, secrets_of

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
FIRST_DELAY = 1.0
MAX_REASON_LENGTH = 200


class TokenRejected(Exception):
    """The Bot API refused the token; the message is one line and does not contain it."""


class BotApiUnreachable(Exception):
    """The Bot API did not answer within the allowed attempts; the message says what was tried."""


async def connect_to_bot_api(
    bot: Bot,
    *,
    sleep: Sleep = asyncio.sleep,
    max_delay: float = 30.0,
    attempts: int | None = None,
) -> User:
    """Initialize `bot` (which calls getMe) and return the bot's user, retrying while unreachable.

    Waits 1 s, 2 s, 4 s ... (at most `max_delay`) between attempts, or as long as a 429 asks.
    `attempts=None` retries for ever. Raises `TokenRejected` for a refused token and
    `BotApiUnreachable` once `attempts` have failed; in both cases the bot is shut down again.
    Other errors (a 400, a 403) are not a reachability problem and propagate unchanged.
    """
    api_url = public_api_url(bot)
    delay = FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            await bot.initialize()
            user = bot.bot
            log.info("Connected to the Bot API at %s as @%s", api_url, user.username)
            return user
        except InvalidToken:
            await _shut_down_quietly(bot)
            raise TokenRejected(token_rejected_message(api_url)) from None
        except RetryAfter as flood:
            reason = "RetryAfter"
            wait = max(_retry_after_seconds(flood), delay)
        except BadRequest:
            # PTB makes 400 a NetworkError subclass, but a malformed request is not a network
            # problem and repeating it cannot help.
            raise
        except NetworkError as error:  # TimedOut, connection errors, and every 5xx answer
            reason = _describe(error, bot.token)
            wait = delay
        if attempts is not None and attempt >= attempts:
            await _shut_down_quietly(bot)
            raise BotApiUnreachable(
                f"the Bot API at {api_url} did not answer getMe in {attempt} attempt"
                f"{'s' if attempt != 1 else ''} (last: {reason}): check TELEGRAM_API_URL and"
                " the network"
            ) from None
        log.warning("Bot API not answering (%s); retrying in %s s", reason, _seconds(wait))
        await sleep(wait)
        delay = min(delay * 2, max_delay)


def connect_before_polling(bot: Bot, **options: Any) -> User:
    """`connect_to_bot_api` from sync code, on the event loop `Application.run_polling` will use.

    `run_polling` runs on the current event loop (`asyncio.get_event_loop()`), so this installs
    a new loop as the current one and connects on it: the bot's HTTP client then stays on one
    loop, and the Application finds the bot already initialized (no second getMe). On failure
    the loop is closed and unset again before the exception propagates.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(connect_to_bot_api(bot, **options))
    except BaseException:
        asyncio.set_event_loop(None)
        loop.close()
        raise


def token_rejected_message(api_url: str) -> str:
    """The one-line explanation of a rejected token, for the Bot API at `api_url`."""
    message = f"TELEGRAM_BOT_TOKEN was rejected by the Bot API at {api_url}: "
    if api_url.rstrip("/") != DEFAULT_API_URL:
        # Another server answering 404 may simply not be a Bot API server at that address.
        return message + "get a new token from @BotFather, or check TELEGRAM_API_URL"
    return message + "get a new token from @BotFather"


def public_api_url(bot: Bot) -> str:
    """The bot's API URL without the token: `https://api.telegram.org` rather than `.../bot<t>`."""
    redacted = redact(bot.base_url, secrets_of(bot.token))
    return redacted.removesuffix("/bot<token>")


def _describe(error: NetworkError, token: str) -> str:
    """The error as a short line for the log: its class, and the text unless that adds nothing."""
    name = type(error).__name__
    if isinstance(error, TimedOut):
        return name
    text = " ".join(redact(str(error), secrets_of(token)).split())
    if len(text) > MAX_REASON_LENGTH:
        text = text[: MAX_REASON_LENGTH - 3] + "..."
    return f"{name}: {text}" if text else name


def _retry_after_seconds(flood: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that the int form becomes a timedelta; both are accepted here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = flood.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _seconds(value: float) -> str:
    return f"{value:g}"


async def _shut_down_quietly(bot: Bot) -> None:
    # Closing the HTTP client is tidying up on the way to an exit: a failure there must not
    # hide the reason the bot is stopping.
    try:
        await bot.shutdown()
    except Exception:
        log.debug("shutting the bot down after a failed start raised", exc_info=True)
