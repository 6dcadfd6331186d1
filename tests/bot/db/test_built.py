"""`bot.db.built.Prepared` against a migrated database, on SQLite (its own execution on the
DBAPI cursor) and on PostgreSQL (through the Session): values go in and come out as through
`Session.execute` (JSON, booleans, aware UTC timestamps, values fixed in the statement), and
the statement runs inside the caller's transaction, seeing its writes and undone with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select, update

from bot.db.built import Prepared, one_of
from bot.db.database import Database
from bot.db.models import OutboxMessage, OutboxState

NOW = datetime(2026, 12, 8, 9, 30, 15, 123456, tzinfo=UTC)
_table = OutboxMessage.__table__

ENQUEUE = Prepared(
    insert(_table)
    .values(
        chat_id=bindparam("chat"),
        source="reply",
        method="sendMessage",
        payload=bindparam("payload"),
        at_most_once=bindparam("once"),
        urgent=False,
        state=OutboxState.PENDING.value,
        attempts=0,
        not_before=bindparam("now"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_table.c.id, _table.c.payload, _table.c.at_most_once, _table.c.not_before)
)
CLAIM = Prepared(
    update(_table)
    .where(_table.c.id == bindparam("message_id"), one_of(_table.c.state, ["pending", "claimed"]))
    .values(state=OutboxState.CLAIMED.value, claimed_by=bindparam("worker"))
)
READ = Prepared(
    select(_table.c.state, _table.c.claimed_by, _table.c.urgent, _table.c.payload).where(
        _table.c.chat_id == bindparam("chat")
    )
)
PAYLOAD = {"text": "Ça va? 🦶", "reply_markup": {"inline_keyboard": [[{"text": "Yes"}]]}}


def test_values_go_in_and_come_out_as_through_the_session(db: Database) -> None:
    # A time given in another zone is stored in UTC, as the models' UTCDateTime does.
    given = NOW.astimezone(timezone(timedelta(hours=-5)))

    def work(session):
        returned = ENQUEUE.first(
            session, {"chat": 7, "payload": PAYLOAD, "once": True, "now": given}
        )
        return returned, session.get(OutboxMessage, returned[0])

    (message_id, payload, once, not_before), stored = db.run_sync(work)
    assert payload == PAYLOAD and once is True and not_before == NOW
    assert not_before.tzinfo == UTC
    # What the ORM reads back is what was given, with the statement's own fixed values.
    assert (stored.id, stored.payload, stored.at_most_once, stored.not_before) == (
        message_id,
        PAYLOAD,
        True,
        NOW,
    )
    assert (stored.state, stored.attempts, stored.urgent, stored.source) == (
        "pending",
        0,
        False,
        "reply",
    )


def test_counts_rows_changed_and_reads_rows_through_the_processors(db: Database) -> None:
    first = db.run_sync(
        lambda s: ENQUEUE.first(s, {"chat": 8, "payload": {}, "once": False, "now": NOW})[0]
    )
    assert db.run_sync(lambda s: CLAIM.count(s, {"message_id": first, "worker": "w1"})) == 1
    assert db.run_sync(lambda s: CLAIM.count(s, {"message_id": first + 99, "worker": "w"})) == 0
    rows = db.run_sync(lambda s: READ.rows(s, {"chat": 8}))
    assert [tuple(row) for row in rows] == [("claimed", "w1", False, {})]
    assert db.run_sync(lambda s: READ.first(s, {"chat": 9})) is None


def test_runs_inside_the_callers_transaction(db: Database) -> None:
    class Undo(Exception):
        pass

    def enqueue_then_fail(session):
        ENQUEUE.first(session, {"chat": 10, "payload": PAYLOAD, "once": False, "now": NOW})
        # The Session sees the prepared statement's write: one transaction, one connection.
        seen = session.scalars(select(OutboxMessage.chat_id)).all()
        assert seen == [10]
        raise Undo

    with pytest.raises(Undo):
        db.run_sync(enqueue_then_fail)
    # Rolled back with the transaction.
    assert db.run_sync(lambda s: READ.rows(s, {"chat": 10})) == []

    def session_write_then_prepared_read(session):
        session.add(
            OutboxMessage(
                chat_id=11,
                source="reply",
                method="sendMessage",
                payload={"text": "x"},
                state="pending",
                not_before=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.flush()
        return READ.rows(session, {"chat": 11})

    assert [row[0] for row in db.run_sync(session_write_then_prepared_read)] == ["pending"]
