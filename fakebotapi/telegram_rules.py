"""What Telegram accepts and how it stores it: the rules the fake Bot API applies to a call.

Pure functions and constants, shared by the fake's state (`botapi.py`) and its tests: how wire
parameters decode (form fields are text, objects are JSON text), which texts, captions and inline
keyboards Telegram refuses and with which description, and how an accepted text is stored (plain
text plus entities). Refusals are `ApiError`s carrying Telegram's status code and description.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakebotapi.telegram_html import HtmlParseError, parse_html, utf16_length

Json = dict[str, Any]


def copy_json(value: Any) -> Any:
    """A private copy of JSON data: a JSON round trip is several times faster than deepcopy,
    which matters when benchmarks send thousands of messages through the fake."""
    return json.loads(json.dumps(value))


MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a content and reply markup of the current message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
# Parameters whose wire form is JSON text, or a number, or a boolean; everything else is text.
JSON_PARAMETERS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
INT_PARAMETERS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "message_thread_id",
        "max_connections",
    }
)
BOOL_PARAMETERS = frozenset(
    {
        "allow_paid_broadcast",
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_content_type_detection",
    }
)
COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
INTEGER_RE = re.compile(r"-?[0-9]+")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, as the server received it."""

    filename: str | None
    content_type: str | None
    data: bytes


class ApiError(Exception):
    """An error answer of the Bot API, with Telegram's code, description and parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def body(self) -> Json:
        """The JSON body Telegram sends with this error."""
        body: Json = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(description: str) -> ApiError:
    """A 400 answer; Telegram prefixes every such description with "Bad Request: "."""
    return ApiError(400, f"Bad Request: {description}")


def normalise_parameters(params: Mapping[str, Any]) -> Json:
    """Turn wire parameters (form fields are all text) into the values Telegram reads.

    JSON bodies already carry numbers and objects; form and multipart bodies carry text, with
    objects JSON-encoded. Both end up the same here.
    """
    normalised: Json = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in JSON_PARAMETERS and isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise bad_request("can't parse reply keyboard markup JSON object") from None
                raise bad_request(f"can't parse {name} JSON object") from None
        elif name in INT_PARAMETERS and not isinstance(value, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise bad_request(f"invalid {name} specified") from None
        elif name in BOOL_PARAMETERS and isinstance(value, str):
            value = value.lower() in {"true", "1"}
        elif name in {"chat_id", "user_id"} and isinstance(value, str):
            value = int(value) if INTEGER_RE.fullmatch(value) else value
        normalised[name] = value
    return normalised


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header, or None when `data` is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def formatted(
    text: Any,
    parse_mode: Any,
    entities: Any,
    limit: int,
    *,
    too_long: str = "message is too long",
) -> tuple[str, list[Json]]:
    """Text and entities as Telegram stores them; refuses empty, oversize or unparsable text."""
    if text is None or not str(text).strip():
        raise bad_request("message text is empty")
    text = str(text)
    if str(parse_mode or "").lower() == "html":
        try:
            text, parsed = _parse_html_cached(text)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        entities = copy_json(list(parsed))
    # Markdown modes are stored as sent: this bot speaks HTML, and no fake parses Markdown.
    entities = list(entities) if isinstance(entities, list) else []
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > limit:
        raise bad_request(too_long)
    return text, entities


def text_content(text: str) -> Json:
    """The text of a message a person typed, with the entity Telegram marks a /command with."""
    content: Json = {"text": text}
    command = COMMAND_RE.match(text)
    if command:
        # PTB's CommandHandler needs the bot_command entity Telegram adds at offset 0.
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}
        ]
    return content


def inline_keyboard(reply_markup: Any) -> Json | None:
    """The inline keyboard to store on the message, validated as Telegram does.

    Reply keyboards, their removal and force_reply are accepted but, as on Telegram, not echoed
    in the returned Message.
    """
    if reply_markup is None:
        return None
    if not isinstance(reply_markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in reply_markup:
        if not {"keyboard", "remove_keyboard", "force_reply"} & reply_markup.keys():
            raise bad_request("can't parse reply keyboard markup JSON object")
        return None
    rows = reply_markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            check_inline_button(button)
    return {"inline_keyboard": copy_json(rows)} if any(rows) else None


def check_inline_button(button: Any) -> None:
    """Refuse a button without a label, without exactly one action, or with bad callback data."""
    if (
        not isinstance(button, dict)
        or not isinstance(button.get("text"), str)
        or not button["text"]
    ):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = INLINE_BUTTON_ACTIONS & button.keys()
    if len(actions) != 1:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if (
            not isinstance(data, str)
            or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions and not button["url"]:
        raise bad_request("BUTTON_URL_INVALID")


def visible_content(message: Json) -> tuple[Any, ...]:
    """What an edit must change, or Telegram answers "message is not modified"."""
    return tuple(
        message.get(key)
        for key in ("text", "entities", "caption", "caption_entities", "reply_markup")
    )


def input_file(field: str, params: Json, files: Mapping[str, UploadedFile]) -> UploadedFile | str:
    """The uploaded part for `field` (directly or via attach://name), or a file_id/URL string."""
    value = params.get(field)
    if isinstance(value, str) and value.startswith("attach://"):
        attached = files.get(value.removeprefix("attach://"))
        if attached is None:
            raise bad_request(f"file {value} not found in the request")
        return attached
    if field in files:
        return files[field]
    if isinstance(value, str) and value:
        return value
    raise bad_request(f"there is no {field} in the request")


@functools.lru_cache(maxsize=4096)
def _parse_html_cached(source: str) -> tuple[str, tuple[Json, ...]]:
    """Bots send the same question texts over and over; parse each text once (the result is
    copied before use, so nobody shares the cached entities)."""
    text, entities = parse_html(source)
    return text, tuple(entities)
