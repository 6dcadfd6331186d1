"""Buttons as the flows describe them -> Telegram inline keyboards, and callback data both ways.

Callback data is versioned by its prefix (`a1` answer, `n1` Back / Start over, `k1` check-in
soreness, `s1` were-you-seen, `x1` exercise result,
`h1` an exercise's how-to, `c1` a command such as `/hop`, `p1` start or stop the balance
programme, `b1` a programme session's result, `q1` a question from the plan, `d1` a detail
under an outcome: its assessment's key and which detail), so a future format
can still read today's
buttons. Question buttons carry the conversation version they were shown at, so a button from an
older question is recognised as stale. Every value is checked against Telegram's 64-byte limit
when it is made: python-telegram-bot does not check it, and Telegram would reject the message.
Labels are English msgids from the flows, translated into the runner's locale here; labels that
are data (numbers, clock times, city names) are not in the catalogue and pass through unchanged.
"""

from __future__ import annotations

from typing import Any

from bot import i18n
from flows.events import Event, event_for_button
from flows.types import Button, ButtonAction, Reply

CALLBACK_DATA_LIMIT = 64
_PREFIX = {
    ButtonAction.ANSWER: "a1",
    ButtonAction.BACK: "n1",
    ButtonAction.RESTART: "n1",
    ButtonAction.CHECKIN: "k1",
    ButtonAction.SEEN: "s1",
    ButtonAction.EXERCISE: "x1",
    ButtonAction.HOWTO: "h1",
    ButtonAction.COMMAND: "c1",
    ButtonAction.PROGRAMME: "p1",
    ButtonAction.PROGRAMME_SESSION: "b1",
    ButtonAction.QUESTION: "q1",
    ButtonAction.LANGUAGE: "l1",
    ButtonAction.DETAIL: "d1",
}
# Buttons that carry only their value.
_VALUE_ONLY = frozenset({"h1", "c1", "p1", "q1", "l1"})


def encode_button(button: Button, version: int) -> str:
    """The callback data of one button shown at conversation `version`."""
    prefix = _PREFIX.get(button.action)
    if prefix is None:
        raise ValueError(f"unknown button action {button.action!r}")
    if prefix == "a1":
        data = f"a1:{version}:{button.step}:{button.value}"
    elif prefix == "n1":
        data = f"n1:{version}:{button.action}"
    elif prefix in _VALUE_ONLY:
        data = f"{prefix}:{button.value}"
    else:
        data = f"{prefix}:{button.step}:{button.value}"
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
    return data


def decode_callback(data: str | None) -> Event | None:
    """The flow event a button stands for, or None when the data does not parse."""
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    parts = data.split(":")
    try:
        match parts:
            case ["a1", version, step, value] if step and value:
                return event_for_button(Button("", ButtonAction.ANSWER, step, value), int(version))
            case ["n1", version, ("back" | "restart") as action]:
                return event_for_button(Button("", action), int(version))
            case ["k1", message, value]:
                return event_for_button(Button("", ButtonAction.CHECKIN, message, value), 0)
            case ["s1", message, value]:
                return event_for_button(Button("", ButtonAction.SEEN, message, value), 0)
            case ["x1", day, value]:
                return event_for_button(Button("", ButtonAction.EXERCISE, day, value), 0)
            case ["h1", exercise_id]:
                return event_for_button(Button("", ButtonAction.HOWTO, "", exercise_id), 0)
            case ["c1", name]:
                return event_for_button(Button("", ButtonAction.COMMAND, "", name), 0)
            case ["p1", choice]:
                return event_for_button(Button("", ButtonAction.PROGRAMME, "", choice), 0)
            case ["b1", day, value]:
                return event_for_button(Button("", ButtonAction.PROGRAMME_SESSION, day, value), 0)
            case ["q1", question]:
                return event_for_button(Button("", ButtonAction.QUESTION, "", question), 0)
            case ["l1", locale]:
                return event_for_button(Button("", ButtonAction.LANGUAGE, "", locale), 0)
            case ["d1", key, detail]:
                return event_for_button(Button("", ButtonAction.DETAIL, key, detail), 0)
    except ValueError:
        return None
    return None


def inline_keyboard(reply: Reply, *, locale: str = i18n.SOURCE_LOCALE) -> dict[str, Any] | None:
    """The inline keyboard of a reply in Telegram's wire form (`reply_markup`), with its labels
    in `locale`, or None when it has no buttons. Plain JSON, so that it can wait in the outbox."""
    if not reply.buttons:
        return None
    gettext = i18n.gettext(i18n.locale_for(locale))
    return {
        "inline_keyboard": [
            [
                {"text": b.text(gettext), "callback_data": encode_button(b, reply.version)}
                for b in row
            ]
            for row in reply.buttons
        ]
    }
