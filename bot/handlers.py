"""Telegram updates -> flow events -> replies. Handlers translate; the flows decide.

Every handler turns its update into one flow event, applies it in one database transaction
(`bot.service.apply_event`, committed before anything is sent) and sends the replies the flow
asked for, in order. Callback queries are answered at once, before the database work, so the
runner's button never spins. Group chats get a polite pointer to a private chat. An unexpected
error is logged with its traceback and the runner is told; the transaction rolled back, so the
conversation is exactly as it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.charts import render_png
from bot.db.database import Database
from bot.keyboards import decode_callback, inline_keyboard
from bot.render import render
from bot.service import Attachment, Sender, apply_event
from flows.dialog import Event, TypedText, Unreadable, event_for_command
from flows.types import Reply

log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot is, then a new assessment"),
    ("new", "Start a new ankle assessment"),
    ("cancel", "Stop the current assessment"),
    ("help", "How to use the bot"),
    ("about", "What this bot is and is not"),
    ("sore", "Tell me how sore your ankle is now"),
    ("status", "Your assessment, plan and what is coming up"),
    ("reminders", "Set your daily exercise reminder and time zone"),
    ("pause", "Pause daily reminders"),
    ("resume", "Resume reminders and check-ins"),
    ("stop", "Stop every check-in and reminder"),
    ("plan", "Today's exercises, with how-tos"),
    ("exercises", "Browse the exercise library"),
    ("run", "Return to running: readiness checks and walk-run steps"),
    ("progress", "A chart of your recovery"),
    ("export", "Download all your data"),
    ("delete", "Erase all your data"),
)


@dataclass(frozen=True, slots=True)
class Deps:
    """What handlers need besides the update: the database and the clock."""

    db: Database
    clock: Callable[[], datetime]


Context = ContextTypes.DEFAULT_TYPE


def deps_of(context: Context) -> Deps:
    return context.application.bot_data["deps"]


def sender_of(update: Update) -> Sender:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    return Sender(
        chat_id=chat.id,
        user_id=user.id if user else None,
        first_name=user.first_name if user else None,
        update_id=update.update_id,
        update_key=update_key(update),
    )


def update_key(update: Update) -> str:
    """The update id plus what makes the update itself unique (message id and date, or the
    callback query id): a redelivered update matches, a new one with a reused id does not."""
    if update.callback_query is not None:
        return f"{update.update_id}:q{update.callback_query.id}"
    message = update.effective_message
    if message is not None:
        return f"{update.update_id}:m{message.message_id}:{int(message.date.timestamp())}"
    return str(update.update_id)


async def send_replies(
    context: Context,
    chat_id: int,
    replies: tuple[Reply, ...],
    attachments: dict[str, Attachment] | None = None,
) -> None:
    """Render and send each reply in order (order matters: the question comes last)."""
    for reply in replies:
        attachment = (attachments or {}).get(reply.attachment)
        if attachment is not None:
            await send_attachment(context, chat_id, reply, attachment)
            continue
        await context.bot.send_message(
            chat_id=chat_id,
            text=render(reply.template, **reply.context),
            parse_mode=ParseMode.HTML,
            reply_markup=inline_keyboard(reply),
        )


async def send_attachment(
    context: Context, chat_id: int, reply: Reply, attachment: Attachment
) -> None:
    """A progress chart as a photo (or words when there is nothing to plot), an export as a
    file; the reply's text goes with it as the caption."""
    caption = render(reply.template, **{**reply.context, **attachment.summary})
    if attachment.kind == "export":
        await context.bot.send_document(
            chat_id=chat_id,
            document=attachment.export,
            filename="ankle-bot-export.json",
            caption=caption,
            parse_mode=ParseMode.HTML,
        )
    elif attachment.progress is not None and attachment.summary.get("has_data"):
        # Drawing takes a moment of CPU: keep it off the event loop.
        png = await asyncio.to_thread(render_png, attachment.progress)
        await context.bot.send_photo(
            chat_id=chat_id, photo=png, caption=caption, parse_mode=ParseMode.HTML
        )
    else:
        await context.bot.send_message(chat_id=chat_id, text=caption, parse_mode=ParseMode.HTML)


async def apply(update: Update, context: Context, event: Event) -> None:
    """Apply one flow event for the update's chat and send what the flow asked for."""
    deps = deps_of(context)
    sender = sender_of(update)
    applied = await deps.db.run(apply_event, sender=sender, event=event, now=deps.clock())
    if applied is not None:
        await send_replies(context, sender.chat_id, applied.replies, applied.attachments)


# --- handlers --------------------------------------------------------------------------------


async def on_command(update: Update, context: Context) -> None:
    """/start, /new, /cancel, /help, /about."""
    assert update.effective_message is not None and update.effective_message.text is not None
    command, _, argument = update.effective_message.text.partition(" ")
    name = command.lstrip("/").split("@")[0].lower()
    await apply(update, context, event_for_command(name, argument))


async def on_text(update: Update, context: Context) -> None:
    """A typed answer (or a typed "back" / "start over")."""
    assert update.effective_message is not None
    await apply(update, context, TypedText(update.effective_message.text or ""))


async def on_callback(update: Update, context: Context) -> None:
    """A runner pressed a button: answer the query at once, then advance the dialog."""
    query = update.callback_query
    assert query is not None
    # Answering is a network call; start it now and let it run beside the database work so the
    # button stops spinning at once without making the reply wait for it.
    answered = asyncio.ensure_future(query.answer())
    try:
        event = decode_callback(query.data) or Unreadable(kind="button")
        await apply(update, context, event)
    finally:
        try:
            await answered
        except TelegramError as error:  # an expired query must not hide the real outcome
            log.warning("could not answer callback query: %s", error)


def unreadable_kind(update: Update) -> str:
    message = update.effective_message
    if update.edited_message is not None:
        return "edited"
    if message is None:
        return "other"
    if message.sticker:
        return "sticker"
    if message.photo:
        return "photo"
    if message.voice or message.audio or message.video_note:
        return "voice"
    if message.video or message.document or message.animation:
        return "media"
    if message.text and message.text.startswith("/"):
        return "unknown_command"
    return "other"


async def on_unreadable(update: Update, context: Context) -> None:
    """Stickers, photos, voice, edits, unknown commands: a short reply, nothing changes."""
    await apply(update, context, Unreadable(kind=unreadable_kind(update)))


async def on_group(update: Update, context: Context) -> None:
    """Runs before every other handler: health questions belong in a private chat, so updates
    from groups and channels get a polite pointer (once per new message) and stop here."""
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE:
        return
    if update.message is not None:
        await update.message.reply_text(render("triage/group_chat.j2"), parse_mode=ParseMode.HTML)
    raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """Log the traceback and tell the runner; the failed transaction changed nothing."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                chat_id=update.effective_chat.id,
                text=render("triage/error.j2"),
                parse_mode=ParseMode.HTML,
            )
        except TelegramError:
            log.warning("could not tell chat %s about the error", update.effective_chat.id)


async def register_commands(application: Application) -> None:
    """Show the command list in Telegram's menu; a failure is logged, not fatal."""
    try:
        await application.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
    except TelegramError as error:
        log.warning("could not register the command list with Telegram: %s", error)


def add_handlers(application: Application) -> None:
    """Wire every update type to its translator."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, on_group), group=-1)
    application.add_handler(
        CommandHandler([name for name, _ in COMMANDS], on_command, filters=private)
    )
    application.add_handler(CallbackQueryHandler(on_callback))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & private & filters.TEXT & ~filters.COMMAND, on_text
        )
    )
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGES & private, on_unreadable))
    application.add_error_handler(on_error)
