"""What the bot sends, in the outbox's form, and how one outbox message becomes a Bot API call.

Replies are rendered in the runner's locale (template -> Telegram HTML, buttons -> callback
data) when they are written to the outbox, inside the transaction that decided them, so the
outbox holds plain JSON that any sender can deliver later: `sendMessage` with its text and
keyboard, `sendDocument` with the text of an export or the data of the /summary PDF,
`sendPhoto` with the chart's data; the PDF and the chart carry their locale and are drawn in it
when they are sent, off the event loop.
`deliver` performs one such call. `ERROR_TABLE` is the one place that says what each Bot API
error means for a message, and `classify` reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import aiohttp
import httpx
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import i18n
from bot.db import outbox_store
from bot.keyboards import inline_keyboard
from bot.progress_chart import progress_from_json, render_png
from bot.ratelimit import ALREADY_PACED
from bot.render import render
from bot.summary_pdf import FILENAME as SUMMARY_FILENAME
from bot.summary_pdf import render_pdf
from flows.types import Reply

log = logging.getLogger(__name__)

SEND_MESSAGE = "sendMessage"
SEND_DOCUMENT = "sendDocument"
SEND_PHOTO = "sendPhoto"
EXPORT_FILENAME = "ankle-bot-export.json"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to write to the outbox: the Bot API method and its parameters (no chat)."""

    method: str
    payload: dict[str, Any]


def queue(
    session: Session,
    *,
    chat_id: int,
    message: Outgoing,
    source: str,
    now: datetime,
    urgent: bool = False,
    scheduled_id: int | None = None,
) -> int:
    """Write one message to the outbox, in the caller's transaction; its id.

    Every message is sent at most once except urgent advice, sent at least once (see
    `bot.outbox`): that rule is here, once."""
    return outbox_store.enqueue(
        session,
        chat_id=chat_id,
        method=message.method,
        payload=message.payload,
        source=source,
        scheduled_id=scheduled_id,
        at_most_once=not urgent,
        urgent=urgent,
        now=now,
    )


def message(reply: Reply, *, locale: str = i18n.SOURCE_LOCALE) -> Outgoing:
    """A reply as a text message with its buttons, its text and button labels in `locale`."""
    payload: dict[str, Any] = {"text": render(reply.template, locale=locale, **reply.context)}
    keyboard = inline_keyboard(reply, locale=locale)
    if keyboard is not None:
        payload["reply_markup"] = keyboard
    return Outgoing(SEND_MESSAGE, payload)


def export_file(reply: Reply, *, document: str, locale: str = i18n.SOURCE_LOCALE) -> Outgoing:
    """The runner's data as a JSON file, the reply's text (in `locale`) as its caption."""
    caption = render(reply.template, locale=locale, **reply.context)
    return Outgoing(
        SEND_DOCUMENT, {"caption": caption, "filename": EXPORT_FILENAME, "document": document}
    )


def summary_document(
    reply: Reply,
    *,
    summary: dict[str, Any],
    has_assessment: bool,
    locale: str = i18n.SOURCE_LOCALE,
) -> Outgoing:
    """The /summary PDF's data with the reply's text (in `locale`) as its caption; the words
    alone when there is no assessment to sum up."""
    caption = render(reply.template, locale=locale, **reply.context, has_assessment=has_assessment)
    if not has_assessment:
        return Outgoing(SEND_MESSAGE, {"text": caption})
    # Drawn when it is sent, like the chart: its words' language travels with its data.
    return Outgoing(
        SEND_DOCUMENT,
        {
            "caption": caption,
            "filename": SUMMARY_FILENAME,
            "summary": summary,
            "locale": locale,
        },
    )


def progress_chart(
    reply: Reply,
    *,
    summary: dict[str, Any],
    chart: dict[str, Any] | None,
    locale: str = i18n.SOURCE_LOCALE,
) -> Outgoing:
    """The progress chart with its summary as the caption, both in `locale`; words alone when
    there is nothing to plot (`chart` None)."""
    caption = render(reply.template, locale=locale, **{**reply.context, **summary})
    if chart is None:
        return Outgoing(SEND_MESSAGE, {"text": caption})
    # The chart is drawn when it is sent, so its words' language travels with its data.
    return Outgoing(SEND_PHOTO, {"caption": caption, "chart": chart, "locale": locale})


