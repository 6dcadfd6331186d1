"""Scheduled messages in the database: schedule, claim, and record what became of each one.

Like `bot.db.store`, every function is synchronous, takes the `Session` first and everything else
by keyword, passes time in as `now`, and never commits. A message moves pending -> queued (handed
to the outbox) -> sent or failed (by the outbox), or pending -> dropped / cancelled. The
scheduler takes due rows with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL and decides all of
them in one transaction, so concurrent schedulers never take the same row and never wait for each
other; on SQLite the engine's `BEGIN IMMEDIATE` serialises them. A follow-up arrives as the
flow decided it, a `flows.effects.ScheduleMessage` (`schedule`), whether an event's
effect or what a due message schedules next. `recipients_for` tells the scheduler each runner's
chat and locale. See `bot.scheduler`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.db.built import Prepared, dialect_insert, dialect_of, insert_for_dialect, one_of
from bot.db.models import (
    UNFINISHED_STATES,
    Conversation,
    MessageState,
    Runner,
    RunnerSchedule,
    ScheduledMessage,
    spoken_locale,
)
from flows.effects import ScheduleMessage


def schedule(session: Session, *, runner_id: int, message: ScheduleMessage, now: datetime) -> bool:
    """Add the follow-up a flow decided as a pending message; False when nothing was added.

    Nothing is added when a message with its key (`idempotency_key`) already exists
    (scheduling again after a replay or restart is a no-op), unless that message was
    cancelled: then it is pending again with the new time. Nothing is added either when the
    runner's schedule is inactive (Telegram refuses to deliver to them; see
    `reactivate_schedule`).
    """
    if not schedule_is_active(session, runner_id=runner_id):
        return False
    values = {
        "runner": runner_id,
        "message_kind": message.kind,
        "due": message.due_at,
        "key": message.key,
        "body": dict(message.payload),
        "now": now,
    }
    inserted = _schedule_insert(dialect_of(session)).execute(session, values).scalar_one_or_none()
    if inserted is not None:
        return True
    # A message cancelled earlier (reminders paused, then resumed the same day) comes back to
    # life under its key; any other state means it was already handled and stays as it is.
    revived = session.execute(_REVIVE, values)
    return revived.rowcount == 1


def take_due(
    session: Session, *, now: datetime, limit: int, only_chats: Collection[int] | None = None
) -> list[ScheduledMessage]:
    """The pending messages due by `now`, oldest first, locked for this transaction (rows
    another transaction holds are skipped, so concurrent schedulers take different rows).
    `only_chats`: just the runners of these chats (the terminal chat's own scheduler)."""
    if limit < 1:
        return []
    query = _due_query(now=now, limit=limit)
    if only_chats is not None:
        query = query.where(ScheduledMessage.runner_id.in_(_runners_of(only_chats)))
    return list(session.scalars(_lockable(query)))


def next_due_at(session: Session, *, only_chats: Collection[int]) -> datetime | None:
    """When the earliest pending message of these chats' runners is due (None: nothing
    pending); the terminal chat's `/later` walks the clock from one to the next."""
    return session.scalar(
        select(ScheduledMessage.due_at)
        .where(
            ScheduledMessage.state == MessageState.PENDING.value,
            ScheduledMessage.runner_id.in_(_runners_of(only_chats)),
        )
        .order_by(ScheduledMessage.due_at)
        .limit(1)
    )


def due_query(*, now: datetime, limit: int) -> Select[tuple[ScheduledMessage]]:
    """The query that finds pending messages due by `now`, as `take_due` runs it (for EXPLAIN)."""
    return _lockable(_due_query(now=now, limit=limit))


def finish(
    session: Session, *, message_id: int, state: str, reason: str | None, now: datetime
) -> None:
    """A taken message is `queued` (handed to the outbox), `dropped` or `failed`, with why."""
    session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id == message_id)
        .values(state=MessageState(state).value, last_error=reason, updated_at=now)
    )


def postpone(session: Session, *, message_id: int, due_at: datetime, now: datetime) -> None:
    """A taken message stays pending, due again at `due_at`."""
    session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id == message_id)
        .values(due_at=due_at, updated_at=now)
    )


def cancel_pending(
    session: Session, *, runner_id: int, now: datetime, kinds: Collection[str] | None = None
) -> int:
    """Cancel the runner's messages not yet being sent (of `kinds` only, if given); how many.

    A message another scheduler has claimed is cancelled too: that scheduler will find its
    claim gone and skip it. One already being sent cannot be called back.
    """
    values = {"runner": runner_id, "now": now}
    if kinds is None:
        result = _CANCEL_PENDING.execute(session, values)
    else:
        result = session.execute(_CANCEL_PENDING_KINDS, {**values, "kinds": list(kinds)})
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
        dialect_insert(session, RunnerSchedule)
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
    return _REACTIVATE.execute(session, {"runner": runner_id, "now": now}).rowcount == 1


