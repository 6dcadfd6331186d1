"""Exporting and deleting a runner's data, on SQLite and on PostgreSQL: the export holds every
row of that runner in every table and nothing of anyone else's, leaves out the bot's bookkeeping
(update keys, leases, error texts, idempotency keys), survives `json.dumps` with its times as
ISO 8601, and deleting leaves no row of the runner anywhere (with foreign keys enforced or not)
while the other runner's rows stay as they were. The runtime's own tables, keyed by chat, are
neither exported nor deleted here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from bot.db import chat_store, followup_store, programme_store, schedule_store, store
from bot.db.database import Database
from bot.db.engine import normalize_url
from bot.db.models import Base, Runner, ScheduledMessage
from bot.db.privacy_store import (
    EXPORT_FORMAT,
    NOT_EXPORTED,
    OPERATIONAL_TABLES,
    UnreachableTable,
    delete_runner,
    export_runner,
    runner_tables,
)
from bot.db.types import UTCDateTime
from flows.effects import ScheduleMessage
from tests.bot.runners import make_runner

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Every table that holds runners' data: all but the runtime's own.
EVERY_TABLE = frozenset(table.name for table in Base.metadata.sorted_tables) - OPERATIONAL_TABLES


def seed_runner(db: Database, *, chat_id: int) -> int:
    """A runner with rows in every table that holds runners' data (two in some of them)."""

    def seed(session: Session) -> int:
        runner = make_runner(
            session, chat_id=chat_id, user_id=chat_id * 10, first_name=f"Runner {chat_id}", now=NOW
        )
        session.flush()
        runner_id = runner.id
        followup_store.update_runner_settings(
            session, runner_id=runner_id, now=NOW, zone="Europe/Berlin", reminder_time="07:30"
        )
        chat_store.write_conversation(
            session,
            runner_id=runner_id,
            flow="triage",
            step="onset",
            answers={"location": "outside"},
            history=["location"],
            started_at=NOW,
            now=NOW,
            expected_version=None,
        )
        assessment_id = store.record_assessment(
            session,
            runner_id=runner_id,
            answers={"location": "outside", "pain": "4"},
            disposition="HOME_CARE",
            reasons=["S1"],
            care_path="sprain",
            rules_version="2026.1",
            plyometric_gate_open=False,
            started_at=NOW - timedelta(minutes=3),
            completed_at=NOW,
        )
        for days in (1, 2):
            schedule_store.schedule(
                session,
                runner_id=runner_id,
                message=ScheduleMessage(
                    kind="checkin",
                    # A minute apart per runner, so that two runners' messages differ in what is
                    # exported of them.
                    due_at=NOW + days * DAY + timedelta(minutes=chat_id),
                    key=f"checkin:{chat_id}:{days}",
                    payload={"n": days},
                ),
                now=NOW,
            )
        # An inactive schedule record; it cancels the messages above but keeps their rows.
        schedule_store.deactivate_schedule(
            session, runner_id=runner_id, reason="Forbidden: bot was blocked", now=NOW
        )
        # The bookkeeping the export must leave out, as the runtime leaves it: the first message
        # sent (by a scheduler that failed once first), the updates applied.
        session.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.idempotency_key == f"checkin:{chat_id}:1")
            .values(
                state="sent",
                sent_at=NOW + DAY,
                attempts=1,
                claimed_by=f"host-{chat_id}:4242",
                claimed_until=NOW + DAY,
                last_error="Traceback (most recent call last): TimedOut",
            )
        )
        episode_id = followup_store.open_episode(
            session,
            runner_id=runner_id,
            assessment_id=assessment_id,
            disposition="HOME_CARE",
            location="outside",
            pain_at_assessment=4,
            care_path="sprain",
            assessed_at=NOW,
            phase=1,
            now=NOW,
        )
        for hours, value in ((0, 4), (24, 3)):
            followup_store.record_soreness(
                session,
                runner_id=runner_id,
                episode_id=episode_id,
                at=NOW + timedelta(hours=hours),
                value=value,
                source="checkin",
            )
        followup_store.record_check_in(
            session,
            runner_id=runner_id,
            episode_id=episode_id,
            at=NOW + DAY,
            answers={"soreness": 3},
            soreness=3,
            trend="better",
            verdict="continue",
        )
        followup_store.record_plan_event(
            session,
            runner_id=runner_id,
            episode_id=episode_id,
            at=NOW + DAY,
            kind="phase",
            data={"from": 1, "to": 2, "reason": "two good days"},
        )
        for day in (date(2026, 11, 21), date(2026, 11, 22)):
            followup_store.log_exercise(
                session,
                runner_id=runner_id,
                episode_id=episode_id,
                local_date=day,
                result="done",
                at=NOW,
                pain_during=2,
                morning_worse=False,
            )
        programme_store.start_programme(
            session,
            runner_id=runner_id,
            episode_id=episode_id,
            first_day=date(2026, 11, 23),
            started_at=NOW + 2 * DAY,
        )
        programme_store.record_session(
            session, runner_id=runner_id, local_date=date(2026, 11, 23), result="done", at=NOW
        )
        return runner_id

    return db.run_sync(seed)


