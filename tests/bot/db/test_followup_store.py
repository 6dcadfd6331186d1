"""Follow-up store functions against a migrated database, on SQLite and on PostgreSQL: episodes
(one active per runner), soreness, check-ins, the exercise log (one row per day, upserted),
runner settings, the 0003 migration on existing rows, and that deleting a runner leaves no row
of theirs in any table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import chat_store, followup_store, programme_store, schedule_store, store
from bot.db.database import Database
from bot.db.followup_store import UNSET
from bot.db.migrate import alembic_config, upgrade_to_head
from bot.db.models import (
    Assessment,
    Base,
    CheckInRecord,
    Episode,
    ExerciseLog,
    Runner,
    SorenessReport,
)
from bot.db.privacy_store import OPERATIONAL_TABLES
from flows.effects import ScheduleMessage
from flows.types import EpisodeStatus, ExerciseResult, SorenessSource
from tests.bot.runners import make_runner

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BEFORE_FOLLOWUPS = "0002_scheduled_messages"


def new_runner(db: Database, chat_id: int = 42) -> int:
    return db.run_sync(make_runner, chat_id=chat_id, user_id=None, first_name=None, now=NOW).id


def assess(db: Database, runner_id: int) -> int:
    return db.run_sync(
        store.record_assessment,
        runner_id=runner_id,
        answers={"location": "outside"},
        disposition="HOME_CARE",
        reasons=["S1"],
        rules_version="2026.1",
        care_path="sprain",
        plyometric_gate_open=False,
        started_at=NOW - timedelta(minutes=3),
        completed_at=NOW,
    )


def open_episode(
    db: Database,
    runner_id: int,
    *,
    assessment_id: int | None = None,
    now: datetime = NOW,
    pain: int = 4,
    phase: int = 1,
) -> Episode:
    opened = db.run_sync(
        followup_store.open_episode,
        runner_id=runner_id,
        assessment_id=assessment_id,
        disposition="HOME_CARE",
        location="outside",
        pain_at_assessment=pain,
        assessed_at=now,
        care_path="sprain",
        phase=phase,
        now=now,
    )
    return episode(db, opened)


def episode(db: Database, episode_id: int) -> Episode:
    return db.run_sync(lambda session: session.get(Episode, episode_id))


def soreness(
    db: Database,
    runner_id: int,
    value: int,
    *,
    at: datetime = NOW,
    episode_id: int | None = None,
    source: str = SorenessSource.REPORT,
) -> int:
    return db.run_sync(
        followup_store.record_soreness,
        runner_id=runner_id,
        episode_id=episode_id,
        at=at,
        value=value,
        source=source,
    )


def check_in(
    db: Database,
    runner_id: int,
    episode_id: int | None,
    *,
    at: datetime = NOW,
    soreness: int = 3,
    answers: dict[str, Any] | None = None,
) -> CheckInRecord:
    return db.run_sync(
        followup_store.record_check_in,
        runner_id=runner_id,
        episode_id=episode_id,
        at=at,
        answers=answers if answers is not None else {"soreness": soreness, "fever": "no"},
        soreness=soreness,
        trend="better",
        verdict="continue",
    )


def log(
    db: Database,
    runner_id: int,
    local_date: date,
    result: str = ExerciseResult.DONE,
    *,
    episode_id: int | None = None,
    at: datetime = NOW,
    **extra: Any,
) -> ExerciseLog:
    return db.run_sync(
        followup_store.log_exercise,
        runner_id=runner_id,
        episode_id=episode_id,
        local_date=local_date,
        result=result,
        at=at,
        **extra,
    )


def count(db: Database, model: type) -> int:
    return db.run_sync(lambda session: session.scalar(select(func.count()).select_from(model)))


def runner(db: Database, runner_id: int) -> Runner | None:
    return db.run_sync(followup_store.runner_by_id, runner_id=runner_id)


class TestEpisodes:
    def test_an_opened_episode_is_active_with_what_it_was_given(self, db: Database):
        runner_id = new_runner(db)
        assessment_id = assess(db, runner_id)
        opened = open_episode(db, runner_id, assessment_id=assessment_id, pain=6, phase=2)
        found = db.run_sync(followup_store.active_episode, runner_id=runner_id)
        assert found is not None and found.id == opened.id
        assert (found.runner_id, found.assessment_id, found.status) == (
            runner_id,
            assessment_id,
            "active",
        )
        assert (found.disposition, found.location, found.pain_at_assessment, found.phase) == (
            "HOME_CARE",
            "outside",
            6,
            2,
        )
        assert (found.unanswered_checkins, found.resolved_at) == (0, None)
        assert (found.assessed_at, found.created_at, found.updated_at) == (NOW, NOW, NOW)

    def test_opening_an_episode_closes_the_previous_active_one(self, db: Database):
        runner_id = new_runner(db)
        first = open_episode(db, runner_id)
        second = open_episode(db, runner_id, now=NOW + DAY)
        assert db.run_sync(followup_store.active_episode, runner_id=runner_id).id == second.id
        closed = episode(db, first.id)
        assert (closed.status, closed.updated_at) == ("closed", NOW + DAY)

    def test_a_resolved_episode_is_not_reopened_by_a_new_one(self, db: Database):
        runner_id = new_runner(db)
        resolved = open_episode(db, runner_id)
        db.run_sync(
            followup_store.update_episode,
            episode_id=resolved.id,
            now=NOW + DAY,
            status=EpisodeStatus.RESOLVED,
            resolved_at=NOW + DAY,
        )
        open_episode(db, runner_id, now=NOW + 2 * DAY)
        assert episode(db, resolved.id).status == "resolved"

    def test_a_runner_without_an_active_episode_has_none(self, db: Database):
        runner_id, other = new_runner(db, chat_id=1), new_runner(db, chat_id=2)
        assert db.run_sync(followup_store.active_episode, runner_id=runner_id) is None
        open_episode(db, other)
        assert db.run_sync(followup_store.active_episode, runner_id=runner_id) is None
        only = open_episode(db, runner_id)
        db.run_sync(followup_store.update_episode, episode_id=only.id, now=NOW, status="resolved")
        assert db.run_sync(followup_store.active_episode, runner_id=runner_id) is None

    def test_the_current_episode_id_is_the_active_one_else_the_latest_resolved(self, db: Database):
        runner_id = new_runner(db)

        def current() -> tuple[int | None, int | None]:
            found = db.run_sync(followup_store.current_episode, runner_id=runner_id)
            by_id = db.run_sync(followup_store.current_episode_id, runner_id=runner_id)
            return (found.id if found is not None else None), by_id

        assert current() == (None, None)
        first = open_episode(db, runner_id)
        assert current() == (first.id, first.id)
        second = open_episode(db, runner_id, now=NOW + DAY)  # closes the first
        assert current() == (second.id, second.id)
        db.run_sync(followup_store.update_episode, episode_id=second.id, now=NOW, status="resolved")
        assert current() == (second.id, second.id)
        # A newer active episode wins over the resolved one; once it is closed, the resolved
        # one is current again (a closed episode never is).
        third = open_episode(db, runner_id, now=NOW + 2 * DAY)
        assert current() == (third.id, third.id)
        db.run_sync(followup_store.update_episode, episode_id=third.id, now=NOW, status="closed")
        assert current() == (second.id, second.id)

    def test_the_database_refuses_a_second_active_episode_for_a_runner(self, db: Database):
        runner_id = new_runner(db)
        existing = open_episode(db, runner_id)

        def insert_active(session: Session) -> None:
            session.add(
                Episode(
                    runner_id=runner_id,
                    status="active",
                    disposition="HOME_CARE",
                    location="outside",
                    care_path="sprain",
                    pain_at_assessment=2,
                    assessed_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )

        with pytest.raises(IntegrityError):
            db.run_sync(insert_active)
        db.run_sync(followup_store.update_episode, episode_id=existing.id, now=NOW, status="closed")
        db.run_sync(insert_active)  # closed episodes do not count
        assert count(db, Episode) == 2

    def test_update_episode_changes_the_columns_named_and_stamps_the_time(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        later = NOW + 3 * DAY
        found = db.run_sync(
            followup_store.update_episode,
            episode_id=opened.id,
            now=later,
            phase=3,
            unanswered_checkins=2,
        )
        changed = episode(db, opened.id)
        assert found is True
        assert (changed.phase, changed.unanswered_checkins, changed.updated_at) == (3, 2, later)
        assert (changed.status, changed.pain_at_assessment, changed.created_at) == (
            "active",
            4,
            NOW,
        )

    def test_update_episode_can_count_in_the_database(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        for _ in range(2):
            db.run_sync(
                followup_store.update_episode,
                episode_id=opened.id,
                now=NOW,
                unanswered_checkins=Episode.unanswered_checkins + 1,
            )
        assert episode(db, opened.id).unanswered_checkins == 2

    @pytest.mark.parametrize("column", ["runner_id", "id", "created_at", "updated_at", "colour"])
    def test_update_episode_refuses_columns_that_are_not_changeable(
        self, db: Database, column: str
    ):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        with pytest.raises(ValueError, match=column):
            db.run_sync(
                followup_store.update_episode,
                episode_id=opened.id,
                now=NOW + DAY,
                phase=2,
                **{column: 1},
            )
        assert (episode(db, opened.id).phase, episode(db, opened.id).updated_at) == (1, NOW)

    def test_updating_an_episode_that_is_gone_reports_it(self, db: Database):
        assert (
            db.run_sync(followup_store.update_episode, episode_id=999_999, now=NOW, phase=2)
            is False
        )

    def test_the_database_refuses_an_unknown_status(self, db: Database):
        opened = open_episode(db, new_runner(db))
        for status in EpisodeStatus:
            db.run_sync(followup_store.update_episode, episode_id=opened.id, now=NOW, status=status)
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            db.run_sync(followup_store.update_episode, episode_id=opened.id, now=NOW, status="lost")

    def test_an_episode_outlives_its_assessment_without_the_link(self, db: Database):
        runner_id = new_runner(db)
        assessment_id = assess(db, runner_id)
        opened = open_episode(db, runner_id, assessment_id=assessment_id)
        db.run_sync(
            lambda session: session.execute(
                delete(Assessment).where(Assessment.id == assessment_id)
            )
        )
        assert episode(db, opened.id).assessment_id is None


class TestSoreness:
    def test_recent_soreness_is_the_last_scores_with_the_newest_last(self, db: Database):
        runner_id, other = new_runner(db, chat_id=1), new_runner(db, chat_id=2)
        for hours in (5, 1, 3, 2, 4):  # recorded out of order
            soreness(db, runner_id, hours, at=NOW + timedelta(hours=hours))
        soreness(db, other, 9, at=NOW + timedelta(hours=10))
        recent = db.run_sync(followup_store.recent_soreness, runner_id=runner_id, limit=3)
        assert [report.value for report in recent] == [3, 4, 5]
        everything = db.run_sync(followup_store.recent_soreness, runner_id=runner_id)
        assert [report.value for report in everything] == [1, 2, 3, 4, 5]

    def test_a_soreness_report_keeps_its_episode_and_source(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        recorded = soreness(
            db, runner_id, 7, episode_id=opened.id, source=SorenessSource.ASSESSMENT
        )
        (found,) = db.run_sync(followup_store.recent_soreness, runner_id=runner_id)
        assert found.id == recorded
        assert (found.episode_id, found.value, found.source, found.at) == (
            opened.id,
            7,
            "assessment",
            NOW,
        )

    @pytest.mark.parametrize("value", [0, 10])
    def test_the_ends_of_the_scale_are_accepted(self, db: Database, value: int):
        runner_id = new_runner(db)
        recorded = soreness(db, runner_id, value)
        (found,) = db.run_sync(followup_store.recent_soreness, runner_id=runner_id)
        assert (found.id, found.value) == (recorded, value)

    @pytest.mark.parametrize(("value", "source"), [(-1, "report"), (11, "report"), (3, "guess")])
    def test_the_database_refuses_a_score_off_the_scale_or_an_unknown_source(
        self, db: Database, value: int, source: str
    ):
        runner_id = new_runner(db)
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            soreness(db, runner_id, value, source=source)
        assert count(db, SorenessReport) == 0

    def test_every_source_is_accepted_by_the_database(self, db: Database):
        runner_id = new_runner(db)
        for source in SorenessSource:
            soreness(db, runner_id, 1, source=source)
        assert count(db, SorenessReport) == len(SorenessSource)


class TestCheckIns:
    def test_a_recorded_check_in_comes_back_with_all_its_fields(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        answers = {"soreness": 2, "fever": "no", "flags": {"calf": "unsure"}}
        recorded = check_in(db, runner_id, opened.id, soreness=2, answers=answers)
        (found,) = db.run_sync(followup_store.check_ins_for, episode_id=opened.id)
        assert found.id == recorded.id
        assert (found.runner_id, found.at, found.answers) == (runner_id, NOW, answers)
        assert (found.soreness, found.trend, found.verdict) == (2, "better", "continue")

    def test_a_recorded_check_in_does_not_share_the_callers_answers(self, db: Database):
        runner_id = new_runner(db)
        answers: dict[str, Any] = {"soreness": 2}
        recorded = check_in(db, runner_id, None, answers=answers)
        answers["soreness"] = 9
        assert recorded.answers == {"soreness": 2}

    def test_check_ins_for_lists_only_that_episodes_oldest_first(self, db: Database):
        runner_id = new_runner(db)
        old = open_episode(db, runner_id)
        check_in(db, runner_id, old.id, at=NOW, soreness=8)
        current = open_episode(db, runner_id, now=NOW + DAY)
        for days, value in ((3, 2), (2, 4)):
            check_in(db, runner_id, current.id, at=NOW + days * DAY, soreness=value)
        found = db.run_sync(followup_store.check_ins_for, episode_id=current.id)
        assert [(record.at, record.soreness) for record in found] == [
            (NOW + 2 * DAY, 4),
            (NOW + 3 * DAY, 2),
        ]

    def test_the_database_refuses_a_check_in_soreness_off_the_scale(self, db: Database):
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            check_in(db, new_runner(db), None, soreness=11)

    def test_rows_outlive_their_episode_without_the_link(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        check_in(db, runner_id, opened.id)
        soreness(db, runner_id, 3, episode_id=opened.id)
        log(db, runner_id, date(2026, 11, 21), episode_id=opened.id)
        db.run_sync(lambda session: session.execute(delete(Episode).where(Episode.id == opened.id)))

        def episode_links(session: Session) -> list[int | None]:
            return [
                session.scalars(select(model.episode_id)).one()
                for model in (CheckInRecord, SorenessReport, ExerciseLog)
            ]

        assert db.run_sync(episode_links) == [None, None, None]


def exercise_logs(db: Database, runner_id: int) -> list[ExerciseLog]:
    """The runner's exercise log, read straight from the table."""
    return db.run_sync(
        lambda session: list(
            session.scalars(select(ExerciseLog).where(ExerciseLog.runner_id == runner_id))
        )
    )


