"""Buttons as the flows describe them -> Telegram inline keyboards, and callback data both ways.

Callback data is versioned (`a1`/`n1` prefixes) so that a future format can still read today's
buttons, carries the conversation version the question was shown at (so a button from an older
question is recognised as stale), and is checked against Telegram's 64-byte limit when it is
made: python-telegram-bot does not check it, and Telegram would reject the whole message.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from flows.dialog import ChooseAnswer, Navigate
from flows.types import Button, Reply

CALLBACK_DATA_LIMIT = 64
_ANSWER = "a1"
_NAVIGATE = "n1"
_NAVIGATIONS = frozenset({"back", "restart"})


def encode_button(button: Button, version: int) -> str:
    """The callback data of one button shown at conversation `version`."""
    if button.action == "answer":
        data = f"{_ANSWER}:{version}:{button.step}:{button.value}"
    elif button.action in _NAVIGATIONS:
        data = f"{_NAVIGATE}:{version}:{button.action}"
    else:
        raise ValueError(f"unknown button action {button.action!r}")
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
    return data


def decode_callback(data: str | None) -> ChooseAnswer | Navigate | None:
    """The flow event a button stands for, or None when the data does not parse."""
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    parts = data.split(":")
    try:
        if parts[0] == _ANSWER and len(parts) == 4 and parts[2] and parts[3]:
            return ChooseAnswer(step=parts[2], value=parts[3], version=int(parts[1]))
        if parts[0] == _NAVIGATE and len(parts) == 3 and parts[2] in _NAVIGATIONS:
            return Navigate(action=parts[2], version=int(parts[1]))
    except ValueError:
        return None
    return None


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a reply, or None when it has no buttons."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, callback_data=encode_button(b, reply.version))
                for b in row
            ]
            for row in reply.buttons
        ]
    )
