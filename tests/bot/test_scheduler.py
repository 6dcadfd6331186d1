"""The scheduler against a real database and the in-process fake Bot API, on fake time.

Only the edges are fake: Telegram is a `FakeBotApi` reached through `LocalBotApiRequest`, and
one `FakeTime` is both the scheduler's clock and its rate limiter's clock and sleep (sleeping
moves the time on at once, so pacing is checked without waiting). Messages are composed by a
small test `compose` driven by each message's payload.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import ApplicationBuilder
from telegram.request import RequestData

from bot.db import schedule_store, store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import Runner, ScheduledMessage
from bot.ratelimit import SendRateLimiter
from bot.scheduler import (
    Composed,
    FollowUp,
    Scheduler,
    attach,
    may_have_been_delivered,
    retry_delay,
)
from flows.types import Button, Reply
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
TOLERANCE = 1e-6
REPLY = Reply("triage/unreadable.j2", {"kind": "sticker"})


class FakeTime:
    """An aware UTC clock, the same instant as monotonic seconds, and a sleep that moves it on."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 0.0))
        await asyncio.sleep(0)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class RecordingRequest(LocalBotApiRequest):
    """The in-process transport, noting the fake time of every accepted sendMessage, and able to
    run a hook just after the fake Bot API delivered one (to stop or kill a scheduler there)."""

    def __init__(self, api: FakeBotApi, time: FakeTime, **options: Any) -> None:
        super().__init__(api, **options)
        self.time = time
        self.sends: list[tuple[int, float]] = []
        self.after_send: Callable[[int], None] | None = None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **timeouts: Any
    ) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, **timeouts)
        if url.endswith("/sendMessage") and status == 200 and request_data is not None:
            self.sends.append((int(request_data.json_parameters["chat_id"]), self.time.monotonic()))
            if self.after_send is not None:
                self.after_send(len(self.sends))
        return status, body


def compose(session: Session, *, message: ScheduledMessage, now: datetime) -> Composed | None:
    """A stand-in for the follow-up flow, steered by the message's payload."""
    payload = message.payload
    if payload.get("explode"):
        raise RuntimeError("a bug in compose")
    if payload.get("nothing"):
        return None
    replies = (REPLY,) * payload.get("replies", 1)
    follow_ups = tuple(
        FollowUp(
            kind=spec["kind"],
            due_at=datetime.fromisoformat(spec["due_at"]),
            idempotency_key=spec["key"],
            payload={"from": message.idempotency_key},
        )
        for spec in payload.get("next", [])
    )
    return Composed(replies=replies, follow_ups=follow_ups, drop_reason=payload.get("drop"))


@dataclass
class World:
    db: Database
    api: FakeBotApi
    bot: Bot
    time: FakeTime
    request: RecordingRequest
    schedulers: list[Scheduler] = field(default_factory=list)

    def runner(self, chat_id: int) -> int:
        return self.db.run_sync(
            store.get_or_create_runner, chat_id=chat_id, user_id=None, first_name=None, now=START
        ).id

    def add(
        self,
        chat_id: int,
        key: str,
        *,
        due_at: datetime | None = None,
        kind: str = "checkin",
        **payload: Any,
    ) -> bool:
        return self.db.run_sync(
            schedule_store.schedule,
            runner_id=self.runner(chat_id),
            kind=kind,
            due_at=due_at or self.time.now,
            idempotency_key=key,
            payload=payload,
            now=self.time.now,
        )

    def row(self, key: str) -> ScheduledMessage:
        return self.db.run_sync(
            lambda session: session.scalars(
                select(ScheduledMessage).where(ScheduledMessage.idempotency_key == key)
            ).one()
        )

    def states(self) -> dict[str, str]:
        rows = self.db.run_sync(lambda session: session.scalars(select(ScheduledMessage)).all())
        return {row.idempotency_key: row.state for row in rows}

    def limiter(self) -> SendRateLimiter:
        return SendRateLimiter(clock=self.time.monotonic, sleep=self.time.sleep)

    def scheduler(self, **options: Any) -> Scheduler:
        settings: dict[str, Any] = {
            "db": self.db,
            "bot": self.bot,
            "compose": compose,
            "clock": self.time,
            "limiter": self.limiter(),
            "concurrency": 1,
            "lease": LEASE,
            "interval": 0.01,
        }
        settings.update(options)
        scheduler = Scheduler(**settings)
        self.schedulers.append(scheduler)
        return scheduler

    def received(self, chat_id: int) -> int:
        return len(self.api.sent_to(chat_id))

    def send_attempts(self) -> int:
        return len(self.api.calls_to("sendMessage"))


