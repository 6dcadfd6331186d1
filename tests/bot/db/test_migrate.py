"""Migrations: an empty database reaches head (from code and from the alembic CLI), matches the
models exactly, and goes back to empty; SQLite table rebuilds cannot cascade-delete children;
processes migrating at once take turns under a lock that is released even when a migration fails;
0007 names the flow of the conversations stored before it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, insert, inspect, select, text

from bot.db import chat_store, migrate, store
from bot.db.database import Database
from bot.db.engine import make_engine
from bot.db.migrate import (
    ALEMBIC_DIR,
    MIGRATION_LOCK_KEY,
    alembic_config,
    check_no_drift,
    foreign_keys_suspended,
    sqlite_lock_path,
    upgrade_to_head,
)
from bot.db.models import Assessment, Base, Conversation, ExerciseLog, Runner
from tests.bot.runners import make_runner

PROJECT_ROOT = ALEMBIC_DIR.parent
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def alembic_cli(*args: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(PROJECT_ROOT / "alembic.ini"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_first_migration_has_a_descriptive_id():
    assert ScriptDirectory.from_config(alembic_config()).get_base() == "0001_initial"


def test_upgrade_to_head_builds_the_schema_the_models_describe(engine: Engine):
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == MODEL_TABLES | {"alembic_version"}
    assert check_no_drift(engine) == []


def test_upgrade_to_head_twice_is_harmless(engine: Engine):
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_removes_every_table(engine: Engine):
    upgrade_to_head(engine)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert current_revision(engine) is None
    assert tables(engine) == {"alembic_version"}


def test_drift_is_reported_when_the_database_lacks_a_table(engine: Engine):
    upgrade_to_head(engine)
    with engine.begin() as connection:
        # A table nothing points to, so PostgreSQL lets it go.
        ExerciseLog.__table__.drop(connection)
    diffs = check_no_drift(engine)
    added = [diff[1].name for diff in diffs if isinstance(diff, tuple) and diff[0] == "add_table"]
    assert added == ["exercise_logs"]


def test_the_alembic_cli_upgrades_and_downgrades_the_database_given_with_x_url(
    database_url: str, engine: Engine
):
    alembic_cli("-x", f"url={database_url}", "upgrade", "head")
    assert current_revision(engine) == head_revision()
    assert check_no_drift(engine) == []
    alembic_cli("-x", f"url={database_url}", "downgrade", "base")
    assert tables(engine) == {"alembic_version"}


def test_the_alembic_cli_reads_database_url_from_the_environment(sqlite_url: str):
    alembic_cli("upgrade", "head", env={**os.environ, "DATABASE_URL": sqlite_url})
    engine = make_engine(sqlite_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_foreign_keys_are_back_on_after_migrating(sqlite_url: str):
    engine = make_engine(sqlite_url, pool_size=1, max_overflow=0)
    try:
        upgrade_to_head(engine)
        # The one pooled connection is the one the migration used.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def seed_runner_with_history(db: Database) -> int:
    def seed(session) -> int:
        runner = make_runner(session, chat_id=42, user_id=7, first_name="Ada", now=NOW)
        chat_store.write_conversation(
            session,
            runner_id=runner.id,
            flow="triage",
            step="onset",
            answers={"location": "lateral"},
            history=["location"],
            started_at=NOW,
            now=NOW,
            expected_version=None,
        )
        store.record_assessment(
            session,
            runner_id=runner.id,
            answers={},
            disposition="self_care",
            reasons=["S1"],
            care_path="sprain",
            rules_version="2026.1",
            plyometric_gate_open=False,
            started_at=NOW,
            completed_at=NOW,
        )
        return runner.id

    return db.run_sync(seed)


def rebuild_runners_table(engine: Engine, *, suspend_foreign_keys: bool) -> None:
    with engine.connect() as connection:
        if suspend_foreign_keys:
            with foreign_keys_suspended(connection), connection.begin():
                operations = Operations(MigrationContext.configure(connection))
                with operations.batch_alter_table("runners", recreate="always"):
                    pass
        else:
            with connection.begin():
                operations = Operations(MigrationContext.configure(connection))
                with operations.batch_alter_table("runners", recreate="always"):
                    pass


def child_rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(Conversation)).scalar_one(),
            connection.execute(select(func.count()).select_from(Assessment)).scalar_one(),
        )


def test_rebuilding_a_parent_table_with_foreign_keys_on_cascades_to_its_children(tmp_path: Path):
    """Why migrations suspend foreign keys: SQLite's DROP TABLE fires ON DELETE CASCADE."""
    db = Database.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade_to_head(db.engine)
    seed_runner_with_history(db)
    rebuild_runners_table(db.engine, suspend_foreign_keys=False)
    assert child_rows(db.engine) == (0, 0)
    db.dispose_sync()