def schedule_is_active(session: Session, *, runner_id: int) -> bool:
    """Whether messages may be scheduled for the runner (true unless deactivated)."""
    active = _SCHEDULE_ACTIVE.execute(session, {"runner": runner_id}).scalar()
    return active is None or active


class Recipient(NamedTuple):
    """Where a runner's messages go and in which language (None: never seen one)."""

    chat_id: int
    locale: str | None


def recipients_for(session: Session, *, runner_ids: Collection[int]) -> dict[int, Recipient]:
    """The Telegram chat id and locale of each runner, by runner id (runners that no longer
    exist are left out)."""
    if not runner_ids:
        return {}
    rows = session.execute(
        select(Runner.id, Runner.chat_id, spoken_locale()).where(Runner.id.in_(list(runner_ids)))
    ).all()
    return {runner_id: Recipient(chat_id, locale) for runner_id, chat_id, locale in rows}


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


def latest_write_at(session: Session, *, chat_id: int) -> datetime | None:
    """The latest instant the chat's conversation or follow-ups were written at (None: never):
    the terminal chat starts its clock there, so that time never runs backwards after a
    `/later` in an earlier session."""
    runners = _runners_of((chat_id,))
    return max(
        (
            instant
            for instant in (
                session.scalar(
                    select(func.max(Conversation.updated_at)).where(
                        Conversation.runner_id.in_(runners)
                    )
                ),
                session.scalar(
                    select(func.max(ScheduledMessage.updated_at)).where(
                        ScheduledMessage.runner_id.in_(runners)
                    )
                ),
            )
            if instant is not None
        ),
        default=None,
    )


def _runners_of(chat_ids: Collection[int]) -> Select[tuple[int]]:
    return select(Runner.id).where(Runner.chat_id.in_(list(chat_ids)))


def _lockable(statement: Select[Any]) -> Select[Any]:
    # PostgreSQL: lock the rows taken and skip those another transaction holds. SQLite renders
    # no locking clause; its BEGIN IMMEDIATE already admits one writer at a time.
    return statement.with_for_update(skip_locked=True)


# Built once (per dialect for the inserts): the statements an assessment's follow-ups run. Built
# per call, their SQLAlchemy expressions cost more Python than SQLite takes to run them.
_messages = ScheduledMessage.__table__
_schedules = RunnerSchedule.__table__
_REVIVE = (
    update(_messages)
    .where(
        _messages.c.idempotency_key == bindparam("key"),
        _messages.c.state == MessageState.CANCELLED.value,
    )
    .values(
        state=MessageState.PENDING.value,
        due_at=bindparam("due"),
        payload=bindparam("body"),
        attempts=0,
        last_error=None,
        claimed_by=None,
        claimed_until=None,
        updated_at=bindparam("now"),
    )
)
_CANCEL_PENDING_STATEMENT = (
    update(_messages)
    .where(
        _messages.c.runner_id == bindparam("runner"),
        one_of(_messages.c.state, [MessageState.PENDING.value, MessageState.CLAIMED.value]),
    )
    .values(state=MessageState.CANCELLED.value, updated_at=bindparam("now"))
)
_CANCEL_PENDING = Prepared(_CANCEL_PENDING_STATEMENT)
_CANCEL_PENDING_KINDS = _CANCEL_PENDING_STATEMENT.where(
    _messages.c.kind.in_(bindparam("kinds", expanding=True))
)
_REACTIVATE = Prepared(
    update(_schedules)
    .where(_schedules.c.runner_id == bindparam("runner"), _schedules.c.active.is_(False))
    .values(active=True, reason=None, updated_at=bindparam("now"))
)
_SCHEDULE_ACTIVE = Prepared(
    select(_schedules.c.active).where(_schedules.c.runner_id == bindparam("runner"))
)


@functools.cache
def _schedule_insert(dialect: str) -> Prepared:
    return Prepared(
        insert_for_dialect(dialect, _messages)
        .values(
            runner_id=bindparam("runner"),
            kind=bindparam("message_kind"),
            due_at=bindparam("due"),
            state=MessageState.PENDING.value,
            attempts=0,
            idempotency_key=bindparam("key"),
            payload=bindparam("body"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_messages.c.id)
    )
