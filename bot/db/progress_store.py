"""A runner's progress as the /progress chart shows it, read from the database in one place.

`load_progress` gathers one runner's soreness scores, exercise days, plan phases, finished
assessments and balance programme into a frozen `ProgressData`, oldest first in each part;
`bot.progress_chart` turns that into a summary and a picture without touching the database. The
data types live here, the lower layer, so that both sides share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import programme_store
from bot.db.models import Assessment, Episode, ExerciseLog, PlanEvent, Runner, SorenessReport
from flows.profile import ProgrammeView
from flows.types import PhaseEventKey, PlanEventKind

# The kind of plan event that records a phase change (`flows.exercise_plan`).
PHASE_EVENT = PlanEventKind.PHASE


class SorenessPoint(NamedTuple):
    """One 0-10 soreness score, when it was given and how (a `SorenessSource` value)."""

    at: datetime
    value: int
    source: str


class ExerciseDay(NamedTuple):
    """What the runner said about one day's exercises (an `ExerciseResult` value)."""

    local_date: date
    result: str


class PhaseChange(NamedTuple):
    """From `at`, the runner's exercise plan was in `phase` (a `flows.types.Phase` value)."""

    at: datetime
    phase: int


class AssessmentMark(NamedTuple):
    """A finished assessment and its disposition code (such as "HOME_CARE")."""

    at: datetime
    disposition: str


@dataclass(frozen=True)
class ProgressData:
    """Everything the chart and its summary show about one runner, oldest first in each part.

    `zone` is the runner's IANA time zone ("UTC" until they choose one).
    """

    zone: str
    soreness: tuple[SorenessPoint, ...] = ()
    sessions: tuple[ExerciseDay, ...] = ()
    phase_changes: tuple[PhaseChange, ...] = ()
    assessments: tuple[AssessmentMark, ...] = ()
    # The runner's newest balance programme after recovery, for its adherence (not drawn).
    programme: ProgrammeView | None = None


def load_progress(session: Session, *, runner_id: int) -> ProgressData:
    """What the database holds about the runner's progress, oldest first.

    The plan's phases come from each episode (the phase it started in, at its creation) and the
    "phase" plan events (`{"from": ..., "to": ...}`) recorded at each change since. An episode
    with no phase event keeps the phase it is in now from its creation: episodes from before
    plan events were recorded have no other history.
    """
    zone = session.scalar(select(Runner.zone).where(Runner.id == runner_id)) or "UTC"
    soreness = session.execute(
        select(SorenessReport.at, SorenessReport.value, SorenessReport.source)
        .where(SorenessReport.runner_id == runner_id)
        .order_by(SorenessReport.at, SorenessReport.id)
    )
    sessions = session.execute(
        select(ExerciseLog.local_date, ExerciseLog.result)
        .where(ExerciseLog.runner_id == runner_id)
        .order_by(ExerciseLog.local_date)
    )
    assessments = session.execute(
        select(Assessment.completed_at, Assessment.disposition)
        .where(Assessment.runner_id == runner_id)
        .order_by(Assessment.completed_at, Assessment.id)
    )
    return ProgressData(
        zone=zone,
        soreness=tuple(SorenessPoint(*row) for row in soreness),
        sessions=tuple(ExerciseDay(*row) for row in sessions),
        phase_changes=_phase_changes(session, runner_id=runner_id),
        assessments=tuple(AssessmentMark(*row) for row in assessments),
        programme=programme_store.latest_programme(session, runner_id=runner_id),
    )


def _phase_changes(session: Session, *, runner_id: int) -> tuple[PhaseChange, ...]:
    episodes = session.execute(
        select(Episode.id, Episode.created_at, Episode.phase)
        .where(Episode.runner_id == runner_id)
        .order_by(Episode.created_at, Episode.id)
    ).all()
    events = session.execute(
        select(PlanEvent.episode_id, PlanEvent.at, PlanEvent.data)
        .where(PlanEvent.runner_id == runner_id, PlanEvent.kind == PHASE_EVENT)
        .order_by(PlanEvent.at, PlanEvent.id)
    ).all()
    changes = []
    for episode_id, created_at, phase in episodes:
        first = next((data for owner, _, data in events if owner == episode_id), None)
        started = first.get(PhaseEventKey.FROM, phase) if first is not None else phase
        changes.append(PhaseChange(created_at, int(started)))
    changes.extend(
        PhaseChange(at, data[PhaseEventKey.TO])
        for _, at, data in events
        if isinstance(data.get(PhaseEventKey.TO), int)
    )
    # Stable, starts first: a change at the very instant an episode opened still comes after it.
    return tuple(sorted(changes, key=lambda change: change.at))
