"""Scheduled messages in the database: schedule, claim, and record what became of each one.

Like `bot.db.store`, every function is synchronous, takes the `Session` first and everything else
by keyword, passes time in as `now`, and never commits. A message moves pending -> claimed ->
sending -> sent (or dropped / failed / cancelled); every change a scheduler makes to a message it
claimed is fenced by its worker id and the state it expects, so a scheduler that lost its claim
(its lease ran out and another scheduler took the message) changes nothing. Claims take the rows
with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent schedulers never claim the
same row and never wait for each other; on SQLite the engine's `BEGIN IMMEDIATE` serialises
claims. The delivery semantics built on these functions are explained in `bot.scheduler`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import (
    UNFINISHED_STATES,
    MessageState,
    Runner,
    RunnerSchedule,
    ScheduledMessage,
)

# The message a `sending` row gets when its scheduler vanished mid-send: Telegram may or may not
# have delivered it, and sending it again could show the runner the same message twice.
OUTCOME_UNKNOWN = "outcome unknown: the scheduler stopped after starting to send (restart?)"


def schedule(
    session: Session,
    *,
    runner_id: int,
    kind: str,
    due_at: datetime,
    idempotency_key: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Add a pending message; False when nothing was added.

    Nothing is added when a message with `idempotency_key` already exists (scheduling again
    after a replay or restart is a no-op), unless that message was cancelled: then it is
    pending again with the new time. Nothing is added either when the runner's schedule is
    inactive (Telegram refuses to deliver to them; see `reactivate_schedule`).
    """
    if not schedule_is_active(session, runner_id=runner_id):
        return False
    statement = (
        _insert(session, ScheduledMessage)
        .values(
            runner_id=runner_id,
            kind=kind,
            due_at=due_at,
            state=MessageState.PENDING.value,
            attempts=0,
            idempotency_key=idempotency_key,
            payload=dict(payload),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ScheduledMessage.id)
    )
    if session.execute(statement).scalar_one_or_none() is not None:
        return True
    # A message cancelled earlier (reminders paused, then resumed the same day) comes back to
    # life under its key; any other state means it was already handled and stays as it is.
    revived = session.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.idempotency_key == idempotency_key,
            ScheduledMessage.state == MessageState.CANCELLED.value,
        )
        .values(
            state=MessageState.PENDING.value,
            due_at=due_at,
            payload=dict(payload),
            attempts=0,
            last_error=None,
            claimed_by=None,
            claimed_until=None,
            updated_at=now,
        )
    )
    return revived.rowcount == 1


def claim_due(
    session: Session, *, now: datetime, limit: int, worker: str, lease: timedelta
) -> list[ScheduledMessage]:
    """Claim up to `limit` messages for `worker` until `now + lease`, oldest due first.

    Claimable are pending messages due by `now`, and claimed ones whose lease ran out: their
    scheduler never began to send them (it would have moved them to `sending`), so taking them
    over cannot send anything twice.
    """
    if limit < 1:
        return []
    abandoned = _lockable(
        select(ScheduledMessage)
        .where(
            ScheduledMessage.state == MessageState.CLAIMED.value,
            ScheduledMessage.claimed_until < now,
        )
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
        .limit(limit)
    )
    rows = list(session.scalars(abandoned))
    if len(rows) < limit:
        rows += session.scalars(_lockable(_due_query(now=now, limit=limit - len(rows))))
    if not rows:
        return []
    session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id.in_([row.id for row in rows]))
        .values(
            state=MessageState.CLAIMED.value,
            claimed_by=worker,
            claimed_until=now + lease,
            updated_at=now,
        )
    )
    return sorted(rows, key=lambda row: (row.due_at, row.id))


def due_query(*, now: datetime, limit: int) -> Select[tuple[ScheduledMessage]]:
    """The query that finds pending messages due by `now`, as `claim_due` runs it (for EXPLAIN)."""
    return _lockable(_due_query(now=now, limit=limit))


