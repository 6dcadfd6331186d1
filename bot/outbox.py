"""The one sender: every message the bot sends leaves from the outbox, here, in order per chat.

Replies, follow-ups and notices are rows in `outbox_messages` (see `bot.db.outbox_store`),
written in the transaction that decided them. `OutboxSender` is woken as soon as such a
transaction commits (`wake`), claims the head of each chat's queue, and serves each chat in a
task of its own: send, then record the result and claim the chat's next message in one
transaction. Pacing is the Bot's rate limiter's (`bot.ratelimit.TelegramRateLimiter`), so
replies and follow-ups share one budget; on PostgreSQL that budget is shared by every sender
process (`bot.ratelimit.SharedSendRateLimiter`). With paid broadcast on, follow-ups are sent
with `allow_paid_broadcast` from a budget of their own. A paced sender claims at most ten
seconds of sends at its rate (`CLAIM_AHEAD_SECONDS`), so that workers share a fan-out. What an
error means comes from `bot.outgoing.ERROR_TABLE`: a RetryAfter pauses everyone and puts the
message back without counting an attempt; transient errors are retried with backoff (quickly
for replies, for much longer for urgent advice, slowly for follow-ups); a chat that refuses
messages has its queue failed and its runner's follow-ups stopped until they write again; a
message Telegram rejects is failed and logged as a bug.

Delivery is at most once: once its send slot is granted, a message is marked `sending` in the
database, and only then does the Bot API call leave (with no rate limiter, and so no slot to
wait for, the transaction that claims a chat's next message marks it, right before its call); a
message a crashed sender left `sending` may have reached the runner and is failed ("outcome
unknown"), never repeated, while one it had only claimed is sent by the next sender. The one
exception is urgent advice (an emergency outcome), delivered at least once: sent again after a
crash, since a repeat is harmless and a loss is not. So a crash can cost at most the one
message whose call was leaving at that instant, and a runner who got no answer and taps again
is shown where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import warnings
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot import metrics
from bot.clock import utc_now
from bot.db import outbox_store, schedule_store
from bot.db.database import Database
from bot.db.models import OutboxSource
from bot.db.outbox_store import OutboxRow
from bot.outgoing import Verdict, classify, deliver
from bot.ratelimit import Pacer

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
# Tries and the wait after the n-th failure, by kind of message.
REPLY_RETRY_DELAYS = (1, 2, 4, 8, 15, 30, 60, 120)
URGENT_RETRY_DELAYS = (1, 2, 4, 8, 15, 30, 60, 120, 300, 300, 600, 600, 900, 900, 1800, 1800)
FOLLOW_UP_RETRY_DELAYS = (30, 120, 480, 1920)
# A paced sender holds at most this many seconds of sends at its rate (30 a second: 300 chats).
CLAIM_AHEAD_SECONDS = 10


def retry_delays(row: OutboxRow) -> tuple[int, ...]:
    """How long to wait after each failed try of this message (its length: how many retries)."""
    if row.urgent:
        return URGENT_RETRY_DELAYS
    if row.source == OutboxSource.FOLLOW_UP:
        return FOLLOW_UP_RETRY_DELAYS
    return REPLY_RETRY_DELAYS


def default_worker_id() -> str:
    """A name for this sender, unique across processes and hosts, at most 64 characters:
    host:pid:random, so that a restarted process can tell its predecessor's claims apart."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def vanished_workers(claimants: list[str], *, me: str) -> list[str]:
    """The workers among `claimants` that were processes of this host and are gone (their
    claims can be handed out at once instead of when their lease runs out)."""
    host = socket.gethostname()[:40]
    gone = []
    for worker in claimants:
        if worker == me:
            continue
        name, _, rest = worker.partition(":")
        pid_text = rest.partition(":")[0]
        if name != host or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or not _process_exists(pid):
            gone.append(worker)
    return gone


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# What a recorded try counts as: sent, failed (given up), or neither (to be tried again).
Outcome = Literal["sent", "failed"] | None


@dataclass(frozen=True, slots=True)
class _Result:
    """What became of one try: the verdict (None: sent) and the details to record."""

    verdict: Verdict | None
    error: str = ""
    wait: float = 0.0


