"""Typed answers are accepted only when unambiguous; every question offers sensible buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import registry
from flows.questions import parse_pain
from flows.reminders import ReminderStep
from flows.triage import TriageStep
from flows.types import YesNo

# Every question of every flow, by its step id (ids are unique across flows).
QUESTIONS = {step: q for flow in registry.ALL for step, q in flow.questions.items()}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", "7"),
        ("7/10", "7"),
        (" 7 / 10 ", "7"),
        ("7 out of 10", "7"),
        ("0", "0"),
        ("10", "10"),
        ("11", None),
        ("-1", None),
        ("seven", "7"),
        ("eleven", None),
        ("7.5", None),
        ("", None),
    ],
)
def test_pain_scores(text: str, value: str | None) -> None:
    assert parse_pain(text) == value


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        (TriageStep.LOCATION, "outside", "outside"),
        (TriageStep.LOCATION, "Outside.", "outside"),
        (TriageStep.LOCATION, "achilles", "back"),
        (TriageStep.LOCATION, "all over", "all"),
        (TriageStep.LOCATION, "my knee", None),
        (TriageStep.ONSET, "sudden", "sudden"),
        (TriageStep.ONSET, "twisted", "sudden"),
        (TriageStep.ONSET, "gradually", "gradual"),
        (TriageStep.STARTED, "yesterday", "d1_2"),
        (TriageStep.SWELLING, "very", "marked"),
        (TriageStep.WEIGHT_BEARING, "can't", "unable"),
        (TriageStep.OTTAWA, "yes", YesNo.YES),
        (TriageStep.OTTAWA, "No", YesNo.NO),
        (TriageStep.OTTAWA, "not sure", YesNo.UNSURE),
        (TriageStep.OTTAWA, "dunno maybe yes", None),
        (TriageStep.TIPTOE, "I can't", YesNo.YES),
        # A bare yes or no could mean either button: asked again, with what can be typed.
        (TriageStep.TIPTOE, "no", None),
        (TriageStep.TIPTOE, "yes i can", YesNo.NO),
        (TriageStep.SIGNS, "none", "none"),
        (TriageStep.SIGNS, "numb", "e2"),
        (TriageStep.TIPTOE, "i can", YesNo.NO),
    ],
)
def test_typed_answers(step: str, text: str, value: str | None) -> None:
    assert QUESTIONS[step].parse(text) == value


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_every_question_has_a_template_and_unique_choices() -> None:
    for step in QUESTIONS:
        question = QUESTIONS[step]
        values = [c.value for c in question.choices_for({"zone": "o60"}, NOW)]
        assert len(values) == len(set(values)) >= 2, step
        assert (TEMPLATES / question.template).is_file(), question.template


def test_every_red_flag_question_offers_not_sure() -> None:
    red_flag_steps = [s for s in QUESTIONS if re.match(r"^(c_)?[es]\d", s)]
    # The triage's red flags asked one by one (the checklist asks the rest) and the check-in's
    # re-screen of six of them.
    assert len(red_flag_steps) >= 12 + 6
    for step in red_flag_steps:
        assert YesNo.UNSURE in [c.value for c in QUESTIONS[step].choices], step


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("UTC+1", "o60"),
        ("gmt-5", "o-300"),
        ("+5:30", "o330"),
        ("London", "zEurope/London"),
        ("america/new_york", "zAmerica/New_York"),
        ("utc", "zUTC"),
        ("Atlantis", None),
    ],
)
def test_typed_time_zones(text: str, value: str | None) -> None:
    assert QUESTIONS[ReminderStep.ZONE].parse(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7:30", "07:30"),
        ("19:00", "19:00"),
        ("7pm", "19:00"),
        ("no thanks", "off"),
        ("25:00", None),
    ],
)
def test_typed_reminder_times(text: str, value: str | None) -> None:
    assert QUESTIONS[ReminderStep.TIME].parse(text) == value


def test_the_zone_picker_offers_offsets_and_then_the_cities_of_that_offset() -> None:
    offsets = QUESTIONS[ReminderStep.ZONE].choices_for({}, NOW)
    assert any(c.label.startswith("UTC+1 (Paris") for c in offsets)
    cities = QUESTIONS[ReminderStep.CITY].choices_for({"zone": "o-300"}, NOW)
    assert "America/New_York" in [c.value for c in cities]


def test_step_ids_are_unique_across_flows() -> None:
    """Callback data carries a bare step id, so no two flows may share one."""
    ids = [step for flow in registry.ALL for step in flow.questions]
    assert len(ids) == len(set(ids))


def test_typed_answers_are_read_in_the_runners_language_as_well_as_english() -> None:
    german = {"Outside of the ankle": "Außenseite des Knöchels", "outside": "außen"}.get
    location = QUESTIONS[TriageStep.LOCATION]

    def translate(message_id: str) -> str:
        return german(message_id) or message_id

    assert location.parse("außen", translate) == "outside"
    assert location.parse("Außenseite des Knöchels", translate) == "outside"
    assert location.parse("outside", translate) == "outside"
    assert location.parse("außen") is None  # not in English
