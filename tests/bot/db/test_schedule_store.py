"""Scheduled-message store functions against a migrated database, on SQLite and on PostgreSQL:
idempotent scheduling of a flow's `ScheduleMessage` (and the revival of a cancelled key), taking
due rows (order, limit, what counts as due, concurrent takers never sharing a row, the plan of
the due query), finishing and postponing a taken row, cancellation, and a runner's schedule
(deactivated, reactivated)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from bot.db import schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import MessageState, Runner, RunnerSchedule, ScheduledMessage
from flows.effects import ScheduleMessage
from tests.bot.runners import make_runner

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def new_runner(db: Database, chat_id: int = 42) -> int:
    return db.run_sync(make_runner, chat_id=chat_id, user_id=None, first_name=None, now=NOW).id


def add(
    db: Database,
    runner_id: int,
    key: str,
    *,
    due_at: datetime = NOW,
    kind: str = "checkin",
    payload: dict | None = None,
    now: datetime = NOW - timedelta(days=1),
) -> bool:
    return db.run_sync(
        schedule_store.schedule,
        runner_id=runner_id,
        message=ScheduleMessage(kind=kind, due_at=due_at, key=key, payload=payload or {}),
        now=now,
    )


def row(db: Database, key: str) -> ScheduledMessage:
    return db.run_sync(
        lambda session: session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.idempotency_key == key)
        ).one()
    )


def take(db: Database, *, limit: int = 10, now: datetime = NOW) -> list[str]:
    """The keys `take_due` returns in a transaction that then ends without changing them."""
    return db.run_sync(lambda session: keys(schedule_store.take_due(session, now=now, limit=limit)))


def take_and_finish(
    db: Database, *, state: str = "queued", limit: int = 10, now: datetime = NOW
) -> list[str]:
    """What a scheduler pass does with the store: take due rows and finish each of them."""

    def work(session: Session) -> list[str]:
        taken = schedule_store.take_due(session, now=now, limit=limit)
        for message in taken:
            schedule_store.finish(session, message_id=message.id, state=state, reason=None, now=now)
        return keys(taken)

    return db.run_sync(work)


def keys(rows: list[ScheduledMessage]) -> list[str]:
    return [r.idempotency_key for r in rows]


def set_state(db: Database, key: str, state: str) -> None:
    db.run_sync(
        lambda session: session.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.idempotency_key == key)
            .values(state=state)
        )
    )


class TestSchedule:
    def test_a_scheduled_message_is_pending_with_what_it_was_given(self, db: Database):
        runner_id = new_runner(db)
        assert add(db, runner_id, "r:checkin:1", payload={"zone": "Europe/London", "n": 1})
        stored = row(db, "r:checkin:1")
        assert (stored.state, stored.attempts, stored.kind) == ("pending", 0, "checkin")
        assert stored.due_at == NOW
        assert stored.payload == {"zone": "Europe/London", "n": 1}
        assert (stored.claimed_by, stored.sent_at, stored.last_error) == (None, None, None)

    def test_the_same_idempotency_key_twice_adds_nothing(self, db: Database):
        runner_id = new_runner(db)
        assert add(db, runner_id, "r:reminder:2026-11-21") is True
        assert add(db, runner_id, "r:reminder:2026-11-21", due_at=NOW + timedelta(hours=1)) is False
        assert add(db, runner_id, "r:reminder:2026-11-22") is True
        assert row(db, "r:reminder:2026-11-21").due_at == NOW
        assert len(db.run_sync(schedule_store.pending_for, runner_id=runner_id)) == 2

    @pytest.mark.parametrize("state", ["queued", "sent", "dropped", "failed"])
    def test_a_key_already_handled_is_not_scheduled_again(self, db: Database, state: str):
        # A replayed update or a restarted scheduler saving the same follow-up again must not
        # bring back a message that was already queued, sent or given up.
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        set_state(db, "k", state)
        assert add(db, runner_id, "k", due_at=NOW + timedelta(days=1)) is False
        stored = row(db, "k")
        assert (stored.state, stored.due_at) == (state, NOW)
        assert take(db, now=NOW + timedelta(days=2)) == []

    def test_a_cancelled_key_comes_back_pending_with_the_new_time_and_payload(self, db: Database):
        # Reminders paused, then resumed the same day: today's reminder is due again.
        runner_id = new_runner(db)
        add(db, runner_id, "r:reminder:2026-11-21", kind="reminder", payload={"v": 1})
        db.run_sync(
            schedule_store.finish,
            message_id=row(db, "r:reminder:2026-11-21").id,
            state="failed",
            reason="an old error",
            now=NOW,
        )
        set_state(db, "r:reminder:2026-11-21", "cancelled")
        later = NOW + timedelta(hours=3)
        revived_at = NOW + timedelta(hours=1)
        assert add(
            db, runner_id, "r:reminder:2026-11-21", due_at=later, payload={"v": 2}, now=revived_at
        )
        stored = row(db, "r:reminder:2026-11-21")
        assert (stored.state, stored.due_at, stored.payload) == ("pending", later, {"v": 2})
        assert (stored.attempts, stored.last_error, stored.updated_at) == (0, None, revived_at)
        assert take(db, now=later) == ["r:reminder:2026-11-21"]

    def test_an_inactive_schedule_refuses_new_messages_and_revivals(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="blocked", now=NOW
        )
        assert row(db, "k").state == "cancelled"
        assert add(db, runner_id, "k") is False
        assert add(db, runner_id, "new") is False
        assert row(db, "k").state == "cancelled"
        assert db.run_sync(schedule_store.pending_for, runner_id=runner_id) == []

    def test_a_naive_due_time_is_refused(self, db: Database):
        runner_id = new_runner(db)
        with pytest.raises((ValueError, StatementError), match="naive"):
            add(db, runner_id, "k", due_at=datetime(2026, 11, 21, 9, 0))  # noqa: DTZ001


class TestTakeDue:
    def test_due_messages_come_oldest_first_up_to_the_limit(self, db: Database):
        runner_id = new_runner(db)
        for minutes in (5, 1, 3, 2, 4):
            add(db, runner_id, f"m{minutes}", due_at=NOW - timedelta(minutes=minutes))
        assert take_and_finish(db, limit=3) == ["m5", "m4", "m3"]
        assert take_and_finish(db, limit=3) == ["m2", "m1"]
        assert take_and_finish(db) == []

    def test_messages_due_at_the_same_instant_come_in_id_order(self, db: Database):
        runner_id = new_runner(db)
        for key in ("c", "a", "b"):
            add(db, runner_id, key)
        assert take(db) == ["c", "a", "b"]

    def test_taking_changes_nothing_by_itself(self, db: Database):
        # The scheduler decides every taken row in the same transaction; a transaction that
        # ends without deciding (a crash) must leave the rows to the next one.
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        assert take(db) == ["k"]
        stored = row(db, "k")
        assert (stored.state, stored.claimed_by, stored.attempts) == ("pending", None, 0)
        assert take(db) == ["k"]

    def test_messages_not_yet_due_are_left_alone(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "now", due_at=NOW)
        add(db, runner_id, "later", due_at=NOW + timedelta(seconds=1))
        assert take_and_finish(db) == ["now"]
        assert row(db, "later").state == "pending"
        assert take_and_finish(db, now=NOW + timedelta(seconds=1)) == ["later"]

    def test_only_pending_messages_are_taken(self, db: Database):
        runner_id = new_runner(db)
        for state in MessageState:
            add(db, runner_id, state.value)
            set_state(db, state.value, state.value)
        assert take(db, now=NOW + timedelta(days=1)) == ["pending"]

    def test_a_limit_below_one_takes_nothing(self, db: Database):
        add(db, new_runner(db), "k")
        assert take(db, limit=0) == []
        assert take(db, limit=-5) == []

    def test_the_due_query_uses_the_due_index_without_a_sort(self, database_url: str, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        query = schedule_store.due_query(now=NOW, limit=100)

        def plan(session: Session) -> str:
            compiled = query.compile(
                dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
            )
            if database_url.startswith("sqlite"):
                rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
                return "\n".join(str(r[-1]) for r in rows)
            # A tiny table is cheaper to scan; what matters is that the index fits the query.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            return "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))

        explained = db.run_sync(plan)
        assert "ix_scheduled_messages_due" in explained
        assert "TEMP B-TREE" not in explained and "Sort" not in explained

    def test_the_due_query_locks_and_skips_locked_rows_on_postgresql(self, db: Database):
        compiled = str(
            schedule_store.due_query(now=NOW, limit=5).compile(
                dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        if db.engine.dialect.name == "postgresql":
            assert compiled.rstrip().endswith("FOR UPDATE SKIP LOCKED")
        else:
            # SQLite has no row locks; BEGIN IMMEDIATE admits one writer at a time instead.
            assert "FOR UPDATE" not in compiled

    def test_concurrent_schedulers_never_take_the_same_message(
        self, database_url: str, db: Database
    ):
        """Four passes with their own connections take and finish rows at once until nothing is
        left; on PostgreSQL SKIP LOCKED keeps them apart, on SQLite the write lock does."""
        runner_id = new_runner(db)
        for number in range(200):
            add(db, runner_id, f"m{number}", due_at=NOW - timedelta(seconds=number % 7))
        takers = [Database.for_url(database_url) for _ in range(4)]
        start = threading.Barrier(len(takers))

        def drain(index: int) -> list[str]:
            start.wait()
            taken: list[str] = []
            while batch := take_and_finish(takers[index], limit=7):
                taken += batch
            return taken

        try:
            with ThreadPoolExecutor(len(takers)) as pool:
                results = list(pool.map(drain, range(len(takers))))
        finally:
            for taker in takers:
                taker.dispose_sync()
        every = [key for taken in results for key in taken]
        assert len(every) == len(set(every)) == 200


@pytest.mark.postgres
class TestTakeDueConcurrentlyOnPostgres:
    @pytest.fixture
    def pg(self, postgres_url: str):
        database = Database.for_url(postgres_url)
        upgrade_to_head(database.engine)
        yield database
        database.dispose_sync()

    def test_two_open_transactions_take_disjoint_rows_without_waiting(self, pg: Database):
        runner_id = new_runner(pg)
        for number in range(8):
            add(pg, runner_id, f"m{number}", due_at=NOW - timedelta(minutes=8 - number))
        with Session(pg.engine) as first, Session(pg.engine) as second:
            first.begin()
            second.begin()
            # Waiting for the first transaction's locks would fail here instead of hanging.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            taken_first = keys(schedule_store.take_due(first, now=NOW, limit=3))
            taken_second = keys(schedule_store.take_due(second, now=NOW, limit=3))
            assert taken_first == ["m0", "m1", "m2"]
            assert taken_second == ["m3", "m4", "m5"]
            for session, taken in ((first, taken_first), (second, taken_second)):
                for key in taken:
                    message_id = session.scalar(
                        select(ScheduledMessage.id).where(ScheduledMessage.idempotency_key == key)
                    )
                    schedule_store.finish(
                        session, message_id=message_id, state="queued", reason=None, now=NOW
                    )
            second.commit()
            first.commit()
        assert take_and_finish(pg) == ["m6", "m7"]
        states = {f"m{n}": row(pg, f"m{n}").state for n in range(8)}
        assert set(states.values()) == {"queued"}

    def test_rows_of_a_transaction_that_rolled_back_are_taken_again(self, pg: Database):
        runner_id = new_runner(pg)
        for number in range(4):
            add(pg, runner_id, f"m{number}", due_at=NOW - timedelta(minutes=4 - number))
        with Session(pg.engine) as crashed, Session(pg.engine) as other:
            crashed.begin()
            other.begin()
            assert keys(schedule_store.take_due(crashed, now=NOW, limit=2)) == ["m0", "m1"]
            crashed.rollback()  # the scheduler died before deciding them
            assert keys(schedule_store.take_due(other, now=NOW, limit=10)) == [
                "m0",
                "m1",
                "m2",
                "m3",
            ]
            other.rollback()


class TestFinishAndPostpone:
    @pytest.mark.parametrize(
        ("state", "reason"),
        [("queued", None), ("dropped", "too late for a reminder"), ("failed", "compose failed")],
    )
    def test_finish_records_the_state_and_why(self, db: Database, state: str, reason: str | None):
        add(db, new_runner(db), "k")
        later = NOW + timedelta(seconds=3)
        db.run_sync(
            schedule_store.finish, message_id=row(db, "k").id, state=state, reason=reason, now=later
        )
        stored = row(db, "k")
        assert (stored.state, stored.last_error, stored.updated_at) == (state, reason, later)
        assert take(db, now=NOW + timedelta(days=1)) == []

    def test_finish_refuses_a_state_that_does_not_exist(self, db: Database):
        add(db, new_runner(db), "k")
        with pytest.raises(ValueError, match="lost"):
            db.run_sync(
                schedule_store.finish,
                message_id=row(db, "k").id,
                state="lost",
                reason=None,
                now=NOW,
            )
        assert row(db, "k").state == "pending"

    def test_postpone_keeps_it_pending_until_the_new_time(self, db: Database):
        add(db, new_runner(db), "k", due_at=NOW - timedelta(hours=8))
        morning = NOW + timedelta(hours=22)

        def postpone_taken(session: Session) -> None:
            (message,) = schedule_store.take_due(session, now=NOW, limit=10)
            schedule_store.postpone(session, message_id=message.id, due_at=morning, now=NOW)

        db.run_sync(postpone_taken)
        stored = row(db, "k")
        assert (stored.state, stored.due_at, stored.updated_at) == ("pending", morning, NOW)
        assert take(db, now=morning - timedelta(seconds=1)) == []
        assert take(db, now=morning) == ["k"]


class TestCancelAndStatus:
    def test_cancel_pending_cancels_the_runners_pending_messages_of_the_kinds_given(
        self, db: Database
    ):
        ada, bob = new_runner(db, chat_id=1), new_runner(db, chat_id=2)
        add(db, ada, "ada-checkin", kind="checkin")
        add(db, ada, "ada-reminder", kind="reminder", due_at=NOW + timedelta(days=1))
        add(db, ada, "ada-late-reminder", kind="reminder")
        add(db, bob, "bob-reminder", kind="reminder")
        later = NOW + timedelta(minutes=1)
        cancelled = db.run_sync(
            schedule_store.cancel_pending, runner_id=ada, kinds=["reminder"], now=later
        )
        assert cancelled == 2
        assert [row(db, k).state for k in ("ada-checkin", "ada-reminder", "ada-late-reminder")] == [
            "pending",
            "cancelled",
            "cancelled",
        ]
        assert row(db, "ada-reminder").updated_at == later
        assert row(db, "bob-reminder").state == "pending"
        assert db.run_sync(schedule_store.cancel_pending, runner_id=ada, now=NOW) == 1
        assert row(db, "ada-checkin").state == "cancelled"

    def test_a_message_handed_to_the_outbox_cannot_be_cancelled(self, db: Database):
        # A queued message is the outbox's now; a chat that refuses messages fails it there.
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        take_and_finish(db)
        assert db.run_sync(schedule_store.cancel_pending, runner_id=runner_id, now=NOW) == 0
        assert row(db, "k").state == "queued"

    def test_pending_for_lists_what_is_still_to_come_soonest_first(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "tomorrow", due_at=NOW + timedelta(days=1))
        add(db, runner_id, "today", due_at=NOW)
        add(db, runner_id, "cancelled", due_at=NOW + timedelta(hours=1), kind="reminder")
        add(db, runner_id, "queued", due_at=NOW - timedelta(hours=1))
        add(db, runner_id, "sent", due_at=NOW - timedelta(hours=2))
        set_state(db, "queued", "queued")
        set_state(db, "sent", "sent")
        db.run_sync(schedule_store.cancel_pending, runner_id=runner_id, kinds=["reminder"], now=NOW)
        add(db, new_runner(db, chat_id=7), "someone-else")
        upcoming = db.run_sync(schedule_store.pending_for, runner_id=runner_id)
        # A queued message has not reached the runner yet: it is still to come.
        assert keys(upcoming) == ["queued", "today", "tomorrow"]

    def test_a_deactivated_schedule_cancels_everything_pending_and_refuses_new_messages(
        self, db: Database
    ):
        runner_id = new_runner(db)
        add(db, runner_id, "a")
        add(db, runner_id, "b", due_at=NOW + timedelta(days=1))
        cancelled = db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="blocked", now=NOW
        )
        assert cancelled == 2
        assert db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is False
        assert add(db, runner_id, "c") is False
        assert db.run_sync(schedule_store.pending_for, runner_id=runner_id) == []
        # Deactivating again (another sender saw the same refusal) is harmless.
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="again", now=NOW
        )
        record = db.run_sync(lambda session: session.get(RunnerSchedule, runner_id))
        assert (record.active, record.reason) == (False, "again")

    def test_reactivating_lets_messages_be_scheduled_again(self, db: Database):
        runner_id = new_runner(db)
        assert db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is True
        assert (
            db.run_sync(schedule_store.reactivate_schedule, runner_id=runner_id, now=NOW) is False
        )
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="blocked", now=NOW
        )
        assert db.run_sync(schedule_store.reactivate_schedule, runner_id=runner_id, now=NOW) is True
        assert db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is True
        record = db.run_sync(lambda session: session.get(RunnerSchedule, runner_id))
        assert (record.active, record.reason) == (True, None)
        assert add(db, runner_id, "c") is True
        assert (
            db.run_sync(schedule_store.reactivate_schedule, runner_id=runner_id, now=NOW) is False
        )

    def test_recipients_for_maps_runners_to_their_chats_and_locales(self, db: Database):
        ada, bob = new_runner(db, chat_id=-1_001_234_567_890), new_runner(db, chat_id=5)
        db.run_sync(
            make_runner,
            chat_id=5,
            user_id=None,
            first_name=None,
            locale="pt-BR",
            now=NOW,
        )
        found = db.run_sync(schedule_store.recipients_for, runner_ids=[ada, bob, 999_999])
        assert found == {ada: (-1_001_234_567_890, None), bob: (5, "pt-br")}
        assert db.run_sync(schedule_store.recipients_for, runner_ids=[]) == {}

    def test_deleting_a_runner_deletes_their_messages_and_schedule_record(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="blocked", now=NOW
        )
        db.run_sync(lambda session: session.execute(delete(Runner).where(Runner.id == runner_id)))

        def counts(session: Session) -> tuple[int, int]:
            messages = session.scalar(select(func.count()).select_from(ScheduledMessage))
            records = session.scalar(select(func.count()).select_from(RunnerSchedule))
            return messages, records

        assert db.run_sync(counts) == (0, 0)

    def test_every_state_name_is_accepted_by_the_database(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        for state in MessageState:
            set_state(db, "k", state.value)
        with pytest.raises(Exception, match=r"(?i)check"):
            set_state(db, "k", "lost")
