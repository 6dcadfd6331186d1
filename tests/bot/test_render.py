"""Every template renders, with the contexts the flows really produce, into valid Telegram HTML.

Random walks through the dialog (seeded, so repeatable) press random buttons until an outcome,
collecting every reply on the way; together with the one-off replies they must reach every
template. Each rendered text must parse as Telegram HTML, fit in one message, and every piece
of advice must say it is not a diagnosis.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError

from bot.render import environment, render, template_names
from flows.dialog import (
    CancelAssessment,
    ChooseAnswer,
    Navigate,
    Outcome,
    Resume,
    ShowInfo,
    StartAssessment,
    TypedText,
    Unreadable,
    advance,
)
from flows.types import Reply
from tests.fakes.telegram_html import parse_html

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TELEGRAM_MESSAGE_LIMIT = 4096
ADVICE = {
    "triage/outcome_emergency.j2",
    "triage/outcome_see_clinician.j2",
    "triage/outcome_home_care.j2",
    "triage/first_days_care.j2",
    "triage/exercise_session.j2",
    "triage/help.j2",
    "triage/about.j2",
}


def random_walk(seed: int) -> list[Reply]:
    """Press random answer buttons (sometimes Back) until the assessment ends."""
    rng = random.Random(seed)
    outcome = advance(None, StartAssessment(intro=seed == 0), now=NOW)
    replies = list(outcome.replies)
    state = outcome.state
    while outcome.assessment is None:
        question = outcome.replies[-1]
        buttons = [b for row in question.buttons for b in row]
        answers = [b for b in buttons if b.action == "answer"]
        if rng.random() < 0.05 and len(buttons) > len(answers):
            event = Navigate("back", question.version)
        else:
            # Mostly "No" to red flags so walks reach the later questions and all dispositions.
            choice = rng.choice(answers)
            if len(answers) == 3 and answers[1].value == "no" and rng.random() < 0.8:
                choice = answers[1]
            event = ChooseAnswer(choice.step, choice.value, question.version)
        outcome = advance(state, event, now=NOW)
        state = outcome.state or state
        replies.extend(outcome.replies)
    return replies


def one_off_replies() -> list[Reply]:
    start = advance(None, StartAssessment(intro=True), now=NOW)
    state = start.state
    outcomes: list[Outcome] = [
        start,
        advance(state, TypedText("no idea"), now=NOW),
        advance(state, Navigate("back", state.version), now=NOW),
        advance(state, Resume(), now=NOW),
        advance(state, ChooseAnswer("loc", "outside", 99), now=NOW),
        advance(None, ChooseAnswer("loc", "outside", 1), now=NOW),
        advance(state, CancelAssessment(), now=NOW),
        advance(None, CancelAssessment(), now=NOW),
        advance(None, TypedText("hello"), now=NOW),
        *(advance(state, ShowInfo(t), now=NOW) for t in ("help", "about")),
        *(
            advance(state, Unreadable(k), now=NOW)
            for k in (
                "sticker",
                "photo",
                "voice",
                "media",
                "edited",
                "long_text",
                "unknown_command",
                "button",
                "other",
            )
        ),
    ]
    extra = [Reply("triage/group_chat.j2"), Reply("triage/error.j2")]
    return [r for o in outcomes for r in o.replies] + extra


@pytest.fixture(scope="module")
def all_replies() -> list[Reply]:
    replies = one_off_replies()
    for seed in range(400):
        replies.extend(random_walk(seed))
    return replies


def test_every_template_is_reached_and_renders(all_replies: list[Reply]) -> None:
    rendered = {reply.template for reply in all_replies}
    assert set(template_names()) <= rendered, set(template_names()) - rendered
    for reply in all_replies:
        assert render(reply.template, **reply.context).strip()


def test_every_reply_is_valid_telegram_html_within_the_message_limit(
    all_replies: list[Reply],
) -> None:
    seen: set[str] = set()
    for reply in all_replies:
        text = render(reply.template, **reply.context)
        if text in seen:
            continue
        seen.add(text)
        plain, _ = parse_html(text)  # raises on markup Telegram would refuse
        assert len(plain) <= TELEGRAM_MESSAGE_LIMIT, reply.template


def test_every_piece_of_advice_says_it_is_not_a_diagnosis(all_replies: list[Reply]) -> None:
    for reply in all_replies:
        if reply.template in ADVICE:
            assert "not a diagnosis" in render(reply.template, **reply.context)


def test_every_outcome_says_what_would_change_the_advice(all_replies: list[Reply]) -> None:
    for reply in all_replies:
        if reply.template.startswith("triage/outcome_"):
            text = render(reply.template, **reply.context)
            assert "Why:" in text
            assert "Go to urgent care now" in text or "What would change" in text


def test_a_missing_context_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UndefinedError):
        render("triage/ask_location.j2")


def test_values_are_escaped_for_telegram_html() -> None:
    """Anything a runner typed is shown as text, never as markup."""
    assert environment().from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"
