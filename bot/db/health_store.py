"""What the operator's view reads from the database: is it there, how far behind are we.

Read-only queries for `/healthz` and `/metrics` (`bot.webhook`), taking the `Session` first and
the time as `now`, like the other store modules: the age of the oldest update not yet applied
(the inbox lag) and how many messages are due and not yet sent (queued replies and scheduled
follow-ups whose time has come).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.db.models import (
    InboxState,
    InboxUpdate,
    MessageState,
    OutboxMessage,
    OutboxState,
    ScheduledMessage,
)


def ping(session: Session) -> bool:
    """True when the database answers a trivial query (raises otherwise)."""
    return session.execute(text("SELECT 1")).scalar_one() == 1


def inbox_lag(session: Session, *, now: datetime) -> float:
    """Seconds since the oldest pending update was received; 0 when none is pending."""
    oldest = session.execute(
        select(func.min(InboxUpdate.received_at)).where(
            InboxUpdate.state == InboxState.PENDING.value
        )
    ).scalar_one_or_none()
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return max((now - oldest).total_seconds(), 0.0)


def due_backlog(session: Session, *, now: datetime) -> int:
    """Messages due by `now` and not sent: outbox rows waiting, scheduled ones not yet queued."""
    queued = session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.state.in_([OutboxState.PENDING.value, OutboxState.CLAIMED.value]),
            OutboxMessage.not_before <= now,
        )
    ).scalar_one()
    scheduled = session.execute(
        select(func.count())
        .select_from(ScheduledMessage)
        .where(
            ScheduledMessage.state == MessageState.PENDING.value,
            ScheduledMessage.due_at <= now,
        )
    ).scalar_one()
    return int(queued) + int(scheduled)
