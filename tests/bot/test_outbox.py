"""The outbox sender against a real database and the in-process fake Bot API, on fake time.

Only the edges are fake: Telegram is a `FakeBotApi` reached through `LocalBotApiRequest`, and
one `FakeTime` is the sender's clock and, where pacing matters, the rate limiter's clock and
sleep. Messages are enqueued as the bot enqueues them: at most once, except urgent advice (at
least once). Covered: order within a chat (a later message never overtakes one waiting for a
retry), retries with backoff for replies, urgent advice and follow-ups, what each kind of Bot
API error does (RetryAfter pauses every chat and costs no attempt; a rejected message is failed
and the chat goes on; a chat that refuses messages is given up and its runner's follow-ups
stopped; an unknown outcome is never resent, except urgent advice), recovery of what a vanished
sender held, waking, and several senders sharing one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time as wall
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import build_bot
from bot.db import outbox_store, schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, RunnerSchedule
from bot.db.outbox_store import OUTCOME_UNKNOWN, OutboxRow
from bot.outbox import (
    CLAIM_AHEAD_SECONDS,
    FOLLOW_UP_RETRY_DELAYS,
    REPLY_RETRY_DELAYS,
    URGENT_RETRY_DELAYS,
    OutboxSender,
    retry_delays,
    vanished_workers,
)
from bot.ratelimit import SendRateLimiter
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from flows.effects import ScheduleMessage
from tests.bot.runners import make_runner

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SERVER_ERROR = (500, "Internal Server Error")


class FakeTime:
    """An aware UTC clock and the same instant as monotonic seconds, for the sender and the
    rate limiter. With `auto` a sleep moves the time on at once (pacing costs no real time);
    without it a sleeper waits until the test moves the time past its end (`advance`)."""

    def __init__(self, *, auto: bool = True) -> None:
        self.now = START
        self.auto = auto

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()

    async def sleep(self, seconds: float) -> None:
        wake_at = self.now + timedelta(seconds=max(seconds, 0.0))
        if self.auto:
            self.now = max(self.now, wake_at)
        await until(lambda: self.now >= wake_at, within=60.0)

    def advance(self, delta: timedelta | float) -> None:
        self.now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)


@dataclass
class World:
    db: Database
    api: FakeBotApi
    time: FakeTime
    bot: Any
    pacer: SendRateLimiter | None
    senders: list[OutboxSender] = field(default_factory=list)

    def sender(self, **options: Any) -> OutboxSender:
        settings: dict[str, Any] = {
            "db": self.db,
            "bot": self.bot,
            "clock": self.time,
            "worker": f"sender-{len(self.senders) + 1}",
            "lease": LEASE,
            "interval": 0.01,
            # As BotRuntime wires it: the sender takes each send slot itself.
            "pacer": self.pacer,
        }
        settings.update(options)
        sender = OutboxSender(**settings)
        self.senders.append(sender)
        return sender

    def enqueue(self, chat_id: int, text: str, **options: Any) -> int:
        """Queue a message as the bot does: at most once unless it is urgent advice."""
        options.setdefault("at_most_once", not options.get("urgent", False))
        return self.db.run_sync(
            outbox_store.enqueue,
            chat_id=chat_id,
            method="sendMessage",
            payload={"text": text},
            source=options.pop("source", "reply"),
            now=self.time.now,
            **options,
        )

    def message(self, message_id: int) -> OutboxMessage:
        return self.db.run_sync(lambda session: session.get(OutboxMessage, message_id))

    def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.api.sent_to(chat_id)]

    def attempts_at_api(self, text: str) -> int:
        return sum(1 for p in self.api.calls_to("sendMessage") if p.get("text") == text)

    def runner(self, chat_id: int) -> int:
        return self.db.run_sync(
            make_runner, chat_id=chat_id, user_id=None, first_name=None, now=START
        ).id


async def until(condition: Callable[[], object], *, within: float = 5.0) -> None:
    """Wait until `condition()` holds, checking every millisecond; TimeoutError after `within`.

    Polling, because what the tests wait for (a sender's chats, the fake time) has no event.
    """
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def drain(sender: OutboxSender, *, within: float = 10.0) -> None:
    """Run passes until one claims nothing and no chat is being served (at the current time)."""
    async with asyncio.timeout(within):
        while True:
            claimed = await sender.run_once()
            await until(lambda: not sender.busy_chats, within=within)
            if not claimed:
                return


@asynccontextmanager
async def open_world(
    url: str, *, pace: bool = False, time: FakeTime | None = None
) -> AsyncIterator[World]:
    time = time or FakeTime()
    api = FakeBotApi(clock=time)
    pacer = SendRateLimiter(clock=time.monotonic, sleep=time.sleep) if pace else None
    bot = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api),
        pace=pace,
        pacer=pacer,
    )
    db = Database.for_url(url)
    upgrade_to_head(db.engine)
    world = World(db=db, api=api, time=time, bot=bot, pacer=pacer)
    try:
        async with bot:
            try:
                yield world
            finally:
                for sender in world.senders:
                    await sender.stop(grace=1.0)
    finally:
        await db.dispose()


@pytest.fixture
async def world(sqlite_url: str) -> AsyncIterator[World]:
    async with open_world(sqlite_url) as opened:
        yield opened


class TestDelivery:
    async def test_each_chats_messages_are_sent_once_in_order_and_recorded(self, world: World):
        ids = [world.enqueue(1, f"a{n}") for n in range(3)] + [world.enqueue(2, "b0")]
        sender = world.sender()
        # One pass claims the head of each chat; each chat's task then sends the rest in order.
        assert await sender.run_once() == 2
        await drain(sender)
        assert world.texts(1) == ["a0", "a1", "a2"]
        assert world.texts(2) == ["b0"]
        assert len(world.api.calls_to("sendMessage")) == 4
        for message_id in ids:
            stored = world.message(message_id)
            assert (stored.state, stored.sent_at, stored.payload) == ("sent", START, {})
        assert (sender.sent, sender.failed) == (4, 0)

    async def test_a_reply_failing_with_500_is_retried_with_backoff_then_sent_once(
        self, world: World
    ):
        world.api.fail_next("sendMessage", *SERVER_ERROR, count=2)
        message_id = world.enqueue(1, "answer")
        sender = world.sender()
        await drain(sender)
        stored = world.message(message_id)
        assert (stored.state, stored.attempts) == ("pending", 1)
        assert stored.not_before == START + timedelta(seconds=REPLY_RETRY_DELAYS[0])
        assert "Internal Server Error" in stored.last_error
        await drain(sender)  # not due yet: nothing is tried
        assert world.attempts_at_api("answer") == 1
        world.time.advance(REPLY_RETRY_DELAYS[0])
        await drain(sender)
        assert world.message(message_id).attempts == 2
        world.time.advance(REPLY_RETRY_DELAYS[1])
        await drain(sender)
        assert world.texts(1) == ["answer"]
        assert world.attempts_at_api("answer") == 3
        assert world.message(message_id).state == "sent"

    @pytest.mark.parametrize("delivered", [False, True], ids=["before-delivery", "after-delivery"])
    async def test_a_reply_whose_connection_broke_is_failed_and_never_resent(
        self, world: World, delivered: bool
    ):
        # A dropped connection may or may not have delivered it: at most once means give up.
        world.api.reset_next("sendMessage", after_delivery=delivered, text_contains="answer")
        message_id = world.enqueue(1, "answer")
        world.enqueue(1, "next")
        sender = world.sender()
        await drain(sender)
        world.time.advance(timedelta(minutes=10))
        await drain(sender)
        assert world.attempts_at_api("answer") == 1
        assert world.texts(1) == (["answer", "next"] if delivered else ["next"])
        stored = world.message(message_id)
        assert stored.state == "failed"
        assert stored.last_error.startswith("outcome unknown, not resent")

    async def test_urgent_advice_whose_connection_broke_is_sent_again(self, world: World):
        # At least once for urgent advice: seeing it twice is harmless, missing it is not.
        world.api.reset_next("sendMessage", after_delivery=True)
        message_id = world.enqueue(1, "call an ambulance", urgent=True)
        sender = world.sender()
        await drain(sender)
        assert world.message(message_id).state == "pending"
        world.time.advance(URGENT_RETRY_DELAYS[0])
        await drain(sender)
        assert world.api.duplicates(1) == {"call an ambulance": 2}
        assert world.message(message_id).state == "sent"

    async def test_urgent_advice_that_never_arrived_is_sent_once_on_the_retry(self, world: World):
        world.api.reset_next("sendMessage", after_delivery=False)
        world.enqueue(1, "call an ambulance", urgent=True)
        sender = world.sender()
        await drain(sender)
        world.time.advance(URGENT_RETRY_DELAYS[0])
        await drain(sender)
        assert world.texts(1) == ["call an ambulance"]

    async def test_a_later_message_waits_for_an_earlier_one_being_retried(self, world: World):
        world.api.fail_next("sendMessage", *SERVER_ERROR, text_contains="first")
        world.enqueue(1, "first")
        world.enqueue(1, "second")
        world.enqueue(2, "other chat")
        sender = world.sender()
        await drain(sender)
        # The other chat is not held up; this chat's second message waits behind the first.
        assert (world.texts(1), world.texts(2)) == ([], ["other chat"])
        world.time.advance(REPLY_RETRY_DELAYS[0])
        await drain(sender)
        assert world.texts(1) == ["first", "second"]

    async def test_a_message_telegram_rejects_is_failed_and_the_chat_goes_on(self, world: World):
        world.api.fail_next(
            "sendMessage",
            400,
            "Bad Request: can't parse entities: unsupported start tag",
            text_contains="broken",
        )
        broken = world.enqueue(1, "broken")
        after = world.enqueue(1, "after")
        sender = world.sender()
        await drain(sender)
        assert world.texts(1) == ["after"]
        assert world.attempts_at_api("broken") == 1  # never tried again
        stored = world.message(broken)
        assert (stored.state, stored.payload) == ("failed", {})
        assert "Can't parse entities" in stored.last_error
        assert world.message(after).state == "sent"
        assert (sender.sent, sender.failed) == (1, 1)

    @pytest.mark.parametrize(
        "refusal",
        [(403, "Forbidden: bot was blocked by the user"), (400, "Bad Request: chat not found")],
        ids=["blocked", "chat-not-found"],
    )
    async def test_a_chat_that_refuses_messages_is_given_up_and_its_follow_ups_stop(
        self, world: World, refusal: tuple[int, str]
    ):
        runner_id = world.runner(1)
        world.db.run_sync(
            schedule_store.schedule,
            runner_id=runner_id,
            message=ScheduleMessage(
                kind="checkin", due_at=START + timedelta(days=1), key="r1:checkin:1", payload={}
            ),
            now=START,
        )
        world.api.fail_next("sendMessage", *refusal, chat_id=1)
        queue = [world.enqueue(1, f"m{n}") for n in range(3)]
        world.enqueue(2, "other chat")
        sender = world.sender()
        await drain(sender)
        assert [world.message(i).state for i in queue] == ["failed"] * 3
        assert len(world.api.calls_to("sendMessage")) == 2  # one for chat 1, one for chat 2
        assert world.texts(2) == ["other chat"]
        assert world.db.run_sync(schedule_store.schedule_is_active, runner_id=runner_id) is False
        record = world.db.run_sync(lambda session: session.get(RunnerSchedule, runner_id))
        assert refusal[1].partition(": ")[2].lower() in record.reason.lower()
        assert world.db.run_sync(schedule_store.pending_for, runner_id=runner_id) == []

    async def test_a_chat_without_a_runner_that_refuses_is_given_up_all_the_same(
        self, world: World
    ):
        # A group notice or the confirmation of /delete: no runner whose schedule could stop.
        world.api.user_blocks_bot(-100)
        queue = [world.enqueue(-100, f"m{n}") for n in range(2)]
        await drain(world.sender())
        assert [world.message(i).state for i in queue] == ["failed", "failed"]


class TestRetryDelays:
    def test_each_kind_of_message_has_its_own_retry_list(self):
        def row(**fields: Any) -> OutboxRow:
            base = {
                "id": 1,
                "chat_id": 1,
                "method": "sendMessage",
                "payload": {},
                "at_most_once": False,
                "urgent": False,
                "attempts": 0,
                "source": "reply",
                "scheduled_id": None,
            }
            return OutboxRow(**{**base, **fields})

        assert retry_delays(row()) == REPLY_RETRY_DELAYS
        assert retry_delays(row(source="followup", at_most_once=True)) == FOLLOW_UP_RETRY_DELAYS
        assert retry_delays(row(urgent=True)) == URGENT_RETRY_DELAYS
        assert retry_delays(row(urgent=True, source="followup")) == URGENT_RETRY_DELAYS
        # Urgent advice outlasts an ordinary reply's retries by far.
        assert len(URGENT_RETRY_DELAYS) > len(REPLY_RETRY_DELAYS)
        assert sum(URGENT_RETRY_DELAYS) > 10 * sum(REPLY_RETRY_DELAYS)

    async def test_an_urgent_reply_is_retried_after_an_ordinary_one_is_given_up(self, world: World):
        world.api.fail_next("sendMessage", *SERVER_ERROR, count=1000)
        ordinary = world.enqueue(1, "ordinary")
        urgent = world.enqueue(2, "call an ambulance", urgent=True)
        sender = world.sender()
        for delay in REPLY_RETRY_DELAYS:
            await drain(sender)
            world.time.advance(delay)
        await drain(sender)  # the ninth try of each
        given_up = world.message(ordinary)
        assert (given_up.state, given_up.attempts) == ("failed", len(REPLY_RETRY_DELAYS))
        assert given_up.last_error.startswith(f"gave up after {len(REPLY_RETRY_DELAYS) + 1} tries")
        still_trying = world.message(urgent)
        tries = len(REPLY_RETRY_DELAYS) + 1
        assert (still_trying.state, still_trying.attempts) == ("pending", tries)
        assert still_trying.not_before == world.time.now + timedelta(
            seconds=URGENT_RETRY_DELAYS[len(REPLY_RETRY_DELAYS)]
        )
        world.api.clear_faults()
        world.time.advance(URGENT_RETRY_DELAYS[len(REPLY_RETRY_DELAYS)])
        await drain(sender)
        assert world.texts(2) == ["call an ambulance"]
        assert world.texts(1) == []

    async def test_an_urgent_reply_is_given_up_at_the_end_of_its_own_list(self, world: World):
        world.api.fail_next("sendMessage", *SERVER_ERROR, count=1000)
        urgent = world.enqueue(2, "call an ambulance", urgent=True)
        sender = world.sender()
        for delay in URGENT_RETRY_DELAYS:
            await drain(sender)
            assert world.message(urgent).state == "pending"
            world.time.advance(delay)
        await drain(sender)
        stored = world.message(urgent)
        assert (stored.state, stored.attempts) == ("failed", len(URGENT_RETRY_DELAYS))
        assert world.attempts_at_api("call an ambulance") == len(URGENT_RETRY_DELAYS) + 1


class TestFollowUps:
    async def test_a_follow_up_is_retried_slowly(self, world: World):
        world.api.fail_next("sendMessage", *SERVER_ERROR)
        message_id = world.enqueue(1, "check-in", source="followup", at_most_once=True)
        sender = world.sender()
        await drain(sender)
        stored = world.message(message_id)
        assert (stored.state, stored.attempts) == ("pending", 1)
        assert stored.not_before == START + timedelta(seconds=FOLLOW_UP_RETRY_DELAYS[0])
        world.time.advance(FOLLOW_UP_RETRY_DELAYS[0])
        await drain(sender)
        assert world.texts(1) == ["check-in"]

    async def test_a_follow_up_whose_outcome_is_unknown_is_failed_and_never_resent(
        self, world: World
    ):
        world.api.reset_next("sendMessage", after_delivery=True, text_contains="check-in")
        message_id = world.enqueue(1, "check-in", source="followup", at_most_once=True)
        world.enqueue(1, "next")
        sender = world.sender()
        await drain(sender)
        world.time.advance(timedelta(hours=2))
        await drain(sender)
        assert world.texts(1) == ["check-in", "next"]  # delivered once, then the chat went on
        assert world.attempts_at_api("check-in") == 1
        stored = world.message(message_id)
        assert stored.state == "failed"
        assert stored.last_error.startswith("outcome unknown, not resent")

    async def test_a_follow_up_told_to_wait_is_sent_once_after_the_wait(self, world: World):
        # A 429 means Telegram did not take the message: safe to send later, even at most once.
        world.api.fail_next("sendMessage", 429, "Too Many Requests", {"retry_after": 7})
        message_id = world.enqueue(1, "check-in", source="followup", at_most_once=True)
        sender = world.sender()
        await drain(sender)
        stored = world.message(message_id)
        assert (stored.state, stored.attempts) == ("pending", 0)
        assert stored.not_before == START + timedelta(seconds=7)
        world.time.advance(7)
        await drain(sender)
        assert world.texts(1) == ["check-in"]
        assert world.message(message_id).state == "sent"

    async def test_a_follow_up_that_never_arrived_is_tried_again(self, world: World):
        # A broken connection before the request arrived is safe to repeat even at most once.
        world.api.fail_next("sendMessage", 502, "Bad Gateway")
        message_id = world.enqueue(1, "check-in", source="followup", at_most_once=True)
        sender = world.sender()
        await drain(sender)
        assert world.message(message_id).state == "pending"
        world.time.advance(FOLLOW_UP_RETRY_DELAYS[0])
        await drain(sender)
        assert world.texts(1) == ["check-in"]


class TestRetryAfter:
    @pytest.fixture
    async def paced(self, sqlite_url: str) -> AsyncIterator[World]:
        # The real rate limiter (build_bot(pace=True)) on fake time: its pauses cost no real time.
        async with open_world(sqlite_url, pace=True) as opened:
            yield opened

    async def test_a_retry_after_costs_no_attempt_and_the_message_waits_it_out(self, paced: World):
        paced.api.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5}
        )
        message_id = paced.enqueue(1, "first")
        sender = paced.sender()
        assert await sender.run_once() == 1
        await until(lambda: not sender.busy_chats)
        stored = paced.message(message_id)
        assert (stored.state, stored.attempts) == ("pending", 0)
        assert stored.not_before == START + timedelta(seconds=5)
        assert "flood control" in stored.last_error
        await drain(sender)  # not yet
        assert paced.texts(1) == []
        paced.time.advance(5)
        await drain(sender)
        assert paced.texts(1) == ["first"]
        assert paced.message(message_id).attempts == 0

    async def test_repeated_retry_afters_never_give_a_message_up(self, paced: World):
        paced.api.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1}, count=20
        )
        message_id = paced.enqueue(1, "answer")
        sender = paced.sender()
        for _ in range(20):
            await drain(sender)
            paced.time.advance(1)
        await drain(sender)
        assert paced.texts(1) == ["answer"]
        assert paced.message(message_id).attempts == 0


class TestRecovery:
    async def test_claims_of_a_vanished_sender_of_this_host_are_handed_out_at_once(
        self, world: World
    ):
        dead = dead_worker_id()
        world.enqueue(1, "reply")  # claimed only: nothing left yet
        follow_up = world.enqueue(2, "check-in", source="followup", at_most_once=True)
        world.enqueue(3, "call an ambulance", urgent=True)  # never marked sending
        world.db.run_sync(
            outbox_store.claim_heads, now=START, limit=10, worker=dead, lease=timedelta(hours=1)
        )
        world.db.run_sync(
            outbox_store.start_sending,
            message_id=follow_up,
            worker=dead,
            now=START,
            lease=timedelta(hours=1),
            at_most_once=True,
        )
        sender = world.sender()
        await sender.recover()  # long before the dead sender's lease would run out
        await drain(sender)
        assert world.texts(1) == ["reply"]
        assert world.texts(2) == []  # it may have reached the runner: never sent twice
        assert world.texts(3) == ["call an ambulance"]
        lost = world.message(follow_up)
        assert (lost.state, lost.last_error) == ("failed", OUTCOME_UNKNOWN)

    async def test_claims_of_a_live_sender_are_left_until_their_lease_runs_out(self, world: World):
        world.enqueue(1, "reply")
        world.db.run_sync(
            outbox_store.claim_heads, now=START, limit=10, worker="elsewhere:1:x", lease=LEASE
        )
        sender = world.sender()
        await sender.recover()
        await drain(sender)
        assert world.texts(1) == []
        world.time.advance(LEASE + timedelta(seconds=1))
        await sender.recover()
        await drain(sender)
        assert world.texts(1) == ["reply"]

    def test_only_gone_processes_of_this_host_count_as_vanished(self):
        host = socket.gethostname()[:40]
        dead = dead_worker_id()
        me = f"{host}:{os.getpid()}:mine"
        older_me = f"{host}:{os.getpid()}:before-a-restart"
        alive = f"{host}:1:init"  # pid 1 always runs
        claimants = [dead, me, older_me, alive, "other-host:12345:abcd", "not a worker id"]
        assert vanished_workers(claimants, me=me) == [dead, older_me]


def dead_worker_id() -> str:
    """The worker id a sender in a process of this host that has exited would have had."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()[:40]}:{int(process.stdout)}:deadbeef"


class TestRunning:
    async def test_wake_sends_new_messages_without_waiting_for_the_interval(self, world: World):
        sender = world.sender(interval=60.0)
        sender.start()
        await asyncio.sleep(0.05)  # the first pass found nothing and waits for a minute
        world.enqueue(1, "hello")
        sender.wake()
        # Well within the minute the sender would otherwise sleep.
        await world.api.wait_for_sent(1, within=5.0)
        await sender.stop()
        assert world.texts(1) == ["hello"]

    async def test_idle_returns_once_everything_due_is_sent(self, world: World):
        for n in range(5):
            world.enqueue(n, f"m{n}")
        sender = world.sender()
        sender.start()
        await sender.idle(within=5.0)
        assert [world.texts(n) for n in range(5)] == [[f"m{n}"] for n in range(5)]
        await sender.stop()


# --- several senders -----------------------------------------------------------------------------


class FastClock:
    """Real time, sped up: retries of a second or two pass in a few real milliseconds."""

    def __init__(self, speed: float = 50.0) -> None:
        self.speed = speed
        self._origin = wall.monotonic()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=(wall.monotonic() - self._origin) * self.speed)


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("sqlite")]
)
def shared_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


