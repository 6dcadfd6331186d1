"""The balance programme's rows (bot.db.programme_store) on SQLite and PostgreSQL: one running
programme per runner, stopping, a session day upserted, the flows' view of the newest
programme, the check constraints, and the effects that drive them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.db import effects_store, programme_store
from bot.db.database import Database
from bot.db.models import Programme, ProgrammeSession
from flows.effects import RecordProgrammeSession, StartProgramme, StopProgramme
from flows.types import ExerciseResult, ProgrammeStatus
from tests.bot.runners import make_runner

NOW = datetime(2026, 3, 16, 17, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 3, 16)


def new_runner(db: Database, chat_id: int = 42) -> int:
    return db.run_sync(make_runner, chat_id=chat_id, user_id=None, first_name=None, now=NOW).id


def apply(db: Database, runner_id: int, *effects) -> None:
    db.run_sync(effects_store.apply_effects, runner_id=runner_id, effects=effects, now=NOW)


def test_a_started_programme_logs_its_session_days_and_reads_back(db: Database):
    runner_id = new_runner(db)
    assert db.run_sync(programme_store.latest_programme, runner_id=runner_id) is None
    apply(
        db,
        runner_id,
        StartProgramme(at=NOW, first_day=FIRST_DAY),
        RecordProgrammeSession(local_date=FIRST_DAY, result=ExerciseResult.SKIPPED, at=NOW),
        # A second answer for the same day replaces the first.
        RecordProgrammeSession(local_date=FIRST_DAY, result=ExerciseResult.DONE, at=NOW),
        RecordProgrammeSession(
            local_date=FIRST_DAY + timedelta(days=2), result=ExerciseResult.TOO_SORE, at=NOW
        ),
    )
    view = db.run_sync(programme_store.latest_programme, runner_id=runner_id)
    assert view is not None
    assert (view.first_day, view.status, view.started_at) == (FIRST_DAY, "active", NOW)
    assert view.sessions == (
        (FIRST_DAY, "done"),
        (FIRST_DAY + timedelta(days=2), "too_sore"),
    )


def test_stopping_ends_it_and_nothing_more_is_logged(db: Database):
    runner_id = new_runner(db)
    apply(db, runner_id, StartProgramme(at=NOW, first_day=FIRST_DAY), StopProgramme(at=NOW))
    view = db.run_sync(programme_store.latest_programme, runner_id=runner_id)
    assert view is not None and view.status == ProgrammeStatus.STOPPED
    apply(
        db,
        runner_id,
        RecordProgrammeSession(local_date=FIRST_DAY, result=ExerciseResult.DONE, at=NOW),
    )
    view = db.run_sync(programme_store.latest_programme, runner_id=runner_id)
    assert view is not None and view.sessions == ()


def test_starting_again_stops_the_one_that_runs(db: Database):
    runner_id = new_runner(db)
    later = NOW + timedelta(days=30)
    apply(db, runner_id, StartProgramme(at=NOW, first_day=FIRST_DAY))
    apply(db, runner_id, StartProgramme(at=later, first_day=later.date()))
    view = db.run_sync(programme_store.latest_programme, runner_id=runner_id)
    assert view is not None and view.first_day == later.date()

    def statuses(session):
        return sorted(p.status for p in session.query(Programme).filter_by(runner_id=runner_id))

    assert db.run_sync(statuses) == ["active", "stopped"]


def test_the_database_allows_one_running_programme_per_runner(db: Database):
    runner_id = new_runner(db)
    row = {
        "runner_id": runner_id,
        "status": "active",
        "first_day": FIRST_DAY,
        "started_at": NOW,
        "updated_at": NOW,
    }
    db.run_sync(lambda session: session.execute(insert(Programme).values(**row)))
    with pytest.raises(IntegrityError):
        db.run_sync(lambda session: session.execute(insert(Programme).values(**row)))
    db.run_sync(
        lambda session: session.execute(insert(Programme).values(**{**row, "status": "stopped"}))
    )


@pytest.mark.parametrize(
    ("model", "column", "bad"),
    [(Programme, "status", "finished"), (ProgrammeSession, "result", "maybe")],
)
def test_stored_codes_are_checked(db: Database, model, column, bad):
    runner_id = new_runner(db)
    apply(db, runner_id, StartProgramme(at=NOW, first_day=FIRST_DAY))
    running = db.run_sync(programme_store.running_programme, runner_id=runner_id)
    values = {
        Programme: {
            "runner_id": runner_id,
            "status": "stopped",
            "first_day": FIRST_DAY,
            "started_at": NOW,
            "updated_at": NOW,
        },
        ProgrammeSession: {
            "runner_id": runner_id,
            "programme_id": running.id,
            "local_date": FIRST_DAY,
            "result": "done",
            "at": NOW,
        },
    }[model]
    with pytest.raises(IntegrityError):
        db.run_sync(
            lambda session: session.execute(insert(model).values(**{**values, column: bad}))
        )
