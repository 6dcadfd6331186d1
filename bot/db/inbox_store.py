"""The inbox in the database: store received updates once, hand them out per chat, record results.

Like the other store modules, functions take the `Session` first, pass time in as `now`, and
never commit. An update is stored (`store_updates`, a redelivery is a no-op through its unique
key) before Telegram is told it arrived; the applier then takes each chat's pending updates in
order (the rows `store_updates` returns for a batch just stored, `pending_rows` after a
crash) and, in the
transaction that applies one, marks it done (`mark_done`, guarded by its state so it is applied
once). An update that cannot be applied is tried again later or set
aside (`record_failure`); either way the chat's later updates are not held up for ever.

Several workers on one PostgreSQL database share the inbox through `claim_chat`, a
transaction-scoped advisory lock on the chat: the worker holding it reads the chat's oldest
pending update (`next_pending`) and applies it in that same transaction, so two workers never
apply one chat's updates at once or out of order (`bot.workers`). `ready_chats` lists the chats
with something to apply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, text, update
from sqlalchemy.orm import Session

from bot.db.built import Prepared, dialect_of, insert_for_dialect
from bot.db.models import InboxState, InboxUpdate


@dataclass(frozen=True, slots=True)
class Received:
    """One update as the poller (or a webhook) got it, with its keys worked out."""

    update_id: int
    update_key: str
    chat_key: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A stored update the applier works on, detached from the session."""

    id: int
    update_id: int
    chat_key: int
    payload: dict[str, Any]
    attempts: int
    not_before: datetime


def store_updates(
    session: Session, *, updates: Iterable[Received], now: datetime
) -> list[InboxRow]:
    """Store each update not stored before; the new ones, in the order given."""
    insert = _insert_for(session)
    stored = []
    for received in updates:
        row = insert.execute(
            session,
            {
                "update_id": received.update_id,
                "update_key": received.update_key,
                "chat_key": received.chat_key,
                "payload": received.payload,
                "now": now,
            },
        ).one_or_none()
        if row is not None:
            stored.append(
                InboxRow(row[0], received.update_id, received.chat_key, received.payload, 0, now)
            )
    return stored


@functools.cache
def _insert_built_for(dialect: str) -> Prepared:
    # Built once per dialect: ON CONFLICT is spelt the same on both, but by each one's insert.
    statement = (
        insert_for_dialect(dialect, InboxUpdate.__table__)
        .values(
            update_id=bindparam("update_id"),
            update_key=bindparam("update_key"),
            chat_key=bindparam("chat_key"),
            payload=bindparam("payload"),
            state=InboxState.PENDING.value,
            attempts=0,
            not_before=bindparam("now"),
            received_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["update_key"])
        .returning(InboxUpdate.__table__.c.id)
    )
    return Prepared(statement)


def _insert_for(session: Session) -> Prepared:
    return _insert_built_for(dialect_of(session))


_table = InboxUpdate.__table__
# Built once, on the table rather than the ORM class: an ORM-enabled UPDATE built per call
# cost more Python than SQLite takes to run it, once for every update.
_MARK_DONE = Prepared(
    update(_table)
    .where(_table.c.id == bindparam("inbox_id"), _table.c.state == InboxState.PENDING.value)
    .values(state=InboxState.DONE.value, updated_at=bindparam("now"))
)


def mark_done(session: Session, *, inbox_id: int, now: datetime) -> bool:
    """Record that the update was applied; False when it was not pending (applied already)."""
    return _MARK_DONE.execute(session, {"inbox_id": inbox_id, "now": now}).rowcount == 1


def record_failure(
    session: Session, *, inbox_id: int, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """Count a failed try: try again at `retry_at`, or set the update aside when None."""
    values: dict[str, Any] = {
        "attempts": InboxUpdate.attempts + 1,
        "last_error": error[:4000],
        "updated_at": now,
    }
    if retry_at is None:
        values["state"] = InboxState.FAILED.value
    else:
        values["not_before"] = retry_at
    session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.id == inbox_id, InboxUpdate.state == InboxState.PENDING.value)
        .values(**values)
    )


