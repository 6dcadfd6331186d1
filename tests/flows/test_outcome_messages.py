"""Outcomes for a phone (issue 10, item 4): each emergency rule's message carries every
instruction that rule calls for, and every label fits a phone (at most 24 characters, two
buttons to a row)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.message_sizes import every_reply, outcomes
from bot.render import render
from fakebotapi.telegram_html import parse_html
from flows import registry
from flows.advice import outcome_replies
from flows.care_paths import choose_path
from flows.flow import MAX_PER_ROW, question_reply
from flows.rules import EMERGENCY_RULES, Answers, Decision
from flows.state import DialogState
from flows.types import BUTTON_LABEL_LIMIT, Disposition, Reply

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
CALL = "call 112 / 999 / 911"
# What each emergency rule's message must say, beyond going now and not driving.
INSTRUCTIONS = {
    "E1": (
        "If bone is showing or the skin is broken: cover it with a clean cloth, "
        "don't push anything back, call 112 / 999 / 911.",
        "Don't try to straighten",
    ),
    "E2": ("If the foot is cold, pale, blue or grey: call 112 / 999 / 911 rather than travel.",),
    "E3": ("Keep your weight off it",),
    "E4": ("Keep your weight off it",),
    "E5": ("go to A&E",),
    "E6C": ("Emergency: call 112 / 999 / 911 now.",),
    "E6": ("go to A&E",),
    "E7": ("Loosen or take off every bandage", "at the level of your heart, not raised"),
    "E8": ("bleeding disorder",),
    "E8A": ("which blood thinner", "Don't take ibuprofen"),
    "E9": ("X-rays",),
}


def emergency_text(codes: tuple[str, ...]) -> str:
    answers = Answers()
    decision = Decision(Disposition.EMERGENCY, codes, ())
    (reply,) = outcome_replies(answers, decision, choose_path(answers))
    return parse_html(render(reply.template, **reply.context))[0]


def test_every_emergency_rule_has_its_instructions() -> None:
    assert set(INSTRUCTIONS) == {rule.code for rule in EMERGENCY_RULES}


@pytest.mark.parametrize("code", list(INSTRUCTIONS))
def test_an_emergency_message_carries_its_rules_instructions(code: str) -> None:
    text = emergency_text((code,))
    first = text.splitlines()[0]
    assert first.startswith("Emergency: ")
    # The verdict and the next step open the message, in at most two lines.
    assert ("call 112 / 999 / 911 now" in first) is (code == "E6C")
    assert "drive yourself" in first
    for words in INSTRUCTIONS[code]:
        assert words in text, (code, words)
    assert text.count("not a diagnosis") == 1
    assert len(text) <= 1000


def test_every_instruction_of_every_rule_fits_one_message() -> None:
    codes = tuple(INSTRUCTIONS)
    text = emergency_text(codes)
    for code in codes:
        for words in INSTRUCTIONS[code]:
            if code != "E6C" and words.startswith("Emergency"):
                continue
            # The X-ray hint is for a crack heard and nothing else (E9 alone).
            assert words in text or code in ("E5", "E6", "E9"), (code, words)
    assert CALL in text.splitlines()[0].lower() or "112" in text.splitlines()[0]
    assert len(text) <= 1000


def label_problems(reply: Reply) -> list[str]:
    problems = []
    for row in reply.buttons:
        if len(row) > MAX_PER_ROW:
            problems.append(f"{reply.template}: {len(row)} buttons in a row")
        for button in row:
            label = button.text(lambda s: s)
            if len(label) > BUTTON_LABEL_LIMIT:
                problems.append(f"{reply.template}: {label!r}")
    return problems


def test_every_question_of_every_flow_has_short_labels_two_to_a_row() -> None:
    problems = []
    for flow in registry.ALL:
        for step in flow.questions:
            state = DialogState(step, {}, (flow.first,), flow=flow.name)
            problems += label_problems(question_reply(state, now=NOW))
    assert problems == []


def test_every_keyboard_the_bot_sends_has_short_labels_two_to_a_row() -> None:
    problems = []
    for reply in every_reply(outcomes()):
        problems += label_problems(reply)
    assert sorted(set(problems)) == []