async def test_three_senders_send_every_message_exactly_once_and_in_order_per_chat(
    shared_url: str,
):
    chats, per_chat = 30, 10
    api = FakeBotApi()
    clock = FastClock()
    # Some messages fail once or twice, so that chats wait for retries while others go on.
    for chat_id in range(1, chats + 1, 3):
        api.fail_next("sendMessage", *SERVER_ERROR, text_contains=f"c{chat_id}-m3", count=2)
    setup = Database.for_url(shared_url)
    upgrade_to_head(setup.engine)

    def fill(session: Any) -> None:
        # Interleaved across chats, as replies to many runners arrive.
        for number in range(per_chat):
            for chat_id in range(1, chats + 1):
                outbox_store.enqueue(
                    session,
                    chat_id=chat_id,
                    method="sendMessage",
                    payload={"text": f"c{chat_id}-m{number}"},
                    source="reply",
                    at_most_once=True,
                    now=START,
                )

    setup.run_sync(fill)
    setup.dispose_sync()
    databases = [Database.for_url(shared_url) for _ in range(3)]
    senders = []
    async with build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api),
        pace=False,
    ) as bot:
        for number, db in enumerate(databases, 1):
            senders.append(
                OutboxSender(
                    db=db,
                    bot=bot,
                    clock=clock,
                    worker=f"s{number}",
                    # Long enough that no claim runs out in this test: its subject is claiming.
                    lease=timedelta(hours=1),
                    batch=7,
                    interval=0.005,
                )
            )
        try:
            for sender in senders:
                sender.start()

            def finished(session: Any) -> bool:
                return outbox_store.counts_by_state(session) == {"sent": chats * per_chat}

            async with asyncio.timeout(60):
                while not await databases[0].run(finished):  # noqa: ASYNC110 (a database poll)
                    await asyncio.sleep(0.02)
        finally:
            for sender in senders:
                await sender.stop()
            for db in databases:
                await db.dispose()
    for chat_id in range(1, chats + 1):
        assert [m["text"] for m in api.sent_to(chat_id)] == [
            f"c{chat_id}-m{n}" for n in range(per_chat)
        ]
        assert api.duplicates(chat_id) == {}
    assert sum(sender.sent for sender in senders) == chats * per_chat
    if shared_url.startswith("postgresql"):
        # The work was shared (SQLite's one writer at a time may leave a sender idle).
        assert sum(1 for sender in senders if sender.sent) >= 2


