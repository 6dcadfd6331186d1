"""The question catalogue: every step of the triage dialog as data.

Each question names its template, the answers it offers (as buttons, in order) and how a typed
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
from enum import StrEnum

from flows.local_time import parse_local_time
from flows.types import Location, Onset, Started, Swelling, Trend, WeightBearing, YesNo
from flows.zones import COMMON_OFFSETS, resolve_zone, zones_for_offset


class Step(StrEnum):
    """One question of the dialog (value = the short id stored and carried in callback data)."""

    LOCATION = "loc"
    ONSET = "onset"
    STARTED = "start"
    TREND = "trend"
    SWELLING = "swell"
    WEIGHT_BEARING = "walk"
    PAIN = "pain"
    DEFORMITY = "e1"
    CIRCULATION = "e2"
    CRUNCH = "e9"
    POP = "e3pop"
    TIPTOE = "e3toe"
    FEVER = "e5fev"
    HOT_JOINT = "e5hot"
    CALF = "e6calf"
    CHEST = "e6chst"
    SEVERE_PAIN = "e7pain"
    TIGHT_CALF = "e7hard"
    BLEEDING = "e8"
    OTTAWA = "s1"
    BONE_SPOT = "s2"
    NIGHT_PAIN = "s3"
    GIVING_WAY = "s4"
    # A check-in (after an assessment): soreness, change, red-flag re-screen, exercises.
    CHECKIN_TREND = "c_trend"
    CHECKIN_FLAGS = "c_flags"
    CHECKIN_WALK = "c_walk"
    CHECKIN_CIRCULATION = "c_e2"
    CHECKIN_FEVER = "c_e5"
    CHECKIN_CALF = "c_e6c"
    CHECKIN_CHEST = "c_e6x"
    CHECKIN_SEVERE_PAIN = "c_e7p"
    CHECKIN_TIGHT_CALF = "c_e7h"
    CHECKIN_EXERCISES = "c_exd"
    CHECKIN_EXERCISE_PAIN = "c_exp"
    CHECKIN_MORNING = "c_exm"
    # A soreness report (/sore) and the reminder set-up (/reminders).
    SORENESS = "sore"
    ZONE = "zone"
    CITY = "city"
    REMINDER_TIME = "rtime"
    # Return to running: the five readiness checks, then logging a walk-run day.
    READY_WALK = "r_walk"
    READY_STAND = "r_stand"
    READY_SQUATS = "r_squat"
    READY_JOG = "r_jog"
    READY_HOPS = "r_hops"
    RUN_PAIN = "r_pain"
    RUN_MORNING = "r_morn"
    RUN_SWELLING = "r_swell"
    # Confirming /delete.
    CONFIRM_DELETE = "del"
    DONE = "done"


# The questions of the first assessment (the rest belong to check-ins, reports and set-up).
TRIAGE_STEPS = (
    frozenset(Step)
    - {s for s in Step if s.value.startswith(("c_", "r_"))}
    - {Step.SORENESS, Step.ZONE, Step.CITY, Step.REMINDER_TIME, Step.CONFIRM_DELETE, Step.DONE}
)


@dataclass(frozen=True, slots=True)
class Choice:
    """One offered answer: the stored value, the button label and extra words that mean it."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    step: Step
    template: str
    choices: tuple[Choice, ...]
    parse: Callable[[str], str | None]
    # How many buttons share a row on a phone screen.
    per_row: int = 1
    # Choices that depend on earlier answers and the time (the time-zone picker), else None.
    dynamic: Callable[[Mapping[str, str], datetime], tuple[Choice, ...]] | None = None

    def choices_for(self, answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
        return self.dynamic(answers, now) if self.dynamic is not None else self.choices


def _normalise(text: str) -> str:
    text = text.strip().lower().replace("’", "'")
    text = re.sub(r"[.!?,;:]+$", "", text)
    return re.sub(r"\s+", " ", text)


_PAIN = re.compile(r"^(?:pain\s*)?(\d{1,2})(?:\s*(?:/|out of|of)\s*10)?$")


def parse_pain(text: str) -> str | None:
    """`7`, `7/10`, `7 / 10`, `7 out of 10` -> "7"; anything outside 0-10 is not a pain score."""
    match = _PAIN.match(_normalise(text))
    if not match:
        return None
    value = int(match.group(1))
    return str(value) if 0 <= value <= 10 else None


def choice_parser(choices: tuple[Choice, ...]) -> Callable[[str], str | None]:
    """Match typed text to exactly one choice by value, label or alias; ambiguity gives None."""
    table: dict[str, set[str]] = {}
    for choice in choices:
        for word in (choice.value, choice.label, *choice.aliases):
            table.setdefault(_normalise(word), set()).add(choice.value)

    def parse(text: str) -> str | None:
        found = table.get(_normalise(text), set())
        return next(iter(found)) if len(found) == 1 else None

    return parse


_YES = ("y", "yeah", "yep", "yes it is", "yes i am", "yes i did", "yes i have", "i do", "true")
_NO = ("n", "nope", "no it isn't", "no i'm not", "no i didn't", "no i haven't", "none", "false")
_UNSURE = ("not sure", "unsure", "don't know", "dont know", "i don't know", "maybe", "?", "idk")


def yes_no(
    step: Step,
    template: str,
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
        Choice(YesNo.UNSURE, "Not sure", _UNSURE),
    )
    return Question(step, template, choices, choice_parser(choices), per_row=3)


def _choice_question(
    step: Step, template: str, choices: tuple[Choice, ...], per_row: int = 1
) -> Question:
    return Question(step, template, choices, choice_parser(choices), per_row)


_LOCATION = (
    Choice(Location.OUTSIDE, "Outside of the ankle", ("outside", "outer", "lateral", "out")),
    Choice(Location.INSIDE, "Inside of the ankle", ("inside", "inner", "medial", "in")),
    Choice(Location.BACK, "Back of the ankle / Achilles", ("back", "achilles", "behind")),
    Choice(Location.FRONT, "Front of the ankle", ("front", "top", "anterior")),
    Choice(Location.HEEL, "Heel or sole", ("heel", "sole", "bottom", "under")),
    Choice(Location.ALL_OVER, "All over", ("all over", "everywhere", "whole ankle", "all")),
)
_ONSET = (
    Choice(
        Onset.SUDDEN,
        "Suddenly (a twist, roll, fall, landing or pop)",
        ("sudden", "suddenly", "injury", "twist", "twisted", "rolled", "roll", "fall", "fell"),
    ),
    Choice(
        Onset.GRADUAL,
        "Gradually, building up over runs",
        ("gradual", "gradually", "slowly", "over time", "built up", "overuse"),
    ),
)
_STARTED = (
    Choice(Started.TODAY, "Today", ("today", "this morning", "tonight", "0")),
    Choice(Started.DAYS_1_2, "1-2 days ago", ("yesterday", "1 day", "2 days", "1-2 days")),
    Choice(Started.DAYS_3_4, "3-4 days ago", ("3 days", "4 days", "3-4 days")),
    Choice(Started.DAYS_5_10, "5-10 days ago", ("5-10 days", "a week", "1 week", "last week")),
    Choice(Started.DAYS_11_42, "11 days to 6 weeks ago", ("2 weeks", "3 weeks", "a month")),
    Choice(Started.OVER_6_WEEKS, "More than 6 weeks ago", ("months", "over 6 weeks", "ages")),
)
_TREND = (
    Choice(Trend.BETTER, "Getting better", ("better", "improving")),
    Choice(Trend.SAME, "About the same", ("same", "no change", "unchanged")),
    Choice(Trend.WORSE, "Getting worse", ("worse", "worsening")),
)
_SWELLING = (
    Choice(Swelling.NONE, "No swelling", ("none", "no", "not swollen")),
    Choice(Swelling.MILD, "A little swollen", ("mild", "a little", "slightly", "some", "little")),
    Choice(Swelling.MARKED, "Very swollen", ("marked", "very", "a lot", "very swollen", "lots")),
)
_WEIGHT_BEARING = (
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
_PAIN_CHOICES = tuple(Choice(str(n), str(n)) for n in range(11))
_CHANGE = (
    Choice(Trend.BETTER, "Better", ("better", "improving")),
    Choice(Trend.SAME, "About the same", ("same", "no change", "unchanged")),
    Choice(Trend.WORSE, "Worse", ("worse", "worsening")),
)
_EXERCISES = (
    Choice("all", "Yes, all of them", ("yes", "all", "done")),
    Choice("some", "Some of them", ("some", "partly", "a few")),
    Choice("none", "No", ("no", "none", "not done")),
)
_MORNING = (
    Choice("settled", "Settled by the next morning", ("settled", "fine", "ok", "yes")),
    Choice("worse", "Worse the next morning", ("worse", "no", "stiff")),
    Choice(YesNo.UNSURE, "Not sure yet", _UNSURE),
)
_REMINDER_TIMES = (
    *(Choice(t, t) for t in ("07:00", "08:00", "12:30", "18:00", "20:00")),
    Choice("off", "No daily reminder", ("off", "no", "none", "no thanks", "stop")),
)
_READINESS = (
    Choice("pass", "Yes: pain 2/10 or less, no worse next morning", ("yes", "pass", "passed")),
    Choice("fail", "No: it hurt more than that", ("no", "fail", "failed", "hurt")),
    Choice("untried", "Haven't tried yet", ("not tried", "untried", "haven't tried", "not yet")),
)
_CONFIRM = (
    Choice("yes", "Yes, delete everything", ("yes", "delete", "yes delete")),
    Choice("no", "No, keep my data", ("no", "keep", "cancel")),
)
_CITY_NAME = re.compile(r"^[^/]+/")


def city_label(zone: str) -> str:
    """A zone as people know it: "America/New_York" -> "New York"."""
    return _CITY_NAME.sub("", zone).split("/")[-1].replace("_", " ")


def offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_choices(answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
    """One button per common UTC offset in use now, named after two cities that have it."""
    choices = []
    for minutes in COMMON_OFFSETS:
        cities = zones_for_offset(minutes, at=now, limit=2)
        if cities:
            names = ", ".join(city_label(z) for z in cities)
            choices.append(Choice(f"o{minutes}", f"{offset_label(minutes)} ({names})"))
    return tuple(choices)


def city_choices(answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
    """The zones sharing the offset the runner picked, as city buttons."""
    picked = answers.get(Step.ZONE.value, "o0")
    minutes = int(picked[1:]) if picked.startswith("o") else 0
    return tuple(Choice(z, city_label(z)) for z in zones_for_offset(minutes, at=now, limit=6))


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def parse_zone(text: str) -> str | None:
    """A typed city or zone name -> "z<zone>"; a typed offset such as "UTC+1" -> "o60"."""
    cleaned = _normalise(text)
    match = _OFFSET.match(cleaned)
    if match:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return f"o{-minutes if match.group(1) == '-' else minutes}"
    if cleaned in {"utc", "gmt"}:
        return "zUTC"
    zone = resolve_zone(text)
    return f"z{zone}" if zone else None


def parse_city(text: str) -> str | None:
    return resolve_zone(text)


def parse_reminder_time(text: str) -> str | None:
    parsed = parse_local_time(text)
    if parsed is not None:
        return parsed.strftime("%H:%M")
    return choice_parser(_REMINDER_TIMES)(text)


QUESTIONS: dict[Step, Question] = {
    q.step: q
    for q in (
        _choice_question(Step.LOCATION, "triage/ask_location.j2", _LOCATION),
        _choice_question(Step.ONSET, "triage/ask_onset.j2", _ONSET),
        _choice_question(Step.STARTED, "triage/ask_started.j2", _STARTED, per_row=2),
        _choice_question(Step.TREND, "triage/ask_trend.j2", _TREND, per_row=3),
        _choice_question(Step.SWELLING, "triage/ask_swelling.j2", _SWELLING, per_row=3),
        _choice_question(Step.WEIGHT_BEARING, "triage/ask_weight_bearing.j2", _WEIGHT_BEARING),
        Question(Step.PAIN, "triage/ask_pain.j2", _PAIN_CHOICES, parse_pain, per_row=6),
        yes_no(Step.DEFORMITY, "triage/ask_deformity.j2"),
        yes_no(Step.CIRCULATION, "triage/ask_circulation.j2"),
        yes_no(Step.CRUNCH, "triage/ask_crunch.j2"),
        yes_no(Step.POP, "triage/ask_pop.j2"),
        # Phrased as "I can't" so that the worrying answer is still the first, "yes" button.
        yes_no(
            Step.TIPTOE,
            "triage/ask_tiptoe.j2",
            yes="I can't",
            no="I can",
            yes_aliases=("can't", "cannot", "i cannot", "unable"),
            no_aliases=("can", "i can", "able"),
        ),
        yes_no(Step.FEVER, "triage/ask_fever.j2"),
        yes_no(Step.HOT_JOINT, "triage/ask_hot_joint.j2"),
        yes_no(Step.CALF, "triage/ask_calf.j2"),
        yes_no(Step.CHEST, "triage/ask_chest.j2"),
        yes_no(Step.SEVERE_PAIN, "triage/ask_severe_pain.j2"),
        yes_no(Step.TIGHT_CALF, "triage/ask_tight_calf.j2"),
        yes_no(Step.BLEEDING, "triage/ask_bleeding.j2"),
        yes_no(Step.OTTAWA, "triage/ask_ottawa.j2"),
        yes_no(Step.BONE_SPOT, "triage/ask_bone_spot.j2"),
        yes_no(Step.NIGHT_PAIN, "triage/ask_night_pain.j2"),
        yes_no(Step.GIVING_WAY, "triage/ask_giving_way.j2"),
        # Check-ins re-use the red-flag questions of the triage where they ask the same thing.
        _choice_question(Step.CHECKIN_TREND, "care/ask_checkin_trend.j2", _CHANGE, per_row=3),
        yes_no(
            Step.CHECKIN_FLAGS,
            "care/ask_checkin_flags.j2",
            yes="Yes, at least one",
            no="None of these",
            no_aliases=("none of these", "none"),
        ),
        _choice_question(Step.CHECKIN_WALK, "triage/ask_weight_bearing.j2", _WEIGHT_BEARING),
        yes_no(Step.CHECKIN_CIRCULATION, "triage/ask_circulation.j2"),
        yes_no(Step.CHECKIN_FEVER, "triage/ask_fever.j2"),
        yes_no(Step.CHECKIN_CALF, "triage/ask_calf.j2"),
        yes_no(Step.CHECKIN_CHEST, "triage/ask_chest.j2"),
        yes_no(Step.CHECKIN_SEVERE_PAIN, "triage/ask_severe_pain.j2"),
        yes_no(Step.CHECKIN_TIGHT_CALF, "triage/ask_tight_calf.j2"),
        _choice_question(Step.CHECKIN_EXERCISES, "care/ask_exercises_done.j2", _EXERCISES),
        Question(
            Step.CHECKIN_EXERCISE_PAIN,
            "care/ask_exercise_pain.j2",
            _PAIN_CHOICES,
            parse_pain,
            per_row=6,
        ),
        _choice_question(Step.CHECKIN_MORNING, "care/ask_morning.j2", _MORNING),
        Question(Step.SORENESS, "care/ask_soreness.j2", _PAIN_CHOICES, parse_pain, per_row=6),
        Question(Step.ZONE, "care/ask_zone.j2", (), parse_zone, per_row=2, dynamic=zone_choices),
        Question(Step.CITY, "care/ask_city.j2", (), parse_city, per_row=2, dynamic=city_choices),
        Question(
            Step.REMINDER_TIME,
            "care/ask_reminder_time.j2",
            _REMINDER_TIMES,
            parse_reminder_time,
            per_row=3,
        ),
        *(
            _choice_question(step, "plan/ask_readiness.j2", _READINESS)
            for step in (
                Step.READY_WALK,
                Step.READY_STAND,
                Step.READY_SQUATS,
                Step.READY_JOG,
                Step.READY_HOPS,
            )
        ),
        Question(Step.RUN_PAIN, "plan/ask_run_pain.j2", _PAIN_CHOICES, parse_pain, per_row=6),
        _choice_question(Step.RUN_MORNING, "care/ask_morning.j2", _MORNING),
        yes_no(Step.RUN_SWELLING, "plan/ask_run_swelling.j2"),
        _choice_question(Step.CONFIRM_DELETE, "plan/ask_delete.j2", _CONFIRM),
    )
}
