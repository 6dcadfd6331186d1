"""What the /summary PDF for a clinician shows, read from the database in one place.

`load_summary` gathers the runner's first name, their latest finished assessment (the answers
as stored, the disposition, the rules that fired and the rules version, the care path), the
plan phase and exercise days of the episode that assessment opened, and the runner's progress
(`progress_store.load_progress`, for the soreness chart and the balance programme) into a
frozen `SummaryData`; `bot.summary_pdf` turns that into a page without touching the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import progress_store
from bot.db.models import Assessment, Episode, ExerciseLog, Runner
from bot.db.progress_store import ExerciseDay, ProgressData


@dataclass(frozen=True)
class AssessmentRecord:
    """A finished assessment as it was stored: answers by step id, codes and values."""

    completed_at: datetime
    answers: Mapping[str, str]
    disposition: str  # a `Disposition.code`, such as "SEE_CLINICIAN"
    reasons: tuple[str, ...]
    rules_version: str
    care_path: str  # a `CarePath` value


@dataclass(frozen=True)
class PlanRecord:
    """The episode the assessment opened: its disposition, phase and exercise days."""

    disposition: str  # a `Disposition.code`; /cleared turns a clinician's episode into a plan
    phase: int
    started_at: datetime
    days: tuple[ExerciseDay, ...] = ()


@dataclass(frozen=True)
class SummaryData:
    """Everything the summary shows about one runner (`assessment` None: none finished yet)."""

    first_name: str | None
    zone: str
    assessment: AssessmentRecord | None
    plan: PlanRecord | None
    progress: ProgressData


def load_summary(session: Session, *, runner_id: int) -> SummaryData:
    runner = session.get(Runner, runner_id)
    first_name = runner.first_name if runner is not None else None
    progress = progress_store.load_progress(session, runner_id=runner_id)
    row = session.scalars(
        select(Assessment)
        .where(Assessment.runner_id == runner_id)
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return SummaryData(first_name, progress.zone, None, None, progress)
    assessment = AssessmentRecord(
        completed_at=row.completed_at,
        answers=dict(row.answers or {}),
        disposition=row.disposition,
        reasons=tuple(row.reasons or ()),
        rules_version=row.rules_version,
        care_path=row.care_path,
    )
    return SummaryData(
        first_name, progress.zone, assessment, _plan(session, assessment_id=row.id), progress
    )


def _plan(session: Session, *, assessment_id: int) -> PlanRecord | None:
    episode = session.scalars(
        select(Episode).where(Episode.assessment_id == assessment_id).limit(1)
    ).one_or_none()
    if episode is None:
        return None
    days = session.execute(
        select(ExerciseLog.local_date, ExerciseLog.result)
        .where(ExerciseLog.episode_id == episode.id)
        .order_by(ExerciseLog.local_date)
    )
    return PlanRecord(
        disposition=episode.disposition,
        phase=episode.phase,
        started_at=episode.created_at,
        days=tuple(ExerciseDay(*day) for day in days),
    )
