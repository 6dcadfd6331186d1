"""The data a conversation is made of: its stored state, the events that move it, and outcomes.

Plain frozen dataclasses shared by the dialog (`flows.dialog`), the follow-up logic
(`flows.care`) and the adapters. An `Outcome` says everything that should happen after one
event: the state to store, the replies to send, and the side effects (`Effect`: an assessment
to record and the episode it opens, soreness to record, messages to schedule or cancel,
settings to change) that the adapter applies, in order, in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flows.rules import Decision
from flows.types import DONE, Button, Disposition, FlowName, Reply


@dataclass(frozen=True, slots=True)
class DialogState:
    """Where a runner is: the flow and step, answers so far, steps asked before, and a version.

    `version` increases with every stored change; buttons carry it, so a button from an earlier
    question (or a double tap) is recognised as stale and changes nothing. `flow` comes last,
    with a default, because the flows build states positionally.
    """

    step: str
    answers: Mapping[str, str] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    version: int = 0
    started_at: datetime | None = None
    # The dialog this conversation is in (its steps are that flow's step enum, or DONE).
    flow: FlowName = FlowName.TRIAGE

    @property
    def active(self) -> bool:
        return self.step != DONE


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartAssessment:
    """/start (with the introduction) or /new (without)."""

    intro: bool = False


@dataclass(frozen=True, slots=True)
class CancelAssessment:
    pass


@dataclass(frozen=True, slots=True)
class ChooseAnswer:
    """A button press: the step and value it was made for, and the version it was shown at."""

    step: str
    value: str
    version: int


@dataclass(frozen=True, slots=True)
class Navigate:
    """A Back or Start over button (action "back" or "restart")."""

    action: str
    version: int


@dataclass(frozen=True, slots=True)
class TypedText:
    text: str


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something we cannot read: a sticker, photo, voice note, edit, unknown command, bad button."""

    kind: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Show where the runner is (the terminal chat opening): the current question, or begin."""


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """/help or /about: a reply that changes nothing."""

    topic: str


@dataclass(frozen=True, slots=True)
class StartCheckIn:
    """A soreness button on a check-in message (the check-in's first answer)."""

    message_id: int
    soreness: int


@dataclass(frozen=True, slots=True)
class AnswerSeenCheck:
    """ "Were you seen?" answered on a seen-check message."""

    message_id: int
    seen: bool


@dataclass(frozen=True, slots=True)
class LogExercise:
    """Done / Skipped / Too sore on a daily reminder for `local_date`."""

    local_date: date
    result: str


@dataclass(frozen=True, slots=True)
class ShowExercise:
    """A how-to button: show one exercise of the library."""

    exercise_id: str


@dataclass(frozen=True, slots=True)
class Command:
    """A follow-up command: sore, reminders, pause, resume, stop, status."""

    name: str
    argument: str = ""


Event = (
    ShowExercise
    | StartCheckIn
    | AnswerSeenCheck
    | LogExercise
    | Command
    | Resume
    | StartAssessment
    | CancelAssessment
    | ChooseAnswer
    | Navigate
    | TypedText
    | Unreadable
    | ShowInfo
)


# --- side effects the adapter applies in the same transaction ------------------------------


@dataclass(frozen=True, slots=True)
class RecordAssessment:
    """Keep a finished triage: the answers and what the rules decided."""

    answers: Mapping[str, str]
    decision: Decision
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


@dataclass(frozen=True, slots=True)
class ScheduleMessage:
    """Send a follow-up of `kind` at `due_at`; `key` makes scheduling it twice a no-op."""

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
    source: str  # a `flows.types.SorenessSource` value


@dataclass(frozen=True, slots=True)
class RecordCheckIn:
    at: datetime
    answers: Mapping[str, str]
    soreness: int
    trend: str
    verdict: str


@dataclass(frozen=True, slots=True)
class RecordExercise:
    local_date: date
    result: str
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
    kind: str  # "phase", "readiness" or "run"
    data: Mapping[str, Any]


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
)


@dataclass(frozen=True, slots=True)
class Outcome:
    state: DialogState | None = None
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()


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
    pain_at_assessment: int
    phase: int
    status: str
    reasons: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    check_ins: tuple[CheckInView, ...] = ()


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


def event_for_button(button: Button, version: int) -> Event | None:
    """The event a pressed button stands for (None when its values do not parse)."""
    try:
        match button.action:
            case "answer":
                return ChooseAnswer(step=button.step, value=button.value, version=version)
            case "back" | "restart":
                return Navigate(action=button.action, version=version)
            case "checkin":
                soreness = int(button.value)
                if not 0 <= soreness <= 10:
                    return None
                return StartCheckIn(message_id=int(button.step), soreness=soreness)
            case "seen" if button.value in ("y", "n"):
                return AnswerSeenCheck(message_id=int(button.step), seen=button.value == "y")
            case "howto" if button.value:
                return ShowExercise(exercise_id=button.value)
            case "exercise" if button.value in EXERCISE_RESULTS:
                day = _button_date(button.step)
                return LogExercise(local_date=day, result=EXERCISE_RESULTS[button.value])
    except ValueError:
        return None
    return None


# Exactly the form reminder buttons carry; `date.fromisoformat` would take other forms too.
_BUTTON_DATE = re.compile(r"[0-9]{8}")


def _button_date(text: str) -> date:
    """A YYYYMMDD date from a button (ValueError for anything else). Whether the runner may log
    that day is for `flows.care.log_exercise` to judge."""
    if not _BUTTON_DATE.fullmatch(text):
        raise ValueError(f"not a YYYYMMDD date: {text!r}")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


EXERCISE_RESULTS = {"d": "done", "s": "skipped", "t": "too_sore"}
