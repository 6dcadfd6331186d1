"""The runner simulator: the updates a person would cause, built and queued for getUpdates.

`RunnerSimulator` is the half of `FakeBotApi` that plays the people on the other side: a runner
writing text or a command, pressing or tapping an inline button, sending a sticker, photo or
voice note, editing an earlier message; a group member tapping a button; a tap under an
inline-mode message; and `enqueue_raw` for any JSON, including updates PTB cannot parse. Each
method returns the update it built (`enqueue=False` builds one without queueing it, for a
benchmark's script). It is a mixin rather than a separate object so that tests keep calling
`api.user_sends_text(...)`: the updates share the server's lock, message ids, chats and
stored messages, which `FakeBotApi` (server.py) provides.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Mapping

from fakebotapi.telegram_rules import Json, copy_json, text_content

DEFAULT_GROUP_MEMBER_ID = 424242


class RunnerSimulator:
    """The updates people cause. Needs the state below and `_next_message_id`, `_chat`,
    `_now`, `_store`, `_notify` and `buttons`, all provided by `FakeBotApi`."""

    _lock: threading.RLock
    _bot_user: Json
    _updates: deque[Json]
    _last_update_id: int
    _allowed_updates: list[str] | None
    _messages: Mapping[int, dict[int, Json]]
    _open_queries: set[str]
    _query_ids: itertools.count[int]
    _file_numbers: itertools.count[int]

    def enqueue_update(self, update: Json) -> None:
        """Queue a ready-made update for getUpdates (unless allowed_updates filters it out)."""
        with self._lock:
            update_id = update["update_id"]
            self._last_update_id = max(self._last_update_id, update_id)
            kind = next((key for key in update if key != "update_id"), "")
            if self._allowed_updates is None or kind in self._allowed_updates:
                if self._updates and update_id < self._updates[-1]["update_id"]:
                    # Offsets confirm "every update below", so the queue stays in id order.
                    position = next(
                        i
                        for i, queued in enumerate(self._updates)
                        if queued["update_id"] > update_id
                    )
                    self._updates.insert(position, copy_json(update))
                else:
                    self._updates.append(copy_json(update))
            self._notify()

    def enqueue_raw(self, update: Json | str | bytes) -> Json:
        """Queue any JSON object as an update, as given: also what PTB cannot parse (a
        callback_query without `chat_instance`, a kind PTB does not know). Without an
        `update_id` it gets the next one. A callback query's `id` can be answered. Returns the
        queued update."""
        decoded = json.loads(update) if isinstance(update, str | bytes) else copy_json(update)
        if not isinstance(decoded, dict):
            raise ValueError("an update is a JSON object")
        with self._lock:
            if "update_id" not in decoded:
                decoded = {"update_id": self._new_update_id(), **decoded}
            elif not isinstance(decoded["update_id"], int) or isinstance(
                decoded["update_id"], bool
            ):
                raise ValueError("update_id must be an integer")
            query = decoded.get("callback_query")
            if isinstance(query, dict) and isinstance(query.get("id"), str):
                self._open_queries.add(query["id"])
            self.enqueue_update(decoded)
            return copy_json(decoded)

    def user_sends_text(
        self, chat_id: int, text: str, *, user: Json | None = None, enqueue: bool = True
    ) -> Json:
        """A runner (or, for chat_id < 0, a group member) writes `text`; `/cmd` is a command."""
        with self._lock:
            message = self._new_user_message(chat_id, user, text_content(text))
            return self._emit({"message": message}, enqueue)

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user: Json | None = None,
        enqueue: bool = True,
        require_button: bool = True,
    ) -> Json:
        """A runner presses the inline button carrying `callback_data` under a bot message.

        A person can only press buttons that are on the message, so by default pressing data
        the message does not offer is a test error; `require_button=False` forges it.
        """
        with self._lock:
            message = self._messages.get(chat_id, {}).get(message_id)
            if message is None:
                raise LookupError(f"chat {chat_id} has no message {message_id}")
            offered = [data for row in self.buttons(message) for _, data in row]
            if require_button and callback_data not in offered:
                raise ValueError(
                    f"message {message_id} in chat {chat_id} has no button {callback_data!r}; "
                    f"its buttons: {self.buttons(message)}"
                )
            query_id = str(next(self._query_ids))
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": self._sender(chat_id, user),
                "message": message,
                "chat_instance": f"fake-instance{chat_id}",
                "data": callback_data,
            }
            return self._emit({"callback_query": query}, enqueue)

    def user_taps(
        self,
        chat_id: int,
        button_text: str,
        *,
        message_id: int | None = None,
        user: Json | None = None,
        enqueue: bool = True,
    ) -> Json:
        """Press the button labelled `button_text` on the newest bot message that shows it."""
        with self._lock:
            candidates = (
                [self._messages.get(chat_id, {}).get(message_id, {})]
                if message_id is not None
                else sorted(
                    self._messages.get(chat_id, {}).values(), key=lambda m: -m["message_id"]
                )
            )
            for message in candidates:
                for row in self.buttons(message):
                    for text, data in row:
                        if text == button_text and data is not None:
                            return self.user_presses(
                                chat_id, message["message_id"], data, user=user, enqueue=enqueue
                            )
            raise LookupError(f"no message in chat {chat_id} shows a button {button_text!r}")

    def user_sends_sticker(
        self, chat_id: int, *, emoji: str = "👍", user: Json | None = None, enqueue: bool = True
    ) -> Json:
        with self._lock:
            number = next(self._file_numbers)
            sticker = {
                "file_id": f"fake-sticker-{number}",
                "file_unique_id": f"u{number}",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
                "emoji": emoji,
            }
            message = self._new_user_message(chat_id, user, {"sticker": sticker})
            return self._emit({"message": message}, enqueue)

    def user_sends_photo(
        self,
        chat_id: int,
        *,
        caption: str | None = None,
        user: Json | None = None,
        enqueue: bool = True,
    ) -> Json:
        with self._lock:
            number = next(self._file_numbers)
            sizes = [
                {
                    "file_id": f"fake-photo-{number}-{w}",
                    "file_unique_id": f"u{number}-{w}",
                    "width": w,
                    "height": h,
                    "file_size": w * h // 10,
                }
                for w, h in ((90, 67), (1280, 960))
            ]
            content: Json = {"photo": sizes}
            if caption:
                content["caption"] = caption
            message = self._new_user_message(chat_id, user, content)
            return self._emit({"message": message}, enqueue)

    def user_sends_voice(
        self, chat_id: int, *, duration: int = 3, user: Json | None = None, enqueue: bool = True
    ) -> Json:
        with self._lock:
            number = next(self._file_numbers)
            voice = {
                "file_id": f"fake-voice-{number}",
                "file_unique_id": f"u{number}",
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": 4000 * duration,
            }
            message = self._new_user_message(chat_id, user, {"voice": voice})
            return self._emit({"message": message}, enqueue)

    def user_edits(self, chat_id: int, message_id: int, text: str, *, enqueue: bool = True) -> Json:
        """A runner edits one of their own earlier text messages (an `edited_message` update)."""
        with self._lock:
            current = self._messages.get(chat_id, {}).get(message_id)
            if current is None or current.get("from", {}).get("id") == self._bot_user["id"]:
                raise LookupError(f"chat {chat_id} has no runner message {message_id}")
            edited = {k: v for k, v in current.items() if k not in {"text", "entities"}}
            edited.update(text_content(text), edit_date=self._now())
            self._store(edited, bot_event=False)
            return self._emit({"edited_message": edited}, enqueue)

    def group_taps(
        self,
        group_chat_id: int,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        enqueue: bool = True,
    ) -> Json:
        """A member (`user_id`) presses a button carrying `data` in a group chat.

        The message is `message_id`, else the newest bot message in the group offering `data`,
        else a stand-in bot message with that one button (stored, but not among what the bot
        sent: the bot may never have written in the group).
        """
        if group_chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            if message_id is None:
                offering = [
                    message
                    for message in self._messages.get(group_chat_id, {}).values()
                    if message.get("from", {}).get("id") == self._bot_user["id"]
                    and data in [d for row in self.buttons(message) for _, d in row]
                ]
                if offering:
                    message_id = max(message["message_id"] for message in offering)
                else:
                    stand_in: Json = {
                        "message_id": self._next_message_id(group_chat_id),
                        "from": dict(self._bot_user),
                        "chat": self._chat(group_chat_id),
                        "date": self._now(),
                        "text": "A message with a button",
                        "reply_markup": {
                            "inline_keyboard": [[{"text": data, "callback_data": data}]]
                        },
                    }
                    self._store(stand_in, bot_event=False)
                    message_id = stand_in["message_id"]
            return self.user_presses(
                group_chat_id,
                message_id,
                data,
                user={"id": user_id},
                enqueue=enqueue,
                require_button=False,
            )

    def inline_taps(
        self,
        user_id: int,
        data: str,
        *,
        inline_message_id: str | None = None,
        enqueue: bool = True,
    ) -> Json:
        """A person presses a button under an inline-mode message: the callback query carries
        `inline_message_id` and no `message` (the bot never sees that message)."""
        with self._lock:
            query_id = str(next(self._query_ids))
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": self._sender(user_id, {"id": user_id}),
                "inline_message_id": inline_message_id or f"fake-inline-{query_id}",
                "chat_instance": f"fake-inline-instance{user_id}",
                "data": data,
            }
            return self._emit({"callback_query": query}, enqueue)

    def group_message(
        self, chat_id: int, text: str, *, user: Json | None = None, enqueue: bool = True
    ) -> Json:
        """Someone writes in a group the bot was added to (group chat ids are negative)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        return self.user_sends_text(chat_id, text, user=user, enqueue=enqueue)

    def _sender(self, chat_id: int, user: Json | None) -> Json:
        if user is not None:
            return {"is_bot": False, "first_name": f"Runner {user['id']}", **user}
        if chat_id > 0:
            return {
                "id": chat_id,
                "is_bot": False,
                "first_name": f"Runner {chat_id}",
                "language_code": "en",
            }
        return {
            "id": DEFAULT_GROUP_MEMBER_ID,
            "is_bot": False,
            "first_name": "Club member",
            "language_code": "en",
        }

    def _new_user_message(self, chat_id: int, user: Json | None, content: Json) -> Json:
        sender = self._sender(chat_id, user)
        message: Json = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": self._chat(chat_id, first_name=sender["first_name"]),
            "date": self._now(),
            **content,
        }
        self._store(message, bot_event=False)
        return message

    def _emit(self, payload: Json, enqueue: bool) -> Json:
        update = {"update_id": self._new_update_id(), **copy_json(payload)}
        if enqueue:
            self.enqueue_update(update)
        return copy_json(update)

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id