def runner_column(name: str) -> Column[Any]:
    table = Base.metadata.tables[name]
    return table.c.id if name == "runners" else table.c.runner_id


def stored_keys(db: Database, runner_id: int) -> dict[str, set[tuple[Any, ...]]]:
    """The primary keys of the runner's rows, by table, read straight from the database."""

    def keys(session: Session) -> dict[str, set[tuple[Any, ...]]]:
        found = {}
        for name in EVERY_TABLE:
            table, column = Base.metadata.tables[name], runner_column(name)
            primary_key = list(table.primary_key.columns)
            rows = session.execute(select(*primary_key).where(column == runner_id))
            found[table.name] = {tuple(row) for row in rows}
        return found

    return db.run_sync(keys)


def stored_rows(db: Database, runner_id: int) -> dict[str, list[dict[str, Any]]]:
    """The runner's rows with every column, by table in primary key order, straight from the
    database, with times and dates written as ISO 8601."""

    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value  # datetime too

    def rows(session: Session) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for name in EVERY_TABLE:
            table = Base.metadata.tables[name]
            result = session.execute(
                select(table)
                .where(runner_column(name) == runner_id)
                .order_by(*table.primary_key.columns)
            ).mappings()
            found[name] = [{k: iso(v) for k, v in row.items()} for row in result]
        return found

    return db.run_sync(rows)


def without_bookkeeping(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [
            {k: v for k, v in row.items() if k not in NOT_EXPORTED.get(name, ())} for row in found
        ]
        for name, found in rows.items()
    }


@pytest.fixture
def two_runners(db: Database) -> tuple[int, int]:
    """Two runners, each with rows in every table."""
    first, second = seed_runner(db, chat_id=1), seed_runner(db, chat_id=2)
    for runner_id in (first, second):
        seeded = stored_keys(db, runner_id)
        assert {name for name, keys in seeded.items() if keys} == EVERY_TABLE, "seed every table"
    return first, second


# --- reaching every table -------------------------------------------------------------------------


def test_every_table_of_the_schema_can_be_reached_from_a_runner():
    """A new table without a runner_id column makes this fail (and export/delete refuse)."""
    reached = runner_tables()
    assert {table.name for table, _ in reached} == EVERY_TABLE
    assert reached[0][0].name == "runners", "the runners table comes before its children"


def test_the_runtimes_tables_are_skipped_not_refused():
    """Keyed by chat, with no runner_id: neither exported nor deleted, and no error either."""
    metadata = MetaData()
    Table("runners", metadata, Column("id", Integer, primary_key=True))
    for name in ("inbox_updates", "outbox_messages"):
        Table(name, metadata, Column("id", Integer, primary_key=True), Column("chat_id", Integer))
    assert [table.name for table, _ in runner_tables(metadata)] == ["runners"]


