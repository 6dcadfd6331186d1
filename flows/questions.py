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

from flows.types import PAIN_MAX, PAIN_MIN, Morning, WeightBearing, YesNo
from flows.words import N_

# Message id -> the runner's language (gettext); typed answers are read in it too.
Translate = Callable[[str], str]
# Typed text -> a choice's value, or None when it is not an answer to the question.
Parser = Callable[..., str | None]


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
    parse: Parser
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


def untranslated(message_id: str) -> str:
    """English, the language the words are written in: every word stands for itself."""
    return message_id


def parse_pain(text: str, translate: Translate = untranslated) -> str | None:
    """`7`, `7/10`, `7 / 10`, `7 out of 10` -> "7"; anything outside 0-10 is not a pain score."""
    match = _PAIN.match(normalise(text))
    if not match:
        return None
    value = int(match.group(1))
    return str(value) if PAIN_MIN <= value <= PAIN_MAX else None


def choice_parser(choices: tuple[Choice, ...]) -> Parser:
    """Match typed text to exactly one choice by value, label or alias, in English or in the
    runner's language (`translate`: labels and aliases are message ids); ambiguity gives None."""
    tables: dict[Translate, dict[str, set[str]]] = {}

    def table_for(translate: Translate) -> dict[str, set[str]]:
        table = tables.get(translate)
        if table is None:
            table = {}
            for choice in choices:
                words = (choice.label, *choice.aliases)
                spoken = {translate(w) for w in words} if translate is not untranslated else set()
                for word in {choice.value, *words, *spoken}:
                    table.setdefault(normalise(word), set()).add(choice.value)
            tables[translate] = table
        return table

    def parse(text: str, translate: Translate = untranslated) -> str | None:
        found = table_for(translate).get(normalise(text), set())
        return next(iter(found)) if len(found) == 1 else None

    return parse


_YES = (
    N_("y"),
    N_("yeah"),
    N_("yep"),
    N_("yes it is"),
    N_("yes i am"),
    N_("yes i did"),
    N_("yes i have"),
    N_("i do"),
    N_("true"),
)
_NO = (
    N_("n"),
    N_("nope"),
    N_("no it isn't"),
    N_("no i'm not"),
    N_("no i didn't"),
    N_("no i haven't"),
    N_("none"),
    N_("false"),
)
UNSURE_WORDS = (
    N_("not sure"),
    N_("unsure"),
    N_("don't know"),
    N_("dont know"),
    N_("i don't know"),
    N_("maybe"),
    N_("?"),
    N_("idk"),
)


def yes_no(
    step: str,
    template: str,
    field: str,
    *,
    yes: str = N_("Yes"),
    no: str = N_("No"),
    yes_aliases: tuple[str, ...] = (),
    no_aliases: tuple[str, ...] = (),
) -> Question:
    """A red-flag question where "yes" is the worrying answer and "not sure" counts as yes."""
    choices = (
        Choice(YesNo.YES, yes, (N_("yes"), *_YES, *yes_aliases)),
        Choice(YesNo.NO, no, (N_("no"), *_NO, *no_aliases)),
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
    Choice(
        WeightBearing.NORMAL,
        N_("I walk normally, without pain"),
        (N_("normal"), N_("normally"), N_("fine")),
    ),
    Choice(
        WeightBearing.PAINFUL,
        N_("I can walk, but it hurts or I limp"),
        (N_("hurts"), N_("limp"), N_("limping"), N_("painful"), N_("it hurts")),
    ),
    Choice(
        WeightBearing.UNABLE,
        N_("I can't take 4 steps"),
        (N_("can't"), N_("cannot"), N_("unable"), N_("can't walk")),
    ),
)
PAIN_CHOICES = tuple(Choice(str(n), str(n)) for n in range(PAIN_MIN, PAIN_MAX + 1))
MORNING_CHOICES = (
    Choice(
        Morning.SETTLED,
        N_("Settled by the next morning"),
        (N_("settled"), N_("fine"), N_("ok"), N_("yes")),
    ),
    Choice(Morning.WORSE, N_("Worse the next morning"), (N_("worse"), N_("no"), N_("stiff"))),
    Choice(Morning.UNSURE, N_("Not sure yet"), UNSURE_WORDS),
)