def forget_chat(session: Session, *, chat_key: int, keep: int | None = None) -> int:
    """Delete what the inbox holds of a chat (a runner erasing their data), except `keep`."""
    statement = delete(InboxUpdate).where(InboxUpdate.chat_key == chat_key)
    if keep is not None:
        statement = statement.where(InboxUpdate.id != keep)
    return session.execute(statement).rowcount


def prune(session: Session, *, done_before: datetime, failed_before: datetime) -> int:
    """Delete applied updates older than `done_before` and set-aside ones older than
    `failed_before`; how many. A redelivery that old can no longer come."""
    result = session.execute(
        delete(InboxUpdate).where(
            ((InboxUpdate.state == InboxState.DONE.value) & (InboxUpdate.updated_at < done_before))
            | (
                (InboxUpdate.state == InboxState.FAILED.value)
                & (InboxUpdate.updated_at < failed_before)
            )
        )
    )
    return result.rowcount


def counts_by_state(session: Session) -> dict[str, int]:
    """How many stored updates are in each state (for tests and the operator)."""
    rows = session.execute(select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state))
    return {state: count for state, count in rows}


_ROW = (
    InboxUpdate.id,
    InboxUpdate.update_id,
    InboxUpdate.chat_key,
    InboxUpdate.payload,
    InboxUpdate.attempts,
    InboxUpdate.not_before,
)


def pending_rows(session: Session, *, exclude: list[int], limit: int = 10_000) -> list[InboxRow]:
    """Pending updates in id order, leaving out the ids in `exclude` (already queued)."""
    query = select(*_ROW).where(InboxUpdate.state == InboxState.PENDING.value)
    if exclude:
        query = query.where(InboxUpdate.id.not_in(exclude))
    return [InboxRow(*row) for row in session.execute(query.order_by(InboxUpdate.id).limit(limit))]


# The lock key is the chat's key hashed with the schema and a name, so that two bots (or two
# test schemas) in one database, and the migration lock, do not block each other's chats.
_CLAIM_CHAT = text(
    "SELECT pg_try_advisory_xact_lock("
    "hashtextextended(current_schema() || :name || CAST(:chat AS text), 0))"
)
CLAIM_NAME = "/ankle-bot inbox/"


def claim_chat(session: Session, *, chat_key: int) -> bool:
    """Take the chat for the rest of this transaction; False when another transaction holds it.

    PostgreSQL: a transaction-scoped advisory lock, released by the commit or rollback, and by
    the server when the worker's connection dies (a crashed worker holds nothing). SQLite has
    one writer at a time and one process: there is nothing to take."""
    if dialect_of(session) != "postgresql":
        return True
    return bool(session.execute(_CLAIM_CHAT, {"name": CLAIM_NAME, "chat": chat_key}).scalar_one())


def next_pending(session: Session, *, chat_key: int) -> InboxRow | None:
    """The chat's oldest pending update, read after `claim_chat` (so still pending)."""
    row = session.execute(
        select(*_ROW)
        .where(InboxUpdate.chat_key == chat_key, InboxUpdate.state == InboxState.PENDING.value)
        .order_by(InboxUpdate.id)
        .limit(1)
    ).one_or_none()
    return None if row is None else InboxRow(*row)


def ready_chats(
    session: Session, *, now: datetime, exclude: Iterable[int] = (), limit: int = 500
) -> list[int]:
    """Chats with a pending update to apply, the longest waiting first; a chat whose oldest
    update waits for another try (`not_before` after `now`) is left out until then."""
    waiting = (InboxUpdate.attempts > 0) & (InboxUpdate.not_before > now)
    query = (
        select(InboxUpdate.chat_key)
        .where(InboxUpdate.state == InboxState.PENDING.value)
        .group_by(InboxUpdate.chat_key)
        .having(func.max(case((waiting, 1), else_=0)) == 0)
        .order_by(func.min(InboxUpdate.id))
        .limit(limit)
    )
    excluded = set(exclude)
    if excluded:
        query = query.where(InboxUpdate.chat_key.not_in(excluded))
    return list(session.scalars(query))