async def drain(scheduler: Scheduler) -> int:
    """Run passes until one finds nothing due; how many messages were dealt with."""
    total = 0
    while processed := await scheduler.run_once():
        total += processed
    return total


@asynccontextmanager
async def open_world(url: str, *, read_timeout: float = 5.0) -> AsyncIterator[World]:
    """A migrated database at `url`, a fake Bot API and a Bot on it, all on one FakeTime."""
    time = FakeTime()
    api = FakeBotApi(clock=time)
    request = RecordingRequest(api, time, read_timeout=read_timeout)
    bot = Bot(DEFAULT_TOKEN, request=request, get_updates_request=LocalBotApiRequest(api))
    db = Database.threaded(url)
    upgrade_to_head(db.engine)
    world = World(db=db, api=api, bot=bot, time=time, request=request)
    async with bot:
        try:
            yield world
        finally:
            for scheduler in world.schedulers:
                await scheduler.stop()
    await db.dispose()


@pytest.fixture
async def world(sqlite_url: str) -> AsyncIterator[World]:
    async with open_world(sqlite_url) as opened:
        yield opened


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most sends in any half-open window [t, t + window)."""
    ordered = sorted(times)
    most = first = 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= window - TOLERANCE:
            first += 1
        most = max(most, last - first + 1)
    return most


class TestSending:
    async def test_due_messages_are_sent_once_and_marked_sent(self, world: World):
        for chat_id in (1, 2, 3):
            world.add(chat_id, f"c{chat_id}")
        scheduler = world.scheduler()
        assert await scheduler.run_once() == 3
        assert [world.received(chat_id) for chat_id in (1, 2, 3)] == [1, 1, 1]
        row = world.row("c1")
        assert (row.state, row.sent_at, row.claimed_by) == ("sent", START, scheduler.worker)
        assert await scheduler.run_once() == 0
        assert world.send_attempts() == 3

    async def test_messages_not_yet_due_wait_for_their_time(self, world: World):
        world.add(1, "later", due_at=START + timedelta(minutes=10))
        scheduler = world.scheduler()
        assert await scheduler.run_once() == 0
        world.time.advance(timedelta(minutes=9, seconds=59))
        assert await scheduler.run_once() == 0
        world.time.advance(timedelta(seconds=1))
        assert await scheduler.run_once() == 1
        assert world.received(1) == 1

    async def test_a_message_scheduled_twice_with_the_same_key_is_sent_once(self, world: World):
        assert world.add(1, "r1:reminder:2026-11-21", kind="reminder") is True
        assert world.add(1, "r1:reminder:2026-11-21", kind="reminder") is False
        await drain(world.scheduler())
        assert world.received(1) == 1

    async def test_replies_are_rendered_and_get_their_buttons(self, world: World):
        buttons = ((Button("Better", "answer", step="trend", value="better"),),)
        with_buttons = Reply("triage/about.j2", {}, buttons=buttons, version=4)

        def compose_about(session: Session, *, message: ScheduledMessage, now: datetime):
            return Composed(replies=(with_buttons,))

        world.add(1, "k")
        await world.scheduler(compose=compose_about).run_once()
        (sent,) = world.api.sent_to(1)
        assert sent["text"].startswith("About this bot")
        assert any(entity["type"] == "bold" for entity in sent["entities"])
        assert FakeBotApi.buttons(sent) == [[("Better", "a1:4:trend:better")]]

    async def test_compose_runs_in_the_transaction_that_starts_sending(self, world: World):
        seen: list[tuple[str, int, datetime]] = []

        def spy(session: Session, *, message: ScheduledMessage, now: datetime) -> Composed:
            runner = session.get(Runner, message.runner_id)
            seen.append((message.state, runner.chat_id, now))
            return Composed(replies=(REPLY,))

        world.add(77, "k")
        await world.scheduler(compose=spy).run_once()
        assert seen == [("sending", 77, START)]

    async def test_a_chats_messages_go_in_due_order_a_second_apart(self, world: World):
        for minute in (3, 1, 2):
            world.add(1, f"m{minute}", due_at=START - timedelta(minutes=minute))
        world.add(2, "other")
        scheduler = world.scheduler()
        await scheduler.run_once()
        chat_one = [moment for chat_id, moment in world.request.sends if chat_id == 1]
        assert len(chat_one) == 3
        assert all(b - a >= 1.0 - TOLERANCE for a, b in itertools.pairwise(chat_one))
        rows = sorted((world.row(f"m{m}") for m in (1, 2, 3)), key=lambda row: row.sent_at)
        assert [row.idempotency_key for row in rows] == ["m3", "m2", "m1"]


class TestWhatComesNext:
    async def test_follow_ups_are_scheduled_with_the_sent_mark(self, world: World):
        tomorrow = START + timedelta(days=1)
        world.add(
            1, "day1", next=[{"kind": "checkin", "due_at": tomorrow.isoformat(), "key": "day2"}]
        )
        await world.scheduler().run_once()
        follow_up = world.row("day2")
        assert (follow_up.state, follow_up.due_at, follow_up.payload) == (
            "pending",
            tomorrow,
            {"from": "day1"},
        )

    async def test_no_follow_up_is_scheduled_while_the_message_awaits_a_retry(self, world: World):
        tomorrow = START + timedelta(days=1)
        world.add(
            1, "day1", next=[{"kind": "checkin", "due_at": tomorrow.isoformat(), "key": "day2"}]
        )
        world.api.fail_next("sendMessage", 500, "Internal Server Error")
        await world.scheduler().run_once()
        assert "day2" not in world.states()

    async def test_a_late_reminder_is_dropped_but_its_follow_up_is_kept(self, world: World):
        yesterday = START - timedelta(days=1)
        world.add(
            1,
            "reminder-yesterday",
            kind="reminder",
            due_at=yesterday,
            zone="Europe/London",
            next=[{"kind": "reminder", "due_at": START.isoformat(), "key": "reminder-today"}],
        )
        await drain(world.scheduler())
        row = world.row("reminder-yesterday")
        assert (row.state, row.last_error.startswith("late")) == ("dropped", True)
        assert world.row("reminder-today").state == "sent"
        assert world.received(1) == 1

    async def test_a_check_in_hours_late_is_still_sent(self, world: World):
        world.add(1, "checkin", kind="checkin", due_at=START - timedelta(hours=5))
        await world.scheduler().run_once()
        assert world.row("checkin").state == "sent"

    async def test_lateness_is_judged_in_the_runners_zone(self, world: World):
        """At 09:00 UTC it is still 21 November in New York, so a reminder due there at 00:30
        local time (05:30 UTC) is today's; in London, due 23:30 local the day before, it is
        yesterday's."""
        world.add(
            1,
            "ny",
            kind="reminder",
            due_at=START - timedelta(hours=3, minutes=30),
            zone="America/New_York",
        )
        world.add(
            2,
            "london",
            kind="reminder",
            due_at=START - timedelta(hours=9, minutes=30),
            zone="Europe/London",
        )
        await world.scheduler().run_once()
        assert (world.row("ny").state, world.row("london").state) == ("sent", "dropped")

    async def test_compose_can_decline_with_or_without_a_reason(self, world: World):
        world.add(1, "declined", drop="runner resolved")
        world.add(2, "nothing", nothing=True)
        await world.scheduler().run_once()
        assert (world.row("declined").state, world.row("declined").last_error) == (
            "dropped",
            "runner resolved",
        )
        assert world.row("nothing").state == "dropped"
        assert world.send_attempts() == 0