class TestExerciseLog:
    def test_a_logged_day_comes_back_with_all_its_fields(self, db: Database):
        runner_id = new_runner(db)
        opened = open_episode(db, runner_id)
        day = date(2026, 11, 21)
        log(
            db,
            runner_id,
            day,
            ExerciseResult.TOO_SORE,
            episode_id=opened.id,
            pain_during=6,
            morning_worse=True,
        )
        (found,) = exercise_logs(db, runner_id)
        assert (found.runner_id, found.episode_id, found.local_date, found.result) == (
            runner_id,
            opened.id,
            day,
            "too_sore",
        )
        assert (found.at, found.pain_during, found.morning_worse) == (NOW, 6, True)

    def test_a_second_answer_for_the_same_day_replaces_the_first(self, db: Database):
        runner_id = new_runner(db)
        day = date(2026, 11, 21)
        first = log(db, runner_id, day, ExerciseResult.DONE, pain_during=5, morning_worse=True)
        later = NOW + timedelta(hours=2)
        second = log(db, runner_id, day, ExerciseResult.SKIPPED, at=later)
        assert second.id == first.id
        (found,) = exercise_logs(db, runner_id)
        assert (found.result, found.at, found.pain_during, found.morning_worse) == (
            "skipped",
            later,
            None,
            None,
        )

    def test_a_log_loaded_in_the_same_transaction_shows_the_replacement(self, db: Database):
        runner_id = new_runner(db)
        day = date(2026, 11, 21)

        def answer_twice(session: Session) -> str:
            first = followup_store.log_exercise(
                session, runner_id=runner_id, episode_id=None, local_date=day, result="done", at=NOW
            )
            followup_store.log_exercise(
                session,
                runner_id=runner_id,
                episode_id=None,
                local_date=day,
                result="too_sore",
                at=NOW,
            )
            return first.result

        assert db.run_sync(answer_twice) == "too_sore"
        assert count(db, ExerciseLog) == 1

    def test_the_same_day_for_two_runners_is_two_rows(self, db: Database):
        day = date(2026, 11, 21)
        log(db, new_runner(db, chat_id=1), day)
        log(db, new_runner(db, chat_id=2), day)
        assert count(db, ExerciseLog) == 2

    @pytest.mark.parametrize(
        "extra", [{"result": "maybe"}, {"pain_during": 11}, {"pain_during": -1}]
    )
    def test_the_database_refuses_an_unknown_result_or_pain_off_the_scale(
        self, db: Database, extra: dict[str, Any]
    ):
        fields: dict[str, Any] = {"result": "done", **extra}
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            log(db, new_runner(db), date(2026, 11, 21), **fields)

    def test_every_result_is_accepted_by_the_database(self, db: Database):
        runner_id = new_runner(db)
        for offset, result in enumerate(ExerciseResult):
            log(db, runner_id, date(2026, 11, 1 + offset), result)
        assert count(db, ExerciseLog) == len(ExerciseResult)


