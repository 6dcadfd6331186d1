"""The kit every flow builds its questions from: choices, questions, typed-answer parsers.

A flow (the triage, a check-in, ...) lists its questions as data made with these helpers. Each
question names its template, the answers it offers (as buttons, in order) and how a typed
answer is read. Typed answers are accepted only when they are unambiguous: a button's own label,
a value or an alias (`yes`, `outside`, `rolled it`), the same with small filler words around it
(`the outer ankle`, `2 days ago`), a pain score (`7`, `7/10`, `seven`) or, for when it started,
a number of days, weeks or months. Anything else returns None and the dialog re-asks with the
buttons and a line saying what can be typed. Red-flag
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
    # The answer a counter assumes while it is not given (the non-worrying one); "" means the
    # first choice.
    calm: str = ""

    @property
    def calm_value(self) -> str:
        return self.calm or self.choices[0].value

    def choices_for(self, answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
        return self.dynamic(answers, now) if self.dynamic is not None else self.choices


def normalise(text: str) -> str:
    text = text.strip().lower().replace("’", "'")
    text = re.sub(r"[.!?,;:]+$", "", text)
    return re.sub(r"\s+", " ", text)


_PAIN = re.compile(r"^(?:pain\s*)?(\d{1,2})(?:\s*/\s*10)?$")
# "7 out of 10", "7 von 10", "4 de 10": the words between a score and its 10, in any language.
OUT_OF = (N_("out of"), N_("of"))

# Number words, at their value's index: typed "seven" is a pain score, "two weeks" a duration.
NUMBER_WORDS = (
    N_("zero"),
    N_("one"),
    N_("two"),
    N_("three"),
    N_("four"),
    N_("five"),
    N_("six"),
    N_("seven"),
    N_("eight"),
    N_("nine"),
    N_("ten"),
)
# Words around an answer that do not change it ("the outer ankle", "2 days ago", "it's mild");
# tried only when the whole text is not an answer, and each only at its own end of the text.
FILLER_BEFORE = (
    N_("it's"),
    N_("it is"),
    N_("its"),
    N_("i'd say"),
    N_("about"),
    N_("around"),
    N_("roughly"),
    N_("on the"),
    N_("at the"),
    N_("in the"),
    N_("the"),
    N_("my"),
    N_("a bit"),
)
FILLER_AFTER = (
    N_("ago"),
    N_("of the ankle"),
    N_("of my ankle"),
    N_("ankle"),
    N_("side"),
    N_("thanks"),
    N_("please"),
)


def untranslated(message_id: str) -> str:
    """English, the language the words are written in: every word stands for itself."""
    return message_id


def with_digits(text: str, translate: Translate = untranslated) -> str:
    """Normalised text with whole number words ("seven", or the runner's "sieben") as digits."""
    numbers: dict[str, str] = {}
    for value, word in enumerate(NUMBER_WORDS):
        numbers[word] = str(value)
        numbers[normalise(translate(word))] = str(value)
    return " ".join(numbers.get(word, word) for word in normalise(text).split(" "))


def without_filler(text: str, translate: Translate = untranslated) -> str:
    """Normalised text without the filler words at its start and end (see FILLER_BEFORE)."""
    text = normalise(text)
    # Another language may put a filler word at the other end ("2 days ago" is "vor 2 Tagen" in
    # German), so the runner's own filler words are tried at both ends.
    spoken = (
        {normalise(translate(w)) for w in (*FILLER_BEFORE, *FILLER_AFTER)}
        if translate is not untranslated
        else set()
    )
    before = sorted(set(FILLER_BEFORE) | spoken, key=len)
    after = sorted(set(FILLER_AFTER) | spoken, key=len)
    changed = True
    while changed:
        changed = False
        for word in reversed(before):
            if text.startswith(word + " "):
                text, changed = text[len(word) + 1 :], True
        for word in reversed(after):
            if text.endswith(" " + word):
                text, changed = text[: -len(word) - 1], True
    return text


def parse_pain(text: str, translate: Translate = untranslated) -> str | None:
    """`7`, `7/10`, `7 / 10`, `7 out of 10` (or the runner's "7 von 10"), `seven` -> "7";
    anything outside 0-10 is not a pain score."""
    digits = with_digits(text, translate)
    for words in OUT_OF:
        for form in {words, normalise(translate(words))}:
            digits = re.sub(rf"(\d)\s+{re.escape(form)}\s+(10)$", r"\1/\2", digits)
    match = _PAIN.match(digits)
    if not match:
        return None
    value = int(match.group(1))
    return str(value) if PAIN_MIN <= value <= PAIN_MAX else None


# A typed duration ("2 days", "three weeks ago", "a couple of days", "more than 6 weeks", "last
# month"): how many days each unit is, and the words for "one", "two", "a few" and "more than".
DAYS_PER_UNIT = {
    N_("day"): 1,
    N_("days"): 1,
    N_("week"): 7,
    N_("weeks"): 7,
    N_("fortnight"): 14,
    N_("month"): 30,
    N_("months"): 30,
    N_("year"): 365,
    N_("years"): 365,
}
ONE_WORDS = (N_("a"), N_("an"), N_("last"), N_("past"))
COUPLE_WORDS = (N_("a couple of"), N_("a couple"), N_("couple of"), N_("last couple of"))
# "A few" is read as three (a common reading, a product rule rather than a measured one).
FEW_WORDS = (N_("a few"), N_("few"), N_("last few"), N_("past few"))
MORE_THAN_WORDS = (N_("more than"), N_("over"), N_("longer than"))
# The words above become tokens (#m, #2, #f) that typed text cannot hold (its # are dropped).
_DURATION = re.compile(r"^(?:(?P<more>#m)\s)?(?P<count>\d{1,3}|#f)\s(?P<unit>\S+)$")


def _phrases(words: tuple[str, ...], translate: Translate) -> list[str]:
    """The English words and the runner's, longest first (so "a couple of" beats "a")."""
    return sorted(
        {normalise(w) for w in words} | {normalise(translate(w)) for w in words}, key=len
    )[::-1]


def duration_in_days(text: str, translate: Translate = untranslated) -> int | None:
    """A typed time span in days ("3 weeks ago" -> 21, "more than 6 weeks" -> 43, "a couple of
    days" -> 2, "last month" -> 30); None when the text is not one."""
    text = without_filler(with_digits(text.replace("#", ""), translate), translate)
    for words, token in ((MORE_THAN_WORDS, "#m"), (COUPLE_WORDS, "2"), (FEW_WORDS, "#f")):
        for phrase in _phrases(words, translate):
            text = re.sub(rf"(^|\s){re.escape(phrase)}(\s|$)", rf"\g<1>{token}\g<2>", text)
    for phrase in _phrases(ONE_WORDS, translate):
        text = re.sub(rf"(^|\s){re.escape(phrase)}(\s)", r"\g<1>1\g<2>", text)
    match = _DURATION.match(text)
    if match is None:
        return None
    units = {normalise(w): d for w, d in DAYS_PER_UNIT.items()}
    units |= {normalise(translate(w)): d for w, d in DAYS_PER_UNIT.items()}
    unit = units.get(match.group("unit"))
    if unit is None:
        return None
    count = match.group("count")
    days = (3 if count == "#f" else int(count)) * unit
    return days + 1 if match.group("more") else days


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
        table = table_for(translate)
        found = table.get(normalise(text)) or table.get(without_filler(text, translate), set())
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
    N_("yes i do"),
    N_("i do"),
    N_("i have"),
    N_("i did"),
    N_("yup"),
    N_("yea"),
    N_("sure"),
    N_("true"),
)
_NO = (
    N_("n"),
    N_("nope"),
    N_("no it isn't"),
    N_("no i'm not"),
    N_("no i didn't"),
    N_("no i haven't"),
    N_("no i don't"),
    N_("i don't"),
    N_("i haven't"),
    N_("i didn't"),
    N_("nah"),
    N_("not really"),
    N_("none"),
    N_("false"),
)
UNSURE_WORDS = (
    N_("not sure"),
    N_("unsure"),
    N_("don't know"),
    N_("dont know"),
    N_("i don't know"),
    N_("no idea"),
    N_("i'm not sure"),
    N_("not certain"),
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
    return Question(step, template, choices, choice_parser(choices), field, 2, calm=YesNo.NO)


def choice_question(
    step: str, template: str, field: str, choices: tuple[Choice, ...], per_row: int = 1
) -> Question:
    return Question(step, template, choices, choice_parser(choices), field, per_row)


def pain_question(step: str, template: str, field: str, per_row: int = 6) -> Question:
    """A 0-10 pain score, as number buttons; typed "7", "7/10" or "7 out of 10" also count."""
    return Question(step, template, PAIN_CHOICES, parse_pain, field, per_row=per_row)


WEIGHT_BEARING_CHOICES = (
    Choice(
        WeightBearing.NORMAL,
        N_("Yes, without pain"),
        (
            N_("I walk normally, without pain"),
            N_("normal"),
            N_("normally"),
            N_("fine"),
            N_("i walk normally"),
            N_("i can walk normally"),
            N_("walking fine"),
            N_("no problem"),
        ),
    ),
    Choice(
        WeightBearing.PAINFUL,
        N_("Yes, with pain or a limp"),
        (
            N_("I can walk, but it hurts or I limp"),
            N_("hurts"),
            N_("limp"),
            N_("limping"),
            N_("painful"),
            N_("it hurts"),
            N_("i limp"),
            N_("i'm limping"),
            N_("with a limp"),
            N_("i can walk but it hurts"),
            N_("i can walk but limp"),
            N_("yes but it hurts"),
        ),
    ),
    Choice(
        WeightBearing.UNABLE,
        N_("No, I can't take 4 steps"),
        (
            N_("I can't take 4 steps"),
            N_("can't"),
            N_("cannot"),
            N_("unable"),
            N_("can't walk"),
            N_("i can't walk"),
            N_("i cannot walk"),
            N_("cannot walk"),
            N_("can't put weight on it"),
            N_("i can't put weight on it"),
            N_("no i can't"),
        ),
    ),
)
PAIN_CHOICES = tuple(Choice(str(n), str(n)) for n in range(PAIN_MIN, PAIN_MAX + 1))
MORNING_CHOICES = (
    Choice(
        Morning.SETTLED,
        N_("Settled by morning"),
        (
            N_("settled by the next morning"),
            N_("settled"),
            N_("fine"),
            N_("ok"),
            N_("yes"),
            N_("it settled"),
            N_("no worse"),
        ),
    ),
    Choice(
        Morning.WORSE,
        N_("Worse the next morning"),
        (N_("worse"), N_("no"), N_("stiff"), N_("stiffer"), N_("more pain"), N_("it was worse")),
    ),
    Choice(Morning.UNSURE, N_("Not sure yet"), UNSURE_WORDS),
)
