"""Typed answers: every button's own label, the forms runners type, and the hint a refused
answer gives (issue 10, item 3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import registry
from flows.dialog import Command, TypedText, advance
from flows.questions import duration_in_days, parse_pain
from flows.reminders import ReminderStep
from flows.triage import TriageStep, started_days_ago
from flows.types import Started

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
QUESTIONS = registry.QUESTIONS
# The answers the dynamic questions depend on: the city picker lists the cities of a zone.
EARLIER = ({}, {"zone": "o60"}, {"zone": "o-300"}, {"zone": "o330"})


def every_button() -> list[tuple[str, str, str]]:
    buttons = {
        (step, choice.label, choice.value)
        for step, question in QUESTIONS.items()
        for answers in EARLIER
        for choice in question.choices_for(answers, NOW)
    }
    return sorted(buttons)


@pytest.mark.parametrize(("step", "label", "value"), every_button())
def test_typing_a_buttons_own_label_gives_its_answer(step: str, label: str, value: str) -> None:
    assert QUESTIONS[step].parse(label) == value
    assert QUESTIONS[step].parse(label.upper() + ".") == value


def test_the_sweep_covers_every_question() -> None:
    swept = {step for step, _, _ in every_button()}
    assert swept == set(QUESTIONS)


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        # When it started: a number of days, weeks or months lands in the right bucket.
        (TriageStep.STARTED, "2 days ago", Started.DAYS_1_2),
        (TriageStep.STARTED, "a couple of days", Started.DAYS_1_2),
        (TriageStep.STARTED, "the day before yesterday", Started.DAYS_1_2),
        (TriageStep.STARTED, "three days ago", Started.DAYS_3_4),
        (TriageStep.STARTED, "a few days ago", Started.DAYS_3_4),
        (TriageStep.STARTED, "5 days ago", Started.DAYS_5_10),
        (TriageStep.STARTED, "a week ago", Started.DAYS_5_10),
        (TriageStep.STARTED, "about 10 days ago", Started.DAYS_5_10),
        (TriageStep.STARTED, "11 days ago", Started.DAYS_11_42),
        (TriageStep.STARTED, "2 weeks", Started.DAYS_11_42),
        (TriageStep.STARTED, "3 weeks ago", Started.DAYS_11_42),
        (TriageStep.STARTED, "last month", Started.DAYS_11_42),
        (TriageStep.STARTED, "6 weeks ago", Started.DAYS_11_42),
        (TriageStep.STARTED, "more than 6 weeks", Started.OVER_6_WEEKS),
        (TriageStep.STARTED, "over 6 weeks", Started.OVER_6_WEEKS),
        (TriageStep.STARTED, "2 months ago", Started.OVER_6_WEEKS),
        (TriageStep.STARTED, "this morning", Started.TODAY),
        (TriageStep.STARTED, "sometime", None),
        (TriageStep.STARTED, "f days", None),
        # Walking, where it hurts, how it started, swelling.
        (TriageStep.WEIGHT_BEARING, "I can't walk", "unable"),
        (TriageStep.WEIGHT_BEARING, "I'm limping", "painful"),
        (TriageStep.WEIGHT_BEARING, "normal", "normal"),
        (TriageStep.LOCATION, "outer ankle", "outside"),
        (TriageStep.LOCATION, "the outside of my ankle", "outside"),
        (TriageStep.LOCATION, "inner ankle", "inside"),
        (TriageStep.LOCATION, "Achilles tendon", "back"),
        (TriageStep.ONSET, "rolled it", "sudden"),
        (TriageStep.ONSET, "I twisted it", "sudden"),
        (TriageStep.ONSET, "it built up", "gradual"),
        (TriageStep.SWELLING, "a bit swollen", "mild"),
        (TriageStep.SWELLING, "very swollen", "marked"),
        (TriageStep.BONE_SITE, "outer ankle", "lateral_malleolus"),
        # Yes, no and not sure, in the words people use.
        (TriageStep.NIGHT_PAIN, "nope", "no"),
        (TriageStep.NIGHT_PAIN, "I'm not sure", "unsure"),
        (TriageStep.NIGHT_PAIN, "yes and no", None),
        # Pain and counts in words.
        (TriageStep.PAIN, "seven", "7"),
        (TriageStep.PAIN, "Seven out of ten", "7"),
        (TriageStep.PAIN, "eleven", None),
        ("r_heel", "ten", "10"),
        (ReminderStep.ZONE, "UTC+5:30 (Kolkata, Colombo)", "o330"),
    ],
)
def test_the_forms_runners_type(step: str, text: str, value: str | None) -> None:
    assert QUESTIONS[step].parse(text) == value


def test_each_day_count_lands_in_the_bucket_whose_label_names_it() -> None:
    edges = {0: "today", 1: "d1_2", 2: "d1_2", 3: "d3_4", 4: "d3_4", 5: "d5_10", 10: "d5_10"}
    edges |= {11: "d11_42", 42: "d11_42", 43: "w6plus", 400: "w6plus"}
    for days, bucket in edges.items():
        assert started_days_ago(days) == bucket, days


def test_durations_and_number_words_are_read_in_the_runners_language() -> None:
    german = {"weeks": "wochen", "three": "drei", "seven": "sieben", "ago": "her", "of": "von"}

    def translate(message_id: str) -> str:
        return german.get(message_id, message_id)

    assert duration_in_days("drei Wochen her", translate) == 21
    assert QUESTIONS[TriageStep.STARTED].parse("drei Wochen her", translate) == "d11_42"
    assert parse_pain("sieben", translate) == "7"
    assert parse_pain("sieben") is None  # not in English
    assert parse_pain("7 von 10", translate) == parse_pain("sieben von 10", translate) == "7"
    assert parse_pain("7 out of 10", translate) == "7"  # English still counts
    assert parse_pain("7 von 10") is None
    assert parse_pain("11 von 10", translate) is None


# --- the hint a refused answer gives -------------------------------------------------------------

_HINT_BLOCK = re.compile(r'\{% block typed_hint %\}.*?_\("([^"]*)"\).*?\{% endblock %\}', re.S)
# Questions whose typed answers are open (a city): the hint names the kind of thing, not words.
OPEN_ANSWERS = {ReminderStep.ZONE, ReminderStep.CITY}


def hint_of(template: str) -> str:
    match = _HINT_BLOCK.search((TEMPLATES / template).read_text())
    assert match, f"{template} has no typed_hint"
    return match.group(1)


def hinted_words(hint: str) -> list[str]:
    """ "or type e.g. yes, no or not sure" -> ["yes", "no", "not sure"]."""
    listed = re.sub(r"^or type (?:e\.g\. )?(?:a (?:number|time) such as )?", "", hint)
    return [w for w in re.split(r", | or ", listed) if w]


@pytest.mark.parametrize("step", sorted(QUESTIONS))
def test_every_question_hints_at_what_can_be_typed_and_each_hinted_word_works(step: str) -> None:
    question = QUESTIONS[step]
    hint = hint_of(question.template)
    assert "type" in hint
    if step in OPEN_ANSWERS:
        return
    words = hinted_words(hint)
    assert len(words) >= 1, hint
    for word in words:
        assert question.parse(word) is not None, (step, word)


def test_nonsense_gets_the_buttons_again_with_what_can_be_typed() -> None:
    outcome = advance(None, Command("new"), now=NOW)
    refused = advance(outcome.state, TypedText("banana"), now=NOW)
    (reply,) = refused.replies
    assert reply.template == "triage/ask_signs.j2"
    assert reply.context["note"] == "reask"
    assert hint_of(reply.template).startswith("or type e.g. none")
