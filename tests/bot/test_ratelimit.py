"""Tests for bot/ratelimit.py: overall and per-chat pacing, global pauses, bounded chat table.

All of them run on fake time: `FakeTime` provides the limiter's clock and sleep and advances
the clock only when every task is waiting, so nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import warnings
from collections.abc import Awaitable, Hashable
from datetime import timedelta
from typing import TypeVar

import pytest
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.ratelimit import SendRateLimiter

T = TypeVar("T")
START = 1000.0
TOLERANCE = 1e-6


class FakeTime:
    """A monotonic clock and sleep function that jump straight to the next wake-up."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._running = 0
        self._all_asleep = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    def _note_progress(self) -> None:
        if self._running == len(self._sleepers):
            self._all_asleep.set()

    async def sleep(self, delay: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(delay, 0.0), next(self._order), wake))
        self._note_progress()
        await wake

    async def run(self, *jobs: Awaitable[T]) -> list[T]:
        """Run `jobs` concurrently, advancing the clock whenever all of them are asleep."""

        async def tracked(job: Awaitable[T]) -> T:
            try:
                return await job
            finally:
                self._running -= 1
                self._note_progress()

        self._running += len(jobs)
        self._all_asleep.clear()
        tasks = [asyncio.ensure_future(tracked(job)) for job in jobs]
        self._note_progress()
        while True:
            await self._all_asleep.wait()
            self._all_asleep.clear()
            if self._running == 0:
                return [task.result() for task in tasks]
            wake_at, _, wake = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake_at)
            wake.set_result(None)

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of fake time pass with nothing else to do."""

        async def idle() -> None:
            await self.sleep(seconds)

        await self.run(idle())


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def limiter(fake_time: FakeTime) -> SendRateLimiter:
    return SendRateLimiter(clock=fake_time.monotonic, sleep=fake_time.sleep)


async def send_time(limiter: SendRateLimiter, fake_time: FakeTime, chat_id: Hashable) -> float:
    """Acquire a slot and report the fake time at which the message could go."""
    await limiter.acquire(chat_id)
    return fake_time.now


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most send times found in any half-open window [t, t + window), counted exactly
    (evenly spaced float times drift a hair short of a full second over 30 slots)."""
    ordered = sorted(times)
    most = 0
    first = 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