def fail_unconfirmed(session: Session, *, now: datetime) -> list[int]:
    """Mark failed, never to be resent, the `sending` messages whose lease ran out; their ids.

    Such a message was being sent when its scheduler stopped (killed, crashed, lost its
    database): whether Telegram delivered it is unknown, and the rule is never to send twice.
    """
    stranded = _lockable(
        select(ScheduledMessage.id).where(
            ScheduledMessage.state == MessageState.SENDING.value,
            ScheduledMessage.claimed_until < now,
        )
    )
    ids = list(session.scalars(stranded))
    if ids:
        session.execute(
            update(ScheduledMessage)
            .where(ScheduledMessage.id.in_(ids))
            .values(state=MessageState.FAILED.value, last_error=OUTCOME_UNKNOWN, updated_at=now)
        )
    return ids


def begin_sending(
    session: Session, *, message_id: int, worker: str, now: datetime, lease: timedelta
) -> ScheduledMessage | None:
    """Move a message `worker` claimed to `sending` (lease renewed) and return it.

    None when `worker` no longer holds the claim (its lease ran out and another scheduler took
    the message, or the message was cancelled): it must then leave the message alone.
    """
    row = session.scalars(
        select(ScheduledMessage)
        .where(
            ScheduledMessage.id == message_id,
            ScheduledMessage.state == MessageState.CLAIMED.value,
            ScheduledMessage.claimed_by == worker,
        )
        .with_for_update()
    ).one_or_none()
    if row is None:
        return None
    row.state = MessageState.SENDING.value
    row.claimed_until = now + lease
    row.updated_at = now
    session.flush()
    return row


def mark_sent(
    session: Session, *, message_id: int, worker: str, now: datetime, note: str | None = None
) -> bool:
    """Record that Telegram accepted the message `worker` was sending (`note`: what went wrong
    on the way, such as a partial delivery, kept in `last_error`).

    Also corrects a message that `fail_unconfirmed` gave up on because the send outlasted its
    lease: the sender's word is better than the guess.
    """
    return _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(MessageState.SENDING, MessageState.FAILED),
        now=now,
        state=MessageState.SENT.value,
        sent_at=now,
        last_error=note,
    )


def mark_dropped(
    session: Session, *, message_id: int, worker: str, reason: str, now: datetime
) -> bool:
    """Record that the message will not be sent, deliberately (too late, nothing to say)."""
    return _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(MessageState.CLAIMED, MessageState.SENDING),
        now=now,
        state=MessageState.DROPPED.value,
        last_error=reason,
    )


def mark_failed(
    session: Session, *, message_id: int, worker: str, error: str, now: datetime
) -> bool:
    """Record that sending failed for good (or with an unknown outcome); it is not retried."""
    return _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(MessageState.CLAIMED, MessageState.SENDING),
        now=now,
        state=MessageState.FAILED.value,
        last_error=error,
    )


def retry_later(
    session: Session,
    *,
    message_id: int,
    worker: str,
    error: str,
    due_at: datetime,
    now: datetime,
    count_attempt: bool = True,
) -> bool:
    """Put the message back to pending, due again at `due_at`, counting a failed attempt unless
    `count_attempt` is False (Telegram's "retry after" is not the message's fault)."""
    return _move(
        session,
        message_id=message_id,
        worker=worker,
        expected=(MessageState.CLAIMED, MessageState.SENDING),
        now=now,
        state=MessageState.PENDING.value,
        due_at=due_at,
        attempts=ScheduledMessage.attempts + (1 if count_attempt else 0),
        last_error=error,
        claimed_by=None,
        claimed_until=None,
    )


def release_claims(session: Session, *, worker: str, now: datetime) -> int:
    """Hand back every message `worker` claimed but did not begin to send (a clean shutdown)."""
    result = session.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.claimed_by == worker,
            ScheduledMessage.state == MessageState.CLAIMED.value,
        )
        .values(
            state=MessageState.PENDING.value, claimed_by=None, claimed_until=None, updated_at=now
        )
    )
    return result.rowcount


