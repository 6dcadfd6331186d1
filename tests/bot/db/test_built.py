"""`bot.db.built.Prepared` against a migrated database, on SQLite (its own execution on the
DBAPI cursor) and on PostgreSQL (through the Session): values go in and come out as through
`Session.execute` (JSON, booleans, aware UTC timestamps, values fixed in the statement), and
the statement runs inside the caller's transaction, seeing its writes and undone with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.orm import Session

from bot.db.built import Prepared, one_of
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, OutboxState, Runner

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
        returned = ENQUEUE.execute(
            session, {"chat": 7, "payload": PAYLOAD, "once": True, "now": given}
        ).first()
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
        lambda s: ENQUEUE.execute(
            s, {"chat": 8, "payload": {}, "once": False, "now": NOW}
        ).scalar_one()
    )
    assert (
        db.run_sync(lambda s: CLAIM.execute(s, {"message_id": first, "worker": "w1"}).rowcount) == 1
    )
    assert (
        db.run_sync(lambda s: CLAIM.execute(s, {"message_id": first + 99, "worker": "w"}).rowcount)
        == 0
    )
    rows = db.run_sync(lambda s: READ.execute(s, {"chat": 8}).all())
    assert [tuple(row) for row in rows] == [("claimed", "w1", False, {})]
    assert db.run_sync(lambda s: READ.execute(s, {"chat": 9}).first()) is None


def test_runs_inside_the_callers_transaction(db: Database) -> None:
    class Undo(Exception):
        pass

    def enqueue_then_fail(session):
        ENQUEUE.execute(session, {"chat": 10, "payload": PAYLOAD, "once": False, "now": NOW})
        # The Session sees the prepared statement's write: one transaction, one connection.
        seen = session.scalars(select(OutboxMessage.chat_id)).all()
        assert seen == [10]
        raise Undo

    with pytest.raises(Undo):
        db.run_sync(enqueue_then_fail)
    # Rolled back with the transaction.
    assert db.run_sync(lambda s: READ.execute(s, {"chat": 10}).all()) == []

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
        return READ.execute(session, {"chat": 11}).all()

    assert [row[0] for row in db.run_sync(session_write_then_prepared_read)] == ["pending"]


def test_reads_a_result_as_sqlalchemy_does_on_every_backend(db: Database) -> None:
    for _ in range(2):
        db.run_sync(
            lambda s: ENQUEUE.execute(s, {"chat": 12, "payload": {}, "once": False, "now": NOW})
        )

    def read(session):
        # A result is read once, as SQLAlchemy's is: each check runs the statement again.
        with pytest.raises(MultipleResultsFound):
            READ.execute(session, {"chat": 12}).one_or_none()
        with pytest.raises(MultipleResultsFound):
            READ.execute(session, {"chat": 12}).scalar_one()
        with pytest.raises(NoResultFound):
            READ.execute(session, {"chat": 13}).scalar_one()
        return (
            len(READ.execute(session, {"chat": 12}).all()),
            READ.execute(session, {"chat": 13}).scalar(),
            READ.execute(session, {"chat": 13}).first(),
        )

    assert db.run_sync(read) == (2, None, None)
    assert db.run_sync(lambda s: READ.execute(s, {"chat": 12}).scalar()) == "pending"
    assert db.run_sync(lambda s: READ.execute(s, {"chat": 13}).scalar_one_or_none()) is None


def test_a_statement_needing_python_side_defaults_is_refused_rather_than_inserting_nulls(
    sqlite_url: str,
) -> None:
    # Runner.reminders_paused has a Python-side default, which only SQLAlchemy's execution
    # fills in: run on the cursor, the row would get NULL.
    db = Database.for_url(sqlite_url)
    upgrade_to_head(db.engine)
    statement = Prepared(
        insert(Runner.__table__).values(
            chat_id=bindparam("chat"), created_at=bindparam("now"), updated_at=bindparam("now")
        )
    )
    with pytest.raises(ValueError, match="Python-side column defaults"):
        db.run_sync(lambda s: statement.execute(s, {"chat": 1, "now": NOW}))
    db.dispose_sync()


def test_a_database_error_is_raised_as_sqlalchemys_on_every_backend(db: Database) -> None:
    # A NULL chat id breaks the NOT NULL constraint: callers catch SQLAlchemy's exceptions.
    with pytest.raises(IntegrityError):
        db.run_sync(
            lambda s: ENQUEUE.execute(s, {"chat": None, "payload": {}, "once": False, "now": NOW})
        )


async def test_runs_on_the_asyncio_database_too(sqlite_url: str) -> None:
    # Database.asyncio runs store functions through AsyncSession.run_sync on aiosqlite, whose
    # DBAPI connection is SQLAlchemy's adapter.
    db = Database.asyncio(sqlite_url)
    upgrade_to_head(db.engine)
    try:
        returned = await db.run(
            lambda s: ENQUEUE.execute(
                s, {"chat": 14, "payload": PAYLOAD, "once": True, "now": NOW}
            ).first()
        )
        assert returned[1:] == (PAYLOAD, True, NOW)
        rows = await db.run(lambda s: READ.execute(s, {"chat": 14}).all())
        assert [tuple(row) for row in rows] == [("pending", None, False, PAYLOAD)]
    finally:
        await db.dispose()


def test_a_session_used_for_several_transactions_runs_each_statement_in_the_current_one(
    db: Database,
) -> None:
    # The cursor is kept for the rest of a transaction: a later transaction of the same
    # Session must not run on the earlier one's connection (whose transaction has ended).
    class Undo(Exception):
        pass

    with Session(db.engine) as session:
        with session.begin():
            ENQUEUE.execute(session, {"chat": 15, "payload": {}, "once": False, "now": NOW})
        with session.begin():
            assert len(READ.execute(session, {"chat": 15}).all()) == 1
        with pytest.raises(Undo), session.begin():
            ENQUEUE.execute(session, {"chat": 16, "payload": {}, "once": False, "now": NOW})
            raise Undo
        with session.begin():
            assert READ.execute(session, {"chat": 16}).all() == []
    assert db.run_sync(lambda s: len(READ.execute(s, {"chat": 16}).all())) == 0


def test_a_write_inside_a_savepoint_is_undone_with_it(db: Database) -> None:
    # SQLAlchemy emits a nested transaction's SAVEPOINT when the connection is first asked
    # for: a prepared statement must ask, or its write would land outside the savepoint.
    def work(session: Session) -> list[int]:
        ENQUEUE.execute(session, {"chat": 17, "payload": {}, "once": False, "now": NOW})
        nested = session.begin_nested()
        ENQUEUE.execute(session, {"chat": 18, "payload": {}, "once": False, "now": NOW})
        nested.rollback()
        ENQUEUE.execute(session, {"chat": 19, "payload": {}, "once": False, "now": NOW})
        return sorted(session.scalars(select(OutboxMessage.chat_id)))

    assert db.run_sync(work) == [17, 19]
    assert db.run_sync(lambda s: sorted(s.scalars(select(OutboxMessage.chat_id)))) == [17, 19]
