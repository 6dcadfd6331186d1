"""The kit every flow builds its questions from: choices, questions, typed-answer parsers.

A flow (the triage, a check-in, ...) lists its questions as data made with these helpers. Each
question names its template, the answers it offers (as buttons, in order) and how a typed
answer is read. Typed answers are accepted only when they are unambiguous (`7`, `7/10`, `yes`,
`outside`); anything else returns None and the dialog re-asks with the buttons. Red-flag
questions are phrased so that "yes" is the worrying answer, and every one offers "Not sure",
which the rules count as yes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from flows.types import WeightBearing, YesNo
from flows.words import N_


@dataclass(frozen=True, slots=True)
class Choice:
    """One offered answer: the stored value, the button label and extra words that mean it."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """One question: its step id, template, offered answers, how typed text is read, and the
    field of the flow's typed answers it fills."""

    step: str
    template: str
    choices: tuple[Choice, ...]
    parse: Callable[[str], str | None]
    field: str
    # How many buttons share a row on a phone screen.
    per_row: int = 1
    # Choices that depend on earlier answers and the time (the time-zone picker), else None.
    dynamic: Callable[[Mapping[str, str], datetime], tuple[Choice, ...]] | None = None

    def choices_for(self, answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
        return self.dynamic(answers, now) if self.dynamic is not None else self.choices


def normalise(text: str) -> str:
    text = text.strip().lower().replace("’", "'")
    text = re.sub(r"[.!?,;:]+$", "", text)
    return re.sub(r"\s+", " ", text)


_PAIN = re.compile(r"^(?:pain\s*)?(\d{1,2})(?:\s*(?:/|out of|of)\s*10)?$")


def parse_pain(text: str) -> str | None:
    """`7`, `7/10`, `7 / 10`, `7 out of 10` -> "7"; anything outside 0-10 is not a pain score."""
    match = _PAIN.match(normalise(text))
    if not match:
        return None
    value = int(match.group(1))
    return str(value) if 0 <= value <= 10 else None


def choice_parser(choices: tuple[Choice, ...]) -> Callable[[str], str | None]:
    """Match typed text to exactly one choice by value, label or alias; ambiguity gives None."""
    table: dict[str, set[str]] = {}
    for choice in choices:
        for word in (choice.value, choice.label, *choice.aliases):
            table.setdefault(normalise(word), set()).add(choice.value)

    def parse(text: str) -> str | None:
        found = table.get(normalise(text), set())
        return next(iter(found)) if len(found) == 1 else None

    return parse


_YES = ("y", "yeah", "yep", "yes it is", "yes i am", "yes i did", "yes i have", "i do", "true")
_NO = ("n", "nope", "no it isn't", "no i'm not", "no i didn't", "no i haven't", "none", "false")
UNSURE_WORDS = (
    "not sure",
    "unsure",
    "don't know",
    "dont know",
    "i don't know",
    "maybe",
    "?",
    "idk",
)


def yes_no(
    step: str,
    template: str,
    field: str,
    *,
    yes: str = "Yes",
    no: str = "No",
    yes_aliases: tuple[str, ...] = (),
    no_aliases: tuple[str, ...] = (),
) -> Question:
    """A red-flag question where "yes" is the worrying answer and "not sure" counts as yes."""
    choices = (
        Choice(YesNo.YES, yes, ("yes", *_YES, *yes_aliases)),
        Choice(YesNo.NO, no, ("no", *_NO, *no_aliases)),
        Choice(YesNo.UNSURE, N_("Not sure"), UNSURE_WORDS),
    )
    return Question(step, template, choices, choice_parser(choices), field, per_row=3)


def choice_question(
    step: str, template: str, field: str, choices: tuple[Choice, ...], per_row: int = 1
) -> Question:
    return Question(step, template, choices, choice_parser(choices), field, per_row)


def pain_question(step: str, template: str, field: str) -> Question:
    """A 0-10 pain score, as number buttons; typed "7", "7/10" or "7 out of 10" also count."""
    return Question(step, template, PAIN_CHOICES, parse_pain, field, per_row=6)


WEIGHT_BEARING_CHOICES = (
    Choice(WeightBearing.NORMAL, "I walk normally, without pain", ("normal", "normally", "fine")),
    Choice(
        WeightBearing.PAINFUL,
        "I can walk, but it hurts or I limp",
        ("hurts", "limp", "limping", "painful", "it hurts"),
    ),
    Choice(
        WeightBearing.UNABLE, "I can't take 4 steps", ("can't", "cannot", "unable", "can't walk")
    ),
)
PAIN_CHOICES = tuple(Choice(str(n), str(n)) for n in range(11))
MORNING_CHOICES = (
    Choice("settled", "Settled by the next morning", ("settled", "fine", "ok", "yes")),
    Choice("worse", "Worse the next morning", ("worse", "no", "stiff")),
    Choice(YesNo.UNSURE, "Not sure yet", UNSURE_WORDS),
)