class TestRunnerSettings:
    def test_a_new_runner_has_no_zone_no_reminder_and_nothing_paused(self, db: Database):
        found = runner(db, new_runner(db))
        assert (found.zone, found.reminder_time) == (None, None)
        assert (found.reminders_paused, found.followups_stopped) == (False, False)

    def test_runner_by_id_answers_none_for_an_unknown_id(self, db: Database):
        runner_id = new_runner(db, chat_id=77)
        assert runner(db, runner_id).chat_id == 77
        assert runner(db, runner_id + 1) is None

    def test_only_the_settings_given_change(self, db: Database):
        runner_id = new_runner(db)
        later = NOW + DAY
        changed = db.run_sync(
            followup_store.update_runner_settings,
            runner_id=runner_id,
            now=later,
            zone="Europe/Berlin",
            reminder_time="07:30",
        )
        assert changed is True
        db.run_sync(
            followup_store.update_runner_settings,
            runner_id=runner_id,
            now=later,
            reminders_paused=True,
        )
        found = runner(db, runner_id)
        assert (found.zone, found.reminder_time, found.updated_at) == (
            "Europe/Berlin",
            "07:30",
            later,
        )
        assert (found.reminders_paused, found.followups_stopped) == (True, False)

    def test_none_clears_a_setting_and_unset_leaves_it(self, db: Database):
        runner_id = new_runner(db)
        db.run_sync(
            followup_store.update_runner_settings,
            runner_id=runner_id,
            now=NOW,
            zone="America/New_York",
            reminder_time="18:00",
            followups_stopped=True,
        )
        db.run_sync(
            followup_store.update_runner_settings,
            runner_id=runner_id,
            now=NOW,
            zone=UNSET,
            reminder_time=None,
        )
        found = runner(db, runner_id)
        assert (found.zone, found.reminder_time, found.followups_stopped) == (
            "America/New_York",
            None,
            True,
        )

    def test_settings_of_a_runner_that_is_gone_are_not_changed(self, db: Database):
        assert (
            db.run_sync(
                followup_store.update_runner_settings,
                runner_id=999_999,
                now=NOW,
                reminders_paused=True,
            )
            is False
        )

    @pytest.mark.parametrize(
        "settings",
        [
            {"zone": "Mars/Olympus_Mons"},
            {"zone": ""},
            {"zone": "../etc/passwd"},
            {"reminder_time": "7:30"},
            {"reminder_time": "24:00"},
            {"reminder_time": "07:60"},
            {"reminder_time": "07:30:00"},
        ],
    )
    def test_an_unknown_zone_or_malformed_time_is_refused_and_nothing_changes(
        self, db: Database, settings: dict[str, str]
    ):
        runner_id = new_runner(db)
        with pytest.raises(ValueError):
            db.run_sync(
                followup_store.update_runner_settings,
                runner_id=runner_id,
                now=NOW + DAY,
                reminders_paused=True,
                **settings,
            )
        found = runner(db, runner_id)
        assert (found.zone, found.reminder_time, found.reminders_paused) == (None, None, False)

    @pytest.mark.parametrize("time", ["00:00", "23:59", "09:05"])
    def test_every_reminder_time_of_the_day_is_accepted(self, db: Database, time: str):
        runner_id = new_runner(db)
        db.run_sync(
            followup_store.update_runner_settings, runner_id=runner_id, now=NOW, reminder_time=time
        )
        assert runner(db, runner_id).reminder_time == time


