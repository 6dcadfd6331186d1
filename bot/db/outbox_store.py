"""The outbox in the database: every message the bot sends, written with the state it reports.

Functions take the `Session` first, pass time in as `now`, and never commit. A message is
`enqueue`d in the transaction that decided it. Senders claim the *head* of each chat's queue
(the oldest unfinished message of the chat; a chat's later messages wait behind it, so they
arrive in order even when the head waits for a retry) under a lease, and record the result:
sent, tried again later, or failed. Every change a sender makes is fenced by its worker id and
the state it expects, so a sender whose lease ran out changes nothing. On PostgreSQL claims use
`FOR UPDATE SKIP LOCKED`; on SQLite `BEGIN IMMEDIATE` admits one writer at a time.

When a sender vanishes (killed, crashed), its claimed messages are handed out again once its
lease ran out, or at once when it was a process of this host that no longer runs
(`recover`). A message marked `sending` (only `at_most_once` ones are) may have reached the
runner: it is failed with "outcome unknown" instead of being sent twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from bot.db.built import Prepared, one_of
from bot.db.models import (
    OUTBOX_UNFINISHED,
    MessageState,
    OutboxMessage,
    OutboxState,
    Runner,
    ScheduledMessage,
)

OUTCOME_UNKNOWN = "outcome unknown: its sender stopped while sending it; not sent again"
_UNFINISHED = [state.value for state in OUTBOX_UNFINISHED]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed message as the sender needs it, detached from the session."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    at_most_once: bool
    urgent: bool
    attempts: int
    source: str
    scheduled_id: int | None
    # The claim also did what `start_sending` does (`claim_next_for_chat(start=True)`): the
    # Bot API call may leave at once.
    started: bool = False


_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.chat_id,
    OutboxMessage.method,
    OutboxMessage.payload,
    OutboxMessage.at_most_once,
    OutboxMessage.urgent,
    OutboxMessage.attempts,
    OutboxMessage.source,
    OutboxMessage.scheduled_id,
)


_table = OutboxMessage.__table__
# The hot path's statements are built once (bind parameters for what changes): building a
# statement costs more Python than SQLite takes to run it.
_ENQUEUE = Prepared(
    insert(_table)
    .values(
        chat_id=bindparam("chat_id"),
        source=bindparam("source"),
        scheduled_id=bindparam("scheduled_id"),
        method=bindparam("method"),
        payload=bindparam("payload"),
        at_most_once=bindparam("at_most_once"),
        urgent=bindparam("urgent"),
        state=OutboxState.PENDING.value,
        attempts=0,
        not_before=bindparam("now"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_table.c.id)
)


def enqueue(
    session: Session,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    source: str,
    now: datetime,
    scheduled_id: int | None = None,
    at_most_once: bool = False,
    urgent: bool = False,
) -> int:
    """Add a message to the chat's queue; its id (ids give the order within a chat)."""
    return _ENQUEUE.execute(
        session,
        {
            "chat_id": chat_id,
            "source": source,
            "scheduled_id": scheduled_id,
            "method": method,
            "payload": payload,
            "at_most_once": at_most_once,
            "urgent": urgent,
            "now": now,
        },
    ).scalar_one()


def _is_head(message: Any) -> Any:
    """`message` (the table, or an alias of it) is its chat's head: no earlier message of its
    chat is unfinished. The one rule of both claims, of many chats and of one."""
    earlier = _table.alias("earlier")
    return ~exists().where(
        earlier.c.chat_id == message.c.chat_id,
        earlier.c.id < message.c.id,
        one_of(earlier.c.state, _UNFINISHED),
    )


def _heads(*, now: datetime) -> Any:
    """Pending due messages with no earlier unfinished message in their chat."""
    return (
        select(*_COLUMNS)
        .where(
            OutboxMessage.state == OutboxState.PENDING.value,
            OutboxMessage.not_before <= now,
            _is_head(_table),
        )
        .order_by(OutboxMessage.id)
    )


