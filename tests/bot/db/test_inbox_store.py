"""The inbox store against a migrated database, on SQLite and on PostgreSQL: an update is stored
once however often it is delivered, each chat's pending updates come out oldest first, an update
is marked done once, failures are retried or set aside with their (bounded) error, and applied or
set-aside updates are pruned while pending ones are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import inbox_store
from bot.db.database import Database
from bot.db.inbox_store import InboxRow, Received
from bot.db.models import InboxState, InboxUpdate
from bot.inbox import received

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# A supergroup id: needs a 64-bit column.
SUPERGROUP = -1001234567890123


def head(db: Database, chat_key: int) -> InboxRow | None:
    """The chat's oldest pending update, as the applier takes it (`pending_rows`)."""
    pending = db.run_sync(inbox_store.pending_rows, exclude=[])
    return next((row for row in pending if row.chat_key == chat_key), None)


def message(update_id: int, chat_id: int, text: str = "hi", *, message_id: int = 1) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_795_000_000 + update_id,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": abs(chat_id), "is_bot": False, "first_name": "Ana"},
            "text": text,
        },
    }


def store(db: Database, *raws: dict[str, Any], now: datetime = NOW) -> int:
    return len(db.run_sync(inbox_store.store_updates, updates=[received(r) for r in raws], now=now))


def rows(db: Database) -> list[InboxUpdate]:
    return db.run_sync(lambda s: list(s.scalars(select(InboxUpdate).order_by(InboxUpdate.id))))


def stored_id(db: Database, update_id: int) -> int:
    return db.run_sync(
        lambda s: s.scalar(select(InboxUpdate.id).where(InboxUpdate.update_id == update_id))
    )


def test_an_update_is_stored_once_however_often_it_is_delivered(db: Database) -> None:
    first = message(1, 42, "where does it hurt?")
    assert store(db, first) == 1
    assert store(db, first, now=NOW + SECOND) == 0
    # Twice in one batch, as a poller that fetched it twice would hand it over.
    assert store(db, first, first) == 0
    (row,) = rows(db)
    assert row.update_key == received(first).update_key
    assert row.payload == first
    assert row.state == InboxState.PENDING.value
    assert (row.attempts, row.last_error) == (0, None)
    assert row.received_at == row.not_before == row.updated_at == NOW


def test_a_reused_update_id_with_another_message_is_a_new_update(db: Database) -> None:
    # Update ids restart on a new Bot API server: same id, another message.
    assert store(db, message(7, 42, "old", message_id=3)) == 1
    assert store(db, message(7, 42, "new", message_id=9)) == 1
    assert [r.payload["message"]["text"] for r in rows(db)] == ["old", "new"]


def test_a_batch_reports_only_its_new_updates(db: Database) -> None:
    store(db, message(1, 42))
    assert store(db, message(1, 42), message(2, 42), message(3, 43)) == 2
    assert db.run_sync(inbox_store.counts_by_state) == {"pending": 3}


def test_the_payload_round_trips_with_unicode_and_nesting(db: Database) -> None:
    raw = message(1, 42, "Pain 4/10 🦶 — “ouch”\nsecond line\ttab")
    raw["message"]["entities"] = [{"type": "bold", "offset": 0, "length": 4}]
    store(db, raw)
    (row,) = rows(db)
    assert row.payload == raw


def test_a_supergroup_chat_key_fits(db: Database) -> None:
    store(db, message(1, SUPERGROUP))
    (row,) = rows(db)
    assert row.chat_key == SUPERGROUP
    assert head(db, SUPERGROUP).update_id == 1


def test_pending_rows_come_in_arrival_order_per_chat(db: Database) -> None:
    store(db, message(1, 42, "a"), message(2, 43, "b"), message(3, 42, "c"))
    first = head(db, 42)
    assert isinstance(first, InboxRow)
    assert (first.update_id, first.chat_key, first.attempts) == (1, 42, 0)
    assert first.payload["message"]["text"] == "a"
    assert first.not_before == NOW
    db.run_sync(inbox_store.mark_done, inbox_id=first.id, now=NOW)
    assert head(db, 42).update_id == 3
    assert head(db, 43).update_id == 2
    assert head(db, 44) is None


def test_an_update_is_marked_done_once(db: Database) -> None:
    store(db, message(1, 42))
    inbox_id = stored_id(db, 1)
    assert db.run_sync(inbox_store.mark_done, inbox_id=inbox_id, now=NOW + SECOND) is True
    assert db.run_sync(inbox_store.mark_done, inbox_id=inbox_id, now=NOW + 2 * SECOND) is False
    (row,) = rows(db)
    assert (row.state, row.updated_at) == (InboxState.DONE.value, NOW + SECOND)
    assert db.run_sync(inbox_store.mark_done, inbox_id=inbox_id + 1000, now=NOW) is False


def test_a_failure_with_a_retry_time_keeps_the_update_pending(db: Database) -> None:
    store(db, message(1, 42))
    inbox_id = stored_id(db, 1)
    later = NOW + 2 * SECOND
    db.run_sync(
        inbox_store.record_failure,
        inbox_id=inbox_id,
        error="OperationalError: locked",
        retry_at=later,
        now=NOW + SECOND,
    )
    (row,) = rows(db)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "OperationalError: locked")
    assert (row.not_before, row.updated_at) == (later, NOW + SECOND)
    again = head(db, 42)
    assert (again.attempts, again.not_before) == (1, later)