class TestRestarts:
    async def test_a_stop_mid_batch_then_a_new_scheduler_sends_each_message_once(
        self, world: World
    ):
        for chat_id in range(1, 21):
            world.add(chat_id, f"m{chat_id}")
        first = world.scheduler()
        stop = asyncio.Event()
        world.request.after_send = lambda count: stop.set() if count == 5 else None
        await first.run_forever(stop)
        assert len(world.request.sends) == 5
        # The rest was handed back at once, not left to a lease.
        assert Counter(world.states().values()) == {"sent": 5, "pending": 15}
        world.request.after_send = None
        await drain(world.scheduler())
        assert [world.received(chat_id) for chat_id in range(1, 21)] == [1] * 20

    async def test_a_cancelled_scheduler_finishes_the_message_in_flight(self, world: World):
        for chat_id in range(1, 11):
            world.add(chat_id, f"m{chat_id}")
        first = world.scheduler()
        task = asyncio.create_task(first.run_forever(asyncio.Event()))
        world.request.after_send = lambda count: task.cancel() if count == 3 else None
        with pytest.raises(asyncio.CancelledError):
            await task
        assert Counter(world.states().values()) == {"sent": 3, "pending": 7}
        world.request.after_send = None
        await drain(world.scheduler())
        assert [world.received(chat_id) for chat_id in range(1, 11)] == [1] * 10

    async def test_after_a_crash_unstarted_claims_are_sent_and_a_send_in_flight_is_not_repeated(
        self, world: World
    ):
        """A scheduler killed during an HTTP call leaves its batch claimed and one message
        `sending` that did reach the runner. Once the lease runs out, a new scheduler sends the
        claimed ones and marks the other failed with an unknown outcome, never resending it."""
        for chat_id in range(1, 6):
            world.add(chat_id, f"m{chat_id}")
        claimed = world.db.run_sync(
            schedule_store.claim_due, now=START, limit=10, worker="killed", lease=LEASE
        )
        in_flight = claimed[0]
        world.db.run_sync(
            schedule_store.begin_sending,
            message_id=in_flight.id,
            worker="killed",
            now=START,
            lease=LEASE,
        )
        assert in_flight.idempotency_key == "m1"
        await world.bot.send_message(chat_id=1, text="delivered before the kill")

        restarted = world.scheduler()
        assert await restarted.run_once() == 0  # their lease still holds
        world.time.advance(LEASE + timedelta(seconds=1))
        assert await drain(restarted) == 4
        assert [world.received(chat_id) for chat_id in range(1, 6)] == [1] * 5
        stranded = world.row(in_flight.idempotency_key)
        assert (stranded.state, stranded.last_error.startswith("outcome unknown")) == (
            "failed",
            True,
        )

    async def test_a_request_that_timed_out_after_delivery_is_not_resent(self, sqlite_url: str):
        async with open_world(sqlite_url, read_timeout=0.15) as world:
            # The fake acts halfway through its delay: delivered at 0.1 s, timed out at 0.15 s.
            world.api.set_delay(0.2, method="sendMessage")
            world.add(1, "k")
            scheduler = world.scheduler()
            await scheduler.run_once()
            world.api.set_delay(0.0, method="sendMessage")
            world.time.advance(timedelta(hours=1))
            await drain(scheduler)
            assert world.received(1) == 1
            assert world.row("k").state == "failed"
            assert "outcome unknown" in world.row("k").last_error