def test_every_column_left_out_of_the_export_exists():
    """A renamed column would otherwise be exported under its new name without anyone noticing."""
    for name, columns in NOT_EXPORTED.items():
        assert name in EVERY_TABLE, name
        assert columns <= set(Base.metadata.tables[name].c.keys()), name


def test_a_table_with_no_runner_column_is_refused():
    metadata = MetaData()
    Table("runners", metadata, Column("id", Integer, primary_key=True))
    Table("orphans", metadata, Column("id", Integer, primary_key=True))
    with pytest.raises(UnreachableTable, match="orphans"):
        runner_tables(metadata)


def test_children_come_after_the_tables_they_point_at():
    metadata = MetaData()
    Table("runners", metadata, Column("id", Integer, primary_key=True))
    Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("runner_id", ForeignKey("runners.id")),
        Column("parent_id", ForeignKey("parents.id")),
    )
    Table(
        "parents",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("runner_id", ForeignKey("runners.id")),
    )
    names = [table.name for table, _ in runner_tables(metadata)]
    assert names.index("runners") < names.index("parents") < names.index("notes")


# --- export ---------------------------------------------------------------------------------------


def test_the_export_holds_every_row_of_the_runner_and_none_of_anyone_else(
    db: Database, two_runners: tuple[int, int]
):
    first, second = two_runners
    export = json.loads(json.dumps(db.run_sync(export_runner, runner_id=first, now=NOW)))

    assert set(export["tables"]) == EVERY_TABLE
    assert export["tables"] == without_bookkeeping(stored_rows(db, first))
    others = without_bookkeeping(stored_rows(db, second))
    for name, rows in export["tables"].items():
        assert rows, f"{name}: seeded but not exported"
        assert not [row for row in rows if row in others[name]], f"{name}: another's rows"
        owner = "id" if name == "runners" else "runner_id"
        if owner not in NOT_EXPORTED.get(name, ()):
            assert {row[owner] for row in rows} == {first}, name


def test_the_export_leaves_out_the_bots_bookkeeping(db: Database, two_runners: tuple[int, int]):
    first, _ = two_runners
    export = db.run_sync(export_runner, runner_id=first, now=NOW)
    tables = export["tables"]
    written = json.dumps(export)
    for internal in ("host-1:4242", "Traceback", "u9001:m1", "checkin:1:1", "blocked"):
        assert internal not in written, internal
    runner = tables["runners"][0]
    assert (runner["first_name"], runner["zone"], runner["reminder_time"]) == (
        "Runner 1",
        "Europe/Berlin",
        "07:30",
    )
    # A follow-up is what it is, when it was due, where it is and when it was sent; nothing else.
    assert tables["scheduled_messages"] == [
        {
            "kind": "checkin",
            "due_at": "2026-11-22T09:01:00+00:00",
            "state": "sent",
            "sent_at": "2026-11-22T09:00:00+00:00",
        },
        {
            "kind": "checkin",
            "due_at": "2026-11-23T09:01:00+00:00",
            "state": "cancelled",
            "sent_at": None,
        },
    ]
    assert "version" not in tables["conversations"][0]
    assert tables["conversations"][0]["answers"] == {"location": "outside"}


def test_the_export_says_what_it_is_and_when_it_was_made(
    db: Database, two_runners: tuple[int, int]
):
    first, _ = two_runners
    export = db.run_sync(export_runner, runner_id=first, now=NOW + DAY)
    assert export["format"] == EXPORT_FORMAT == "ankle-bot-export/1"
    assert export["exported_at"] == "2026-11-22T09:00:00+00:00"
    assert export["runner_id"] == first


