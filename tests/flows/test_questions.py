"""Typed answers are accepted only when unambiguous; every question offers sensible buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.questions import QUESTIONS, Step, parse_pain
from flows.types import YesNo


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
        ("seven", None),
        ("7.5", None),
        ("", None),
    ],
)
def test_pain_scores(text: str, value: str | None) -> None:
    assert parse_pain(text) == value


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        (Step.LOCATION, "outside", "outside"),
        (Step.LOCATION, "Outside.", "outside"),
        (Step.LOCATION, "achilles", "back"),
        (Step.LOCATION, "all over", "all"),
        (Step.LOCATION, "my knee", None),
        (Step.ONSET, "sudden", "sudden"),
        (Step.ONSET, "twisted", "sudden"),
        (Step.ONSET, "gradually", "gradual"),
        (Step.STARTED, "yesterday", "d1_2"),
        (Step.SWELLING, "very", "marked"),
        (Step.WEIGHT_BEARING, "can't", "unable"),
        (Step.DEFORMITY, "yes", YesNo.YES),
        (Step.DEFORMITY, "No", YesNo.NO),
        (Step.DEFORMITY, "not sure", YesNo.UNSURE),
        (Step.DEFORMITY, "dunno maybe yes", None),
        (Step.TIPTOE, "I can't", YesNo.YES),
        (Step.TIPTOE, "i can", YesNo.NO),
    ],
)
def test_typed_answers(step: Step, text: str, value: str | None) -> None:
    assert QUESTIONS[step].parse(text) == value


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_every_question_has_a_template_and_unique_choices() -> None:
    for step in Step:
        if step is Step.DONE:
            continue
        question = QUESTIONS[step]
        values = [c.value for c in question.choices_for({"zone": "o60"}, NOW)]
        assert len(values) == len(set(values)) >= 2, step
        assert (TEMPLATES / question.template).is_file(), question.template


def test_every_red_flag_question_offers_not_sure() -> None:
    red_flag_steps = [s for s in Step if re.match(r"^(c_)?[es]\d", s.value)]
    assert len(red_flag_steps) == 16 + 6
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
    assert QUESTIONS[Step.ZONE].parse(text) == value


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
    assert QUESTIONS[Step.REMINDER_TIME].parse(text) == value


def test_the_zone_picker_offers_offsets_and_then_the_cities_of_that_offset() -> None:
    offsets = QUESTIONS[Step.ZONE].choices_for({}, NOW)
    assert any(c.label.startswith("UTC+1 (Paris") for c in offsets)
    cities = QUESTIONS[Step.CITY].choices_for({"zone": "o-300"}, NOW)
    assert "America/New_York" in [c.value for c in cities]
