"""A runner's balance programme after recovery, in the database (`flows.prevention`).

Starting a programme stops any that still runs (at most one runs per runner, which a partial
unique index also enforces); a session day's result is one row per programme and local date,
a second answer replacing the first. `latest_programme` gives the flows' `ProgrammeView` of
the runner's newest programme, with the session days logged so far.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.built import dialect_insert
from bot.db.models import Programme, ProgrammeSession
from flows.profile import ProgrammeView
from flows.types import ProgrammeStatus


def running_programme(session: Session, *, runner_id: int) -> Programme | None:
    return session.scalars(
        select(Programme).where(
            Programme.runner_id == runner_id, Programme.status == ProgrammeStatus.ACTIVE.value
        )
    ).one_or_none()


def stop_programme(session: Session, *, runner_id: int, now: datetime) -> bool:
    """Stop the runner's running programme; False when none runs."""
    result = session.execute(
        update(Programme)
        .where(Programme.runner_id == runner_id, Programme.status == ProgrammeStatus.ACTIVE.value)
        .values(status=ProgrammeStatus.STOPPED.value, ended_at=now, updated_at=now)
    )
    return result.rowcount > 0


def start_programme(
    session: Session,
    *,
    runner_id: int,
    episode_id: int | None,
    first_day: date,
    started_at: datetime,
) -> Programme:
    """Start a programme (any that still runs is stopped first)."""
    stop_programme(session, runner_id=runner_id, now=started_at)
    session.flush()
    programme = Programme(
        runner_id=runner_id,
        episode_id=episode_id,
        status=ProgrammeStatus.ACTIVE.value,
        first_day=first_day,
        started_at=started_at,
        updated_at=started_at,
    )
    session.add(programme)
    session.flush()
    return programme


def record_session(
    session: Session, *, runner_id: int, local_date: date, result: str, at: datetime
) -> ProgrammeSession | None:
    """Log a session day's result for the running programme (None when none runs)."""
    programme = running_programme(session, runner_id=runner_id)
    if programme is None:
        return None
    fields = {"result": result, "at": at}
    statement = (
        dialect_insert(session, ProgrammeSession)
        .values(runner_id=runner_id, programme_id=programme.id, local_date=local_date, **fields)
        .on_conflict_do_update(index_elements=["programme_id", "local_date"], set_=fields)
        .returning(ProgrammeSession)
    )
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def latest_programme(session: Session, *, runner_id: int) -> ProgrammeView | None:
    """The runner's newest programme as the flows see it, with its logged days."""
    row = session.scalars(
        select(Programme)
        .where(Programme.runner_id == runner_id)
        .order_by(Programme.started_at.desc(), Programme.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    days = session.execute(
        select(ProgrammeSession.local_date, ProgrammeSession.result)
        .where(ProgrammeSession.programme_id == row.id)
        .order_by(ProgrammeSession.local_date)
    ).all()
    return ProgrammeView(
        started_at=row.started_at,
        first_day=row.first_day,
        status=row.status,
        sessions=tuple((d, r) for d, r in days),
    )