async def deliver(
    bot: Bot,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    *,
    paced: bool = False,
    paid: bool = False,
) -> None:
    """Make the Bot API call an outbox message stands for (`paced`: the caller already waited
    for the chat's send slot, so the bot's rate limiter lets it through; `paid`: sent with
    Telegram's allow_paid_broadcast, beyond the free 30 a second for a fee)."""
    extra: dict[str, Any] = {"rate_limit_args": ALREADY_PACED} if paced else {}
    paid_extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    if method == SEND_MESSAGE:
        # Through `do_api_request` without a return type, Telegram's answer stays a dict: the
        # outbox never reads the sent message, and building PTB's Message, User and Chat objects
        # from it cost more than the call itself in process.
        api_kwargs: dict[str, Any] = {
            "chat_id": chat_id,
            "text": payload["text"],
            "parse_mode": ParseMode.HTML,
        }
        if payload.get("reply_markup") is not None:
            api_kwargs["reply_markup"] = payload["reply_markup"]
        await bot.do_api_request(SEND_MESSAGE, api_kwargs=api_kwargs | paid_extra, **extra)
    elif method == SEND_DOCUMENT:
        if "summary" in payload:
            # Drawing the page (and its chart) takes a moment of CPU: off the event loop.
            document = await asyncio.to_thread(
                render_pdf, payload["summary"], locale=payload["locale"]
            )
        else:
            document = payload["document"].encode()
        await bot.send_document(
            chat_id=chat_id,
            document=document,
            filename=payload["filename"],
            caption=payload["caption"],
            parse_mode=ParseMode.HTML,
            **extra,
            **paid_extra,
        )
    elif method == SEND_PHOTO:
        # Messages queued before charts carried a locale have none: they were English.
        gettext = i18n.gettext(i18n.locale_for(payload.get("locale")))
        # Drawing takes a moment of CPU: keep it off the event loop.
        png = await asyncio.to_thread(
            render_png, progress_from_json(payload["chart"]), gettext=gettext
        )
        await bot.send_photo(
            chat_id=chat_id,
            photo=png,
            caption=payload["caption"],
            parse_mode=ParseMode.HTML,
            **extra,
            **paid_extra,
        )
    else:
        raise ValueError(f"the outbox cannot send {method!r}")


# --- what an error means ------------------------------------------------------------------------


class Verdict(StrEnum):
    """What a failed Bot API call means for the message."""

    # Telegram asks everyone to wait: the message waits too, and it is not its fault.
    WAIT = "wait"
    # Nothing reached the runner and a later try may work: try again after a backoff.
    RETRY = "retry"
    # The request may have reached Telegram (the answer was lost): sending again could repeat
    # it. Retried for messages sent at least once, failed for those sent at most once.
    UNKNOWN = "unknown"
    # The chat refuses messages (bot blocked, account deleted, bot removed from the group).
    REFUSED = "refused"
    # Telegram will never accept this message as it is: give it up and log it as a bug.
    REJECTED = "rejected"


def _cause_is(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda error: isinstance(error.__cause__, kinds)


def _text_has(*fragments: str) -> Callable[[BaseException], bool]:
    return lambda error: any(f in str(error).lower() for f in fragments)


def _always(error: BaseException) -> bool:
    return True


# First matching row wins. (exception type, extra condition, verdict, why).
ERROR_TABLE: tuple[
    tuple[type[BaseException], Callable[[BaseException], bool], Verdict, str], ...
] = (
    (RetryAfter, _always, Verdict.WAIT, "flood control: Telegram asks the whole bot to wait"),
    (Forbidden, _always, Verdict.REFUSED, "blocked by the runner, account deleted or bot removed"),
    (
        BadRequest,
        _text_has("chat not found", "user not found", "peer_id_invalid"),
        Verdict.REFUSED,
        "the chat no longer exists for the bot",
    ),
    (ChatMigrated, _always, Verdict.REJECTED, "a group became a supergroup under a new id"),
    (BadRequest, _always, Verdict.REJECTED, "Telegram refuses the message itself (a bug here)"),
    (
        InvalidToken,
        _always,
        Verdict.RETRY,
        "the token was refused: messages wait for the operator to fix it",
    ),
    (
        TimedOut,
        _cause_is(httpx.ConnectTimeout, httpx.PoolTimeout, aiohttp.ConnectionTimeoutError),
        Verdict.RETRY,
        "no connection was made (connect or pool timeout): nothing was sent",
    ),
    (TimedOut, _always, Verdict.UNKNOWN, "no answer in time: the request may have arrived"),
    (
        NetworkError,
        _cause_is(aiohttp.ClientConnectorError),
        Verdict.RETRY,
        "no connection could be made (aiohttp): nothing was sent",
    ),
    (
        NetworkError,
        _cause_is(
            httpx.ReadError,
            httpx.RemoteProtocolError,
            httpx.WriteError,
            # aiohttp (bot/request.py): the server hung up, the socket failed, or the answer
            # was cut short, after the request may have left.
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientOSError,
            aiohttp.ClientPayloadError,
        ),
        Verdict.UNKNOWN,
        "the connection broke during the request: it may have arrived",
    ),
    (
        NetworkError,
        _always,
        Verdict.RETRY,
        "a server error (5xx) or no connection: nothing was sent",
    ),
    (TelegramError, _always, Verdict.RETRY, "another Bot API error: worth another try"),
    (Exception, _always, Verdict.RETRY, "a fault on our side (drawing, encoding): try again"),
)


def classify(error: BaseException) -> tuple[Verdict, str]:
    """What `error` means for the message it failed to send, and why (from `ERROR_TABLE`)."""
    for kind, condition, verdict, why in ERROR_TABLE:
        if isinstance(error, kind) and condition(error):
            return verdict, why
    return Verdict.RETRY, "unknown error"
