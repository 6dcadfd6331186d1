"""The loop that turns due follow-ups into outbox messages, deciding what comes next as it goes.

Every scheduled message (check-in, reminder, "were you seen?", safety net) is a row
(`bot.db.models.ScheduledMessage`). A `Scheduler` wakes about once a second and, in ONE
transaction per batch, takes the due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several
schedulers never take the same row), asks the injected `compose(session, *, message, now)` what
each says now and what follows it (a `flows.due_messages.Due`, carried out as it is), and then,
for each row:

- writes its replies to the outbox (`bot.outbox`, sent at most once) and marks it `queued`;
- or drops it with the reason (nothing to say, too late), or moves it to a later time
  (`postpone_until`: an overdue check-in waits for the runner's daytime);
- and saves the follow-ups `compose` decided (next check-in, tomorrow's reminder), the flow's
  own `flows.effects.ScheduleMessage`s, through `bot.db.schedule_store.schedule`.

Claiming a message and saving what follows it are therefore one durable step: no crash, send
failure or outage can end a runner's chain of follow-ups. Sending, pacing and retries are the
outbox's; the outbox marks the row `sent` or `failed` when it is done with it. A `compose` that
raises fails that row only (logged with its traceback), inside a savepoint. Replies are
rendered in the locale of the runner they go to.

`compose` is the bot's own hook: it loads the runner's profile (`bot.db.profile_store`) and
asks the pure `flows.due_messages.compose_due` what the message says now; tests and benchmarks
inject their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot import i18n, outgoing
from bot.clock import utc_now
from bot.db import followup_store, profile_store, schedule_store
from bot.db.database import Database
from bot.db.models import MessageState, OutboxSource, ScheduledMessage
from flows import due_messages
from flows.due_messages import Due

log = logging.getLogger(__name__)


class Compose(Protocol):
    """Decides what a due message becomes (sent, dropped or postponed, and what comes after it;
    see `Due`) inside the transaction that takes it.

    It should only read: whatever it wants written belongs in the `Due`'s `follow_ups`. None
    means: nothing to send and nothing next.
    """

    def __call__(
        self, session: Session, *, message: ScheduledMessage, now: datetime
    ) -> Due | None: ...


class Scheduler:
    """Queues due follow-ups into the outbox (see module doc); `on_queued` is called after a
    pass that queued something, to wake the sender."""

    def __init__(
        self,
        *,
        db: Database,
        compose: Compose,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
        interval: float = 1.0,
        batch: int = 100,
        only_chats: Collection[int] | None = None,
    ) -> None:
        """`only_chats`: queue just these chats' follow-ups (the terminal chat's scheduler,
        which must leave a Telegram runner's to the bot when they share a database)."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._db = db
        self._compose = compose
        self._on_queued = on_queued
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._only_chats = None if only_chats is None else tuple(only_chats)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.last_pass_at: float | None = None

    async def run_once(self) -> int:
        """One batch; how many due messages it dealt with."""
        taken, queued = await self._db.run(self._queue_due, now=self._clock())
        self.passes += 1
        # Monotonic, not the (settable) clock: /healthz asks how long ago the loop last ran.
        self.last_pass_at = time.monotonic()
        if queued:
            self._on_queued()
        return taken

    async def run_forever(self) -> None:
        """Run passes until `stop()`; a failing pass (database down) is logged and retried."""
        log.info("scheduler started")
        while not self._stop.is_set():
            try:
                taken = await self.run_once()
            except Exception:
                log.exception("scheduler pass failed; trying again in %s s", self._interval)
                taken = 0
            if taken < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval)
        log.info("scheduler stopped")

    def start(self) -> asyncio.Task[None]:
        if self._task is not None and not self._task.done():
            raise RuntimeError("the scheduler is already running")
        self._stop.clear()
        self._task = asyncio.create_task(self.run_forever(), name="scheduler")
        return self._task

    async def stop(self) -> None:
        """Stop after the pass in progress (its transaction commits or rolls back whole)."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- the transaction -------------------------------------------------------------------------

    def _queue_due(self, session: Session, *, now: datetime) -> tuple[int, int]:
        rows = schedule_store.take_due(
            session, now=now, limit=self._batch, only_chats=self._only_chats
        )
        recipients = schedule_store.recipients_for(
            session, runner_ids={row.runner_id for row in rows}
        )
        queued = 0
        for row in rows:
            recipient = recipients.get(row.runner_id)
            if recipient is None:
                continue
            queued += self._decide(session, row, recipient=recipient, now=now)
        return len(rows), queued

    def _decide(
        self,
        session: Session,
        row: ScheduledMessage,
        *,
        recipient: schedule_store.Recipient,
        now: datetime,
    ) -> int:
        """Deal with one due row; how many outbox messages it became."""
        try:
            with session.begin_nested():
                due = self._compose(session, message=row, now=now)
        except Exception:
            error = traceback.format_exc(limit=10)
            log.error("compose failed for message %s:\n%s", row.id, error)
            schedule_store.finish(
                session,
                message_id=row.id,
                state=MessageState.FAILED,
                reason=f"compose failed: {error}",
                now=now,
            )
            return 0
        if due is None:
            due = Due(drop_reason="nothing to send")
        if due.postpone_until is not None:
            schedule_store.postpone(session, message_id=row.id, due_at=due.postpone_until, now=now)
            log.info("message %s (%s) waits until %s", row.id, row.kind, due.postpone_until)
            return 0
        queued = 0
        if due.drop_reason is not None:
            schedule_store.finish(
                session,
                message_id=row.id,
                state=MessageState.DROPPED,
                reason=due.drop_reason,
                now=now,
            )
            log.info("message %s (%s) dropped: %s", row.id, row.kind, due.drop_reason)
        else:
            for reply in due.replies:
                # Follow-ups are sent at most once (urgent ones at least once), like every
                # message: a crash mid-send costs that message, never the chain.
                outgoing.queue(
                    session,
                    chat_id=recipient.chat_id,
                    message=outgoing.message(reply, locale=i18n.locale_for(recipient.locale)),
                    source=OutboxSource.FOLLOW_UP,
                    scheduled_id=row.id,
                    urgent=reply.urgent,
                    now=now,
                )
                queued += 1
            schedule_store.finish(
                session, message_id=row.id, state=MessageState.QUEUED, reason=None, now=now
            )
        for follow_up in due.follow_ups:
            schedule_store.schedule(session, runner_id=row.runner_id, message=follow_up, now=now)
        return queued


def compose(session: Session, *, message: ScheduledMessage, now: datetime) -> Due | None:
    """The bot's `Compose`: what a due row says, via the pure `flows.due_messages.compose_due`."""
    runner = followup_store.runner_by_id(session, runner_id=message.runner_id)
    if runner is None:
        return None
    return due_messages.compose_due(
        message.kind,
        dict(message.payload or {}),
        message_id=message.id,
        due_at=message.due_at,
        profile=profile_store.load_profile(session, runner=runner),
        now=now,
    )