# --- a long wait for a send slot ------------------------------------------------------------


async def wait_out_a_pause_longer_than_the_lease(world: World, time: FakeTime) -> OutboxSender:
    """The chat's task waits for its send slot past its lease; meanwhile the sender does what
    run_forever does every ten seconds (recover) and claims again; then the pause ends."""
    assert world.pacer is not None
    sender = world.sender()
    # A RetryAfter from another chat asked for two minutes of quiet, longer than the lease.
    world.pacer.pause_all(120)
    assert await sender.run_once() == 1
    await until(lambda: world.pacer.tracked_chats)  # the chat's task waits for its slot
    time.advance(LEASE + timedelta(seconds=1))
    await sender.recover()
    await sender.run_once()
    # Past the pause; from now on waits pass at once (a second task for the chat would wait a
    # further second of per-chat spacing).
    time.auto = True
    time.advance(timedelta(seconds=130))
    with contextlib.suppress(TimeoutError):
        await world.api.wait_for(lambda: len(world.api.sent_to(1)) >= 2, within=1.0)
    return sender


async def test_a_paced_sender_claims_ten_seconds_of_sends_and_leaves_the_rest_to_others(
    sqlite_url: str,
):
    """A fan-out is shared by the workers instead of taken whole by the first to look: at 30 a
    second, a sender holds at most 300 chats, and one that dies strands no more than those."""
    async with open_world(sqlite_url, pace=True) as world:
        assert world.pacer is not None
        for chat_id in range(1, 701):
            world.enqueue(chat_id, "Time for your ankle exercises")
        first, second = world.sender(), world.sender()
        holds = world.pacer.per_second() * CLAIM_AHEAD_SECONDS
        assert holds == 300
        # The passes run back to back: no chat task has sent anything yet.
        assert [await first.run_once() for _ in range(3)] == [200, 100, 0]
        assert [await second.run_once() for _ in range(3)] == [200, 100, 0]
        assert (first.busy_chats, second.busy_chats) == (holds, holds)
        claimed_by = world.db.run_sync(
            lambda session: dict(
                session.execute(
                    select(OutboxMessage.claimed_by, func.count())
                    .where(OutboxMessage.state == "claimed")
                    .group_by(OutboxMessage.claimed_by)
                ).all()
            )
        )
        assert claimed_by == {first.worker: holds, second.worker: holds}