def test_the_export_survives_json_with_times_as_iso_8601_with_offset(
    db: Database, two_runners: tuple[int, int]
):
    first, _ = two_runners
    export = json.loads(json.dumps(db.run_sync(export_runner, runner_id=first, now=NOW)))

    for table, _ in runner_tables():
        rows = export["tables"][table.name]
        for column in table.columns:
            if column.name in NOT_EXPORTED.get(table.name, ()):
                continue
            values = [row[column.name] for row in rows if row[column.name] is not None]
            if isinstance(column.type, UTCDateTime):
                for value in values:
                    parsed = datetime.fromisoformat(value)
                    assert parsed.utcoffset() == timedelta(0), f"{table.name}.{column.name}"
    tables = export["tables"]
    assert datetime.fromisoformat(tables["assessments"][0]["completed_at"]) == NOW
    assert tables["assessments"][0]["answers"] == {"location": "outside", "pain": "4"}
    assert [row["local_date"] for row in tables["exercise_logs"]] == ["2026-11-21", "2026-11-22"]
    assert [row["value"] for row in tables["soreness_reports"]] == [4, 3]
    assert tables["runners"][0]["zone"] == "Europe/Berlin"
    assert tables["runner_schedules"][0]["active"] is False


def test_an_unknown_runner_exports_every_table_empty(db: Database, two_runners: tuple[int, int]):
    export = db.run_sync(export_runner, runner_id=max(two_runners) + 1000, now=NOW)
    assert export["tables"] == {name: [] for name in EVERY_TABLE}


# --- delete ---------------------------------------------------------------------------------------


def test_deleting_a_runner_leaves_no_row_of_theirs_and_keeps_the_others(
    db: Database, two_runners: tuple[int, int]
):
    first, second = two_runners
    seeded = stored_keys(db, first)
    kept = stored_keys(db, second)

    deleted = db.run_sync(delete_runner, runner_id=first)

    assert stored_keys(db, first) == {name: set() for name in EVERY_TABLE}
    assert stored_keys(db, second) == kept
    assert deleted == sum(len(keys) for keys in seeded.values())


def test_deleting_a_runner_that_is_not_there_deletes_nothing(
    db: Database, two_runners: tuple[int, int]
):
    before = [stored_keys(db, runner_id) for runner_id in two_runners]
    assert db.run_sync(delete_runner, runner_id=max(two_runners) + 1000) == 0
    assert [stored_keys(db, runner_id) for runner_id in two_runners] == before


@contextmanager
def foreign_keys_off(db: Database) -> Iterator[Session]:
    """A transaction in which the database does not enforce foreign keys (so no cascades)."""
    if db.is_sqlite:
        # The bot's engine turns foreign keys on for every connection; a plain one leaves them
        # off, as SQLite does by default.
        engine = create_engine(normalize_url(db.url))
        try:
            with Session(engine) as session, session.begin():
                assert session.scalar(text("PRAGMA foreign_keys")) == 0
                yield session
        finally:
            engine.dispose()
    else:
        # Replica mode skips the triggers that enforce foreign keys, cascades included.
        with Session(db.engine) as session, session.begin():
            session.execute(text("SET LOCAL session_replication_role = replica"))
            yield session


def test_without_foreign_keys_deleting_the_runner_row_alone_would_leave_orphans(
    db: Database, two_runners: tuple[int, int]
):
    """The setting used below really turns cascades off (else the next test proves nothing)."""
    first, _ = two_runners
    with foreign_keys_off(db) as session:
        session.execute(Runner.__table__.delete().where(Runner.id == first))
        orphans = session.scalar(
            select(func.count()).select_from(Base.metadata.tables["soreness_reports"])
        )
    assert orphans == 4, "both runners' two soreness reports are still there"


def test_deleting_a_runner_works_with_foreign_keys_off(db: Database, two_runners: tuple[int, int]):
    first, second = two_runners
    kept = stored_keys(db, second)
    with foreign_keys_off(db) as session:
        delete_runner(session, runner_id=first)

    assert stored_keys(db, first) == {name: set() for name in EVERY_TABLE}
    assert stored_keys(db, second) == kept
