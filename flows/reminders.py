"""`/reminders`: the runner's time zone (an offset, then a city) and daily reminder time.

Zones are offered as the UTC offsets in use now, each named after two cities that have it, then
the cities sharing the picked offset; a typed city, zone or offset is read too. The set-up ends by
storing the settings and planning the next reminder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows import prevention
from flows.effects import CancelMessages, ChangeSettings, Effect, Outcome
from flows.flow import Flow, Route, question_reply
from flows.follow_up_schedule import next_reminder
from flows.local_time import FollowUpKind, parse_local_time
from flows.profile import Profile
from flows.questions import (
    Choice,
    Question,
    Translate,
    choice_parser,
    normalise,
    untranslated,
)
from flows.replies import info
from flows.state import DialogState
from flows.types import BUTTON_LABEL_LIMIT, DONE, FlowName
from flows.words import N_
from flows.zones import common_offsets, resolve_zone, zones_for_offset


class ReminderStep(StrEnum):
    ZONE = "zone"
    CITY = "city"
    TIME = "rtime"


@dataclass(frozen=True, slots=True)
class ReminderAnswers:
    # "o<minutes>" (an offset, a city to pick next) or "z<zone>" (a typed zone)
    zone_choice: str | None = None
    city: str | None = None
    reminder_time: str | None = None


def picked_an_offset(a: ReminderAnswers) -> bool:
    """An offset has several cities to choose from; a typed city is already a zone."""
    return (a.zone_choice or "").startswith("o")


ROUTES: tuple[Route, ...] = (
    (ReminderStep.ZONE, ReminderStep.CITY, picked_an_offset),
    (ReminderStep.ZONE, ReminderStep.TIME, None),
    (ReminderStep.CITY, ReminderStep.TIME, None),
    (ReminderStep.TIME, DONE, None),
)


def finish(state: DialogState, profile: Profile, now: datetime) -> Outcome:
    """The time zone and reminder time are chosen: store them and (re)plan the reminders."""
    answers = FLOW.answers(state.answers)
    choice = answers.zone_choice or ""
    zone = answers.city or (choice[1:] if choice.startswith("z") else profile.zone or "UTC")
    reminder_time = None if answers.reminder_time == "off" else answers.reminder_time
    updated = replace(profile, zone=zone, reminder_time=reminder_time, reminders_paused=False)
    effects: list[Effect] = [
        ChangeSettings({"zone": zone, "reminder_time": reminder_time, "reminders_paused": False}),
        CancelMessages((FollowUpKind.REMINDER, FollowUpKind.PROGRAMME)),
    ]
    follow = next_reminder(updated, after=now)
    if follow is not None:
        effects.append(follow)
    # The balance programme's session days move to the new time (or stop) too.
    session = prevention.next_programme_reminder(updated, after=now)
    if session is not None:
        effects.append(session)
    context = {
        "zone": zone,
        "reminder_time": reminder_time,
        "next_at": follow.due_at if follow else None,
        "has_plan": follow is not None,
        "programme_next_at": session.due_at if session and not session.payload["end"] else None,
    }
    return Outcome(
        state=state,
        effects=tuple(effects),
        replies=(info("care/reminders_set.j2", **context),),
    )


def start_setup(state: DialogState | None, profile: Profile, *, now: datetime) -> Outcome:
    fresh = FLOW.start(state, now=now)
    intro = info(
        "care/reminders_intro.j2",
        zone=profile.zone,
        reminder_time=profile.reminder_time,
        paused=profile.reminders_paused,
    )
    return Outcome(state=fresh, replies=(intro, question_reply(fresh, now=now)))


_REMINDER_TIMES = (
    *(Choice(t, t) for t in ("07:00", "08:00", "12:30", "18:00", "20:00")),
    Choice(
        "off",
        N_("No daily reminder"),
        (N_("off"), N_("no"), N_("none"), N_("no thanks"), N_("stop")),
    ),
)


_parse_reminder_choice = choice_parser(_REMINDER_TIMES)
_CITY_NAME = re.compile(r"^[^/]+/")


def city_label(zone: str) -> str:
    """A zone as people know it: "America/New_York" -> "New York"."""
    return _CITY_NAME.sub("", zone).split("/")[-1].replace("_", " ")


def offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_choices(answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
    """One button per common UTC offset in use now, named after up to two cities that have it,
    as many as fit a phone's button ("UTC+1 (Paris, Berlin)", "UTC+10 (Brisbane)")."""
    choices = []
    for minutes in common_offsets():
        cities = [city_label(z) for z in zones_for_offset(minutes, at=now, limit=2)]
        if cities:
            labels = [f"{offset_label(minutes)} ({', '.join(cities[:n])})" for n in (2, 1)]
            fitting = [label for label in labels if len(label) <= BUTTON_LABEL_LIMIT]
            choices.append(Choice(f"o{minutes}", fitting[0] if fitting else offset_label(minutes)))
    return tuple(choices)


def city_choices(answers: Mapping[str, str], now: datetime) -> tuple[Choice, ...]:
    """The zones sharing the offset the runner picked, as city buttons."""
    picked = answers.get(ReminderStep.ZONE, "o0")
    minutes = int(picked[1:]) if picked.startswith("o") else 0
    return tuple(Choice(z, city_label(z)) for z in zones_for_offset(minutes, at=now, limit=6))


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def parse_zone(text: str, translate: Translate = untranslated) -> str | None:
    """A typed city or zone name -> "z<zone>"; a typed offset such as "UTC+1" -> "o60"."""
    # A button's own label names example cities after the offset: "UTC+1 (Paris, Berlin)".
    cleaned = re.sub(r"\s*\(.*\)$", "", normalise(text))
    match = _OFFSET.match(cleaned)
    if match:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return f"o{-minutes if match.group(1) == '-' else minutes}"
    if cleaned in {"utc", "gmt"}:
        return "zUTC"
    zone = resolve_zone(text)
    return f"z{zone}" if zone else None


def parse_city(text: str, translate: Translate = untranslated) -> str | None:
    return resolve_zone(text)


def parse_reminder_time(text: str, translate: Translate = untranslated) -> str | None:
    parsed = parse_local_time(text)
    if parsed is not None:
        return parsed.strftime("%H:%M")
    return _parse_reminder_choice(text, translate)


QUESTIONS: dict[str, Question] = {
    q.step: q
    for q in (
        Question(
            ReminderStep.ZONE,
            "care/ask_zone.j2",
            (),
            parse_zone,
            "zone_choice",
            per_row=2,
            dynamic=zone_choices,
        ),
        Question(
            ReminderStep.CITY,
            "care/ask_city.j2",
            (),
            parse_city,
            "city",
            per_row=2,
            dynamic=city_choices,
        ),
        Question(
            ReminderStep.TIME,
            "care/ask_reminder_time.j2",
            _REMINDER_TIMES,
            parse_reminder_time,
            "reminder_time",
            per_row=3,
        ),
    )
}

FLOW = Flow(
    name=FlowName.REMINDERS,
    steps=ReminderStep,
    first=ReminderStep.ZONE,
    questions=QUESTIONS,
    routes=ROUTES,
    answers_type=ReminderAnswers,
    answer_keys={step: q.field for step, q in QUESTIONS.items()},
    finish=finish,
)