def test_rebuilding_a_parent_table_during_a_migration_keeps_its_children(tmp_path: Path):
    db = Database.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade_to_head(db.engine)
    seed_runner_with_history(db)
    rebuild_runners_table(db.engine, suspend_foreign_keys=True)
    assert child_rows(db.engine) == (1, 1)
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    db.dispose_sync()


def test_foreign_keys_cannot_be_suspended_inside_a_transaction(sqlite_url: str):
    engine = make_engine(sqlite_url)
    try:
        with (
            engine.begin() as connection,
            pytest.raises(RuntimeError, match="transaction"),
            foreign_keys_suspended(connection),
        ):
            pass
    finally:
        engine.dispose()


# Each process imports everything first, says it is ready, then waits for the go file: the
# imports take far longer than a migration, so without this the processes would run one after
# another and the race would never happen.
CONCURRENT_MIGRATION = """
import sys, time
from pathlib import Path
from bot.db.engine import make_engine
from bot.db.migrate import upgrade_to_head

url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
engine = make_engine(url)
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("the go file never appeared")
    time.sleep(0.001)
upgrade_to_head(engine)
engine.dispose()
"""


def migrate_in_processes_at_once(url: str, tmp_path: Path, count: int) -> list[tuple[int, str]]:
    """Run `upgrade_to_head` on `url` in `count` OS processes released at the same moment."""
    go = tmp_path / "go"
    ready_files = [tmp_path / f"ready-{n}" for n in range(count)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_MIGRATION, url, str(ready), str(go)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ready in ready_files
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for ready in ready_files):
            assert time.monotonic() < deadline, "the migrating processes never got ready"
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            time.sleep(0.01)
        go.touch()
        outcomes = []
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            outcomes.append((process.returncode, stderr))
        return outcomes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_processes_migrating_an_empty_database_at_once_all_succeed(
    database_url: str, tmp_path: Path
):
    """Without the lock PostgreSQL fails all but one with a UniqueViolation on pg_type, and
    SQLite now and then with "database is locked" (journal_mode=WAL on a brand-new file)."""
    url = database_url
    outcomes = migrate_in_processes_at_once(url, tmp_path, count=3)
    assert [code for code, _ in outcomes] == [0, 0, 0], "\n".join(err for _, err in outcomes)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert check_no_drift(engine) == []
    finally:
        engine.dispose()