# PTB 22 warns from inside its own RetryAfter constructor (the int form of retry_after is
# deprecated); nothing the bot can change.
ptb_retry_after_warning = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


class TestTelegramErrors:
    @ptb_retry_after_warning
    async def test_retry_after_is_obeyed_by_everyone_and_the_message_sent_once_after(
        self, world: World
    ):
        for chat_id in (1, 2, 3):
            world.add(chat_id, f"m{chat_id}", due_at=START - timedelta(seconds=4 - chat_id))
        world.api.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3}
        )
        scheduler = world.scheduler()
        await scheduler.run_once()
        flooded = world.row("m1")
        assert (flooded.state, flooded.attempts, flooded.due_at) == (
            "pending",
            0,
            START + timedelta(seconds=3),
        )
        # The other two waited out the pause before their turn.
        assert [moment >= 3.0 - TOLERANCE for _, moment in world.request.sends] == [True, True]
        await drain(scheduler)
        assert [world.received(chat_id) for chat_id in (1, 2, 3)] == [1, 1, 1]
        assert world.row("m1").state == "sent"
        assert world.send_attempts() == 4

    async def test_a_blocked_runners_schedule_is_deactivated_and_others_carry_on(
        self, world: World
    ):
        world.add(1, "blocked-now")
        world.add(1, "blocked-also-due")
        world.add(1, "blocked-tomorrow", due_at=START + timedelta(days=1))
        world.add(2, "fine")
        world.api.user_blocks_bot(1)
        scheduler = world.scheduler()
        await drain(scheduler)
        states = world.states()
        assert states == {
            "blocked-now": "failed",
            "blocked-also-due": "cancelled",
            "blocked-tomorrow": "cancelled",
            "fine": "sent",
        }
        assert "blocked" in world.row("blocked-now").last_error
        runner_id = world.runner(1)
        assert world.db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is False
        assert world.add(1, "after-blocking") is False
        assert world.send_attempts() == 2

    async def test_other_errors_retry_with_growing_delays_then_fail(self, world: World):
        world.add(1, "k")
        for _ in range(5):
            world.api.fail_next("sendMessage", 500, "Internal Server Error")
        scheduler = world.scheduler(max_attempts=5)
        delays = []
        for attempt in range(1, 5):
            await scheduler.run_once()
            row = world.row("k")
            assert (row.state, row.attempts) == ("pending", attempt)
            delays.append(row.due_at - world.time.now)
            world.time.now = row.due_at
        assert delays == [
            timedelta(seconds=30),
            timedelta(minutes=2),
            timedelta(minutes=8),
            timedelta(minutes=32),
        ]
        assert delays == [retry_delay(n) for n in range(1, 5)]
        await scheduler.run_once()
        row = world.row("k")
        assert row.state == "failed"
        assert "5 attempts" in row.last_error and "Internal Server Error" in row.last_error
        world.time.advance(timedelta(days=1))
        assert await scheduler.run_once() == 0
        assert world.received(1) == 0

    async def test_a_message_that_fails_once_is_sent_once_on_the_retry(self, world: World):
        world.add(1, "k")
        world.api.fail_next("sendMessage", 502, "Bad Gateway")
        scheduler = world.scheduler()
        await scheduler.run_once()
        world.time.advance(timedelta(seconds=30))
        await scheduler.run_once()
        assert world.received(1) == 1
        assert (world.row("k").state, world.row("k").attempts) == ("sent", 1)

    async def test_a_bug_in_compose_fails_that_message_only(
        self, world: World, caplog: pytest.LogCaptureFixture
    ):
        world.add(1, "buggy", explode=True)
        world.add(2, "fine")
        with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
            assert await world.scheduler().run_once() == 2
        assert world.states() == {"buggy": "failed", "fine": "sent"}
        assert "RuntimeError: a bug in compose" in world.row("buggy").last_error
        assert any("a bug in compose" in record.getMessage() for record in caplog.records)

    @ptb_retry_after_warning
    async def test_a_retry_after_between_two_replies_is_waited_out_in_place(self, world: World):
        world.add(1, "two-part", replies=2)
        scheduler = world.scheduler()
        original = world.request.after_send

        def flood_after_first(count: int) -> None:
            if count == 1:
                world.api.fail_next(
                    "sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5}
                )

        world.request.after_send = flood_after_first
        await scheduler.run_once()
        world.request.after_send = original
        assert world.received(1) == 2
        assert world.row("two-part").state == "sent"
        first, second = (moment for _, moment in world.request.sends)
        assert second - first >= 5.0 - TOLERANCE

    async def test_a_failure_after_part_of_a_message_was_delivered_does_not_repeat_it(
        self, world: World
    ):
        tomorrow = START + timedelta(days=1)
        world.add(
            1,
            "two-part",
            replies=2,
            next=[{"kind": "checkin", "due_at": tomorrow.isoformat(), "key": "next"}],
        )
        world.request.after_send = lambda count: world.api.fail_next(
            "sendMessage", 500, "Internal Server Error"
        )
        scheduler = world.scheduler()
        await scheduler.run_once()
        world.request.after_send = None
        world.time.advance(timedelta(hours=1))
        await scheduler.run_once()
        assert world.received(1) == 1
        row = world.row("two-part")
        assert (row.state, row.last_error.startswith("partly delivered (1 of 2")) == ("sent", True)
        assert world.row("next").state == "pending"


