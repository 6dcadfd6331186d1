"""Several workers applying one inbox on PostgreSQL: in order per chat, each update once.

`SharedApplier` replaces `bot.inbox.Applier` when the database is PostgreSQL, so any number of
processes (`python -m bot worker`, and a polling `python -m bot`) can apply the stored updates
of one database. Each update is applied by one transaction that first takes its chat with
`pg_try_advisory_xact_lock` (`inbox_store.claim_chat`), then reads the chat's oldest pending
update under that lock (`inbox_store.next_pending`) and applies it, marking it done
(`bot.service.apply_inbox_update`) before the commit releases the lock. So one chat is never
applied by two workers at once; its updates go in id order, because each transaction takes the
oldest one left after the previous transaction's commit; and an update is applied once, because
a worker only applies a row it read as still pending while holding the chat (and the "done"
mark is itself guarded by the state). A worker that fails to take a chat leaves it to the one
holding it and serves other chats. Nothing is leased: a worker killed mid-update loses its
connection, the server rolls its transaction back and drops its lock, and the update is still
pending for whichever worker scans next. Workers find work by scanning for chats with pending
updates (`inbox_store.ready_chats`) every `scan_every` seconds, and at once for rows their own
poller hands over. A failed try is recorded in the row (attempts, `not_before`) so any worker
carries the retries on; after the last one the update is set aside and the runner told.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from bot.clock import utc_now
from bot.db import inbox_store
from bot.db.database import Database
from bot.db.inbox_store import InboxRow
from bot.inbox import APPLY_RETRY_DELAYS, ChatServing, brief
from bot.routing import route_update
from bot.service import apply_inbox_update, queue_error_reply

log = logging.getLogger(__name__)

# How many chats one scan hands to this worker at most (each is one task, its transactions
# queued on the database's threads).
SCAN_LIMIT = 500

Kind = Literal["busy", "empty", "waiting", "applied", "retry", "set_aside"]


@dataclass(frozen=True, slots=True)
class Step:
    """What one transaction on a chat did."""

    kind: Kind
    row: InboxRow | None = None
    queued: int = 0
    delay: float = 0.0
    error: str = ""


def apply_next(
    session: Session,
    *,
    chat_key: int,
    now: datetime,
    retry_delays: Sequence[float],
    retrying: int | None = None,
) -> Step:
    """Take the chat and apply its oldest pending update, in the caller's transaction.

    `retrying` is the id of an update this worker waited for itself: its `not_before` (set by
    the clock, which tests stop) does not hold it up again."""
    if not inbox_store.claim_chat(session, chat_key=chat_key):
        return Step("busy")
    row = inbox_store.next_pending(session, chat_key=chat_key)
    if row is None:
        return Step("empty")
    if row.attempts > 0 and row.not_before > now and row.id != retrying:
        return Step("waiting", row)
    tell = row.chat_key > 0
    try:
        route = route_update(row.payload)
    except Exception as error:
        # The sender is known from the raw update: tell them their message was lost.
        _set_aside(session, row, f"cannot be parsed: {error!r}", tell=tell, now=now)
        return Step("set_aside", row, queued=int(tell), error=f"cannot be read ({brief(error)})")
    try:
        # A savepoint: a failed try is undone while the chat stays taken, so the failure is
        # recorded by the worker that made it and no other worker slips in between.
        with session.begin_nested():
            queued = apply_inbox_update(session, inbox_id=row.id, route=route, now=now)
    except Exception as error:
        if row.attempts < len(retry_delays):
            delay = retry_delays[row.attempts]
            inbox_store.record_failure(
                session,
                inbox_id=row.id,
                error=brief(error),
                retry_at=now + timedelta(seconds=delay),
                now=now,
            )
            return Step("retry", row, delay=delay, error=brief(error))
        text = "".join(traceback.format_exception(error)).strip()
        _set_aside(session, row, text, tell=tell, now=now)
        return Step("set_aside", row, queued=int(tell), error="failed every try")
    if queued < 0:
        # Applied before: cannot happen while the chat is held, but never count it twice.
        return Step("empty")
    return Step("applied", row, queued=queued)


def _set_aside(session: Session, row: InboxRow, error: str, *, tell: bool, now: datetime) -> None:
    inbox_store.record_failure(session, inbox_id=row.id, error=error, retry_at=None, now=now)
    if tell:
        queue_error_reply(session, chat_id=row.chat_key, now=now)


class SharedApplier(ChatServing):
    """Applies stored updates alongside other workers on one PostgreSQL database (module doc).

    The same interface as `bot.inbox.Applier`, so `BotRuntime` runs either."""

    def __init__(
        self,
        *,
        db: Database,
        on_applied: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
        retry_delays: Sequence[float] = APPLY_RETRY_DELAYS,
        scan_every: float = 1.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(
            db=db,
            on_applied=on_applied,
            clock=clock,
            retry_delays=retry_delays,
            scan_every=scan_every,
            sleep=sleep,
        )
        # Chats handed over while their task was running: the task looks once more before
        # it ends, so an update stored just after its last look is not left to the next scan.
        self._again: set[int] = set()
        self._stopping = False
        self.busy_chats = 0

    def submit(self, rows: list[InboxRow]) -> None:
        """Serve the chats of updates just stored (their rows are read from the database)."""
        self._serve_chats(row.chat_key for row in sorted(rows, key=lambda r: r.id))

    async def scan(self) -> int:
        """Serve every chat with updates to apply that this worker is not serving yet."""
        chats = await self._db.run(
            inbox_store.ready_chats, now=self._clock(), exclude=list(self._tasks), limit=SCAN_LIMIT
        )
        self._serve_chats(chats)
        return len(chats)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Finish the update each chat is on for up to `grace` seconds; the rest stay pending
        for the other workers or the restart."""
        self._stopping = True
        await self._finish_within(grace)

    def _serve_chats(self, chats: Any) -> None:
        if self._stopping:
            return
        for chat in chats:
            if chat in self._tasks:
                self._again.add(chat)
            else:
                self._tasks[chat] = asyncio.create_task(self._serve(chat))

    async def _serve(self, chat: int) -> None:
        retrying: int | None = None
        try:
            while not self._stopping:
                self._again.discard(chat)
                step = await self._db.run(
                    apply_next,
                    chat_key=chat,
                    now=self._clock(),
                    retry_delays=self._retry_delays,
                    retrying=retrying,
                )
                retrying = None
                self._report(step)
                if step.kind == "retry" and step.row is not None:
                    # Wait here rather than leave it: this worker tries again at once when the
                    # wait is over (another may too; the lock decides).
                    await self._sleep(step.delay)
                    retrying = step.row.id
                elif step.kind == "busy":
                    self.busy_chats += 1
                    return
                elif step.kind in ("empty", "waiting") and chat not in self._again:
                    return
        except Exception:
            # The database failed outside any update (the connection, the lock): the update
            # is still pending, and the next scan serves the chat again.
            log.exception("applying the updates of chat %s failed; the next scan retries", chat)
        finally:
            self._again.discard(chat)
            del self._tasks[chat]

    def _report(self, step: Step) -> None:
        row = step.row
        if step.kind == "applied":
            self._count_applied()
            if step.queued:
                self._on_applied()
        elif step.kind == "retry" and row is not None:
            log.warning(
                "update %s failed (%s); trying again in %s s", row.update_id, step.error, step.delay
            )
        elif step.kind == "set_aside" and row is not None:
            self._count_set_aside()
            if step.error.startswith("cannot be read"):
                log.warning("update %s %s; set aside", row.update_id, step.error)
            else:
                log.error("update %s failed every try; set aside", row.update_id)
            if step.queued:
                self._on_applied()
