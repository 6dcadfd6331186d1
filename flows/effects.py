"""What should happen after one event: an `Outcome` holds the state to store, the replies to send
and the side effects (`Effect`: an assessment to record and the episode it opens, soreness to
record, messages to schedule or cancel, settings to change) that the adapter applies, in order,
in the same transaction as the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flows.care_paths import PathChoice
from flows.rules import Decision
from flows.state import DialogState
from flows.types import (
    CarePath,
    Disposition,
    ExerciseResult,
    Phase,
    PlanEventKind,
    Reply,
    SorenessSource,
)

# --- side effects the adapter applies in the same transaction ------------------------------


@dataclass(frozen=True, slots=True)
class RecordAssessment:
    """Keep a finished triage: the answers, what the rules decided and the care path."""

    answers: Mapping[str, str]
    decision: Decision
    path: PathChoice
    started_at: datetime
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class OpenEpisode:
    """Start following up the assessment recorded by the `RecordAssessment` before it in the
    same effects (the runner's previous active episode is closed); the effects after it belong
    to the new episode."""

    disposition: Disposition
    location: str
    pain_at_assessment: int
    assessed_at: datetime
    care_path: CarePath
    phase: Phase = Phase.MOBILITY


@dataclass(frozen=True, slots=True)
class ScheduleMessage:
    """Send a follow-up of `kind` at `due_at`; `key` makes scheduling it twice a no-op.

    The one type of a follow-up from the flow to the store: an event's effects and a due
    message's next ones (`flows.due_messages.Due.follow_ups`) are both kept as they are."""

    kind: str
    due_at: datetime
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CancelMessages:
    """Cancel the runner's pending follow-ups of these kinds (all kinds when empty)."""

    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordSoreness:
    at: datetime
    value: int
    source: SorenessSource


@dataclass(frozen=True, slots=True)
class RecordCheckIn:
    at: datetime
    answers: Mapping[str, str]
    soreness: int
    trend: str  # a `flows.types.Trend` value, "" for a seen-check
    verdict: str  # a `flows.checkin_rules.Verdict` value


@dataclass(frozen=True, slots=True)
class RecordExercise:
    local_date: date
    result: ExerciseResult
    at: datetime


@dataclass(frozen=True, slots=True)
class ChangeSettings:
    """Runner settings to change (only the keys given): zone, reminder_time,
    reminders_paused, followups_stopped."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChangeEpisode:
    """Changes to the runner's active episode: status, disposition, phase, resolved_at."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RecordPlanEvent:
    at: datetime
    kind: PlanEventKind
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StartProgramme:
    """The runner opted in to the balance programme after recovery; session 1 is `first_day`
    (their local date). Any earlier programme of theirs is stopped."""

    at: datetime
    first_day: date


@dataclass(frozen=True, slots=True)
class StopProgramme:
    """The runner stopped their active balance programme."""

    at: datetime


@dataclass(frozen=True, slots=True)
class RecordProgrammeSession:
    """A balance programme session's result for one local day (a second answer replaces it)."""

    local_date: date
    result: ExerciseResult
    at: datetime


@dataclass(frozen=True, slots=True)
class DeleteEverything:
    """Erase every row of the runner (after they confirmed /delete)."""


Effect = (
    RecordAssessment
    | OpenEpisode
    | RecordPlanEvent
    | DeleteEverything
    | ScheduleMessage
    | CancelMessages
    | RecordSoreness
    | RecordCheckIn
    | RecordExercise
    | ChangeSettings
    | ChangeEpisode
    | StartProgramme
    | StopProgramme
    | RecordProgrammeSession
)


@dataclass(frozen=True, slots=True)
class Outcome:
    state: DialogState | None = None
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
