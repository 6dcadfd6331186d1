"""Typed answers are accepted only when unambiguous; every question offers sensible buttons."""

from __future__ import annotations

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


def test_every_question_has_a_template_and_unique_choices() -> None:
    for step in Step:
        if step is Step.DONE:
            continue
        question = QUESTIONS[step]
        values = [c.value for c in question.choices]
        assert len(values) == len(set(values)) >= 2
        assert question.template == f"triage/{question.template.split('/')[1]}"


def test_every_red_flag_question_offers_not_sure() -> None:
    for step in Step:
        if step.value[:1] in {"e", "s"} and step is not Step.STARTED and step is not Step.SWELLING:
            assert YesNo.UNSURE in [c.value for c in QUESTIONS[step].choices], step