def raised_from(error: TelegramError, cause: BaseException) -> TelegramError:
    error.__cause__ = cause
    return error


class TestWhetherARequestMayHaveBeenDelivered:
    @pytest.mark.parametrize(
        ("error", "may_have"),
        [
            (raised_from(TimedOut(), httpx.ReadTimeout("read")), True),
            (raised_from(TimedOut(), httpx.WriteTimeout("write")), True),
            (raised_from(TimedOut(), TimeoutError()), True),
            (raised_from(TimedOut(), httpx.ConnectTimeout("connect")), False),
            (raised_from(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")), False),
            (raised_from(NetworkError("httpx.ReadError"), httpx.ReadError("reset")), True),
            (raised_from(NetworkError("closed"), httpx.RemoteProtocolError("closed")), True),
            (raised_from(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")), False),
            (NetworkError("Bad Gateway"), False),
            (BadRequest("Bad Request: chat not found"), False),
        ],
    )
    def test_only_errors_after_the_request_may_have_arrived_count(
        self, error: TelegramError, may_have: bool
    ):
        assert may_have_been_delivered(error) is may_have


class TestPacing:
    async def test_a_burst_of_a_thousand_drains_at_thirty_a_second(self, world: World):
        count = 1000
        for chat_id in range(1, count + 1):
            world.add(chat_id, f"m{chat_id}")
        assert await drain(world.scheduler()) == count
        times = [moment for _, moment in world.request.sends]
        assert len(times) == count
        assert max_in_any_window(times) == 30
        assert times[-1] - times[0] >= (count - 1) / 30 - TOLERANCE
        # ... and no slower than that: pacing, not stalling.
        assert times[-1] - times[0] <= (count - 1) / 30 + 0.5
        assert world.send_attempts() == count


class TestRunning:
    async def test_start_and_stop_run_the_loop_in_the_background(self, world: World):
        scheduler = world.scheduler(limiter=None, pace=False)
        task = scheduler.start()
        world.add(1, "k")
        await world.api.wait_for_sent(1)
        await scheduler.stop()
        assert task.done() and world.row("k").state == "sent"
        await scheduler.stop()  # stopping twice is harmless

    async def test_attach_starts_after_post_init_and_stops_in_post_stop(self, world: World):
        calls: list[str] = []

        async def own_post_init(app: Any) -> None:
            calls.append("own post_init")

        application = (
            ApplicationBuilder()
            .token(DEFAULT_TOKEN)
            .request(world.request)
            .get_updates_request(LocalBotApiRequest(world.api))
            .post_init(own_post_init)
            .build()
        )
        scheduler = world.scheduler(bot=application.bot, pace=False)
        attach(application, scheduler)
        world.add(1, "k")
        async with application:
            await application.post_init(application)
            assert calls == ["own post_init"]
            await world.api.wait_for_sent(1)
            await application.post_stop(application)
            assert not scheduler.running
        await application.post_shutdown(application)
        assert world.row("k").state == "sent"


BACKENDS = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgres", marks=pytest.mark.postgres),
]


class TestSeveralSchedulers:
    @pytest.mark.parametrize("backend", BACKENDS)
    async def test_three_schedulers_on_one_database_send_each_message_exactly_once(
        self, backend: str, request: pytest.FixtureRequest
    ):
        url = request.getfixturevalue(backend)
        count = 1000 if backend == "postgres_url" else 300
        async with open_world(url) as world:
            world.db.run_sync(_bulk_due, count=count, now=START)
            databases = [Database.threaded(url) for _ in range(3)]
            try:
                schedulers = [
                    world.scheduler(db=db, pace=False, concurrency=8, batch=50, worker=f"s{n}")
                    for n, db in enumerate(databases)
                ]
                stops = [asyncio.Event() for _ in schedulers]
                runs = [
                    asyncio.create_task(s.run_forever(stop))
                    for s, stop in zip(schedulers, stops, strict=True)
                ]
                await world.api.wait_for(
                    lambda: len(world.request.sends) >= count or None, within=60
                )
                for stop in stops:
                    stop.set()
                await asyncio.gather(*runs)
            finally:
                for db in databases:
                    await db.dispose()
            per_chat = Counter(chat_id for chat_id, _ in world.request.sends)
            assert len(per_chat) == count and set(per_chat.values()) == {1}
            assert world.send_attempts() == count
            rows = world.db.run_sync(
                lambda session: session.scalars(select(ScheduledMessage)).all()
            )
            assert {row.state for row in rows} == {"sent"}
            assert len({row.claimed_by for row in rows}) >= 2


def _bulk_due(session: Session, *, count: int, now: datetime) -> None:
    session.execute(
        Runner.__table__.insert(),  # type: ignore[attr-defined]
        [
            {"id": n, "chat_id": 10_000 + n, "created_at": now, "updated_at": now}
            for n in range(1, count + 1)
        ],
    )
    session.execute(
        ScheduledMessage.__table__.insert(),  # type: ignore[attr-defined]
        [
            {
                "runner_id": n,
                "kind": "checkin",
                "due_at": now,
                "state": "pending",
                "attempts": 0,
                "idempotency_key": f"r{n}:checkin:1",
                "payload": {},
                "created_at": now,
                "updated_at": now,
            }
            for n in range(1, count + 1)
        ],
    )
