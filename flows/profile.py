"""What the flows know about a runner when an event comes: their settings, the current episode
with its check-ins, recent soreness, what is scheduled and which follow-ups reached them.

The adapter loads a `Profile` (`bot.db.profile_store`) before the event is applied; the flows
never read the database themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flows.types import CarePath, Disposition

# --- what the follow-up logic needs to know about a runner ----------------------------------


@dataclass(frozen=True, slots=True)
class CheckInView:
    at: datetime
    soreness: int
    trend: str
    exercises_done: bool | None = None  # None: no exercise questions at that check-in
    exercise_pain: int | None = None
    morning_worse: bool | None = None
    walking: str | None = None  # the weight-bearing answer, when that check-in asked it


@dataclass(frozen=True, slots=True)
class PlanEventView:
    """One event of the plan's history: a phase change, a readiness check or a run day."""

    at: datetime
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EpisodeView:
    """The runner's current episode: the assessment that opened it and how it is going."""

    assessed_at: datetime
    disposition: Disposition
    location: str
    care_path: CarePath
    pain_at_assessment: int
    phase: int
    status: str
    # The rule codes behind the current advice: the assessment's, or those of a check-in
    # that changed it since (`flows.checkin.advice_reasons`).
    reasons: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    check_ins: tuple[CheckInView, ...] = ()


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    """The runner's latest balance programme after recovery (`flows.prevention`)."""

    started_at: datetime
    first_day: date  # the runner's local date of session 1
    status: str  # a `flows.prevention.ProgrammeStatus` value
    # The days logged so far, oldest first, each with an `ExerciseResult` value.
    sessions: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """A snapshot of the runner, loaded by the adapter before the event is applied."""

    runner_id: int = 0
    zone: str | None = None
    reminder_time: str | None = None
    reminders_paused: bool = False
    followups_stopped: bool = False
    episode: EpisodeView | None = None
    soreness: tuple[tuple[datetime, int], ...] = ()
    upcoming: tuple[tuple[str, datetime], ...] = ()
    unanswered_checkins: int = 0
    answered_messages: frozenset[int] = frozenset()
    # The newest check-in message sent and not yet answered (a typed "4/10" answers it).
    open_check_in: int | None = None
    # The check-in and seen-check messages of the current episode that went out to the runner
    # (or may have): only these can be answered. Buttons carry message ids, and anyone can
    # forge a button, so any other id is stale.
    sent_check_ins: frozenset[int] = frozenset()
    sent_seen_checks: frozenset[int] = frozenset()
    plan_events: tuple[PlanEventView, ...] = ()
    programme: ProgrammeView | None = None
    # The languages the bot ships (English first) and the one the runner chose with /language
    # (None: Telegram's); the adapter fills them in.
    languages: tuple[str, ...] = ("en",)
    language: str | None = None
