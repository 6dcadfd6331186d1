"""One send limit across several senders on one PostgreSQL database.

The grid of send slots is checked on its own (pure integers). Then three `OutboxSender`s, each
with its own `Database` and its own `SharedSendRateLimiter` (as three processes would have),
drain one outbox into one in-process `FakeBotApi`, which notes the wall time of every send: no
calendar second holds more than the limit, no chat gets two messages within its interval, every
message arrives once. Real time, not a fake clock: the limit is about when calls arrive, and
the senders' own scheduling delays are part of what must be kept within it; the runs are kept
to a few seconds. Also: a RetryAfter seen by one sender pauses the others, the paid-broadcast
budget and flag, and the in-memory limiter's paid budget on fake time.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.app import build_bot
from bot.clock import utc_now
from bot.db import outbox_store, send_limit_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage
from bot.db.send_limit_store import MICROS, grid_slot
from bot.outbox import OutboxSender
from bot.ratelimit import SendRateLimiter, SharedSendRateLimiter, pacer_for
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from fakebotapi.faults import Call

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


class TestGrid:
    @pytest.mark.parametrize("rate", [1, 7, 30, 970, 1000])
    def test_a_calendar_second_never_holds_more_than_rate_slots(self, rate: int):
        slots = []
        last, ready = 0, 5 * MICROS + 123_456
        for _ in range(3 * rate + 5):
            slot = grid_slot(last, ready, rate)
            assert slot >= ready and slot > last
            slots.append(slot)
            last = slot
        per_second = Counter(slot // MICROS for slot in slots)
        assert max(per_second.values()) == rate
        # Evenly spread within each second (to the microsecond), not bunched at its start.
        gaps = {b - a for a, b in itertools.pairwise(slots) if a // MICROS == b // MICROS}
        assert not gaps or max(gaps) - min(gaps) <= 1

    def test_a_slot_waits_for_the_ready_time_and_takes_the_next_grid_point(self):
        assert grid_slot(0, 10 * MICROS + 1, 30) == 10 * MICROS + MICROS // 30
        assert grid_slot(0, 10 * MICROS + 999_999, 30) == 11 * MICROS
        # Never the last slot again, even when it is still "ready".
        assert grid_slot(11 * MICROS, 10 * MICROS, 30) == 11 * MICROS + MICROS // 30


# --- several senders on PostgreSQL --------------------------------------------------------------


class Senders:
    """Three senders, each with a database and a limiter of its own, and one fake Bot API."""

    def __init__(self, url: str, api: FakeBotApi) -> None:
        self.url = url
        self.api = api
        self.sent_at: list[tuple[float, int, str]] = []
        self.senders: list[OutboxSender] = []
        self.limiters: list[SharedSendRateLimiter] = []
        api.on_call("sendMessage", self._note, after_delivery=True)  # sends that took effect

    def _note(self, call: Call) -> None:
        self.sent_at.append((time.time(), call.params["chat_id"], call.params["text"]))

    async def start(
        self, stack: AsyncExitStack, count: int = 3, max_chats: int = 2048, **limits: int
    ) -> None:
        for n in range(count):
            db = Database.for_url(self.url)
            stack.push_async_callback(db.dispose)
            bot = build_bot(
                token=DEFAULT_TOKEN,
                request=LocalBotApiRequest(self.api),
                get_updates_request=LocalBotApiRequest(self.api),
                pacer=(limiter := SharedSendRateLimiter(db, **limits)),
            )
            await stack.enter_async_context(bot)
            sender = OutboxSender(
                db=db,
                bot=bot,
                worker=f"sender-{n}",
                interval=0.05,
                batch=8,
                max_chats=max_chats,
                pacer=limiter,
                paid_broadcast=True,
            )
            self.senders.append(sender)
            self.limiters.append(limiter)
        # Started together, with no await between them, so that none claims every chat before
        # the others are running.
        for sender in self.senders:
            sender.start()
            stack.push_async_callback(sender.stop, grace=1.0)

    async def wait_for(self, count: int, *, within: float) -> None:
        async with asyncio.timeout(within):
            while len(self.sent_at) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # nothing more may arrive: a duplicate would show now


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    db = Database.for_url(postgres_url)
    upgrade_to_head(db.engine)
    yield db
    await db.dispose()


def enqueue(db: Database, chat_id: int, text: str, source: str = "reply") -> int:
    return db.run_sync(
        outbox_store.enqueue,
        chat_id=chat_id,
        method="sendMessage",
        payload={"text": text},
        source=source,
        now=utc_now(),
        at_most_once=True,
    )


def check_limits(sent_at: list[tuple[float, int, str]], *, per_second: int) -> None:
    seconds = Counter(int(at) for at, _, _ in sent_at)
    assert max(seconds.values()) <= per_second, seconds
    by_chat: dict[int, list[float]] = defaultdict(list)
    for at, chat_id, _ in sent_at:
        by_chat[chat_id].append(at)
    gaps = [b - a for times in by_chat.values() for a, b in itertools.pairwise(times)]
    assert all(gap >= 1.0 for gap in gaps), min(gaps)


async def test_three_senders_keep_one_limit_and_send_each_message_once(
    pg: Database, postgres_url: str
):
    # 40 chats x 3 messages: 120 sends, at least 4 s at 30 a second, the chats' spacing at play.
    texts = {
        enqueue(pg, chat_id, f"{chat_id}-{n}"): f"{chat_id}-{n}"
        for n in range(3)
        for chat_id in range(1, 41)
    }
    senders = Senders(postgres_url, FakeBotApi())
    async with AsyncExitStack() as stack:
        # At most 14 chats each: two senders cannot hold all 40, so the third gets a share
        # however late it starts (until the first chats are done, 2 s at one a second).
        await senders.start(stack, max_chats=14)
        await senders.wait_for(len(texts), within=30)
    sent = [text for _, _, text in senders.sent_at]
    assert sorted(sent) == sorted(texts.values())  # nothing lost, nothing twice
    check_limits(senders.sent_at, per_second=30)
    # Each chat's messages in order, and every sender took a share.
    for chat_id in range(1, 41):
        assert [m["text"] for m in senders.api.sent_to(chat_id)] == [
            f"{chat_id}-{n}" for n in range(3)
        ]
    assert all(sender.sent > 0 for sender in senders.senders)
    assert sum(sender.sent for sender in senders.senders) == len(texts)
    counts = pg.run_sync(outbox_store.counts_by_state)
    assert counts == {"sent": len(texts)}


async def test_a_retry_after_seen_by_one_sender_pauses_every_sender(
    pg: Database, postgres_url: str
):
    for chat_id in range(1, 31):
        enqueue(pg, chat_id, f"m{chat_id}")
    api = FakeBotApi()
    api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 2", {"retry_after": 2}, chat_id=1
    )
    senders = Senders(postgres_url, api)
    async with AsyncExitStack() as stack:
        await senders.start(stack, overall_per_second=10)
        await senders.wait_for(29, within=20)
        paused_from = pg.run_sync(send_limit_store.paused_until) / MICROS
        await senders.wait_for(30, within=20)
    # The pause reached the database, and no sender sent during it.
    assert paused_from > 0
    inside = [at for at, _, _ in senders.sent_at if paused_from - 2 + 0.05 < at < paused_from]
    assert inside == []
    assert sorted(t for _, _, t in senders.sent_at) == sorted(f"m{c}" for c in range(1, 31))


async def test_a_pause_written_while_sending_is_recorded_holds_that_send_back(
    pg: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Another process met a RetryAfter between this sender's slot and its call: the pause
    reached the database while "sending" was being recorded, and the call does not leave."""
    message_id = enqueue(pg, 1, "held back")
    real_start = outbox_store.start_sending
    pauses: list[float] = []

    def another_process_pauses_meanwhile(session: Any, **kwargs: Any) -> bool:
        until = time.time() + 30
        pauses.append(until)
        with pg.engine.begin() as connection:  # committed by "another process", at once
            send_limit_store.pause_all(Session(bind=connection), until_us=round(until * MICROS))
        return real_start(session, **kwargs)

    monkeypatch.setattr(outbox_store, "start_sending", another_process_pauses_meanwhile)
    senders = Senders(postgres_url, FakeBotApi())
    async with AsyncExitStack() as stack:
        await senders.start(stack, count=1)
        async with asyncio.timeout(10):
            while not pauses:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        limiter = senders.limiters[0]
        assert limiter.paused_for() > 25
    assert senders.api.calls_to("sendMessage") == []
    stored = pg.run_sync(lambda session: session.get(OutboxMessage, message_id))
    assert stored.state == "pending", (stored.state, stored.last_error, stored.not_before)


