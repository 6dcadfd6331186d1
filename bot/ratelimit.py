"""Pace outgoing messages to stay within Telegram's sending limits.

Telegram allows a bot about 30 messages a second overall, about one a second per chat and
about 20 a minute per group, and answers a burst beyond that with a RetryAfter that applies to
the whole bot. `SendRateLimiter` hands out send slots so that no 1-second window holds more than
30 sends (spaced evenly rather than in bursts), each private chat waits at least a second between
its messages and each group or channel three seconds, and a RetryAfter pauses everyone.
`TelegramRateLimiter` is python-telegram-bot's `BaseRateLimiter` built on it: every Bot API call
that sends into a chat, whoever makes it, waits for its slot there. The clock and the sleep
function are injectable so that tests run on fake time, and chats idle for a few seconds are
forgotten so that memory stays bounded however many runners are reminded. That limiter is one
process's; on PostgreSQL, where several processes send from one outbox,
`SharedSendRateLimiter` keeps the same limits across all of them with its state in the
database (`bot.db.send_limit_store`): a shared limiter rather than one elected sender, so that
every worker keeps sending and a crash needs no failover (see README, "One send limit across
workers"). `pacer_for` picks one by the database. Either may give paid-broadcast sends a budget
of their own (`paid_per_second`); the per-chat spacing is shared.
"""

from __future__ import annotations

import asyncio
import math
import time
import warnings
import zlib
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.db import send_limit_store
from bot.db.database import Database
from bot.db.send_limit_store import FREE as FREE_LANE
from bot.db.send_limit_store import MICROS
from bot.db.send_limit_store import PAID as PAID_LANE

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