def cancel_pending(
    session: Session, *, runner_id: int, now: datetime, kinds: Collection[str] | None = None
) -> int:
    """Cancel the runner's messages not yet being sent (of `kinds` only, if given); how many.

    A message another scheduler has claimed is cancelled too: that scheduler will find its
    claim gone and skip it. One already being sent cannot be called back.
    """
    statement = update(ScheduledMessage).where(
        ScheduledMessage.runner_id == runner_id,
        ScheduledMessage.state.in_([MessageState.PENDING.value, MessageState.CLAIMED.value]),
    )
    if kinds is not None:
        statement = statement.where(ScheduledMessage.kind.in_(list(kinds)))
    result = session.execute(statement.values(state=MessageState.CANCELLED.value, updated_at=now))
    return result.rowcount


def pending_for(session: Session, *, runner_id: int) -> list[ScheduledMessage]:
    """The runner's messages still to come (pending, claimed or being sent), soonest first."""
    return list(
        session.scalars(
            select(ScheduledMessage)
            .where(
                ScheduledMessage.runner_id == runner_id,
                ScheduledMessage.state.in_([state.value for state in UNFINISHED_STATES]),
            )
            .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
        )
    )


def deactivate_schedule(session: Session, *, runner_id: int, reason: str, now: datetime) -> int:
    """Stop scheduling for a runner Telegram will not deliver to; how many messages it cancelled.

    Their pending messages are cancelled and `schedule` refuses new ones until
    `reactivate_schedule`.
    """
    cancelled = cancel_pending(session, runner_id=runner_id, now=now)
    session.execute(
        _insert(session, RunnerSchedule)
        .values(runner_id=runner_id, active=False, reason=reason, updated_at=now)
        .on_conflict_do_update(
            index_elements=["runner_id"],
            set_={"active": False, "reason": reason, "updated_at": now},
        )
    )
    return cancelled


def reactivate_schedule(session: Session, *, runner_id: int, now: datetime) -> bool:
    """Let messages be scheduled for the runner again (they wrote to the bot, so it can reach
    them); True when their schedule had been inactive."""
    result = session.execute(
        update(RunnerSchedule)
        .where(RunnerSchedule.runner_id == runner_id, RunnerSchedule.active.is_(False))
        .values(active=True, reason=None, updated_at=now)
    )
    return result.rowcount == 1


def schedule_is_active(session: Session, *, runner_id: int) -> bool:
    """Whether messages may be scheduled for the runner (true unless deactivated)."""
    active = session.scalar(
        select(RunnerSchedule.active).where(RunnerSchedule.runner_id == runner_id)
    )
    return active is None or active


def chat_ids_for(session: Session, *, runner_ids: Collection[int]) -> dict[int, int]:
    """The Telegram chat id of each runner, by runner id (runners that no longer exist are left
    out)."""
    if not runner_ids:
        return {}
    rows = session.execute(
        select(Runner.id, Runner.chat_id).where(Runner.id.in_(list(runner_ids)))
    ).all()
    return {runner_id: chat_id for runner_id, chat_id in rows}


# --- helpers -------------------------------------------------------------------------------------


def _due_query(*, now: datetime, limit: int) -> Select[tuple[ScheduledMessage]]:
    # Shaped for ix_scheduled_messages_due: equality on state, range on due_at, ordered by
    # (due_at, id), so the database reads `limit` index entries and stops.
    return (
        select(ScheduledMessage)
        .where(
            ScheduledMessage.state == MessageState.PENDING.value,
            ScheduledMessage.due_at <= now,
        )
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id)
        .limit(limit)
    )


def _lockable(statement: Select[Any]) -> Select[Any]:
    # PostgreSQL: lock the rows taken and skip those another transaction holds. SQLite renders
    # no locking clause; its BEGIN IMMEDIATE already admits one writer at a time.
    return statement.with_for_update(skip_locked=True)


def _move(
    session: Session,
    *,
    message_id: int,
    worker: str,
    expected: tuple[MessageState, ...],
    now: datetime,
    **values: Any,
) -> bool:
    """Change a message `worker` holds, if it is still in one of the `expected` states."""
    result = session.execute(
        update(ScheduledMessage)
        .where(
            ScheduledMessage.id == message_id,
            ScheduledMessage.claimed_by == worker,
            ScheduledMessage.state.in_([state.value for state in expected]),
        )
        .values(updated_at=now, **values)
    )
    return result.rowcount == 1


def _insert(session: Session, model: type[Any]) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (both spell them the same way)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for {dialect}")