def migration_lock_is_free(engine: Engine) -> bool:
    """Whether another session (or open file) could take the migration lock right now."""
    if engine.dialect.name == "postgresql":
        # A session of its own: advisory locks are re-entrant within the session holding them.
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
            acquired = row.fetchone()[0]
            if acquired:
                connection.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
            return acquired
    path = sqlite_lock_path(engine)
    assert path is not None
    with open(path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        return True


def test_the_migration_runs_holding_the_lock_and_releases_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    seen_during_upgrade: list[bool] = []
    real_upgrade = command.upgrade

    def upgrade_and_look(config, revision):
        seen_during_upgrade.append(migration_lock_is_free(engine))
        real_upgrade(config, revision)

    monkeypatch.setattr(migrate.command, "upgrade", upgrade_and_look)
    upgrade_to_head(engine)
    assert seen_during_upgrade == [False]
    assert migration_lock_is_free(engine)
    assert current_revision(engine) == head_revision()


def test_a_failed_migration_releases_the_lock(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    def broken_upgrade(config, revision):
        raise RuntimeError("migration failed half-way")

    monkeypatch.setattr(migrate.command, "upgrade", broken_upgrade)
    with pytest.raises(RuntimeError, match="half-way"):
        upgrade_to_head(engine)
    assert migration_lock_is_free(engine)
    monkeypatch.undo()
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()


def test_the_sqlite_lock_file_sits_next_to_the_database_file(tmp_path: Path):
    on_disk = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    in_memory = make_engine("sqlite://")
    named_memory = make_engine("sqlite:///:memory:")
    try:
        assert sqlite_lock_path(on_disk) == tmp_path / "bot.db.migrate.lock"
        assert sqlite_lock_path(in_memory) is None
        assert sqlite_lock_path(named_memory) is None
        upgrade_to_head(in_memory)  # no file to lock, and no other process to wait for
        assert current_revision(in_memory) == head_revision()
    finally:
        for engine in (on_disk, in_memory, named_memory):
            engine.dispose()


# --- 0007: which flow each stored conversation is in ------------------------------------------

BEFORE_FLOWS = "0006_inbox_outbox"
# (step, answers) as stored before 0007 -> the flow the backfill must give them.
STORED_CONVERSATIONS = [
    ("loc", {}, "triage"),
    ("e7pain", {"loc": "outside", "onset": "sudden"}, "triage"),
    ("c_walk", {"ci": "17", "c_sore": "4"}, "checkin"),
    ("r_squat", {"r_walk": "yes", "r_stand": "yes"}, "readiness"),
    ("r_swell", {"r_pain": "2", "r_morn": "same"}, "run_log"),
    ("sore", {}, "soreness"),
    ("city", {"zone": "Europe"}, "reminders"),
    ("del", {}, "delete"),
    ("done", {"loc": "outside", "pain": "4"}, "triage"),
    ("done", {"seen": "y", "ci": "3"}, "seen_check"),
    ("done", {"ci": "17", "c_sore": "4"}, "checkin"),
    ("done", {"r_walk": "yes"}, "readiness"),
    ("done", {"r_pain": "2"}, "run_log"),
    ("done", {"sore": "5"}, "soreness"),
    ("done", {"zone": "UTC", "rtime": "07:00"}, "reminders"),
    ("done", {"del": "no"}, "delete"),
    ("done", {}, "triage"),
]


def test_the_upgrade_names_the_flow_of_every_stored_conversation(engine: Engine):
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), BEFORE_FLOWS)
    with engine.begin() as connection:
        for chat_id, (step, answers, _) in enumerate(STORED_CONVERSATIONS, start=1):
            runner_id = connection.execute(
                text(
                    "INSERT INTO runners (chat_id, created_at, updated_at)"
                    " VALUES (:chat_id, :now, :now) RETURNING id"
                ),
                {"chat_id": chat_id, "now": NOW},
            ).scalar_one()
            connection.execute(
                insert(Conversation.__table__).values(
                    runner_id=runner_id,
                    step=step,
                    answers=answers,
                    history=[],
                    version=1,
                    started_at=NOW,
                    updated_at=NOW,
                )
            )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Runner.chat_id, Conversation.flow)
            .join(Conversation, Conversation.runner_id == Runner.id)
            .order_by(Runner.chat_id)
        ).all()
    assert [flow for _, flow in rows] == [flow for _, _, flow in STORED_CONVERSATIONS]
    assert check_no_drift(engine) == []
