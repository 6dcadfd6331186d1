"""Telegram updates -> routes: which flow event an update is, or why it needs nothing.

The adapter's whole translation in one pure function of the update as Telegram sent it (the
JSON stored in the inbox), `route_update`: a private chat's commands, typed text, buttons and
unreadable messages become flow events for that runner; a message in a group or channel becomes
a `GroupMessage` with its writer's language (the bot answers there at most once a day, in that
language); everything else (a button on an inline message, a button in a group, a member change)
is `Ignored`. Names, language tags and texts are cleaned of control characters and bounded before
anything stores them (the language tag also lower-cased: it becomes the runner's locale).
Commands are looked up in the one command table, `flows.commands`.

It reads only the fields it needs, rather than building python-telegram-bot's `Update` (which
cost more than routing itself, for every update). An update without what those fields must be
(a chat with an integer id and a type, a button press with its sender) raises
`UnreadableUpdate`: the inbox sets it aside and tells the runner, when it knows who they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from bot.db.models import FIRST_NAME_LENGTH
from bot.db.store import clean_locale
from bot.keyboards import decode_callback
from bot.service import GroupMessage, Ignored, Route, RunnerEvent, Sender
from flows.dialog import Event, TypedText, Unreadable, event_for_command
from flows.text import clean_text

# Telegram's own limit on a message's text: longer is cut (the flows then say it is too long).
TEXT_LIMIT = 4096
PRIVATE = "private"
# The kinds of update that carry a message, and of those the new ones (not edits).
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
NEW_MESSAGE_KINDS = ("message", "channel_post")


class UnreadableUpdate(ValueError):
    """The update lacks a field the bot reads, or has one of the wrong kind."""


class _Chat(NamedTuple):
    id: int
    type: str


class _User(NamedTuple):
    id: int
    first_name: str | None
    language_code: str | None


def route_update(raw: Mapping[str, Any]) -> Route:
    """What the bot should do about one update (see module doc)."""
    query = raw.get("callback_query")
    if query is not None:
        query = _object(query, "callback_query")
        message = query.get("message")
        if message is None:
            return Ignored("a button on an inline message")
        chat = _chat(_object(message, "callback_query.message"))
        if chat.type != PRIVATE:
            return Ignored("a button in a group")
        user = _user(query.get("from"), "callback_query.from")
        if user is None:
            raise UnreadableUpdate("a button press without its sender")
        event = decode_callback(_text(query.get("data"))) or Unreadable(kind="button")
        return RunnerEvent(_sender(chat, user), event)
    kind, message = _message(raw)
    chat = _chat(message) if message is not None else _chat_of_change(raw)
    if chat is None:
        return Ignored("an update without a chat")
    if chat.type != PRIVATE:
        if message is not None and kind in NEW_MESSAGE_KINDS:
            user = _user(message.get("from"), f"{kind}.from")
            return GroupMessage(chat.id, clean_locale(user.language_code) if user else None)
        return Ignored("an edit or a change in a group")
    if message is None:
        return Ignored("a change to the chat")
    user = _user(message.get("from"), f"{kind}.from")
    return RunnerEvent(_sender(chat, user), _event_for_message(kind, message))


def _message(raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    for kind in MESSAGE_KINDS:
        message = raw.get(kind)
        if message is not None:
            return kind, _object(message, kind)
    return "", None


def _chat_of_change(raw: Mapping[str, Any]) -> _Chat | None:
    """The chat of an update that is not a message (a member change, a join request)."""
    for kind, value in raw.items():
        if isinstance(value, Mapping) and "chat" in value:
            return _chat(value, kind)
    return None


def _chat(holder: Mapping[str, Any], where: str = "message") -> _Chat:
    chat = _object(holder.get("chat"), f"{where}.chat")
    chat_id, kind = chat.get("id"), chat.get("type")
    if type(chat_id) is not int or not isinstance(kind, str):
        raise UnreadableUpdate(f"{where}.chat has no integer id or no type")
    return _Chat(chat_id, kind)


def _user(value: Any, where: str) -> _User | None:
    if value is None:
        return None
    user = _object(value, where)
    user_id = user.get("id")
    if type(user_id) is not int:
        raise UnreadableUpdate(f"{where} has no integer id")
    return _User(user_id, _text(user.get("first_name")), _text(user.get("language_code")))


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnreadableUpdate(f"{where} is not an object")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _sender(chat: _Chat, user: _User | None) -> Sender:
    return Sender(
        chat_id=chat.id,
        user_id=user.id if user else None,
        first_name=clean_text(user.first_name, FIRST_NAME_LENGTH) if user else None,
        language_code=clean_locale(user.language_code) if user else None,
    )


def _event_for_message(kind: str, message: Mapping[str, Any]) -> Event:
    if kind == "edited_message":
        return Unreadable(kind="edited")
    text = _text(message.get("text"))
    if text is not None:
        text = clean_text(text, TEXT_LIMIT)
    if text is not None and text.startswith("/"):
        command, _, argument = text.partition(" ")
        # An unknown name becomes an Unreadable event: the command table (flows.commands) decides.
        return event_for_command(command.lstrip("/").split("@")[0], argument)
    if text is not None:
        return TypedText(text)
    return Unreadable(kind=_unreadable_kind(message))


def _unreadable_kind(message: Mapping[str, Any]) -> str:
    if message.get("sticker"):
        return "sticker"
    if message.get("photo"):
        return "photo"
    if message.get("voice") or message.get("audio") or message.get("video_note"):
        return "voice"
    if message.get("video") or message.get("document") or message.get("animation"):
        return "media"
    return "other"
