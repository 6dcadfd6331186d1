"""Pace outgoing messages to stay within Telegram's sending limits.

Telegram allows a bot about 30 messages a second overall, about one a second per chat and
about 20 a minute per group, and answers a burst beyond that with a RetryAfter that applies to
the whole bot. `SendRateLimiter` hands out send slots so that no 1-second window holds more than
30 sends (spaced evenly rather than in bursts), each private chat waits at least a second between
its messages and each group or channel three seconds, and a RetryAfter pauses everyone.
`TelegramRateLimiter` is python-telegram-bot's `BaseRateLimiter` built on it: every Bot API call
that sends into a chat, whoever makes it, waits for its slot there. The clock and the sleep
function are injectable so that tests run on fake time, and chats idle for a few seconds are
forgotten so that memory stays bounded however many runners are reminded.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

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
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        forget_after: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if overall_per_second < 1:
            raise ValueError("overall_per_second must be at least 1")
        if forget_after < max(per_chat_interval, per_group_interval):
            # Forgetting a chat sooner would let its next message through too early.
            raise ValueError("forget_after must not be shorter than per_chat_interval")
        self._overall_per_second = overall_per_second
        self._overall_interval = 1.0 / overall_per_second
        self._per_chat_interval = per_chat_interval
        self._per_group_interval = per_group_interval
        self._forget_after = forget_after
        self._clock = clock
        self._sleep = sleep
        self._next_overall = float("-inf")
        # The last `overall_per_second` slots: a new slot must be a full second after the
        # oldest, which keeps "at most N in any 1-second window" exact despite float rounding.
        self._recent_slots: deque[float] = deque(maxlen=overall_per_second)
        self._paused_until = float("-inf")
        # Ordered by when each chat last got a slot (slots are handed out in increasing time),
        # so the chats idle longest are at the front and pruning stops at the first recent one.
        self._chats: OrderedDict[Hashable, _ChatPace] = OrderedDict()

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

    async def acquire(self, chat_id: Hashable) -> None:
        """Return when a message may be sent to `chat_id` now."""
        self._forget_idle_chats(self._clock())
        pace = self._chats.get(chat_id)
        if pace is None:
            pace = self._chats[chat_id] = _ChatPace(last_send=float("-inf"))
        pace.waiting += 1
        try:
            await self._wait_for_slot(pace, chat_id)
        finally:
            pace.waiting -= 1

    async def _wait_for_slot(self, pace: _ChatPace, chat_id: Hashable) -> None:
        while True:
            now = self._clock()
            ready_at = max(self._paused_until, pace.last_send + self._interval_for(chat_id))
            if ready_at > now:
                await self._sleep(ready_at - now)
                continue
            send_at = max(now, self._next_overall)
            if len(self._recent_slots) == self._overall_per_second:
                send_at = max(send_at, self._recent_slots[0] + 1.0)
            # Claim the slot before sleeping so that concurrent callers queue behind it and
            # another caller for this chat waits a full interval after it.
            previous_send = pace.last_send
            pace.last_send = send_at
            self._chats.move_to_end(chat_id)
            self._next_overall = send_at + self._overall_interval
            self._recent_slots.append(send_at)
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
        # Private chats have positive ids; groups, supergroups and channels negative ones (or a
        # "@username" for a channel).
        if (isinstance(chat_id, int) and chat_id < 0) or (
            isinstance(chat_id, str) and chat_id.startswith(("@", "-"))
        ):
            return self._per_group_interval
        return self._per_chat_interval

    def _forget_idle_chats(self, now: float) -> None:
        while self._chats:
            chat_id, pace = next(iter(self._chats.items()))
            if pace.waiting or now - pace.last_send < self._forget_after:
                return
            del self._chats[chat_id]


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

    def __init__(self, pacer: SendRateLimiter | None = None) -> None:
        self.pacer = pacer if pacer is not None else SendRateLimiter()

    async def initialize(self) -> None:
        """Nothing to set up: the pacer keeps its state in memory."""

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
            await self.pacer.acquire(chat_id)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as flood:
            self.pacer.pause_all(_retry_after(flood))
            raise
