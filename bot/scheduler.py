"""The loop that sends due follow-up messages from the database, each at most once.

Every scheduled message is a row (`bot.db.models.ScheduledMessage`). A `Scheduler` wakes about
once a second, claims a batch of due rows under a lease, and works through them within
Telegram's rate limits (`bot.ratelimit.SendRateLimiter`): one task per chat, so a chat's
messages go out in order while different chats proceed side by side. What a message says, and
what comes after it, is decided by an injected `compose(session, *, message, now)` function;
this module only delivers and records.

Delivery: nothing is ever sent twice; a message is sent once, or dropped or failed with the
reason recorded. One message goes through three transactions:

1. claim (per batch): pending rows due by now become `claimed` by this worker until now + lease.
   Nothing has been sent, so a claim whose lease runs out (the process died) is simply taken
   over by the next claim: after a crash those messages are sent, late by at most a lease.
2. begin (per message, after its rate-limit slot is granted, just before the Bot API call): the
   row becomes `sending` if this worker still holds it, and `compose` runs in the same
   transaction on the freshly read row. A late message (`flows.schedule.late_policy`, in the
   runner's zone from `payload["zone"]`) or one `compose` declines is `dropped` here instead.
3. record (after the Bot API answered): `sent`, and `compose`'s follow-ups inserted, in one
   transaction.

A row left `sending` by a process that died between 2 and 3 may or may not have reached the
runner; when its lease has run out it is marked `failed` with "outcome unknown" and never
resent. That window is one HTTP request long. By the same rule, a request that timed out after
it may have reached Telegram is not retried. A graceful stop (the `stop` event, `Scheduler.stop`
or cancelling the task) lets the message in flight finish and be recorded, and hands the rest
of the batch back to `pending` at once.

Errors, none of which stops the scheduler: a RetryAfter pauses every send for the time asked and
puts the message back, due after the pause, without counting an attempt; Forbidden (the runner
blocked the bot or deleted their account) cancels the runner's pending messages and marks their
schedule inactive; other Telegram and network errors retry with exponential backoff (30 s, 2
min, 8 min, 32 min) and fail after `max_attempts`; an exception in `compose` is logged with its
traceback and fails that message only. Follow-ups are scheduled whenever a message ends after
`compose` succeeded (sent, dropped or failed), so a daily chain survives downtime and outages;
only a blocked runner or a failing `compose` ends it. Several schedulers (processes) may run
against one database: claims skip each other's rows (`SELECT ... FOR UPDATE SKIP LOCKED`) and
every later step is fenced by the worker id (`bot.db.schedule_store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import traceback
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import httpx
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.clock import utc_now
from bot.db import schedule_store
from bot.db.database import Database
from bot.db.models import ScheduledMessage
from bot.keyboards import inline_keyboard
from bot.ratelimit import SendRateLimiter
from bot.render import render
from flows.schedule import FollowUpKind, is_valid_zone, late_policy
from flows.types import Reply

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_MAX_ATTEMPTS = 5
FIRST_RETRY_DELAY = timedelta(seconds=30)
RETRY_GROWTH = 4
# A RetryAfter on the second or later reply of a message cannot put the message back (the first
# reply was delivered); it is waited out in place, this many times at most.
MAX_FLOODS_IN_PLACE = 3
# Real seconds between tries of a recording transaction that failed (a database hiccup).
RECORD_RETRY_PAUSES = (0.2, 1.0)
_FOLLOW_UP_KINDS = frozenset(kind.value for kind in FollowUpKind)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A message to schedule for the same runner once the current one is done with."""

    kind: str
    due_at: datetime
    idempotency_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Composed:
    """What `compose` decided for a due message: the replies to send now and what comes next.

    With `drop_reason` (or no replies) the message is dropped, not sent; the follow-ups are
    scheduled either way.
    """

    replies: tuple[Reply, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    drop_reason: str | None = None
    postpone_until: datetime | None = None


class Compose(Protocol):
    """Decides a due message's content inside the transaction that starts sending it.

    It should only read: whatever it wants written later belongs in `follow_ups`, which are
    inserted once the message is done with. None means: nothing to send and nothing next.
    It is also called for a message that is too late to send, so that its follow-ups survive;
    that message's replies are discarded.
    """

    def __call__(
        self, session: Session, *, message: ScheduledMessage, now: datetime
    ) -> Composed | None: ...


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait before the next try after `failed_attempts` failures (1 -> 30 s, 2 ->
    2 min, 3 -> 8 min, ...)."""
    return FIRST_RETRY_DELAY * RETRY_GROWTH ** max(failed_attempts - 1, 0)


def default_worker_id() -> str:
    """A name for this scheduler, unique across processes and hosts, at most 64 characters."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def may_have_been_delivered(error: TelegramError) -> bool:
    """Whether a failed request may nonetheless have reached Telegram (so a retry could send the
    message twice): a read timeout or a connection lost while waiting for the answer, as opposed
    to an error answer from Telegram or a connection that was never made."""
    cause = error.__cause__
    if isinstance(error, TimedOut):
        return not isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(error, NetworkError) and isinstance(
        cause, httpx.ReadError | httpx.RemoteProtocolError
    )


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A claimed message as the loop needs it, detached from any session."""

    id: int
    runner_id: int
    chat_id: int
    kind: str
    due_at: datetime
    attempts: int
    zone: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """The outcome of the begin transaction: replies to send, or already finished."""

    composed: Composed | None = None
    finished: str | None = None


class _ComposeFailed(Exception):
    """`compose` raised; carries the traceback text to record on the message."""


class Scheduler:
    """Claims due messages, sends them within rate limits, records the outcome (see module doc).

    `limiter` defaults to a fresh `SendRateLimiter()`; pass the one other senders share, if
    any, so that together they stay within Telegram's limits; `pace=False` sends without any
    pacing (benchmarks only). `concurrency` bounds how many chats are served at once; `batch` is
    how many messages one claim takes; `lease` how long a claim holds before another scheduler
    may take it over (it must outlast one Bot API request).
    """

    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        compose: Compose,
        clock: Callable[[], datetime] = utc_now,
        limiter: SendRateLimiter | None = None,
        interval: float = 1.0,
        batch: int = 100,
        concurrency: int = 8,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        worker: str | None = None,
        pace: bool = True,
    ) -> None:
        if batch < 1 or concurrency < 1 or max_attempts < 1:
            raise ValueError("batch, concurrency and max_attempts must be at least 1")
        self.worker = worker or default_worker_id()
        if len(self.worker) > 64:
            raise ValueError("a worker id has at most 64 characters")
        self._db = db
        self._bot = bot
        self._compose = compose
        self._clock = clock
        self._limiter: SendRateLimiter | None = None
        if pace:
            self._limiter = limiter if limiter is not None else SendRateLimiter()
        self._interval = interval
        self._batch = batch
        self._concurrency = concurrency
        self._lease = lease
        self._max_attempts = max_attempts
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # --- running -------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due messages and deal with each; how many were dealt with."""
        claimed = await _finish_anyway(self._db.run(self._claim, now=self._clock()))
        if not claimed:
            return 0
        by_chat: dict[int, list[_Claimed]] = {}
        for message in claimed:
            by_chat.setdefault(message.chat_id, []).append(message)
        gate = asyncio.Semaphore(self._concurrency)
        processed = 0

        async def work_through(messages: list[_Claimed]) -> None:
            nonlocal processed
            async with gate:
                for message in messages:
                    if self._stopping() or not await self._handle(message):
                        return
                    processed += 1

        try:
            async with asyncio.TaskGroup() as group:
                for messages in by_chat.values():
                    group.create_task(work_through(messages))
        finally:
            # Whatever was not dealt with (a stop, a cancellation, a database error) goes back
            # to pending now rather than when the lease runs out.
            await _finish_anyway(self._release())
        return processed

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run passes until `stop` is set, then finish the message in flight and hand back the
        rest; a failing pass (database down) is logged and tried again after `interval`."""
        self._stop = stop
        log.info("scheduler %s started", self.worker)
        try:
            while not stop.is_set():
                try:
                    processed = await self.run_once()
                except Exception:
                    log.exception("scheduler pass failed; trying again in %s s", self._interval)
                    processed = 0
                if processed < self._batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._interval)
        finally:
            await _finish_anyway(self._release())
            log.info("scheduler %s stopped", self.worker)

    def start(self) -> asyncio.Task[None]:
        """Run `run_forever` as a task of the running event loop until `stop()`."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("the scheduler is already running")
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run_forever(self._stop), name="scheduler")
        return self._task

    async def stop(self) -> None:
        """Stop a scheduler started with `start()`, gracefully; harmless when not running."""
        task, self._task = self._task, None
        if task is None:
            return
        if self._stop is not None:
            self._stop.set()
        await task

    @property
    def running(self) -> bool:
        """Whether a loop started with `start()` is running."""
        return self._task is not None and not self._task.done()

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # --- one message ---------------------------------------------------------------------------

    async def _handle(self, message: _Claimed) -> bool:
        """Deal with one claimed message; False when a stop came first (the message is then
        handed back at the end of the pass)."""
        late = self._is_late(message, self._clock())
        if not late and not await self._wait_for_slot(message.chat_id):
            return False
        # From here the message is finished and recorded even if the task is cancelled: a send
        # cut off halfway would leave it `sending`, and so failed with an unknown outcome.
        await _finish_anyway(self._deliver(message, late=late))
        return True

    def _is_late(self, message: _Claimed, now: datetime) -> bool:
        if message.kind not in _FOLLOW_UP_KINDS:
            return False  # kinds with no lateness rule (safety net) are always worth sending
        verdict = late_policy(kind=message.kind, due_at=message.due_at, now=now, zone=message.zone)
        return verdict == "drop"

    async def _wait_for_slot(self, chat_id: int) -> bool:
        """Wait for a rate-limit slot; False when a stop is requested meanwhile."""
        if self._limiter is None or self._stop is None:
            if self._limiter is not None:
                await self._limiter.acquire(chat_id)
            return not self._stopping()
        slot = asyncio.ensure_future(self._limiter.acquire(chat_id))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({slot, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (slot, stopped):
                waiter.cancel()
        return slot.done() and not slot.cancelled() and not self._stopping()

    async def _deliver(self, message: _Claimed, *, late: bool) -> None:
        try:
            plan = await self._db.run(self._begin, message=message, late=late, now=self._clock())
        except _ComposeFailed as failure:
            log.error("compose failed for message %s:\n%s", message.id, failure)
            await self._record(self._record_failed, message, error=f"compose failed: {failure}")
            return
        except Exception:
            # The database: nothing was sent; the message is handed back at the end of the pass.
            log.exception("could not begin sending message %s", message.id)
            return
        if plan.finished is not None:
            log.info("message %s (%s) %s", message.id, message.kind, plan.finished)
            return
        assert plan.composed is not None
        await self._send(message, plan.composed)

    async def _send(self, message: _Claimed, composed: Composed) -> None:
        follow_ups = composed.follow_ups
        try:
            rendered = [
                (render(reply.template, **reply.context), inline_keyboard(reply))
                for reply in composed.replies
            ]
        except Exception:
            log.exception("could not render message %s", message.id)
            error = f"rendering failed: {traceback.format_exc(limit=5)}"
            await self._record(self._record_failed, message, error=error, follow_ups=follow_ups)
            return
        delivered = 0
        floods = 0
        while delivered < len(rendered):
            if delivered > 0:
                await self._acquire(message.chat_id)
            text, markup = rendered[delivered]
            try:
                await self._bot.send_message(
                    chat_id=message.chat_id,
                    text=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            except RetryAfter as flood:
                wait = _retry_after_seconds(flood)
                if self._limiter is not None:
                    self._limiter.pause_all(wait)
                if delivered == 0:
                    log.warning(
                        "Telegram asks for %s s of quiet; message %s waits", wait, message.id
                    )
                    due_at = self._clock() + timedelta(seconds=wait)
                    await self._record(
                        self._record_postponed, message, error=str(flood), due_at=due_at
                    )
                    return
                floods += 1
                if floods <= MAX_FLOODS_IN_PLACE:
                    if self._limiter is None:
                        await asyncio.sleep(wait)
                    continue
                await self._partly_sent(message, delivered, len(rendered), flood, follow_ups)
                return
            except Forbidden as error:
                log.info(
                    "chat %s refuses messages (%s): schedule deactivated", message.chat_id, error
                )
                await self._record(
                    self._record_blocked, message, error=str(error), delivered=delivered
                )
                return
            except TelegramError as error:
                if delivered > 0:
                    await self._partly_sent(message, delivered, len(rendered), error, follow_ups)
                elif may_have_been_delivered(error):
                    log.warning("message %s: outcome unknown (%r); not resent", message.id, error)
                    text_error = f"outcome unknown, not resent: {error!r}"
                    await self._record(
                        self._record_failed, message, error=text_error, follow_ups=follow_ups
                    )
                else:
                    await self._failed_attempt(message, error, follow_ups)
                return
            except Exception as error:
                log.exception("unexpected error sending message %s", message.id)
                if delivered > 0:
                    await self._partly_sent(message, delivered, len(rendered), error, follow_ups)
                else:
                    await self._record(
                        self._record_failed, message, error=repr(error), follow_ups=follow_ups
                    )
                return
            delivered += 1
        await self._record(self._record_sent, message, follow_ups=follow_ups, note=None)

    async def _acquire(self, chat_id: int) -> None:
        if self._limiter is not None:
            await self._limiter.acquire(chat_id)

    async def _failed_attempt(
        self, message: _Claimed, error: TelegramError, follow_ups: tuple[FollowUp, ...]
    ) -> None:
        attempts = message.attempts + 1
        if attempts >= self._max_attempts:
            log.warning("message %s failed %s times; giving up: %r", message.id, attempts, error)
            error_text = f"gave up after {attempts} attempts: {error!r}"
            await self._record(
                self._record_failed, message, error=error_text, follow_ups=follow_ups
            )
            return
        due_at = self._clock() + retry_delay(attempts)
        log.warning("message %s failed (%r); retrying at %s", message.id, error, due_at)
        await self._record(self._record_retry, message, error=repr(error), due_at=due_at)

    async def _partly_sent(
        self,
        message: _Claimed,
        delivered: int,
        total: int,
        error: BaseException,
        follow_ups: tuple[FollowUp, ...],
    ) -> None:
        # Part of it reached the runner: sending it again would repeat that part.
        note = f"partly delivered ({delivered} of {total} replies), then: {error!r}"
        log.warning("message %s %s", message.id, note)
        if isinstance(error, Forbidden):
            await self._record(self._record_blocked, message, error=note, delivered=delivered)
        else:
            await self._record(self._record_sent, message, follow_ups=follow_ups, note=note)

    # --- transactions (run in the database's worker) -----------------------------------------

    def _claim(self, session: Session, *, now: datetime) -> list[_Claimed]:
        stranded = schedule_store.fail_unconfirmed(session, now=now)
        if stranded:
            log.warning(
                "messages %s were being sent when a scheduler stopped: not resent", stranded
            )
        rows = schedule_store.claim_due(
            session, now=now, limit=self._batch, worker=self.worker, lease=self._lease
        )
        chats = schedule_store.chat_ids_for(session, runner_ids={row.runner_id for row in rows})
        return [
            _Claimed(
                id=row.id,
                runner_id=row.runner_id,
                chat_id=chats[row.runner_id],
                kind=row.kind,
                due_at=row.due_at,
                attempts=row.attempts,
                zone=_zone_of(row),
            )
            for row in rows
            if row.runner_id in chats
        ]

    def _begin(self, session: Session, *, message: _Claimed, late: bool, now: datetime) -> _Plan:
        row = schedule_store.begin_sending(
            session, message_id=message.id, worker=self.worker, now=now, lease=self._lease
        )
        if row is None:
            return _Plan(finished="skipped: no longer claimed by this scheduler")
        try:
            composed = self._compose(session, message=row, now=now)
        except Exception as error:
            raise _ComposeFailed(traceback.format_exc(limit=10)) from error
        if late:
            reason = f"late: due {message.due_at.isoformat()}, now {now.isoformat()}"
        elif composed is None:
            reason = "nothing to send"
        elif composed.drop_reason is not None:
            reason = composed.drop_reason
        elif not composed.replies:
            reason = "no replies"
        else:
            return _Plan(composed=composed)
        schedule_store.mark_dropped(
            session, message_id=message.id, worker=self.worker, reason=reason, now=now
        )
        if composed is not None:
            _schedule_all(session, message.runner_id, composed.follow_ups, now)
        return _Plan(finished=f"dropped ({reason})")

    def _record_sent(
        self,
        session: Session,
        *,
        message: _Claimed,
        follow_ups: tuple[FollowUp, ...],
        note: str | None,
        now: datetime,
    ) -> None:
        if not schedule_store.mark_sent(
            session, message_id=message.id, worker=self.worker, now=now, note=note
        ):
            log.warning("message %s was sent but its row had moved on", message.id)
        _schedule_all(session, message.runner_id, follow_ups, now)

    def _record_failed(
        self,
        session: Session,
        *,
        message: _Claimed,
        error: str,
        now: datetime,
        follow_ups: tuple[FollowUp, ...] = (),
    ) -> None:
        schedule_store.mark_failed(
            session, message_id=message.id, worker=self.worker, error=error, now=now
        )
        _schedule_all(session, message.runner_id, follow_ups, now)

    def _record_retry(
        self, session: Session, *, message: _Claimed, error: str, due_at: datetime, now: datetime
    ) -> None:
        schedule_store.retry_later(
            session, message_id=message.id, worker=self.worker, error=error, due_at=due_at, now=now
        )

    def _record_postponed(
        self, session: Session, *, message: _Claimed, error: str, due_at: datetime, now: datetime
    ) -> None:
        schedule_store.retry_later(
            session,
            message_id=message.id,
            worker=self.worker,
            error=error,
            due_at=due_at,
            now=now,
            count_attempt=False,
        )

    def _record_blocked(
        self, session: Session, *, message: _Claimed, error: str, delivered: int, now: datetime
    ) -> None:
        if delivered:
            schedule_store.mark_sent(
                session, message_id=message.id, worker=self.worker, now=now, note=error
            )
        else:
            schedule_store.mark_failed(
                session, message_id=message.id, worker=self.worker, error=error, now=now
            )
        schedule_store.deactivate_schedule(
            session, runner_id=message.runner_id, reason=error, now=now
        )

    async def _record(self, record: Callable[..., None], message: _Claimed, **details: Any) -> None:
        """Run one recording transaction, retrying briefly; a database that stays down is
        logged, never raised: the message keeps its state and its lease decides what follows
        (a message left `sending` then fails with an unknown outcome, and is not resent)."""
        for pause in (*RECORD_RETRY_PAUSES, None):
            try:
                await self._db.run(record, message=message, now=self._clock(), **details)
                return
            except Exception:
                if pause is None:
                    log.exception("could not record the outcome of message %s", message.id)
                    return
                log.warning("recording message %s failed; retrying", message.id, exc_info=True)
                await asyncio.sleep(pause)

    async def _release(self) -> None:
        try:
            released = await self._db.run(
                schedule_store.release_claims, worker=self.worker, now=self._clock()
            )
        except Exception:
            log.exception("could not hand back the claims of %s; their lease will", self.worker)
            return
        if released:
            log.info("scheduler %s handed back %s claimed messages", self.worker, released)


def attach(application: Application, scheduler: Scheduler) -> None:
    """Run `scheduler` while `application` runs (`run_polling` / `run_webhook`).

    It starts after the application's own post_init, and stops in post_stop: after updates
    stop, before the bot's HTTP client is closed, so the message in flight is still delivered.
    post_shutdown stops it too, in case post_stop never ran.
    """
    previous_init = application.post_init
    previous_stop = application.post_stop
    previous_shutdown = application.post_shutdown

    async def post_init(app: Application) -> None:
        if previous_init is not None:
            await previous_init(app)
        scheduler.start()

    async def post_stop(app: Application) -> None:
        await scheduler.stop()
        if previous_stop is not None:
            await previous_stop(app)

    async def post_shutdown(app: Application) -> None:
        await scheduler.stop()
        if previous_shutdown is not None:
            await previous_shutdown(app)

    application.post_init = post_init
    application.post_stop = post_stop
    application.post_shutdown = post_shutdown


# --- helpers -------------------------------------------------------------------------------------


def _schedule_all(
    session: Session, runner_id: int, follow_ups: tuple[FollowUp, ...], now: datetime
) -> None:
    for follow_up in follow_ups:
        schedule_store.schedule(
            session,
            runner_id=runner_id,
            kind=follow_up.kind,
            due_at=follow_up.due_at,
            idempotency_key=follow_up.idempotency_key,
            payload=follow_up.payload,
            now=now,
        )


def _zone_of(row: ScheduledMessage) -> str:
    zone = (row.payload or {}).get("zone", "UTC")
    if isinstance(zone, str) and is_valid_zone(zone):
        return zone
    log.warning("message %s names no valid time zone (%r); using UTC", row.id, zone)
    return "UTC"


def _retry_after_seconds(flood: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that the int form becomes a timedelta; both are accepted here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = flood.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def _finish_anyway(work: Awaitable[T]) -> T:
    """Await `work` to the end even if the caller is cancelled meanwhile (then re-raise)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