async def test_paid_broadcast_sends_follow_ups_paid_and_faster_while_replies_stay_free(
    pg: Database, postgres_url: str
):
    for chat_id in range(1, 61):
        enqueue(pg, chat_id, f"f{chat_id}", source="followup")
    for chat_id in range(101, 111):
        enqueue(pg, chat_id, f"r{chat_id}")
    senders = Senders(postgres_url, FakeBotApi())
    async with AsyncExitStack() as stack:
        await senders.start(stack, overall_per_second=5, paid_per_second=100)
        started = time.time()
        await senders.wait_for(70, within=20)
    calls = senders.api.calls_to("sendMessage")
    paid = {c["text"] for c in calls if c.get("allow_paid_broadcast")}
    assert paid == {f"f{c}" for c in range(1, 61)}
    follow_ups_done = max(at for at, _, text in senders.sent_at if text.startswith("f"))
    # 60 paid follow-ups within a second or so, where the free budget (5/s) would take 12 s:
    # held to half that, so a loaded machine does not fail it. The 10 replies keep to 5 a second.
    assert follow_ups_done - started < 60 / 5 / 2
    replies = [(at, c, t) for at, c, t in senders.sent_at if t.startswith("r")]
    check_limits(replies, per_second=5)


def test_pacer_for_shares_the_limit_on_postgresql_only(pg: Database, sqlite_url: str):
    assert isinstance(pacer_for(pg), SharedSendRateLimiter)
    sqlite = Database.for_url(sqlite_url)
    try:
        assert isinstance(pacer_for(sqlite), SendRateLimiter)
    finally:
        sqlite.dispose_sync()


async def test_the_in_memory_limiter_gives_paid_sends_their_own_budget():
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.0)

    limiter = SendRateLimiter(
        overall_per_second=2, paid_per_second=50, clock=lambda: now[0], sleep=sleep
    )
    for chat_id in range(1, 51):
        await limiter.acquire(chat_id, paid=True)
    assert now[0] < 1.0  # 50 paid sends in under a second
    start = now[0]
    for chat_id in range(101, 105):
        await limiter.acquire(chat_id)
    assert now[0] - start >= 1.0  # 4 free sends at 2 a second
