"""Callback data: every button round-trips to its flow event, stays within Telegram's 64 bytes,
and anything malformed or over-long decodes to None (the bot then says it could not read it)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.keyboards import CALLBACK_DATA_LIMIT, decode_callback, encode_button, inline_keyboard
from flows.events import (
    AnswerSeenCheck,
    ChooseAnswer,
    LogExercise,
    Navigate,
    ShowExercise,
    StartCheckIn,
)
from flows.exercise_library import exercises
from flows.registry import QUESTIONS
from flows.types import Button, Reply


@pytest.mark.parametrize(
    ("button", "version", "event"),
    [
        (Button("x", "answer", "loc", "outside"), 3, ChooseAnswer("loc", "outside", 3)),
        (Button("x", "back"), 7, Navigate("back", 7)),
        (Button("x", "restart"), 7, Navigate("restart", 7)),
        (Button("x", "checkin", "123", "4"), 0, StartCheckIn(123, 4)),
        (Button("x", "seen", "9", "n"), 0, AnswerSeenCheck(9, False)),
        (Button("x", "exercise", "20261121", "t"), 0, LogExercise(date(2026, 11, 21), "too_sore")),
        (Button("x", "howto", "", "heel_drops"), 0, ShowExercise("heel_drops")),
    ],
)
def test_buttons_round_trip_to_their_events(button: Button, version: int, event) -> None:
    assert decode_callback(encode_button(button, version)) == event


def test_every_question_and_exercise_button_fits_in_64_bytes() -> None:
    for question in QUESTIONS.values():
        for choice in question.choices:
            data = encode_button(Button("", "answer", question.step.value, choice.value), 10**9)
            assert len(data.encode()) <= CALLBACK_DATA_LIMIT
    for exercise in exercises():
        assert len(encode_button(Button("", "howto", "", exercise.id), 0)) <= CALLBACK_DATA_LIMIT


def test_a_value_too_long_for_telegram_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode_button(Button("", "answer", "city", "x" * 80), 1)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "garbage",
        "a1:notanumber:loc:outside",
        "a1:3:loc",
        "n1:3:sideways",
        "k1:5:11",
        "k1:x:3",
        "s1:5:maybe",
        "x1:2026-13-40:d",
        "x1:20261121:q",
        "z9:1:2",
        "a1:1:loc:" + "x" * 70,
    ],
)
def test_malformed_callback_data_decodes_to_none(data) -> None:
    assert decode_callback(data) is None


def test_a_reply_without_buttons_has_no_keyboard() -> None:
    assert inline_keyboard(Reply("t.j2")) is None
    keyboard = inline_keyboard(
        Reply("t.j2", buttons=((Button("Yes", "answer", "e1", "yes"),),), version=4)
    )
    assert keyboard["inline_keyboard"][0][0]["callback_data"] == "a1:4:e1:yes"