class TestOverallRate:
    async def test_ten_thousand_chats_go_at_thirty_a_second_and_never_faster(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        count = 10_000
        times = await fake_time.run(
            *(send_time(limiter, fake_time, chat_id) for chat_id in range(count))
        )
        assert max_in_any_window(times) == 30
        # the first goes at once, so the last starts (count - 1) / 30 s later, and the next
        # free slot, where these sends end, is count / 30 s after the start
        assert max(times) - START >= (count - 1) / 30 - TOLERANCE
        next_slot = await fake_time.run(send_time(limiter, fake_time, "one more"))
        assert next_slot[0] - START >= count / 30 - TOLERANCE
        # and no throughput is wasted
        assert max(times) - START <= count / 30 + TOLERANCE

    async def test_ten_thousand_sends_one_after_another_keep_the_same_pace(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        async def send_all() -> list[float]:
            return [await send_time(limiter, fake_time, chat_id) for chat_id in range(10_000)]

        (times,) = await fake_time.run(send_all())
        assert max_in_any_window(times) == 30
        assert times[-1] - times[0] >= 9_999 / 30 - TOLERANCE

    async def test_a_lower_overall_rate_can_be_configured(self, fake_time: FakeTime) -> None:
        slow = SendRateLimiter(
            overall_per_second=5, clock=fake_time.monotonic, sleep=fake_time.sleep
        )
        times = await fake_time.run(*(send_time(slow, fake_time, chat) for chat in range(50)))
        assert max_in_any_window(times) == 5

    async def test_mixed_traffic_respects_both_limits(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        chats = [chat_id % 700 for chat_id in range(3_000)]
        times = await fake_time.run(*(send_time(limiter, fake_time, chat) for chat in chats))
        assert max_in_any_window(times) <= 30
        by_chat: dict[int, list[float]] = {}
        for chat, moment in zip(chats, times, strict=True):
            by_chat.setdefault(chat, []).append(moment)
        for moments in by_chat.values():
            moments.sort()
            assert all(b - a >= 1.0 for a, b in itertools.pairwise(moments))


class TestPerChatSpacing:
    async def test_one_chat_is_spaced_at_least_a_second(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        async def five_messages() -> list[float]:
            return [await send_time(limiter, fake_time, 42) for _ in range(5)]

        (times,) = await fake_time.run(five_messages())
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 1.0 for gap in gaps)
        assert times[-1] - times[0] == pytest.approx(4.0)

    async def test_concurrent_sends_to_one_chat_are_spaced_too(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        times = sorted(await fake_time.run(*(send_time(limiter, fake_time, 7) for _ in range(6))))
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))

    async def test_a_chat_waiting_for_its_spacing_does_not_hold_up_others(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        await fake_time.run(send_time(limiter, fake_time, "busy"))
        busy_again, other = await fake_time.run(
            send_time(limiter, fake_time, "busy"), send_time(limiter, fake_time, "other")
        )
        assert busy_again == pytest.approx(START + 1.0)
        assert other < START + 0.1

    async def test_a_chat_is_remembered_for_its_spacing_while_others_send(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        first = (await fake_time.run(send_time(limiter, fake_time, "runner")))[0]
        await fake_time.run(*(send_time(limiter, fake_time, chat) for chat in range(20)))
        again = (await fake_time.run(send_time(limiter, fake_time, "runner")))[0]
        assert again - first >= 1.0


class TestPause:
    async def test_pause_all_delays_every_chat(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        await fake_time.run(send_time(limiter, fake_time, 1))
        paused_at = fake_time.now
        limiter.pause_all(5)
        times = await fake_time.run(*(send_time(limiter, fake_time, chat) for chat in range(2, 40)))
        assert min(times) >= paused_at + 5
        assert max_in_any_window(times) <= 30

    async def test_a_pause_voids_slots_already_promised_inside_it(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        async def flood_control_after(delay: float, pause: float) -> float:
            await fake_time.sleep(delay)
            limiter.pause_all(pause)
            return fake_time.now

        # 90 sends need three seconds of slots; a 2-second pause arrives just after the 16th
        results = await fake_time.run(
            flood_control_after(0.51, 2.0),
            *(send_time(limiter, fake_time, chat) for chat in range(90)),
        )
        paused_at, times = results[0], results[1:]
        assert not [t for t in times if paused_at <= t < paused_at + 2.0]
        assert sum(t < paused_at for t in times) == 16
        assert max_in_any_window(times) <= 30

    async def test_pause_accepts_a_timedelta_and_never_shortens_a_longer_pause(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        limiter.pause_all(timedelta(seconds=3))
        limiter.pause_all(1)
        (sent,) = await fake_time.run(send_time(limiter, fake_time, 1))
        assert sent == pytest.approx(START + 3)

    @pytest.mark.parametrize("retry_after", [4, timedelta(seconds=4)])
    async def test_a_retry_after_inside_a_slot_pauses_everyone_and_is_reraised(
        self, limiter: SendRateLimiter, fake_time: FakeTime, retry_after: int | timedelta
    ) -> None:
        with warnings.catch_warnings():
            # PTB's own constructor warns about the int form; not what is tested here
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            flood = RetryAfter(retry_after)
        with warnings.catch_warnings():
            warnings.simplefilter("error", PTBDeprecationWarning)
            with pytest.raises(RetryAfter):
                async with limiter.slot(1):
                    raise flood
        (other_chat,) = await fake_time.run(send_time(limiter, fake_time, 2))
        assert other_chat == pytest.approx(START + 4)

    async def test_a_slot_lets_the_body_run_once_acquired(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        entered: list[float] = []

        async def send(chat: int) -> None:
            async with limiter.slot(chat):
                entered.append(fake_time.now)

        await fake_time.run(*(send(1) for _ in range(3)))
        assert sorted(entered) == pytest.approx([START, START + 1, START + 2])


class TestChatTable:
    async def test_the_chat_table_stays_small_however_many_chats_are_served(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        sizes: list[int] = []

        async def send_all() -> None:
            for chat_id in range(10_000):
                await limiter.acquire(chat_id)
                sizes.append(limiter.tracked_chats)

        await fake_time.run(send_all())
        # about 30 chats a second, each kept for 5 idle seconds (+ the current one)
        assert max(sizes) <= 30 * 5 + 31

    async def test_idle_chats_are_forgotten(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        await fake_time.run(*(send_time(limiter, fake_time, chat) for chat in range(100)))
        assert limiter.tracked_chats == 100
        await fake_time.advance(10)
        await fake_time.run(send_time(limiter, fake_time, "new"))
        assert limiter.tracked_chats == 1

    async def test_waiting_chats_are_never_forgotten(
        self, limiter: SendRateLimiter, fake_time: FakeTime
    ) -> None:
        async def later(delay: float, chat_id: str) -> float:
            await fake_time.sleep(delay)
            return await send_time(limiter, fake_time, chat_id)

        # "a" waits out a long pause; half-way through, other traffic prunes the table and
        # a second message for "a" arrives: it must still be spaced from the first
        limiter.pause_all(60)
        first, _, second = await fake_time.run(
            send_time(limiter, fake_time, "a"), later(30, "c"), later(30, "a")
        )
        assert abs(second - first) >= 1.0

    def test_forgetting_sooner_than_the_chat_spacing_is_refused(self) -> None:
        with pytest.raises(ValueError, match="forget_after"):
            SendRateLimiter(per_chat_interval=1.0, forget_after=0.5)


async def test_the_default_clock_grants_a_first_slot_at_once() -> None:
    """With the real clock and sleep, a first message for a chat needs no wait at all."""
    limiter = SendRateLimiter()
    await asyncio.wait_for(limiter.acquire(1), timeout=5)
    assert limiter.tracked_chats == 1
