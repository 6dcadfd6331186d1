"""Scheduled-message store functions against a migrated database, on SQLite and on PostgreSQL:
idempotent scheduling, claims (order, limit, leases, no overlap between concurrent claimers),
fenced state changes, recovery of interrupted sends, cancellation and a runner's schedule."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from bot.db import schedule_store, store
from bot.db.database import Database
from bot.db.models import MessageState, Runner, RunnerSchedule, ScheduledMessage
from bot.db.schedule_store import OUTCOME_UNKNOWN

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def new_runner(db: Database, chat_id: int = 42) -> int:
    return db.run_sync(
        store.get_or_create_runner, chat_id=chat_id, user_id=None, first_name=None, now=NOW
    ).id


def add(
    db: Database,
    runner_id: int,
    key: str,
    *,
    due_at: datetime = NOW,
    kind: str = "checkin",
    payload: dict | None = None,
) -> bool:
    return db.run_sync(
        schedule_store.schedule,
        runner_id=runner_id,
        kind=kind,
        due_at=due_at,
        idempotency_key=key,
        payload=payload or {},
        now=NOW - timedelta(days=1),
    )


def row(db: Database, key: str) -> ScheduledMessage:
    return db.run_sync(
        lambda session: session.scalars(
            select(ScheduledMessage).where(ScheduledMessage.idempotency_key == key)
        ).one()
    )


def claim(
    db: Database, *, worker: str = "w1", limit: int = 10, now: datetime = NOW
) -> list[ScheduledMessage]:
    return db.run_sync(schedule_store.claim_due, now=now, limit=limit, worker=worker, lease=LEASE)


def keys(rows: list[ScheduledMessage]) -> list[str]:
    return [r.idempotency_key for r in rows]


def begin(db: Database, message_id: int, *, worker: str = "w1", now: datetime = NOW):
    return db.run_sync(
        schedule_store.begin_sending, message_id=message_id, worker=worker, now=now, lease=LEASE
    )


class TestSchedule:
    def test_a_scheduled_message_is_pending_with_what_it_was_given(self, db: Database):
        runner_id = new_runner(db)
        assert add(db, runner_id, "r:checkin:1", payload={"zone": "Europe/London", "n": 1})
        stored = row(db, "r:checkin:1")
        assert (stored.state, stored.attempts, stored.kind) == ("pending", 0, "checkin")
        assert stored.due_at == NOW
        assert stored.payload == {"zone": "Europe/London", "n": 1}
        assert (stored.claimed_by, stored.claimed_until, stored.sent_at) == (None, None, None)

    def test_the_same_idempotency_key_twice_adds_nothing(self, db: Database):
        runner_id = new_runner(db)
        assert add(db, runner_id, "r:reminder:2026-11-21") is True
        assert add(db, runner_id, "r:reminder:2026-11-21", due_at=NOW + timedelta(hours=1)) is False
        assert add(db, runner_id, "r:reminder:2026-11-22") is True
        assert row(db, "r:reminder:2026-11-21").due_at == NOW
        assert len(db.run_sync(schedule_store.pending_for, runner_id=runner_id)) == 2

    def test_a_key_already_used_by_a_sent_message_is_not_scheduled_again(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        message_id = claim(db)[0].id
        begin(db, message_id)
        db.run_sync(schedule_store.mark_sent, message_id=message_id, worker="w1", now=NOW)
        assert add(db, runner_id, "k") is False
        assert claim(db, now=NOW + timedelta(days=1)) == []

    def test_a_naive_due_time_is_refused(self, db: Database):
        runner_id = new_runner(db)
        with pytest.raises((ValueError, StatementError), match="naive"):
            add(db, runner_id, "k", due_at=datetime(2026, 11, 21, 9, 0))  # noqa: DTZ001


class TestClaim:
    def test_due_messages_are_claimed_oldest_first_up_to_the_limit(self, db: Database):
        runner_id = new_runner(db)
        for minutes in (5, 1, 3, 2, 4):
            add(db, runner_id, f"m{minutes}", due_at=NOW - timedelta(minutes=minutes))
        claimed = claim(db, limit=3)
        assert keys(claimed) == ["m5", "m4", "m3"]
        assert all(r.state == "claimed" and r.claimed_by == "w1" for r in claimed)
        assert all(r.claimed_until == NOW + LEASE for r in claimed)
        assert keys(claim(db, limit=3)) == ["m2", "m1"]
        assert claim(db) == []

    def test_messages_not_yet_due_are_left_alone(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "now", due_at=NOW)
        add(db, runner_id, "later", due_at=NOW + timedelta(seconds=1))
        assert keys(claim(db)) == ["now"]
        assert row(db, "later").state == "pending"
        assert keys(claim(db, now=NOW + timedelta(seconds=1))) == ["later"]

    def test_a_live_claim_is_not_taken_but_an_expired_one_is(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        claim(db, worker="dead")
        assert claim(db, worker="w2", now=NOW + LEASE) == []
        taken = claim(db, worker="w2", now=NOW + LEASE + timedelta(seconds=1))
        assert keys(taken) == ["k"]
        assert row(db, "k").claimed_by == "w2"

    def test_a_message_being_sent_is_never_claimed_again(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        begin(db, claim(db, worker="dead")[0].id, worker="dead")
        assert claim(db, worker="w2", now=NOW + timedelta(days=1)) == []

    def test_concurrent_claimers_never_share_a_message(self, database_url: str, db: Database):
        """Four schedulers with their own connections claim at once until nothing is left; on
        PostgreSQL SKIP LOCKED keeps them apart, on SQLite the write lock does."""
        runner_id = new_runner(db)
        for number in range(200):
            add(db, runner_id, f"m{number}", due_at=NOW - timedelta(seconds=number % 7))
        claimers = [Database.threaded(database_url) for _ in range(4)]
        start = threading.Barrier(len(claimers))

        def drain(index: int) -> list[int]:
            start.wait()
            taken: list[int] = []
            while batch := claim(claimers[index], worker=f"w{index}", limit=7):
                taken += [r.id for r in batch]
            return taken

        try:
            with ThreadPoolExecutor(len(claimers)) as pool:
                results = list(pool.map(drain, range(len(claimers))))
        finally:
            for claimer in claimers:
                claimer.dispose_sync()
        every = [message_id for taken in results for message_id in taken]
        assert len(every) == len(set(every)) == 200

    def test_the_due_query_uses_the_due_index(self, database_url: str, db: Database):
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


class TestStateChanges:
    def test_begin_sending_moves_a_claimed_message_to_sending_with_a_new_lease(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        later = NOW + timedelta(seconds=5)
        sending = begin(db, message_id, now=later)
        assert sending is not None and sending.id == message_id
        assert (sending.state, sending.claimed_until) == ("sending", later + LEASE)
        assert begin(db, message_id) is None

    def test_a_scheduler_that_lost_its_claim_changes_nothing(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db, worker="slow")[0].id
        claim(db, worker="fast", now=NOW + LEASE + timedelta(seconds=1))
        assert begin(db, message_id, worker="slow") is None
        for change, extra in [
            (schedule_store.mark_sent, {}),
            (schedule_store.mark_dropped, {"reason": "late"}),
            (schedule_store.mark_failed, {"error": "boom"}),
            (schedule_store.retry_later, {"error": "boom", "due_at": NOW}),
        ]:
            assert (
                db.run_sync(change, message_id=message_id, worker="slow", now=NOW, **extra) is False
            )
        assert (row(db, "k").state, row(db, "k").claimed_by) == ("claimed", "fast")

    def test_mark_sent_records_when(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        begin(db, message_id)
        sent_at = NOW + timedelta(seconds=2)
        assert db.run_sync(
            schedule_store.mark_sent, message_id=message_id, worker="w1", now=sent_at
        )
        stored = row(db, "k")
        assert (stored.state, stored.sent_at, stored.claimed_by) == ("sent", sent_at, "w1")

    def test_a_message_claimed_but_not_being_sent_cannot_be_marked_sent(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        assert not db.run_sync(
            schedule_store.mark_sent, message_id=message_id, worker="w1", now=NOW
        )

    def test_retry_later_puts_it_back_pending_counting_the_attempt(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        retry_at = NOW + timedelta(seconds=30)
        assert db.run_sync(
            schedule_store.retry_later,
            message_id=message_id,
            worker="w1",
            error="Bad Gateway",
            due_at=retry_at,
            now=NOW,
        )
        stored = row(db, "k")
        assert (stored.state, stored.attempts, stored.due_at) == ("pending", 1, retry_at)
        assert (stored.claimed_by, stored.last_error) == (None, "Bad Gateway")

    def test_a_retry_that_is_not_the_messages_fault_is_not_counted(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        db.run_sync(
            schedule_store.retry_later,
            message_id=message_id,
            worker="w1",
            error="retry after 3",
            due_at=NOW,
            now=NOW,
            count_attempt=False,
        )
        assert row(db, "k").attempts == 0

    def test_release_claims_hands_back_only_this_workers_unstarted_messages(self, db: Database):
        runner_id = new_runner(db)
        for key in ("a", "b", "c"):
            add(db, runner_id, key)
        first, second = claim(db, worker="w1", limit=2)
        claim(db, worker="w2")
        begin(db, first.id)
        assert db.run_sync(schedule_store.release_claims, worker="w1", now=NOW) == 1
        states = {key: (row(db, key).state, row(db, key).claimed_by) for key in ("a", "b", "c")}
        assert states == {"a": ("sending", "w1"), "b": ("pending", None), "c": ("claimed", "w2")}
        assert second.idempotency_key == "b"

    def test_sends_left_unconfirmed_past_their_lease_fail_with_an_unknown_outcome(
        self, db: Database
    ):
        runner_id = new_runner(db)
        add(db, runner_id, "stranded")
        add(db, runner_id, "in_flight")
        stranded_id, in_flight_id = (m.id for m in claim(db, worker="w1", limit=2))
        begin(db, stranded_id)
        begin(db, in_flight_id, now=NOW + timedelta(seconds=30))
        after_first_lease = NOW + LEASE + timedelta(seconds=1)
        failed = db.run_sync(schedule_store.fail_unconfirmed, now=after_first_lease)
        assert failed == [stranded_id]
        assert (row(db, "stranded").state, row(db, "stranded").last_error) == (
            "failed",
            OUTCOME_UNKNOWN,
        )
        assert row(db, "in_flight").state == "sending"

    def test_a_late_confirmation_corrects_an_unknown_outcome(self, db: Database):
        add(db, new_runner(db), "k")
        message_id = claim(db)[0].id
        begin(db, message_id)
        db.run_sync(schedule_store.fail_unconfirmed, now=NOW + timedelta(hours=1))
        assert db.run_sync(
            schedule_store.mark_sent, message_id=message_id, worker="w1", now=NOW + LEASE * 2
        )
        assert row(db, "k").state == "sent"


class TestCancelAndStatus:
    def test_cancel_pending_cancels_the_runners_unstarted_messages_of_the_kinds_given(
        self, db: Database
    ):
        ada, bob = new_runner(db, chat_id=1), new_runner(db, chat_id=2)
        add(db, ada, "ada-checkin", kind="checkin")
        add(db, ada, "ada-reminder", kind="reminder", due_at=NOW + timedelta(days=1))
        add(db, ada, "ada-claimed", kind="reminder")
        add(db, bob, "bob-reminder", kind="reminder")
        db.run_sync(
            schedule_store.claim_due, now=NOW, limit=10, worker="w1", lease=LEASE
        )  # ada-checkin, ada-claimed, bob-reminder are now claimed
        cancelled = db.run_sync(
            schedule_store.cancel_pending, runner_id=ada, kinds=["reminder"], now=NOW
        )
        assert cancelled == 2
        assert [row(db, k).state for k in ("ada-checkin", "ada-reminder", "ada-claimed")] == [
            "claimed",
            "cancelled",
            "cancelled",
        ]
        assert row(db, "bob-reminder").state == "claimed"
        assert db.run_sync(schedule_store.cancel_pending, runner_id=ada, now=NOW) == 1

    def test_a_message_being_sent_cannot_be_cancelled(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "k")
        begin(db, claim(db)[0].id)
        assert db.run_sync(schedule_store.cancel_pending, runner_id=runner_id, now=NOW) == 0
        assert row(db, "k").state == "sending"

    def test_pending_for_lists_what_is_still_to_come_soonest_first(self, db: Database):
        runner_id = new_runner(db)
        add(db, runner_id, "tomorrow", due_at=NOW + timedelta(days=1))
        add(db, runner_id, "today", due_at=NOW)
        add(db, runner_id, "cancelled", due_at=NOW + timedelta(hours=1), kind="reminder")
        db.run_sync(schedule_store.cancel_pending, runner_id=runner_id, kinds=["reminder"], now=NOW)
        add(db, new_runner(db, chat_id=7), "someone-else")
        upcoming = db.run_sync(schedule_store.pending_for, runner_id=runner_id)
        assert keys(upcoming) == ["today", "tomorrow"]

    def test_a_deactivated_schedule_cancels_everything_and_refuses_new_messages(self, db: Database):
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
        # Deactivating again (another scheduler saw the same refusal) is harmless.
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="again", now=NOW
        )
        record = db.run_sync(lambda session: session.get(RunnerSchedule, runner_id))
        assert (record.active, record.reason) == (False, "again")

    def test_reactivating_lets_messages_be_scheduled_again(self, db: Database):
        runner_id = new_runner(db)
        assert (
            db.run_sync(schedule_store.reactivate_schedule, runner_id=runner_id, now=NOW) is False
        )
        db.run_sync(
            schedule_store.deactivate_schedule, runner_id=runner_id, reason="blocked", now=NOW
        )
        assert db.run_sync(schedule_store.reactivate_schedule, runner_id=runner_id, now=NOW) is True
        assert db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is True
        assert add(db, runner_id, "c") is True

    def test_chat_ids_for_maps_runners_to_their_chats(self, db: Database):
        ada, bob = new_runner(db, chat_id=-1_001_234_567_890), new_runner(db, chat_id=5)
        found = db.run_sync(schedule_store.chat_ids_for, runner_ids=[ada, bob, 999_999])
        assert found == {ada: -1_001_234_567_890, bob: 5}
        assert db.run_sync(schedule_store.chat_ids_for, runner_ids=[]) == {}

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

        def set_state(session: Session, *, state: str) -> None:
            session.execute(
                ScheduledMessage.__table__.update().values(state=state)  # type: ignore[attr-defined]
            )

        for state in MessageState:
            db.run_sync(set_state, state=state.value)
        with pytest.raises(Exception, match=r"(?i)check"):
            db.run_sync(set_state, state="lost")