class OutboxSender:
    """Delivers the outbox (see module doc). `wake()` after committing new messages."""

    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        clock: Callable[[], datetime] = utc_now,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 200,
        interval: float = 1.0,
        max_chats: int = 2048,
        recover_every: float = 10.0,
        pacer: Pacer | None = None,
        only_chats: Collection[int] | None = None,
        paid_broadcast: bool = False,
    ) -> None:
        """`pacer`: the rate limiter inside `bot`'s `TelegramRateLimiter`, if it has one: the
        sender waits for each slot itself, so that "sending" is recorded just before the call.
        `only_chats`: deliver just these chats' messages (the terminal chat's sender, which
        must not take a Telegram runner's messages from a database it shares with the bot).
        `paid_broadcast`: send follow-ups with Telegram's allow_paid_broadcast, from the
        pacer's paid budget (see `bot.ratelimit`)."""
        self.worker = worker or default_worker_id()
        if len(self.worker) > 64:
            raise ValueError("a worker id has at most 64 characters")
        self._db = db
        self._bot = bot
        self._clock = clock
        self._lease = lease
        self._batch = batch
        self._interval = interval
        if pacer is not None:
            # Claim no more than this sender can send in CLAIM_AHEAD_SECONDS: a fan-out is then
            # shared by every worker instead of taken whole by the first to look, and a worker
            # that dies leaves at most that many chats waiting for its lease to end.
            ahead = math.ceil(pacer.per_second(paid=paid_broadcast) * CLAIM_AHEAD_SECONDS)
            max_chats = min(max_chats, max(batch, ahead))
        self._max_chats = max_chats
        self._recover_every = recover_every
        self._pacer = pacer
        self._only_chats = None if only_chats is None else tuple(only_chats)
        self._paid_broadcast = paid_broadcast
        # With no send slot to wait for (no pacer: benchmarks of the bot's own cost), a message
        # claimed just before its call is marked "sending" by its claim (one transaction less
        # per message); with a pacer "sending" waits for the slot, as the module doc says.
        self._start_when_claimed = pacer is None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._chats: dict[int, asyncio.Task[None]] = {}
        # Rows claimed by an apply transaction (`claim_reply`) for a chat still being served.
        self._handed: dict[int, deque[OutboxRow]] = {}
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0

    # --- running -------------------------------------------------------------------------------

    def wake(self) -> None:
        """New messages were committed: look for them now."""
        self._wake.set()

    @property
    def busy_chats(self) -> int:
        return len(self._chats)

    async def recover(self) -> None:
        """Renew this sender's own claims, then hand out again what vanished senders held (run
        at start-up and every `recover_every` seconds, well within a lease)."""
        await self._db.run(
            outbox_store.renew_claims, worker=self.worker, now=self._clock(), lease=self._lease
        )
        claimants = await self._db.run(outbox_store.claimants)
        vanished = vanished_workers(claimants, me=self.worker)
        handed_back, failed = await self._db.run(
            outbox_store.recover, now=self._clock(), vanished=vanished, me=self.worker
        )
        if handed_back:
            log.warning("%s messages of a stopped sender will be sent again", len(handed_back))
        if failed:
            log.warning("messages %s were being sent when their sender stopped: not resent", failed)

    def claim_reply(self, session: Session, *, chat_id: int, now: datetime) -> OutboxRow | None:
        """In the transaction that queued replies to `chat_id` (the applier's): claim the chat's
        head for this sender when it may go now, so that the sender need not be woken to look
        for it (`serve` it after the commit). None when stopping, when the chat's queue is held
        by an earlier message, or when this sender only serves other chats."""
        if self._stop.is_set() or (
            self._only_chats is not None and chat_id not in self._only_chats
        ):
            return None
        return outbox_store.claim_next_for_chat(
            session,
            chat_id=chat_id,
            now=now,
            worker=self.worker,
            lease=self._lease,
            start=self._start_when_claimed,
        )

    def serve(self, row: OutboxRow) -> None:
        """Send a message `claim_reply` claimed, once its transaction committed: now, or, when
        the task serving its chat is still finishing (its last message was just recorded),
        right after that task."""
        if row.chat_id in self._chats:
            self._handed.setdefault(row.chat_id, deque()).append(row)
        else:
            self._chats[row.chat_id] = asyncio.create_task(self._serve(row))

    async def run_once(self) -> int:
        """Claim the due heads of idle chats and start serving them; how many were claimed."""
        room = min(self._batch, self._max_chats - len(self._chats))
        if room <= 0:
            return 0
        rows = await self._db.run(
            outbox_store.claim_heads,
            now=self._clock(),
            limit=room,
            worker=self.worker,
            lease=self._lease,
            only_chats=self._only_chats,
        )
        for row in rows:
            self._chats[row.chat_id] = asyncio.create_task(self._serve(row))
        return len(rows)

    async def run_forever(self) -> None:
        """Serve the outbox until `stop()`; a failing pass (database down) is logged and retried."""
        loop = asyncio.get_running_loop()
        next_recovery = loop.time()
        while not self._stop.is_set():
            self._wake.clear()
            claimed = 0
            try:
                if loop.time() >= next_recovery:
                    next_recovery = loop.time() + self._recover_every
                    await self.recover()
                claimed = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; trying again in %s s", self._interval)
            if claimed and claimed >= self._batch:
                continue
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait(
                    {waiter, stopper}, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiter.cancel()
                stopper.cancel()

    def start(self) -> asyncio.Task[None]:
        self._stop.clear()
        self._task = asyncio.create_task(self.run_forever(), name="outbox")
        return self._task

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming, let the chats being served finish for up to `grace` seconds, then
        hand back what was claimed and not begun."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        # A chat's task may hand over to a new one for a message claimed meanwhile (`serve`).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._chats:
            chats = list(self._chats.values())
            _, pending = await asyncio.wait(chats, timeout=max(deadline - loop.time(), 0))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._db.run(outbox_store.release, worker=self.worker, now=self._clock())

    async def idle(self, *, within: float = 10.0) -> None:
        """Wait until no chat is being served and nothing is due (tests, benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if not self._chats:
                due = await self._db.run(
                    outbox_store.backlog, now=self._clock(), only_chats=self._only_chats
                )
                if not due and not self._chats:
                    return
                self.wake()
            await asyncio.sleep(0.01)
        raise TimeoutError("the outbox did not empty in time")

    # --- one chat ------------------------------------------------------------------------------

    async def _serve(self, row: OutboxRow | None) -> None:
        """Send a chat's messages one after another, as long as each is done with."""
        chat_id = row.chat_id if row is not None else 0
        try:
            while row is not None:
                result = await self._send(row)
                # Grouped with other chats' records (and applies) made meanwhile: one commit.
                row, outcome = await self._db.run_grouped(
                    self._record,
                    row=row,
                    result=result,
                    now=self._clock(),
                    more=not self._stop.is_set(),
                )
                if outcome == "sent":
                    self.sent += 1
                elif outcome == "failed":
                    self.failed += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database failed while recording: the message keeps its claim, and its lease
            # decides (sent again, or failed if it was being sent at most once).
            log.exception("outbox: could not record a message for chat %s", chat_id)
        finally:
            # No need to look again for this chat: its last record claimed whatever it had
            # waiting, and a message queued later wakes the sender with its own commit, or was
            # claimed by it and handed over (`serve`) while this one was being recorded.
            self._chats.pop(chat_id, None)
            handed = self._handed.get(chat_id)
            if handed:
                self.serve(handed.popleft())
            if not handed:
                self._handed.pop(chat_id, None)

    async def _send(self, row: OutboxRow) -> _Result:
        # Only reminder fan-outs are worth paying for; replies keep to the free budget.
        paid = self._paid_broadcast and row.source == OutboxSource.FOLLOW_UP
        if row.started:
            # Its claim marked it (no pacer: no slot to wait for).
            return await self._call(row, paid=paid)
        deadline = math.inf
        if self._pacer is not None:
            deadline = await self._pacer.acquire(row.chat_id, paid=paid)
        started, paused_until = await self._db.run(
            self._start_sending,
            message_id=row.id,
            now=self._clock(),
            at_most_once=row.at_most_once,
        )
        if self._pacer is not None:
            self._pacer.hold_until(paused_until)
        if not started:
            return _Result(None, error="lost")
        if self._pacer is not None and (paused := self._pacer.paused_for()) > 0:
            # A flood wait began (here or in another process) while the slot's "sending" was
            # being recorded: nothing left, so the message waits like the others, pending again
            # rather than held "sending" through the pause.
            return _Result(Verdict.WAIT, error="held by a flood wait", wait=paused)
        if self._pacer is not None:
            # Recording "sending" took long enough that the slot is gone (a busy database or
            # event loop): sending now could crowd the next second, so wait for another.
            while not self._pacer.in_time(deadline):
                deadline = await self._pacer.acquire(row.chat_id, paid=paid)
        return await self._call(row, paid=paid)

    def _start_sending(
        self, session: Session, *, message_id: int, now: datetime, at_most_once: bool
    ) -> tuple[bool, float]:
        """Mark the message "sending" and, in the same transaction, read when a flood-wait
        pause another process wrote meanwhile ends (`_send` checks it before the call)."""
        started = outbox_store.start_sending(
            session,
            message_id=message_id,
            worker=self.worker,
            now=now,
            lease=self._lease,
            at_most_once=at_most_once,
        )
        paused_until = self._pacer.pause_in(session) if started and self._pacer else 0.0
        return started, paused_until

    async def _call(self, row: OutboxRow, *, paid: bool) -> _Result:
        try:
            await deliver(
                self._bot,
                row.chat_id,
                row.method,
                row.payload,
                paced=self._pacer is not None,
                paid=paid,
            )
        except Exception as error:
            verdict, why = classify(error)
            metrics.count_send(verdict)
            wait = _retry_after_seconds(error) if isinstance(error, RetryAfter) else 0.0
            return _Result(verdict, error=f"{why}: {error!r}", wait=wait)
        metrics.count_send(None)
        return _Result(None)

    def _record(
        self, session: Session, *, row: OutboxRow, result: _Result, now: datetime, more: bool
    ) -> tuple[OutboxRow | None, Outcome]:
        """Record one try; the chat's next message, claimed, when this one is done with, and
        whether the message counts as sent or failed (counted by the caller once committed:
        a grouped transaction may run this twice)."""
        if result.error == "lost" and result.verdict is None:
            return None, None  # another sender took it over: leave the chat to them
        done, outcome = self._record_result(session, row=row, result=result, now=now)
        if not done or not more:
            return None, outcome
        return outbox_store.claim_next_for_chat(
            session,
            chat_id=row.chat_id,
            now=now,
            worker=self.worker,
            lease=self._lease,
            start=self._start_when_claimed,
        ), outcome

    def _record_result(
        self, session: Session, *, row: OutboxRow, result: _Result, now: datetime
    ) -> tuple[bool, Outcome]:
        """Record the try; whether the chat's next message may follow now, and the outcome."""
        fence: dict[str, Any] = {"message_id": row.id, "worker": self.worker, "now": now}
        match result.verdict:
            case None:
                outbox_store.mark_sent(session, **fence, follow_up=row.scheduled_id is not None)
                return True, "sent"
            case Verdict.WAIT:
                log.warning(
                    "Telegram asks for %s s of quiet; message %s waits", result.wait, row.id
                )
                outbox_store.retry_later(
                    session,
                    **fence,
                    not_before=now + timedelta(seconds=result.wait),
                    error=result.error,
                    count_attempt=False,
                )
                return False, None
            case Verdict.REFUSED:
                log.info(
                    "chat %s refuses messages (%s): its follow-ups stop", row.chat_id, result.error
                )
                outbox_store.mark_failed(session, **fence, error=result.error)
                outbox_store.fail_chat(session, chat_id=row.chat_id, error=result.error, now=now)
                runner_id = outbox_store.runner_id_for_chat(session, chat_id=row.chat_id)
                if runner_id is not None:
                    schedule_store.deactivate_schedule(
                        session, runner_id=runner_id, reason=result.error, now=now
                    )
                return False, "failed"
            case Verdict.REJECTED:
                log.error("Telegram rejected message %s for good: %s", row.id, result.error)
                outbox_store.mark_failed(session, **fence, error=result.error)
                return True, "failed"
            case Verdict.UNKNOWN if row.at_most_once:
                log.warning("message %s: outcome unknown (%s); not resent", row.id, result.error)
                outbox_store.mark_failed(
                    session, **fence, error=f"outcome unknown, not resent: {result.error}"
                )
                return True, "failed"
        delays = retry_delays(row)
        if row.attempts >= len(delays):
            log.error(
                "message %s to chat %s failed %s times; giving up: %s",
                row.id,
                row.chat_id,
                row.attempts + 1,
                result.error,
            )
            outbox_store.mark_failed(
                session, **fence, error=f"gave up after {row.attempts + 1} tries: {result.error}"
            )
            return True, "failed"
        delay = delays[row.attempts]
        log.warning("message %s failed (%s); trying again in %s s", row.id, result.error, delay)
        outbox_store.retry_later(
            session, **fence, not_before=now + timedelta(seconds=delay), error=result.error
        )
        return False, None


def _retry_after_seconds(flood: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that the int form becomes a timedelta; both are accepted here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = flood.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