def test_a_failure_without_a_retry_time_sets_the_update_aside(db: Database) -> None:
    store(db, message(1, 42), message(2, 42))
    inbox_id = stored_id(db, 1)
    db.run_sync(
        inbox_store.record_failure, inbox_id=inbox_id, error="x" * 10_000, retry_at=None, now=NOW
    )
    failed = rows(db)[0]
    assert (failed.state, failed.attempts) == (InboxState.FAILED.value, 1)
    assert failed.last_error == "x" * 4000
    # The chat is not held up: its next update comes out.
    assert head(db, 42).update_id == 2
    assert db.run_sync(inbox_store.counts_by_state) == {"failed": 1, "pending": 1}


def test_a_failure_does_not_touch_an_update_no_longer_pending(db: Database) -> None:
    store(db, message(1, 42))
    inbox_id = stored_id(db, 1)
    db.run_sync(inbox_store.mark_done, inbox_id=inbox_id, now=NOW)
    db.run_sync(inbox_store.record_failure, inbox_id=inbox_id, error="late", retry_at=None, now=NOW)
    (row,) = rows(db)
    assert (row.state, row.attempts, row.last_error) == ("done", 0, None)


def test_pending_rows_leave_out_what_is_queued_already(db: Database) -> None:
    store(db, *(message(i, 40 + i % 3) for i in range(1, 7)))
    everything = db.run_sync(inbox_store.pending_rows, exclude=[])
    assert [r.update_id for r in everything] == [1, 2, 3, 4, 5, 6]
    queued = [everything[0].id, everything[3].id]
    rest = db.run_sync(inbox_store.pending_rows, exclude=queued)
    assert [r.update_id for r in rest] == [2, 3, 5, 6]
    assert len(db.run_sync(inbox_store.pending_rows, exclude=[], limit=2)) == 2
    db.run_sync(inbox_store.mark_done, inbox_id=everything[1].id, now=NOW)
    assert [r.update_id for r in db.run_sync(inbox_store.pending_rows, exclude=queued)] == [
        3,
        5,
        6,
    ]


def test_forgetting_a_chat_keeps_only_the_update_being_applied(db: Database) -> None:
    store(db, message(1, 42), message(2, 43), message(3, 42), message(4, 42))
    keep = stored_id(db, 4)
    assert db.run_sync(inbox_store.forget_chat, chat_key=42, keep=keep) == 2
    assert [(r.update_id, r.chat_key) for r in rows(db)] == [(2, 43), (4, 42)]
    assert db.run_sync(inbox_store.forget_chat, chat_key=42) == 1
    assert [r.update_id for r in rows(db)] == [2]


def test_pruning_deletes_old_applied_and_set_aside_updates_only(db: Database) -> None:
    store(db, *(message(i, 42) for i in range(1, 6)))
    old, recent = NOW - timedelta(days=10), NOW - timedelta(hours=1)
    db.run_sync(inbox_store.mark_done, inbox_id=stored_id(db, 1), now=old)
    db.run_sync(inbox_store.mark_done, inbox_id=stored_id(db, 2), now=recent)
    for update_id, when in ((3, old), (4, recent)):
        db.run_sync(
            inbox_store.record_failure,
            inbox_id=stored_id(db, update_id),
            error="boom",
            retry_at=None,
            now=when,
        )
    # Update 5 is pending (received at NOW) and stays however old the cut-offs make it look.
    pruned = db.run_sync(
        inbox_store.prune,
        done_before=NOW - timedelta(days=1),
        failed_before=NOW - timedelta(days=1),
    )
    assert pruned == 2
    assert [(r.update_id, r.state) for r in rows(db)] == [
        (2, "done"),
        (4, "failed"),
        (5, "pending"),
    ]
    assert db.run_sync(inbox_store.prune, done_before=NOW, failed_before=old) == 1
    assert (
        db.run_sync(
            inbox_store.prune, done_before=NOW + timedelta(days=365), failed_before=NOW + SECOND
        )
        == 1
    )
    assert [r.update_id for r in rows(db)] == [5]


def test_counts_by_state(db: Database) -> None:
    store(db, message(1, 42), now=NOW)
    store(db, message(2, 43), now=NOW + SECOND)
    store(db, message(3, 44), now=NOW + 2 * SECOND)
    db.run_sync(inbox_store.mark_done, inbox_id=stored_id(db, 1), now=NOW)
    assert db.run_sync(inbox_store.counts_by_state) == {"done": 1, "pending": 2}


def test_received_updates_keep_their_keys(db: Database) -> None:
    raw = {"update_id": 5, "callback_query": {"id": "77", "from": {"id": 42}, "data": "a"}}
    store(db, raw)
    (row,) = rows(db)
    assert (row.update_id, row.update_key, row.chat_key) == (5, "5:q77", 42)
    assert received(raw) == Received(5, "5:q77", 42, raw)


def test_storing_returns_the_new_updates_ready_to_apply(db: Database) -> None:
    raws = [message(3, 42, "c"), message(1, 43, "a"), message(3, 42, "c")]
    new = db.run_sync(inbox_store.store_updates, updates=[received(r) for r in raws], now=NOW)
    assert [(r.update_id, r.chat_key, r.attempts, r.not_before) for r in new] == [
        (3, 42, 0, NOW),
        (1, 43, 0, NOW),
    ]
    assert new[0].payload["message"]["text"] == "c"
    assert [r.id for r in new] == [r.id for r in db.run_sync(inbox_store.pending_rows, exclude=[])]
    # Stored before: nothing new to apply.
    assert db.run_sync(inbox_store.store_updates, updates=[received(raws[0])], now=NOW) == []