class TestMigration:
    def test_runners_from_before_follow_ups_get_them_switched_on(self, database_url: str):
        database = Database.for_url(database_url)
        try:
            with database.engine.connect() as connection:
                command.upgrade(alembic_config(connection), BEFORE_FOLLOWUPS)
            with database.engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO runners (chat_id, created_at, updated_at)"
                        " VALUES (42, :now, :now)"
                    ),
                    {"now": NOW},
                )
            upgrade_to_head(database.engine)
            found = database.run_sync(store.find_runner, chat_id=42)
            assert (found.zone, found.reminder_time) == (None, None)
            assert (found.reminders_paused, found.followups_stopped) == (False, False)
        finally:
            database.dispose_sync()

    def test_going_back_before_follow_ups_keeps_the_runners_and_their_history(self, db: Database):
        runner_id = new_runner(db)
        store_conversation(db, runner_id)
        assess(db, runner_id)
        open_episode(db, runner_id)
        db.run_sync(followup_store.update_runner_settings, runner_id=runner_id, now=NOW, zone="UTC")
        with db.engine.connect() as connection:
            command.downgrade(alembic_config(connection), BEFORE_FOLLOWUPS)

        def rows(session: Session) -> list[int]:
            return [
                session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("runners", "conversations", "assessments")
            ]

        assert db.run_sync(rows) == [1, 1, 1]


