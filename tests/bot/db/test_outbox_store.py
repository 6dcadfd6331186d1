"""Outbox store functions against a migrated database, on SQLite and on PostgreSQL: enqueueing,
claiming the head of each chat (a chat's later message never overtakes an earlier one, not even
one waiting for a retry), changes fenced by the claiming worker, recording a result (sent,
tried again later, failed; the linked scheduled message follows), recovery of what vanished
senders held, giving up a chat, and the housekeeping queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.db import outbox_store, schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, OutboxState, ScheduledMessage
from bot.db.outbox_store import OUTCOME_UNKNOWN, OutboxRow
from flows.effects import ScheduleMessage
from tests.bot.runners import make_runner

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def enqueue(db: Database, chat_id: int, text: str, *, now: datetime = NOW, **options: Any) -> int:
    return db.run_sync(
        outbox_store.enqueue,
        chat_id=chat_id,
        method="sendMessage",
        payload={"text": text},
        source=options.pop("source", "reply"),
        now=now,
        **options,
    )


def claim(
    db: Database, *, worker: str = "w1", limit: int = 100, now: datetime = NOW, **options: Any
) -> list[OutboxRow]:
    return db.run_sync(
        outbox_store.claim_heads, now=now, limit=limit, worker=worker, lease=LEASE, **options
    )


def texts(rows: list[OutboxRow]) -> list[str]:
    return [r.payload["text"] for r in rows]


def get(db: Database, message_id: int) -> OutboxMessage:
    return db.run_sync(lambda session: session.get(OutboxMessage, message_id))


def sent(db: Database, message_id: int, *, worker: str = "w1", now: datetime = NOW) -> bool:
    return db.run_sync(outbox_store.mark_sent, message_id=message_id, worker=worker, now=now)


def retry(
    db: Database, message_id: int, *, after: timedelta, worker: str = "w1", **options: Any
) -> bool:
    return db.run_sync(
        outbox_store.retry_later,
        message_id=message_id,
        worker=worker,
        not_before=NOW + after,
        error=options.pop("error", "Internal Server Error (500)"),
        now=NOW,
        **options,
    )


def sending(db: Database, message_id: int, *, worker: str = "w1", now: datetime = NOW) -> bool:
    return db.run_sync(
        outbox_store.start_sending,
        message_id=message_id,
        worker=worker,
        now=now,
        lease=LEASE,
        at_most_once=True,
    )


def queued_follow_up(db: Database, chat_id: int, key: str) -> tuple[int, int]:
    """A follow-up the scheduler handed to the outbox: (scheduled message id, outbox id)."""

    def work(session: Session) -> tuple[int, int]:
        runner = make_runner(session, chat_id=chat_id, user_id=None, first_name=None, now=NOW)
        schedule_store.schedule(
            session,
            runner_id=runner.id,
            message=ScheduleMessage(
                kind="checkin",
                due_at=NOW,
                key=key,
                payload={},
            ),
            now=NOW,
        )
        scheduled_id = session.scalar(
            select(ScheduledMessage.id).where(ScheduledMessage.idempotency_key == key)
        )
        schedule_store.finish(
            session, message_id=scheduled_id, state="queued", reason=None, now=NOW
        )
        outbox_id = outbox_store.enqueue(
            session,
            chat_id=chat_id,
            method="sendMessage",
            payload={"text": key},
            source="followup",
            scheduled_id=scheduled_id,
            at_most_once=True,
            now=NOW,
        )
        return scheduled_id, outbox_id

    return db.run_sync(work)


def scheduled(db: Database, scheduled_id: int) -> ScheduledMessage:
    return db.run_sync(lambda session: session.get(ScheduledMessage, scheduled_id))


class TestEnqueue:
    def test_a_message_is_pending_and_due_at_once_with_what_it_was_given(self, db: Database):
        message_id = enqueue(db, 5, "hello", urgent=True)
        stored = get(db, message_id)
        assert (stored.chat_id, stored.method, stored.payload) == (
            5,
            "sendMessage",
            {"text": "hello"},
        )
        assert (stored.state, stored.attempts, stored.not_before) == ("pending", 0, NOW)
        assert (stored.source, stored.scheduled_id) == ("reply", None)
        assert (stored.at_most_once, stored.urgent) == (False, True)
        assert (stored.claimed_by, stored.claimed_until, stored.sent_at) == (None, None, None)

    def test_ids_follow_the_order_of_enqueueing(self, db: Database):
        ids = [enqueue(db, 5, f"m{n}") for n in range(3)]
        assert ids == sorted(ids)


class TestClaimHeads:
    def test_only_the_oldest_message_of_each_chat_is_claimed_oldest_chat_first(self, db: Database):
        for chat_id, message in [(1, "a1"), (2, "b1"), (1, "a2"), (3, "c1"), (2, "b2")]:
            enqueue(db, chat_id, message)
        claimed = claim(db)
        assert texts(claimed) == ["a1", "b1", "c1"]
        assert all(get(db, r.id).state == "claimed" for r in claimed)
        first = get(db, claimed[0].id)
        assert (first.claimed_by, first.claimed_until) == ("w1", NOW + LEASE)
        # Every chat's head is held: their later messages wait behind it.
        assert claim(db, worker="w2") == []

    def test_a_claim_carries_what_the_sender_needs(self, db: Database):
        scheduled_id, outbox_id = queued_follow_up(db, 9, "r:checkin:1")
        (claimed,) = claim(db)
        assert claimed == OutboxRow(
            id=outbox_id,
            chat_id=9,
            method="sendMessage",
            payload={"text": "r:checkin:1"},
            at_most_once=True,
            urgent=False,
            attempts=0,
            source="followup",
            scheduled_id=scheduled_id,
        )

    def test_the_limit_counts_chats(self, db: Database):
        for chat_id in (1, 2, 3):
            enqueue(db, chat_id, f"c{chat_id}")
            enqueue(db, chat_id, f"c{chat_id}-later")
        assert texts(claim(db, limit=2)) == ["c1", "c2"]
        assert texts(claim(db, limit=2)) == ["c3"]

    def test_a_later_message_never_overtakes_one_waiting_for_a_retry(self, db: Database):
        first = enqueue(db, 1, "first")
        enqueue(db, 1, "second")
        enqueue(db, 2, "other chat")
        claim(db, limit=1)
        assert retry(db, first, after=timedelta(seconds=30))
        # "second" is due, but the chat's head is still unfinished: the chat waits.
        assert texts(claim(db, now=NOW + timedelta(seconds=29))) == ["other chat"]
        assert texts(claim(db, now=NOW + timedelta(seconds=30))) == ["first"]

    def test_a_finished_head_lets_the_next_message_go(self, db: Database):
        first = enqueue(db, 1, "first")
        second = enqueue(db, 1, "second")
        third = enqueue(db, 1, "third")
        claim(db)
        assert sent(db, first)
        assert texts(claim(db)) == ["second"]
        assert db.run_sync(
            outbox_store.mark_failed, message_id=second, worker="w1", error="rejected", now=NOW
        )
        assert [r.id for r in claim(db)] == [third]

    def test_a_message_not_yet_due_is_not_claimed(self, db: Database):
        enqueue(db, 1, "later", now=NOW + timedelta(seconds=5))
        assert claim(db) == []
        assert texts(claim(db, now=NOW + timedelta(seconds=5))) == ["later"]

    def test_chats_to_skip_are_left_alone(self, db: Database):
        enqueue(db, 1, "a")
        enqueue(db, 2, "b")
        assert texts(claim(db, skip_chats=[1])) == ["b"]
        assert texts(claim(db)) == ["a"]

    def test_claim_next_for_chat_claims_that_chats_due_head_only(self, db: Database):
        first = enqueue(db, 1, "first")
        enqueue(db, 1, "second", now=NOW + timedelta(seconds=10))
        enqueue(db, 2, "other chat")

        def next_for(chat_id: int, now: datetime = NOW) -> OutboxRow | None:
            return db.run_sync(
                outbox_store.claim_next_for_chat, chat_id=chat_id, now=now, worker="w1", lease=LEASE
            )

        head = next_for(1)
        assert head is not None and head.id == first
        assert next_for(1) is None  # its head is claimed
        sent(db, first)
        assert next_for(1) is None  # "second" is not due yet
        later = next_for(1, NOW + timedelta(seconds=10))
        assert later is not None and later.payload == {"text": "second"}
        assert get(db, later.id).claimed_until == NOW + timedelta(seconds=10) + LEASE
        assert next_for(3) is None

    def test_a_claim_that_starts_the_send_marks_an_at_most_once_message_sending(self, db: Database):
        """`start=True` (a sender with no slot to wait for): the claim is also `start_sending`,
        so a crash after it fails the message as "outcome unknown" instead of sending it twice;
        urgent advice (at least once) stays claimed, to be sent again."""
        reply = enqueue(db, 1, "reply", at_most_once=True)
        urgent = enqueue(db, 2, "urgent", at_most_once=False, urgent=True)

        def start(chat_id: int) -> OutboxRow | None:
            return db.run_sync(
                outbox_store.claim_next_for_chat,
                chat_id=chat_id,
                now=NOW,
                worker="w1",
                lease=LEASE,
                start=True,
            )

        first, second = start(1), start(2)
        assert first is not None and first.started and first.id == reply
        assert second is not None and second.started and second.id == urgent
        assert get(db, reply).state == OutboxState.SENDING.value
        assert get(db, urgent).state == OutboxState.CLAIMED.value
        assert db.run_sync(outbox_store.recover, now=NOW, vanished=["w1"]) == ([urgent], [reply])


class TestFencing:
    def test_only_the_claiming_worker_can_record_a_result(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db, worker="w1")
        fenced = {"message_id": message_id, "worker": "w2", "now": NOW}
        assert not db.run_sync(outbox_store.start_sending, **fenced, lease=LEASE, at_most_once=True)
        assert not db.run_sync(outbox_store.mark_sent, **fenced)
        assert not db.run_sync(outbox_store.mark_failed, **fenced, error="x")
        assert not db.run_sync(
            outbox_store.retry_later, **fenced, not_before=NOW, error="x", count_attempt=True
        )
        stored = get(db, message_id)
        assert (stored.state, stored.claimed_by, stored.payload) == ("claimed", "w1", {"text": "m"})

    def test_a_sender_whose_lease_ran_out_changes_nothing_once_another_took_over(
        self, db: Database
    ):
        message_id = enqueue(db, 1, "m")
        claim(db, worker="slow")
        after_lease = NOW + LEASE + timedelta(seconds=1)
        handed_back, failed = db.run_sync(outbox_store.recover, now=after_lease)
        assert (handed_back, failed) == ([message_id], [])
        assert [r.id for r in claim(db, worker="fast", now=after_lease)] == [message_id]
        assert not sending(db, message_id, worker="slow")
        assert not sent(db, message_id, worker="slow")
        assert not retry(db, message_id, after=timedelta(0), worker="slow")
        stored = get(db, message_id)
        assert (stored.state, stored.claimed_by) == ("claimed", "fast")
        assert sent(db, message_id, worker="fast")

    def test_start_sending_moves_a_claim_once_and_renews_the_lease(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db)
        later = NOW + timedelta(seconds=40)
        assert sending(db, message_id, now=later)
        stored = get(db, message_id)
        assert (stored.state, stored.claimed_until) == ("sending", later + LEASE)
        assert not sending(db, message_id, now=later)

    def test_an_unclaimed_message_cannot_be_marked(self, db: Database):
        message_id = enqueue(db, 1, "m")
        assert not sending(db, message_id)
        assert not sent(db, message_id)
        assert get(db, message_id).state == "pending"


class TestResults:
    def test_mark_sent_records_when_and_forgets_the_content(self, db: Database):
        message_id = enqueue(db, 1, "private words")
        claim(db)
        at = NOW + timedelta(seconds=2)
        assert sent(db, message_id, now=at)
        stored = get(db, message_id)
        assert (stored.state, stored.sent_at, stored.updated_at) == ("sent", at, at)
        assert stored.payload == {}
        assert stored.claimed_by == "w1"  # kept as the record of who sent it
        assert not sent(db, message_id)  # once

    def test_a_sent_follow_up_marks_its_scheduled_message_sent(self, db: Database):
        scheduled_id, outbox_id = queued_follow_up(db, 1, "k")
        claim(db)
        sending(db, outbox_id)
        at = NOW + timedelta(seconds=1)
        assert sent(db, outbox_id, now=at)
        linked = scheduled(db, scheduled_id)
        assert (linked.state, linked.sent_at, linked.last_error) == ("sent", at, None)

    def test_retry_later_puts_it_back_pending_counting_the_attempt(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db)
        assert retry(db, message_id, after=timedelta(seconds=30), error="Bad Gateway")
        stored = get(db, message_id)
        assert (stored.state, stored.attempts, stored.not_before) == (
            "pending",
            1,
            NOW + timedelta(seconds=30),
        )
        assert (stored.claimed_by, stored.claimed_until, stored.last_error) == (
            None,
            None,
            "Bad Gateway",
        )
        assert stored.payload == {"text": "m"}

    def test_a_retry_that_is_not_the_messages_fault_is_not_counted(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db)
        retry(
            db, message_id, after=timedelta(seconds=3), error="retry after 3", count_attempt=False
        )
        assert get(db, message_id).attempts == 0

    def test_a_message_being_sent_can_be_put_back(self, db: Database):
        message_id = enqueue(db, 1, "m", at_most_once=True)
        claim(db)
        sending(db, message_id)
        assert retry(db, message_id, after=timedelta(seconds=30))
        assert get(db, message_id).state == "pending"

    def test_a_long_error_is_cut_to_fit(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db)
        retry(db, message_id, after=timedelta(seconds=1), error="x" * 10_000)
        assert get(db, message_id).last_error == "x" * 4000

    def test_mark_failed_forgets_the_content_and_fails_the_scheduled_message(self, db: Database):
        scheduled_id, outbox_id = queued_follow_up(db, 1, "k")
        claim(db)
        assert db.run_sync(
            outbox_store.mark_failed, message_id=outbox_id, worker="w1", error="rejected", now=NOW
        )
        stored = get(db, outbox_id)
        assert (stored.state, stored.payload, stored.last_error) == ("failed", {}, "rejected")
        linked = scheduled(db, scheduled_id)
        assert (linked.state, linked.last_error, linked.sent_at) == ("failed", "rejected", None)


class TestRecover:
    def test_expired_claims_go_back_to_pending_and_expired_sends_fail_as_unknown(
        self, db: Database
    ):
        claimed_id = enqueue(db, 1, "claimed")
        scheduled_id, sending_id = queued_follow_up(db, 2, "k")
        live_id = enqueue(db, 3, "live")
        claim(db, worker="dead", limit=2)
        sending(db, sending_id, worker="dead")
        claim(db, worker="alive", now=NOW + timedelta(seconds=30))
        after = NOW + LEASE + timedelta(seconds=1)
        handed_back, failed = db.run_sync(outbox_store.recover, now=after)
        assert (handed_back, failed) == ([claimed_id], [sending_id])
        back = get(db, claimed_id)
        assert (back.state, back.claimed_by, back.claimed_until) == ("pending", None, None)
        assert back.payload == {"text": "claimed"}
        lost = get(db, sending_id)
        assert (lost.state, lost.last_error, lost.payload) == ("failed", OUTCOME_UNKNOWN, {})
        linked = scheduled(db, scheduled_id)
        assert (linked.state, linked.last_error) == ("failed", OUTCOME_UNKNOWN)
        assert (get(db, live_id).state, get(db, live_id).claimed_by) == ("claimed", "alive")

    def test_a_claim_is_kept_until_its_lease_has_passed(self, db: Database):
        message_id = enqueue(db, 1, "m")
        claim(db, worker="w1")
        assert db.run_sync(outbox_store.recover, now=NOW + LEASE) == ([], [])
        assert get(db, message_id).state == "claimed"

    def test_the_messages_of_vanished_workers_are_handed_back_whatever_their_lease(
        self, db: Database
    ):
        claimed_id = enqueue(db, 1, "claimed")
        scheduled_id, sending_id = queued_follow_up(db, 2, "k")
        other_id = enqueue(db, 3, "other")
        claim(db, worker="gone", limit=2)
        sending(db, sending_id, worker="gone")
        claim(db, worker="running")
        handed_back, failed = db.run_sync(outbox_store.recover, now=NOW, vanished=["gone"])
        assert (handed_back, failed) == ([claimed_id], [sending_id])
        assert get(db, claimed_id).state == "pending"
        assert (get(db, sending_id).state, scheduled(db, scheduled_id).state) == (
            "failed",
            "failed",
        )
        assert get(db, other_id).state == "claimed"

    def test_a_renewed_claim_outlives_its_first_lease_and_only_its_worker_is_renewed(
        self, db: Database
    ):
        mine = enqueue(db, 1, "mine")
        being_sent = enqueue(db, 2, "being sent")
        theirs = enqueue(db, 3, "theirs")
        claim(db, worker="w1", limit=2)
        sending(db, being_sent, worker="w1")
        claim(db, worker="w2")
        later = NOW + LEASE - timedelta(seconds=5)
        renewed = db.run_sync(outbox_store.renew_claims, worker="w1", now=later, lease=LEASE)
        assert renewed == 2
        # Past the first lease: w2's claim runs out, w1's two are still held.
        handed_back, failed = db.run_sync(
            outbox_store.recover, now=NOW + LEASE + timedelta(seconds=1)
        )
        assert (handed_back, failed) == ([theirs], [])
        assert (get(db, mine).state, get(db, mine).claimed_by) == ("claimed", "w1")
        assert get(db, being_sent).state == "sending"

    def test_claimants_lists_the_workers_holding_messages(self, db: Database):
        first = enqueue(db, 1, "a")
        enqueue(db, 2, "b")
        enqueue(db, 3, "c")
        claim(db, worker="w1", limit=1)
        claim(db, worker="w2", limit=1)
        sending(db, first, worker="w1")
        sent(db, first, worker="w1")
        assert db.run_sync(outbox_store.claimants) == ["w2"]

    def test_release_hands_back_only_this_workers_unstarted_claims(self, db: Database):
        started = enqueue(db, 1, "started", at_most_once=True)
        unstarted = enqueue(db, 2, "unstarted")
        someone_elses = enqueue(db, 3, "someone else's")
        claim(db, worker="w1", limit=2)
        claim(db, worker="w2")
        sending(db, started)
        assert db.run_sync(outbox_store.release, worker="w1", now=NOW) == 1
        states = {i: (get(db, i).state, get(db, i).claimed_by) for i in (started, unstarted)}
        assert states == {started: ("sending", "w1"), unstarted: ("pending", None)}
        assert (get(db, someone_elses).state, get(db, someone_elses).claimed_by) == (
            "claimed",
            "w2",
        )


class TestFailChat:
    def test_every_unfinished_message_of_the_chat_is_given_up(self, db: Database):
        scheduled_id, follow_up = queued_follow_up(db, 1, "k")
        claimed = enqueue(db, 1, "claimed")  # behind the follow-up: pending
        done = enqueue(db, 1, "done")
        other = enqueue(db, 2, "other chat")
        claim(db)
        db.run_sync(
            lambda session: session.execute(
                OutboxMessage.__table__.update()  # type: ignore[attr-defined]
                .where(OutboxMessage.id == done)
                .values(state="sent")
            )
        )
        assert db.run_sync(outbox_store.fail_chat, chat_id=1, error="Forbidden", now=NOW) == 2
        assert [get(db, i).state for i in (follow_up, claimed, done, other)] == [
            "failed",
            "failed",
            "sent",
            "claimed",
        ]
        assert get(db, claimed).payload == {}
        assert scheduled(db, scheduled_id).state == "failed"


class TestHousekeeping:
    def test_backlog_counts_due_unfinished_messages(self, db: Database):
        enqueue(db, 1, "due")
        enqueue(db, 2, "claimed")
        enqueue(db, 3, "later", now=NOW + timedelta(minutes=1))
        claim(db, limit=1, skip_chats=[1])
        assert db.run_sync(outbox_store.backlog, now=NOW) == 2
        assert db.run_sync(outbox_store.backlog, now=NOW + timedelta(minutes=1)) == 3

    def test_forget_chat_and_prune_delete_only_finished_messages(self, db: Database):
        old = enqueue(db, 1, "old")
        claim(db)
        sent(db, old, now=NOW)
        pending = enqueue(db, 1, "pending")
        other_old = enqueue(db, 2, "other")
        claim(db, skip_chats=[1])
        sent(db, other_old, now=NOW)
        assert db.run_sync(outbox_store.forget_chat, chat_id=1) == 1
        assert [m.id for m in db.run_sync(messages_of, chat_id=1)] == [pending]
        assert db.run_sync(outbox_store.prune, before=NOW) == 0
        assert db.run_sync(outbox_store.prune, before=NOW + timedelta(seconds=1)) == 1
        assert db.run_sync(outbox_store.counts_by_state) == {"pending": 1}

    def test_runner_id_for_chat(self, db: Database):
        runner = db.run_sync(make_runner, chat_id=77, user_id=None, first_name=None, now=NOW)
        assert db.run_sync(outbox_store.runner_id_for_chat, chat_id=77) == runner.id
        assert db.run_sync(outbox_store.runner_id_for_chat, chat_id=78) is None

    def test_every_state_name_is_accepted_by_the_database(self, db: Database):
        message_id = enqueue(db, 1, "m")

        def set_state(session: Session, *, state: str) -> None:
            session.execute(
                OutboxMessage.__table__.update()  # type: ignore[attr-defined]
                .where(OutboxMessage.id == message_id)
                .values(state=state)
            )

        for state in OutboxState:
            db.run_sync(set_state, state=state.value)
        with pytest.raises(Exception, match=r"(?i)check"):
            db.run_sync(set_state, state="queued")


@pytest.mark.postgres
class TestConcurrentClaimsOnPostgres:
    @pytest.fixture
    def pg(self, postgres_url: str):
        database = Database.for_url(postgres_url)
        upgrade_to_head(database.engine)
        yield database
        database.dispose_sync()

    def test_a_head_locked_by_another_claim_is_skipped_and_its_chat_stays_blocked(
        self, pg: Database
    ):
        enqueue(pg, 1, "a1")
        enqueue(pg, 1, "a2")
        enqueue(pg, 2, "b1")
        with Session(pg.engine) as first, Session(pg.engine) as second:
            first.begin()
            second.begin()
            # Waiting for the first transaction's row lock would fail here instead of hanging.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            mine = outbox_store.claim_heads(first, now=NOW, limit=1, worker="w1", lease=LEASE)
            theirs = outbox_store.claim_heads(second, now=NOW, limit=10, worker="w2", lease=LEASE)
            # "a1" is locked (skipped); "a2" stays behind it although "a1" looks pending to w2.
            assert (texts(mine), texts(theirs)) == (["a1"], ["b1"])
            second.commit()
            first.commit()
        assert claim(pg, worker="w3") == []


class TestLateConfirmation:
    def test_a_late_confirmation_corrects_the_scheduled_message_too(self, db: Database):
        scheduled_id, outbox_id = queued_follow_up(db, 1, "k")
        claim(db)
        sending(db, outbox_id)
        after_lease = NOW + LEASE + timedelta(seconds=1)
        assert db.run_sync(outbox_store.recover, now=after_lease) == ([], [outbox_id])
        # The send was slow, not lost: Telegram's answer arrives after all.
        assert sent(db, outbox_id, now=after_lease + timedelta(seconds=1))
        assert get(db, outbox_id).state == "sent"
        assert scheduled(db, scheduled_id).state == "sent"


def messages_of(session, *, chat_id: int) -> list[OutboxMessage]:
    """Every stored message of a chat, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
        )
    )
