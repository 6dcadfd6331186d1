"""Store functions against a migrated database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.db import chat_store, store
from bot.db.database import Database
from bot.db.models import FIRST_NAME_LENGTH, Assessment, Conversation, Runner
from bot.db.store import StaleConversation
from tests.bot.runners import make_runner

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def new_runner(db: Database, chat_id: int = 42) -> Runner:
    return db.run_sync(make_runner, chat_id=chat_id, user_id=7, first_name="Ada", now=NOW)


def save(db: Database, runner_id: int, *, step: str, expected_version: int | None, **extra):
    """Store a conversation the way every update does (`chat_store.write_conversation`)."""
    fields = {
        "answers": {"location": "lateral"},
        "history": ["location"],
        "started_at": NOW,
        "now": NOW,
        **extra,
    }
    return db.run_sync(
        chat_store.write_conversation,
        runner_id=runner_id,
        flow="triage",
        step=step,
        expected_version=expected_version,
        **fields,
    )


def count(db: Database, model: type) -> int:
    return db.run_sync(lambda session: session.scalar(select(func.count()).select_from(model)))


class TestRunners:
    def test_saving_a_runner_creates_one_runner_per_chat(self, db: Database):
        first = new_runner(db)
        again = new_runner(db)
        assert first.id == again.id
        assert (first.chat_id, first.user_id, first.first_name) == (42, 7, "Ada")
        assert first.created_at == NOW
        assert count(db, Runner) == 1

    def test_a_new_first_name_is_kept_and_a_missing_one_is_not_erased(self, db: Database):
        new_runner(db)
        later = NOW + timedelta(days=1)
        renamed = db.run_sync(make_runner, chat_id=42, user_id=None, first_name="Ada L.", now=later)
        assert (renamed.user_id, renamed.first_name, renamed.updated_at) == (7, "Ada L.", later)
        unchanged = db.run_sync(make_runner, chat_id=42, user_id=None, first_name=None, now=NOW)
        assert (unchanged.first_name, unchanged.updated_at) == ("Ada L.", later)

    def test_a_name_with_nul_or_over_the_column_length_is_cleaned_not_refused(self, db: Database):
        """PostgreSQL refuses both outright, which would fail every update of the runner."""
        odd = db.run_sync(
            make_runner,
            chat_id=42,
            user_id=7,
            first_name="\x00Ada\x07 " + "x" * 300,
            now=NOW,
        )
        assert odd.first_name == ("Ada " + "x" * 300)[:FIRST_NAME_LENGTH]
        renamed = db.run_sync(
            make_runner, chat_id=42, user_id=7, first_name=" Gr\x00ace\n", now=NOW
        )
        assert renamed.first_name == "Grace"
        # Nothing left after cleaning is no name: the one known stays.
        kept = db.run_sync(make_runner, chat_id=42, user_id=7, first_name="\x00\x01", now=NOW)
        assert kept.first_name == "Grace"
        assert db.run_sync(store.find_runner, chat_id=42).first_name == "Grace"

    def test_find_runner_answers_none_for_an_unknown_chat(self, db: Database):
        new_runner(db, chat_id=1)
        assert db.run_sync(store.find_runner, chat_id=2) is None
        assert db.run_sync(store.find_runner, chat_id=1).chat_id == 1

    def test_chat_ids_beyond_32_bits_fit(self, db: Database):
        big = -1_001_234_567_890
        assert new_runner(db, chat_id=big).chat_id == big
        assert db.run_sync(store.find_runner, chat_id=big) is not None


class TestConversations:
    def test_a_saved_conversation_loads_back_as_saved(self, db: Database):
        runner_id = new_runner(db).id
        saved = save(
            db,
            runner_id,
            step="onset",
            expected_version=None,
            answers={"location": "lateral", "pain_now": "6"},
            history=["location", "pain_now"],
        )
        loaded = db.run_sync(store.load_conversation, runner_id=runner_id)
        assert loaded is not None
        assert (loaded.step, loaded.answers, loaded.history) == (
            "onset",
            {"location": "lateral", "pain_now": "6"},
            ["location", "pain_now"],
        )
        assert (loaded.started_at, loaded.updated_at) == (NOW, NOW)
        assert loaded.version == saved == 1
        chat = db.run_sync(chat_store.load_chat, chat_id=42)
        assert (chat.id, chat.step, chat.version, chat.answers) == (
            runner_id,
            "onset",
            1,
            {"location": "lateral", "pain_now": "6"},
        )

    def test_each_save_moves_the_version_on(self, db: Database):
        runner_id = new_runner(db).id
        save(db, runner_id, step="location", expected_version=None)
        second = save(db, runner_id, step="onset", expected_version=1)
        third = save(db, runner_id, step="weight_bearing", expected_version=2)
        assert (second, third) == (2, 3)
        assert db.run_sync(store.load_conversation, runner_id=runner_id).step == "weight_bearing"

    def test_saving_from_an_old_version_raises_and_keeps_the_newer_state(self, db: Database):
        runner_id = new_runner(db).id
        save(db, runner_id, step="location", expected_version=None)
        save(db, runner_id, step="onset", expected_version=1)
        with pytest.raises(StaleConversation):
            save(db, runner_id, step="outcome", expected_version=1)
        assert db.run_sync(store.load_conversation, runner_id=runner_id).step == "onset"

    def test_saving_a_conversation_deleted_meanwhile_raises(self, db: Database):
        runner_id = new_runner(db).id
        save(db, runner_id, step="location", expected_version=None)
        db.run_sync(
            lambda session: session.execute(
                delete(Conversation).where(Conversation.runner_id == runner_id)
            )
        )
        with pytest.raises(StaleConversation):
            save(db, runner_id, step="onset", expected_version=1)

    def test_two_writers_from_the_same_version_cannot_both_win(self, db: Database):
        """Both loaded version 1; the second to write finds the row moved on and fails."""
        runner_id = new_runner(db).id
        save(db, runner_id, step="location", expected_version=None)
        assert db.run_sync(chat_store.load_chat, chat_id=42).version == 1
        save(db, runner_id, step="onset", expected_version=1)
        with pytest.raises(StaleConversation):
            save(db, runner_id, step="outcome", expected_version=1)
        assert db.run_sync(store.load_conversation, runner_id=runner_id).version == 2

    def test_a_chat_never_seen_loads_as_none_and_a_new_runner_without_a_conversation(
        self, db: Database
    ):
        assert db.run_sync(chat_store.load_chat, chat_id=42) is None
        runner_id = new_runner(db).id
        chat = db.run_sync(chat_store.load_chat, chat_id=42)
        assert (chat.id, chat.step, chat.version) == (runner_id, None, None)

    def test_each_runner_has_their_own_conversation(self, db: Database):
        ada, bob = new_runner(db, chat_id=1).id, new_runner(db, chat_id=2).id
        save(db, ada, step="onset", expected_version=None)
        assert db.run_sync(store.load_conversation, runner_id=bob) is None


def assess(db: Database, runner_id: int, *, disposition: str, completed_at: datetime) -> int:
    return db.run_sync(
        store.record_assessment,
        runner_id=runner_id,
        answers={"location": "lateral"},
        disposition=disposition,
        reasons=["E4", "S1"],
        rules_version="2026.1",
        care_path="sprain",
        plyometric_gate_open=True,
        started_at=completed_at - timedelta(minutes=3),
        completed_at=completed_at,
    )


def test_a_recorded_assessment_keeps_all_its_fields(db: Database):
    runner_id = new_runner(db).id
    recorded = assess(db, runner_id, disposition="self_care", completed_at=NOW)
    stored = db.run_sync(lambda session: session.get(Assessment, recorded))
    assert stored.runner_id == runner_id
    assert (stored.answers, stored.disposition, stored.reasons) == (
        {"location": "lateral"},
        "self_care",
        ["E4", "S1"],
    )
    assert (stored.rules_version, stored.plyometric_gate_open) == ("2026.1", True)
    assert (stored.started_at, stored.completed_at) == (NOW - timedelta(minutes=3), NOW)


def assessments_of(db: Database, runner_id: int) -> int:
    return db.run_sync(
        lambda session: session.scalar(
            select(func.count()).select_from(Assessment).where(Assessment.runner_id == runner_id)
        )
    )


def test_deleting_a_runner_deletes_their_conversation_and_assessments(db: Database):
    gone, kept = new_runner(db, chat_id=1).id, new_runner(db, chat_id=2).id
    for runner_id in (gone, kept):
        save(db, runner_id, step="onset", expected_version=None)
        assess(db, runner_id, disposition="self_care", completed_at=NOW)
    # A plain SQL DELETE: the database itself must cascade, not the ORM.
    db.run_sync(lambda session: session.execute(delete(Runner).where(Runner.id == gone)))
    assert db.run_sync(store.load_conversation, runner_id=gone) is None
    assert assessments_of(db, gone) == 0
    assert (count(db, Conversation), count(db, Assessment)) == (1, 1)
    assert db.run_sync(store.load_conversation, runner_id=kept) is not None


def test_deleting_a_runner_through_the_orm_relies_on_the_database_cascade(db: Database):
    runner_id = new_runner(db).id
    save(db, runner_id, step="onset", expected_version=None)
    assess(db, runner_id, disposition="self_care", completed_at=NOW)
    db.run_sync(lambda session: session.delete(session.get(Runner, runner_id)))
    assert (count(db, Runner), count(db, Conversation), count(db, Assessment)) == (0, 0, 0)