def _retry_after(flood: RetryAfter) -> float | timedelta:
    """The wait a RetryAfter asks for, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form becomes a timedelta; both are accepted here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return flood.retry_after


@dataclass(slots=True)
class _ChatPace:
    """When a chat last got (or was promised) a send slot, and how many callers wait on it."""

    last_send: float
    waiting: int = 0


class SendRateLimiter:
    """Send slots within an overall rate and a per-chat spacing, with a global pause.

    Use `async with limiter.slot(chat_id): await bot.send_message(...)` or
    `await limiter.acquire(chat_id)` before each send. Concurrent callers for different chats
    are served in the order they become ready; a chat waiting for its own spacing never holds
    the others up. Concurrent callers for one chat are spaced but not ordered, so send one
    chat's messages from one task when their order matters.
    """

    def __init__(
        self,
        *,
        overall_per_second: int = 30,
        paid_per_second: int | None = None,
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        forget_after: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if overall_per_second < 1 or (paid_per_second is not None and paid_per_second < 1):
            raise ValueError("overall_per_second and paid_per_second must be at least 1")
        if forget_after < max(per_chat_interval, per_group_interval):
            # Forgetting a chat sooner would let its next message through too early.
            raise ValueError("forget_after must not be shorter than per_chat_interval")
        # Two budgets: Telegram's free one, and (with paid broadcast on) the paid one that
        # follow-ups sent with allow_paid_broadcast draw from. The per-chat spacing is shared.
        self._rates = {False: overall_per_second, True: paid_per_second or overall_per_second}
        self._per_chat_interval = per_chat_interval
        self._per_group_interval = per_group_interval
        self._forget_after = forget_after
        self._clock = clock
        self._sleep = sleep
        self._next_overall = {paid: float("-inf") for paid in self._rates}
        # Each budget's last `rate` slots: a new slot must be a full second after the oldest,
        # which keeps "at most N in any 1-second window" exact despite float rounding.
        self._recent_slots = {paid: deque[float](maxlen=rate) for paid, rate in self._rates.items()}
        self._paused_until = float("-inf")
        # Ordered by when each chat last got a slot (slots are handed out in increasing time),
        # so the chats idle longest are at the front and pruning stops at the first recent one.
        self._chats: OrderedDict[Hashable, _ChatPace] = OrderedDict()

    def per_second(self, *, paid: bool = False) -> int:
        """How many sends a second the budget allows (`paid`: the paid broadcast one)."""
        return self._rates[paid]

    @property
    def tracked_chats(self) -> int:
        """How many chats the limiter currently remembers (bounded by recent traffic)."""
        return len(self._chats)

    def pause_all(self, seconds: float | timedelta) -> None:
        """Send nothing to anyone for `seconds` from now (Telegram's RetryAfter is bot-wide).

        Callers already promised a slot inside the pause wait until it ends and queue again.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def pause_in(self, session: Session) -> float:
        """No pause is written anywhere else: this limiter's pauses live in this process."""
        return self._paused_until

    def hold_until(self, until: float) -> None:
        """Send nothing before `until` (of `clock`): a pause learnt of from elsewhere."""
        self._paused_until = max(self._paused_until, until)

    def paused_for(self) -> float:
        """Seconds left of a flood-wait pause (0 when none)."""
        return max(self._paused_until - self._clock(), 0.0)

    @asynccontextmanager
    async def slot(self, chat_id: Hashable) -> AsyncIterator[None]:
        """Wait for a send slot for `chat_id`; a RetryAfter raised inside pauses everyone."""
        await self.acquire(chat_id)
        try:
            yield
        except RetryAfter as flood:
            self.pause_all(_retry_after(flood))
            raise

    async def acquire(self, chat_id: Hashable, *, paid: bool = False) -> float:
        """Return when a message may be sent to `chat_id` now (`paid`: from the paid-broadcast
        budget, when there is one); the deadline for the send, none here (see `in_time`)."""
        self._forget_idle_chats(self._clock())
        pace = self._chats.get(chat_id)
        if pace is None:
            pace = self._chats[chat_id] = _ChatPace(last_send=float("-inf"))
        pace.waiting += 1
        try:
            await self._wait_for_slot(pace, chat_id, paid=paid)
        finally:
            pace.waiting -= 1
        return math.inf

    def in_time(self, deadline: float) -> bool:
        """Always: a slot kept in this process's memory is counted where the send happens, so
        no other sender can crowd its second (`SharedSendRateLimiter.in_time` is the other)."""
        return True

    async def _wait_for_slot(self, pace: _ChatPace, chat_id: Hashable, *, paid: bool) -> None:
        rate = self._rates[paid]
        recent = self._recent_slots[paid]
        while True:
            now = self._clock()
            ready_at = max(self._paused_until, pace.last_send + self._interval_for(chat_id))
            if ready_at > now:
                await self._sleep(ready_at - now)
                continue
            send_at = max(now, self._next_overall[paid])
            if len(recent) == rate:
                send_at = max(send_at, recent[0] + 1.0)
            # Claim the slot before sleeping so that concurrent callers queue behind it and
            # another caller for this chat waits a full interval after it.
            previous_send = pace.last_send
            pace.last_send = send_at
            self._chats.move_to_end(chat_id)
            self._next_overall[paid] = send_at + 1.0 / rate
            recent.append(send_at)
            if send_at > now:
                await self._sleep(send_at - now)
            if self._clock() < self._paused_until:
                # A RetryAfter arrived while this caller waited: its slot is void. The overall
                # bookkeeping keeps the void slot, which only errs on the slow side.
                if pace.last_send == send_at:
                    pace.last_send = previous_send
                continue
            return

    def _interval_for(self, chat_id: Hashable) -> float:
        return self._per_group_interval if _is_group(chat_id) else self._per_chat_interval

    def _forget_idle_chats(self, now: float) -> None:
        while self._chats:
            chat_id, pace = next(iter(self._chats.items()))
            if pace.waiting or now - pace.last_send < self._forget_after:
                return
            del self._chats[chat_id]


class SharedSendRateLimiter:
    """`SendRateLimiter`'s limits kept across every process sending from one PostgreSQL database.

    Each `acquire` takes a slot from `bot.db.send_limit_store` (one short transaction), sleeps
    until the slot starts and returns the deadline by which the send must leave: `max_late`
    after the slot, and before its calendar second ends (less `safety` for the call's way to
    Telegram). A caller that would miss it (the event loop or the database being slow) takes a
    new slot rather than sending into the next second's budget: that keeps every calendar
    second within the limit whatever the senders' timing, at the cost of a wasted slot; a chat's
    spacing is counted from its slot plus `max_late`, so it holds too. A RetryAfter pauses this
    process at once and every other before its next send (the pause is written to the
    database, and a caller that waited for its slot reads it again before sending).
    """

    def __init__(
        self,
        db: Database,
        *,
        overall_per_second: int = 30,
        paid_per_second: int | None = None,
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        max_late: float = 0.1,
        safety: float = 0.01,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if overall_per_second < 1 or (paid_per_second is not None and paid_per_second < 1):
            raise ValueError("overall_per_second and paid_per_second must be at least 1")
        self._db = db
        self._rates = {False: overall_per_second, True: paid_per_second or overall_per_second}
        self._lanes = {False: FREE_LANE, True: PAID_LANE if paid_per_second else FREE_LANE}
        self._max_late_us = round(max_late * MICROS)
        self._safety_us = round(safety * MICROS)
        self._per_chat_us = round(per_chat_interval * MICROS) + self._max_late_us
        self._per_group_us = round(per_group_interval * MICROS) + self._max_late_us
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._writes: set[asyncio.Task[None]] = set()
        # At most a second's worth of slots booked ahead by this process, per lane: a sender
        # with thousands of chats claimed would otherwise queue a slot transaction for each on
        # the database threads, and the "sending" record of the message whose slot came first
        # would wait behind them and miss it (10,000 reminders through 3 workers: the first
        # left about 40 s after falling due).
        self._ahead = {paid: asyncio.Semaphore(rate) for paid, rate in self._rates.items()}
        self._acquired = 0
        self.late = 0  # slots given up because this process woke too late for them

    def per_second(self, *, paid: bool = False) -> int:
        """How many sends a second the budget allows (`paid`: the paid broadcast one)."""
        return self._rates[paid]

    def pause_all(self, seconds: float | timedelta) -> None:
        """Send nothing to anyone for `seconds` from now, in every process."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        until = self._clock() + max(seconds, 0.0)
        self._paused_until = max(self._paused_until, until)
        task = asyncio.ensure_future(
            self._db.run(send_limit_store.pause_all, until_us=round(until * MICROS))
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def pause_in(self, session: Session) -> float:
        """When the pause any process wrote ends (of `clock`), read in the caller's transaction:
        the outbox's "sending" transaction asks, so a pause that began while a slot was waited
        for or recorded holds that send back too (`hold_until`, on the event loop)."""
        return send_limit_store.paused_until(session) / MICROS

    def hold_until(self, until: float) -> None:
        """Send nothing before `until` (of `clock`): a pause learnt of from elsewhere."""
        self._paused_until = max(self._paused_until, until)

    def paused_for(self) -> float:
        """Seconds left of a flood-wait pause this process knows of (0 when none)."""
        return max(self._paused_until - self._clock(), 0.0)

    async def acquire(self, chat_id: Hashable, *, paid: bool = False) -> float:
        """Return when a message may be sent to `chat_id` now, by any process's reckoning; the
        time (of `clock`) by which it must have left (see `in_time`)."""
        async with self._ahead[paid]:
            return await self._acquire(chat_id, paid=paid)

    async def _acquire(self, chat_id: Hashable, *, paid: bool) -> float:
        key = _chat_key(chat_id)
        interval = self._per_group_us if _is_group(chat_id) else self._per_chat_us
        while True:
            self._acquired += 1
            if self._acquired % PRUNE_EVERY == 0:
                await self._db.run(
                    send_limit_store.prune_chats,
                    before_us=round(self._clock() * MICROS) - FORGET_CHATS_AFTER_US,
                )
            slot, paused_until_us = await self._db.run(
                self._take_slot, chat_id=key, paid=paid, chat_interval_us=interval
            )
            self._paused_until = max(self._paused_until, paused_until_us / MICROS)
            start = slot / MICROS
            if (wait := start - self._clock()) > 0:
                await self._sleep(wait)
                if wait > RECHECK_PAUSE_AFTER:
                    # Slots are handed out ahead: another process may have met a RetryAfter
                    # while this one waited.
                    paused_until_us = await self._db.run(send_limit_store.paused_until)
                    self._paused_until = max(self._paused_until, paused_until_us / MICROS)
            now = self._clock()
            if now < self._paused_until:
                continue  # a RetryAfter arrived while this caller waited: its slot is void
            deadline = self._deadline(slot)
            if now >= deadline:
                self.late += 1
                continue
            return deadline

    def _take_slot(
        self, session: Session, *, chat_id: int, paid: bool, chat_interval_us: int
    ) -> tuple[int, int]:
        # "Now" is read inside the transaction, not when it was asked for: the wait for a
        # database connection must not make a fresh slot stale before it is granted.
        return send_limit_store.take_slot(
            session,
            chat_id=chat_id,
            lane=self._lanes[paid],
            rate=self._rates[paid],
            chat_interval_us=chat_interval_us,
            now_us=round(max(self._clock(), self._paused_until) * MICROS),
        )

    def _deadline(self, start_us: int) -> float:
        second_end = (start_us // MICROS + 1) * MICROS
        deadline = min(start_us + self._max_late_us, second_end - self._safety_us)
        if deadline <= start_us:  # a slot in the second's last moments: no room for safety
            deadline = second_end
        return deadline / MICROS

    def in_time(self, deadline: float) -> bool:
        """Whether a send granted with this `deadline` may still leave now (a caller that did
        something slow between `acquire` and its call asks, and takes a new slot if not)."""
        if self._clock() < deadline and self.paused_for() == 0:
            return True
        self.late += 1
        return False

    async def flush(self) -> None:
        """Wait for pauses still being written (a clean stop, tests)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


# Shared limiter: a caller that waited longer than this for its slot asks the database whether
# a pause began meanwhile (one short read; shorter waits overlap a pause by at most this much).
RECHECK_PAUSE_AFTER = 0.05
# Shared limiter: chats whose next allowed send is a minute past are forgotten, checked now and
# then (every PRUNE_EVERY slots) so the table stays as small as recent traffic.
PRUNE_EVERY = 1000
FORGET_CHATS_AFTER_US = 60 * MICROS


def _is_group(chat_id: Hashable) -> bool:
    # Private chats have positive ids; groups, supergroups and channels negative ones (or a
    # "@username" for a channel).
    return (isinstance(chat_id, int) and chat_id < 0) or (
        isinstance(chat_id, str) and chat_id.startswith(("@", "-"))
    )


def _chat_key(chat_id: Hashable) -> int:
    """The chat as an integer key ("@channel" names hash to keys no chat id can have)."""
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    if text.lstrip("-").isdigit():
        return int(text)
    return -(10**15) - zlib.crc32(text.encode())


Pacer = SendRateLimiter | SharedSendRateLimiter


def pacer_for(
    db: Database, *, per_chat_interval: float = 1.0, paid_per_second: int | None = None
) -> Pacer:
    """The limiter for a bot on `db`: shared through the database on PostgreSQL (any number of
    sender processes), in memory on SQLite (one process)."""
    if db.engine.dialect.name == "postgresql":
        return SharedSendRateLimiter(
            db, per_chat_interval=per_chat_interval, paid_per_second=paid_per_second
        )
    return SendRateLimiter(per_chat_interval=per_chat_interval, paid_per_second=paid_per_second)


# Bot API methods that put something into a chat, and so count against its limits. Answering a
# callback query, polling and registering commands do not.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendVideo",
        "sendSticker",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


# `rate_limit_args` of a call whose caller already waited for its slot (the outbox waits first,
# so that it can record "sending" at the last moment before the call leaves).
ALREADY_PACED = "already-paced"


class TelegramRateLimiter(BaseRateLimiter[str]):
    """python-telegram-bot's rate-limiter interface on a `SendRateLimiter`.

    Hand it to an `ExtBot` (`ExtBot(..., rate_limiter=TelegramRateLimiter())`): each call of a
    paced method waits for its chat's slot (unless its caller took the slot from `pacer` itself
    and says so with `rate_limit_args=ALREADY_PACED`); a RetryAfter pauses every later call for
    the time Telegram asked and is re-raised, so that the caller (the outbox) can put its
    message back without counting a failure. Calls are not retried here: what a failure means
    for a message is the outbox's decision.
    """

    def __init__(self, pacer: Pacer | None = None) -> None:
        self.pacer = pacer if pacer is not None else SendRateLimiter()

    async def initialize(self) -> None:
        """Nothing to set up: the pacer keeps its state in memory or in the database."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if endpoint in PACED_METHODS and chat_id is not None and rate_limit_args != ALREADY_PACED:
            await self.pacer.acquire(chat_id, paid=bool(data.get("allow_paid_broadcast")))
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as flood:
            self.pacer.pause_all(_retry_after(flood))
            raise