def claim_heads(
    session: Session,
    *,
    now: datetime,
    limit: int,
    worker: str,
    lease: timedelta,
    skip_chats: Collection[int] = (),
    only_chats: Collection[int] | None = None,
) -> list[OutboxRow]:
    """Claim the due head of up to `limit` chats (not those in `skip_chats`; only those in
    `only_chats` when given: the terminal chat's own sender), oldest first."""
    query = _heads(now=now)
    if skip_chats:
        query = query.where(OutboxMessage.chat_id.not_in(list(skip_chats)))
    if only_chats is not None:
        query = query.where(OutboxMessage.chat_id.in_(list(only_chats)))
    rows = [
        OutboxRow(*row)
        for row in session.execute(
            query.limit(limit).with_for_update(skip_locked=True, of=OutboxMessage)
        )
    ]
    _claim(session, [row.id for row in rows], worker=worker, now=now, lease=lease)
    return rows


def claim_next_for_chat(
    session: Session,
    *,
    chat_id: int,
    now: datetime,
    worker: str,
    lease: timedelta,
    start: bool = False,
) -> OutboxRow | None:
    """Claim the chat's head if it is due (the sender drains one chat in order). With `start`
    the claim is also `start_sending` (an `at_most_once` message is marked `sending`), for a
    sender that makes the call right after this commit, with no send slot to wait for: one
    transaction instead of two."""
    row = _CLAIM_HEAD_OF_CHAT.execute(
        session,
        {"chat": chat_id, "now": now, "worker": worker, "until": now + lease, "start": start},
    ).one_or_none()
    return OutboxRow(*row, started=start) if row is not None else None


_head = _table.alias("head")
# One statement, on the table (an ORM select here cost more Python than the rest of a claim):
# the chat's oldest unfinished message, when it is pending and due, claimed and returned. On
# PostgreSQL the head is locked with SKIP LOCKED, so two senders never claim it both.
_HEAD_ID = (
    select(_head.c.id)
    .where(
        _head.c.chat_id == bindparam("chat"),
        _head.c.state == OutboxState.PENDING.value,
        _head.c.not_before <= bindparam("now"),
        _is_head(_head),
    )
    .order_by(_head.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM_HEAD_OF_CHAT = Prepared(
    update(_table)
    .where(_table.c.id == _HEAD_ID)
    .values(
        state=case(
            (and_(bindparam("start"), _table.c.at_most_once), OutboxState.SENDING.value),
            else_=OutboxState.CLAIMED.value,
        ),
        claimed_by=bindparam("worker"),
        claimed_until=bindparam("until"),
        updated_at=bindparam("now"),
    )
    .returning(*(_table.c[column.key] for column in _COLUMNS))
)
_CLAIM_MANY = (
    update(_table)
    .where(_table.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=OutboxState.CLAIMED.value,
        claimed_by=bindparam("worker"),
        claimed_until=bindparam("until"),
        updated_at=bindparam("now"),
    )
)


def _claim(
    session: Session, ids: list[int], *, worker: str, now: datetime, lease: timedelta
) -> None:
    if ids:
        session.execute(
            _CLAIM_MANY,
            {"ids": ids, "worker": worker, "until": now + lease, "now": now},
        )


_FENCE = and_(
    _table.c.id == bindparam("message_id"),
    _table.c.claimed_by == bindparam("worker"),
)
_START_AT_MOST_ONCE = Prepared(
    update(_table)
    .where(_FENCE, _table.c.state == OutboxState.CLAIMED.value)
    .values(
        state=OutboxState.SENDING.value,
        claimed_until=bindparam("until"),
        updated_at=bindparam("now"),
    )
)
_RENEW_CLAIM = Prepared(
    update(_table)
    .where(_FENCE, _table.c.state == OutboxState.CLAIMED.value)
    .values(claimed_until=bindparam("until"), updated_at=bindparam("now"))
)
_MARK_SENT = Prepared(
    update(_table)
    .where(
        _FENCE,
        one_of(
            _table.c.state,
            [OutboxState.CLAIMED.value, OutboxState.SENDING.value, OutboxState.FAILED.value],
        ),
    )
    .values(
        state=OutboxState.SENT.value,
        sent_at=bindparam("now"),
        payload={},
        last_error=bindparam("note"),
        updated_at=bindparam("now"),
    )
)


def start_sending(
    session: Session,
    *,
    message_id: int,
    worker: str,
    now: datetime,
    lease: timedelta,
    at_most_once: bool,
) -> bool:
    """The Bot API call is about to start: an `at_most_once` message is marked `sending`, any
    other keeps its claim; either way the lease is renewed (the wait for a send slot may have
    been long). False when `worker` no longer holds the message."""
    statement = _START_AT_MOST_ONCE if at_most_once else _RENEW_CLAIM
    result = statement.execute(
        session, {"message_id": message_id, "worker": worker, "until": now + lease, "now": now}
    )
    return result.rowcount == 1


def mark_sent(
    session: Session,
    *,
    message_id: int,
    worker: str,
    now: datetime,
    note: str | None = None,
    follow_up: bool = True,
) -> bool:
    """Record that Telegram accepted the message; its content is forgotten (it was delivered,
    and the outbox is no archive of what runners were told). `follow_up=False` says the
    message is no scheduled follow-up, which saves looking for one."""
    moved = (
        _MARK_SENT.execute(
            session, {"message_id": message_id, "worker": worker, "now": now, "note": note}
        ).rowcount
        == 1
    )
    if moved and follow_up:
        _finish_scheduled(session, [message_id], MessageState.SENT, now=now, error=note)
    return moved


def retry_later(
    session: Session,
    *,
    message_id: int,
    worker: str,
    not_before: datetime,
    error: str,
    now: datetime,
    count_attempt: bool = True,
) -> bool:
    """Back to pending, not before `not_before`; a RetryAfter does not count as an attempt."""
    return _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(OutboxState.CLAIMED, OutboxState.SENDING),
        now=now,
        state=OutboxState.PENDING.value,
        not_before=not_before,
        attempts=OutboxMessage.attempts + (1 if count_attempt else 0),
        last_error=error[:4000],
        claimed_by=None,
        claimed_until=None,
    )


def mark_failed(
    session: Session, *, message_id: int, worker: str, error: str, now: datetime
) -> bool:
    """Give the message up, with the reason; its content is forgotten."""
    moved = _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(OutboxState.CLAIMED, OutboxState.SENDING),
        now=now,
        state=OutboxState.FAILED.value,
        payload={},
        last_error=error[:4000],
    )
    if moved:
        _finish_scheduled(session, [message_id], MessageState.FAILED, now=now, error=error)
    return moved