def store_conversation(db: Database, runner_id: int) -> None:
    db.run_sync(
        chat_store.write_conversation,
        runner_id=runner_id,
        flow="triage",
        step="onset",
        answers={"location": "outside"},
        history=["location"],
        started_at=NOW,
        now=NOW,
        expected_version=None,
    )


# --- deleting a runner ---------------------------------------------------------------------------


def seed_everything(db: Database, runner_id: int, *, chat_id: int) -> None:
    """Give the runner at least one row in every table that holds runners' data."""
    store_conversation(db, runner_id)
    assessment_id = assess(db, runner_id)
    db.run_sync(
        schedule_store.schedule,
        runner_id=runner_id,
        message=ScheduleMessage(
            kind="checkin", due_at=NOW + DAY, key=f"checkin:{chat_id}", payload={}
        ),
        now=NOW,
    )
    # A schedule record, written without cancelling the message above.
    db.run_sync(
        lambda session: session.execute(
            insert(Base.metadata.tables["runner_schedules"]).values(
                runner_id=runner_id, active=True, reason=None, updated_at=NOW
            )
        )
    )
    opened = open_episode(db, runner_id, assessment_id=assessment_id)
    soreness(db, runner_id, 4, episode_id=opened.id)
    check_in(db, runner_id, opened.id)
    log(db, runner_id, date(2026, 11, 21), episode_id=opened.id)
    db.run_sync(
        followup_store.record_plan_event,
        runner_id=runner_id,
        episode_id=opened.id,
        at=NOW,
        kind="phase",
        data={"from": 1, "to": 2},
    )
    db.run_sync(
        programme_store.start_programme,
        runner_id=runner_id,
        episode_id=opened.id,
        first_day=NOW.date(),
        started_at=NOW,
    )
    db.run_sync(
        programme_store.record_session,
        runner_id=runner_id,
        local_date=NOW.date(),
        result=ExerciseResult.DONE.value,
        at=NOW,
    )