async def test_a_reply_waiting_out_a_long_pause_past_its_lease_is_sent_once(sqlite_url: str):
    # Its "sending" mark is fenced: whichever task takes the slot first sends it, alone.
    time = FakeTime(auto=False)
    async with open_world(sqlite_url, pace=True, time=time) as world:
        message_id = world.enqueue(1, "answer")
        await wait_out_a_pause_longer_than_the_lease(world, time)
        assert world.texts(1) == ["answer"]
        assert world.message(message_id).state == "sent"


# --- known faults ----------------------------------------------------------------------------


async def test_urgent_advice_waiting_out_a_long_pause_past_its_lease_is_sent_once(
    sqlite_url: str,
):
    time = FakeTime(auto=False)
    async with open_world(sqlite_url, pace=True, time=time) as world:
        world.enqueue(1, "call an ambulance", urgent=True)
        await wait_out_a_pause_longer_than_the_lease(world, time)
        assert world.texts(1) == ["call an ambulance"]


async def test_no_call_leaves_after_a_retry_after_arrived_until_the_pause_ends(sqlite_url: str):
    async with open_world(sqlite_url, pace=True) as world:
        assert world.pacer is not None
        calls: list[tuple[int, float]] = []
        pauses: list[tuple[int, float]] = []
        pause_all = world.pacer.pause_all

        def record_pause(seconds: Any) -> None:
            # How many calls had reached Telegram when the flood answer came, and until when.
            pause_all(seconds)
            pauses.append((len(calls), world.time.monotonic() + float(seconds)))

        world.pacer.pause_all = record_pause  # type: ignore[method-assign]
        world.api.on_call(
            "sendMessage",
            lambda call: calls.append((call.params["chat_id"], world.time.monotonic())),
        )
        world.api.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5}, chat_id=1
        )
        for chat_id in range(1, 4):
            world.enqueue(chat_id, f"chat {chat_id}")
        sender = world.sender()
        await sender.run_once()
        await until(lambda: not sender.busy_chats)
        ((known_after, paused_until),) = pauses
        # Calls granted a slot before the flood answer came are held back, not sent into the
        # pause: they wait (as pending messages, or for the pacer's next slot) until it ends.
        assert [(chat, at) for chat, at in calls[known_after:] if at < paused_until] == []
        world.time.advance(max(paused_until - world.time.monotonic(), 0) + 1)
        await sender.run_once()
        await until(lambda: not sender.busy_chats)
        later = calls[known_after:]
        assert sorted(chat for chat, _ in later) == [1, 2, 3]
        assert [(chat, at) for chat, at in later if at < paused_until] == []