def fail_chat(session: Session, *, chat_id: int, error: str, now: datetime) -> int:
    """Give up every unfinished message of a chat that refuses messages; how many."""
    ids = list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.chat_id == chat_id, OutboxMessage.state.in_(_UNFINISHED)
            )
        )
    )
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                state=OutboxState.FAILED.value, payload={}, last_error=error[:4000], updated_at=now
            )
        )
        _finish_scheduled(session, ids, MessageState.FAILED, now=now, error=error)
    return len(ids)


def recover(
    session: Session, *, now: datetime, vanished: Collection[str] = (), me: str | None = None
) -> tuple[list[int], list[int]]:
    """Hand out again the messages of senders that are gone: those whose lease ran out, and
    those claimed by the `vanished` workers whatever their lease; never those of `me`, the
    sender asking, which is alive and still holds them (one may wait long for its send slot).
    Claimed messages go back to pending (nothing was sent, or it is sent again: see the module
    doc); `sending` ones fail with an unknown outcome. Returns (handed back, failed) ids."""
    gone = OutboxMessage.claimed_until < now
    if me is not None:
        gone = gone & (OutboxMessage.claimed_by != me)
    if vanished:
        gone = gone | OutboxMessage.claimed_by.in_(list(vanished))
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.state)
        .where(
            OutboxMessage.state.in_([OutboxState.CLAIMED.value, OutboxState.SENDING.value]), gone
        )
        .with_for_update(skip_locked=True)
    ).all()
    handed_back = [i for i, state in rows if state == OutboxState.CLAIMED.value]
    failed = [i for i, state in rows if state == OutboxState.SENDING.value]
    if handed_back:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(handed_back))
            .values(
                state=OutboxState.PENDING.value,
                claimed_by=None,
                claimed_until=None,
                updated_at=now,
            )
        )
    if failed:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(failed))
            .values(
                state=OutboxState.FAILED.value,
                payload={},
                last_error=OUTCOME_UNKNOWN,
                updated_at=now,
            )
        )
        _finish_scheduled(session, failed, MessageState.FAILED, now=now, error=OUTCOME_UNKNOWN)
    return handed_back, failed