def rows_by_table(db: Database, runner_id: int) -> dict[str, int]:
    """How many rows of the runner each table holds (by runner_id, or id for runners)."""

    def counts(session: Session) -> dict[str, int]:
        found = {}
        for table in Base.metadata.sorted_tables:
            if table.name in OPERATIONAL_TABLES:
                continue  # keyed by chat, not runner: see test_privacy_store
            column = table.c.id if table.name == "runners" else table.c.get("runner_id")
            assert column is not None, f"{table.name}: cannot tell whose rows are in it"
            found[table.name] = session.scalar(
                select(func.count()).select_from(table).where(column == runner_id)
            )
        return found

    return db.run_sync(counts)


def delete_with_sql(session: Session, runner_id: int) -> None:
    session.execute(delete(Runner).where(Runner.id == runner_id))


def delete_with_the_orm(session: Session, runner_id: int) -> None:
    session.delete(session.get(Runner, runner_id))


@pytest.mark.parametrize("delete_runner", [delete_with_sql, delete_with_the_orm])
def test_deleting_a_runner_leaves_no_row_of_theirs_in_any_table(
    db: Database, delete_runner: Callable[[Session, int], None]
):
    gone, kept = new_runner(db, chat_id=1), new_runner(db, chat_id=2)
    for runner_id, chat_id in ((gone, 1), (kept, 2)):
        seed_everything(db, runner_id, chat_id=chat_id)
    every_table = {
        table.name for table in Base.metadata.sorted_tables if table.name not in OPERATIONAL_TABLES
    }
    seeded = rows_by_table(db, gone)
    assert {name for name, rows in seeded.items() if rows} == every_table, "seed every table"

    db.run_sync(delete_runner, gone)

    assert rows_by_table(db, gone) == dict.fromkeys(every_table, 0)
    assert rows_by_table(db, kept) == seeded


def test_plan_events_are_kept_in_order_per_episode(db: Database) -> None:
    runner_id = new_runner(db, chat_id=77)
    first = open_episode(db, runner_id, assessment_id=assess(db, runner_id))
    for hours, to in ((2, 3), (1, 2)):
        db.run_sync(
            followup_store.record_plan_event,
            runner_id=runner_id,
            episode_id=first.id,
            at=NOW + timedelta(hours=hours),
            kind="phase",
            data={"to": to},
        )
    events = db.run_sync(followup_store.plan_events_for, runner_id=runner_id, episode_id=first.id)
    assert [e.data["to"] for e in events] == [2, 3]
    assert events[0].at == NOW + timedelta(hours=1)
    assert db.run_sync(followup_store.plan_events_for, runner_id=runner_id, episode_id=999) == []
