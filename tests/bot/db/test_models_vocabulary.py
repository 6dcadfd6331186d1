"""The stored codes the database checks are the enums' values, spelled once: every `IN (...)`
check constraint and partial-index predicate of the models allows exactly its enum's values, the
0-10 checks use the pain scale of `flows.types`, and a database migrated to head checks the same
values (alembic's drift check does not compare check constraints, so this test does)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

import pytest
from sqlalchemy import CheckConstraint, Engine, inspect

from bot.db.engine import make_engine
from bot.db.migrate import upgrade_to_head
from bot.db.models import (
    OUTBOX_UNFINISHED,
    UNFINISHED_STATES,
    Base,
    InboxState,
    MessageState,
    OutboxState,
)
from flows.checkin_rules import Verdict
from flows.local_time import FollowUpKind
from flows.types import (
    PAIN_MAX,
    PAIN_MIN,
    CarePath,
    EpisodeStatus,
    ExerciseResult,
    Location,
    PlanEventKind,
    ProgrammeStatus,
    SorenessSource,
    Trend,
)

# Every (table, column) whose check constraint lists allowed codes, and the enum they come from.
ENUM_CHECKS: dict[tuple[str, str], type[StrEnum]] = {
    ("episodes", "status"): EpisodeStatus,
    ("episodes", "care_path"): CarePath,
    ("assessments", "care_path"): CarePath,
    ("soreness_reports", "source"): SorenessSource,
    ("exercise_logs", "result"): ExerciseResult,
    ("scheduled_messages", "state"): MessageState,
    ("inbox_updates", "state"): InboxState,
    ("outbox_messages", "state"): OutboxState,
    ("programmes", "status"): ProgrammeStatus,
    ("programme_sessions", "result"): ExerciseResult,
}
_IN = re.compile(r"^(\w+) IN \((.*)\)$")
_BETWEEN = re.compile(r"^(\w+) BETWEEN (\d+) AND (\d+)$")
_QUOTED = re.compile(r"'([^']*)'")


def model_checks() -> list[tuple[str, str]]:
    """(table, SQL text) of every check constraint the models declare."""
    return [
        (table.name, str(constraint.sqltext))
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    ]


def values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def test_every_listed_code_in_a_model_check_is_its_enums_value_in_order():
    listed: dict[tuple[str, str], list[str]] = {}
    for table, sql in model_checks():
        match = _IN.match(sql)
        if match is not None:
            listed[(table, match[1])] = _QUOTED.findall(match[2])
    # A new list of codes must come from an enum too: add it to ENUM_CHECKS.
    assert set(listed) == set(ENUM_CHECKS)
    for key, enum in ENUM_CHECKS.items():
        assert listed[key] == values(enum), key


def test_every_other_model_check_is_the_pain_scale():
    others = [(table, sql) for table, sql in model_checks() if _IN.match(sql) is None]
    assert others
    for table, sql in others:
        match = _BETWEEN.match(sql)
        assert match is not None, (table, sql)
        assert (int(match[2]), int(match[3])) == (PAIN_MIN, PAIN_MAX), (table, sql)


def test_partial_indexes_name_the_enums_values():
    tables = Base.metadata.tables
    predicates = {
        index.name: str(index.dialect_options["postgresql"]["where"])
        for table in tables.values()
        for index in table.indexes
        if index.dialect_options["postgresql"].get("where") is not None
    }
    assert predicates == {
        "ix_scheduled_messages_due": "state IN ({})".format(
            ", ".join(f"'{state.value}'" for state in UNFINISHED_STATES)
        ),
        "uq_episodes_active_runner_id": f"status = '{EpisodeStatus.ACTIVE.value}'",
        "uq_programmes_active_runner_id": f"status = '{ProgrammeStatus.ACTIVE.value}'",
    }
    assert set(UNFINISHED_STATES) <= set(MessageState)
    assert set(OUTBOX_UNFINISHED) <= set(OutboxState)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_the_migrated_database_checks_the_same_codes(engine: Engine):
    upgrade_to_head(engine)
    inspector = inspect(engine)
    for (table, column), enum in ENUM_CHECKS.items():
        found = {
            check["name"]: check["sqltext"] for check in inspector.get_check_constraints(table)
        }
        # PostgreSQL gives the constraint back in its own words (`= ANY (ARRAY[...])`), SQLite
        # as written: either way the quoted codes are the enum's values, in order.
        sql = found[f"ck_{table}_{column}"]
        assert _QUOTED.findall(sql) == values(enum), (table, sql)


# Columns holding codes of an enum without a check constraint: the codes must still fit.
STORED_CODES: dict[tuple[str, str], type[StrEnum]] = {
    **ENUM_CHECKS,
    ("scheduled_messages", "kind"): FollowUpKind,
    ("check_ins", "trend"): Trend,
    ("check_ins", "verdict"): Verdict,
    ("plan_events", "kind"): PlanEventKind,
    ("episodes", "location"): Location,
}


def test_every_stored_code_fits_its_column():
    for (table, column), enum in STORED_CODES.items():
        length = Base.metadata.tables[table].columns[column].type.length
        assert max(len(value) for value in values(enum)) <= length, (table, column)