def release(session: Session, *, worker: str, now: datetime) -> int:
    """Hand back what `worker` claimed and has not begun to send (a clean stop)."""
    return session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.claimed_by == worker,
            OutboxMessage.state == OutboxState.CLAIMED.value,
        )
        .values(
            state=OutboxState.PENDING.value, claimed_by=None, claimed_until=None, updated_at=now
        )
    ).rowcount


def renew_claims(session: Session, *, worker: str, now: datetime, lease: timedelta) -> int:
    """Push the lease of every message `worker` holds to `now + lease`: a live sender whose
    claims wait long for their send slot (thousands of reminders due at once, one limit shared
    by every worker) keeps them, so no other sender hands them out again or fails the one being
    sent. A sender that died stops renewing, and its claims run out as before."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.claimed_by == worker,
            OutboxMessage.state.in_([OutboxState.CLAIMED.value, OutboxState.SENDING.value]),
        )
        .values(claimed_until=now + lease)
    )
    return result.rowcount or 0


def claimants(session: Session) -> list[str]:
    """The workers holding messages now (to find those whose process is gone)."""
    return list(
        session.scalars(
            select(OutboxMessage.claimed_by)
            .where(
                OutboxMessage.state.in_([OutboxState.CLAIMED.value, OutboxState.SENDING.value]),
                OutboxMessage.claimed_by.is_not(None),
            )
            .distinct()
        )
    )


def backlog(session: Session, *, now: datetime, only_chats: Collection[int] | None = None) -> int:
    """How many messages (of `only_chats`, when given) are due and not sent yet."""
    query = select(func.count()).where(
        OutboxMessage.state.in_(_UNFINISHED), OutboxMessage.not_before <= now
    )
    if only_chats is not None:
        query = query.where(OutboxMessage.chat_id.in_(list(only_chats)))
    return session.scalar(query)


def forget_chat(session: Session, *, chat_id: int) -> int:
    """Delete the chat's finished messages (a runner erasing their data)."""
    return session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.state.not_in(_UNFINISHED)
        )
    ).rowcount


def prune(session: Session, *, before: datetime) -> int:
    """Delete finished messages last changed before `before`; how many."""
    return session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.state.not_in(_UNFINISHED), OutboxMessage.updated_at < before
        )
    ).rowcount


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))
    return {state: count for state, count in rows}


def runner_id_for_chat(session: Session, *, chat_id: int) -> int | None:
    return session.scalar(select(Runner.id).where(Runner.chat_id == chat_id))


# --- helpers -------------------------------------------------------------------------------------


def _move(
    session: Session,
    *,
    message_id: int,
    worker: str,
    expected: tuple[OutboxState, ...],
    now: datetime,
    **values: Any,
) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == worker,
            OutboxMessage.state.in_([state.value for state in expected]),
        )
        .values(updated_at=now, **values)
    )
    return result.rowcount == 1


def _finish_scheduled(
    session: Session,
    outbox_ids: list[int],
    state: MessageState,
    *,
    now: datetime,
    error: str | None,
) -> None:
    """A follow-up handed to the outbox is sent or failed when its outbox message is."""
    scheduled = select(OutboxMessage.scheduled_id).where(
        OutboxMessage.id.in_(outbox_ids), OutboxMessage.scheduled_id.is_not(None)
    )
    values: dict[str, Any] = {"state": state.value, "updated_at": now, "last_error": error}
    # A follow-up failed as "outcome unknown" is corrected by its sender's late word that it
    # was sent, as its outbox message is.
    finishable = [MessageState.QUEUED.value]
    if state is MessageState.SENT:
        values["sent_at"] = now
        finishable.append(MessageState.FAILED.value)
    session.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.id.in_(scheduled),
            ScheduledMessage.state.in_(finishable),
        )
        .values(**values)
    )
