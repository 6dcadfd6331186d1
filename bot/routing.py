"""Telegram updates -> routes: which flow event an update is, or why it needs nothing.

The adapter's whole translation in one pure function of the parsed update, `route_update`: a
private chat's commands, typed text, buttons and unreadable messages become flow events for
that runner; a message in a group or channel becomes a `GroupMessage` with its writer's
language (the bot answers there at most once a day, in that language); everything else (a
button on an inline message, a button in a group, a member change) is `Ignored`. Names,
language tags and texts are cleaned of control characters and bounded before anything stores
them (the language tag also lower-cased: it becomes the runner's locale). Commands are looked
up in the one command table, `flows.commands`.
"""

from __future__ import annotations

from telegram import Chat, Message, Update

from bot.db.models import FIRST_NAME_LENGTH
from bot.db.store import clean_locale
from bot.keyboards import decode_callback
from bot.service import GroupMessage, Ignored, Route, RunnerEvent, Sender
from flows.dialog import Event, TypedText, Unreadable, event_for_command
from flows.text import clean_text

# Telegram's own limit on a message's text: longer is cut (the flows then say it is too long).
TEXT_LIMIT = 4096


def sender_of(update: Update) -> Sender:
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    return Sender(
        chat_id=chat.id,
        user_id=user.id if user else None,
        first_name=clean_text(user.first_name, FIRST_NAME_LENGTH) if user else None,
        language_code=clean_locale(user.language_code) if user else None,
    )


def route_update(update: Update) -> Route:
    """What the bot should do about one update (see module doc)."""
    chat = update.effective_chat
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is None or chat is None:
            return Ignored("a button on an inline message")
        if chat.type != Chat.PRIVATE:
            return Ignored("a button in a group")
        event = decode_callback(query.data) or Unreadable(kind="button")
        return RunnerEvent(sender_of(update), event)
    if chat is None:
        return Ignored("an update without a chat")
    message = update.effective_message
    if chat.type != Chat.PRIVATE:
        if update.message is not None or update.channel_post is not None:
            user = update.effective_user
            return GroupMessage(chat.id, clean_locale(user.language_code) if user else None)
        return Ignored("an edit or a change in a group")
    if message is None:
        return Ignored("a change to the chat")
    return RunnerEvent(sender_of(update), _event_for_message(update, message))


def _event_for_message(update: Update, message: Message) -> Event:
    if update.edited_message is not None:
        return Unreadable(kind="edited")
    text = clean_text(message.text, TEXT_LIMIT) if message.text is not None else None
    if text is not None and text.startswith("/"):
        command, _, argument = text.partition(" ")
        # An unknown name becomes an Unreadable event: the command table (flows.commands) decides.
        return event_for_command(command.lstrip("/").split("@")[0], argument)
    if text is not None:
        return TypedText(text)
    return Unreadable(kind=_unreadable_kind(message))


def _unreadable_kind(message: Message) -> str:
    if message.sticker:
        return "sticker"
    if message.photo:
        return "photo"
    if message.voice or message.audio or message.video_note:
        return "voice"
    if message.video or message.document or message.animation:
        return "media"
    return "other"
