"""The scheduler against a real database, on a fake clock: due follow-ups become outbox messages.

Covered: in one transaction per batch a due message is composed, its replies are written to the
outbox (source "followup", linked to the message) and it is marked queued, and its follow-ups
are saved; a failure anywhere in that transaction (a failed commit, a scheduler killed
mid-batch) leaves everything as it was; messages not yet due wait; a postponed message stays
pending at its new time without follow-ups; a dropped one keeps its follow-ups; a `compose`
that raises fails its own message only; several schedulers on one database queue each message
exactly once. Then end to end with a real `OutboxSender` and the in-process fake Bot API: a
follow-up is sent once and marked sent, survives server errors, stops its runner's schedule
when the chat refuses it, and is never resent when its outcome is unknown, while the chain of
follow-ups goes on.

Messages are composed by a small test `compose` steered by each message's payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.app import build_bot
from bot.db import schedule_store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage, RunnerSchedule, ScheduledMessage
from bot.outbox import FOLLOW_UP_RETRY_DELAYS, OutboxSender
from bot.render import render
from bot.scheduler import Scheduler
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from flows.due_messages import Due
from flows.effects import ScheduleMessage
from flows.types import Reply
from tests.bot.runners import make_runner

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class Killed(BaseException):
    """The process dying in the middle of a batch: no `except Exception` catches it."""


def reply(key: str, *, urgent: bool = False) -> Reply:
    """A reply whose text names the scheduled message it came from."""
    return Reply(
        "care/reminders_set.j2",
        {"zone": key, "reminder_time": None, "has_plan": False},
        urgent=urgent,
    )


def text_of(key: str) -> str:
    return render("care/reminders_set.j2", zone=key, reminder_time=None, has_plan=False)


def compose(session: Session, *, message: ScheduledMessage, now: datetime) -> Due | None:
    """A stand-in for the follow-up flow, steered by the message's payload."""
    payload = message.payload
    if payload.get("kill"):
        raise Killed
    if payload.get("write_then_explode"):
        # A write compose should not make, then a bug: the write must not survive.
        schedule_store.schedule(
            session,
            runner_id=message.runner_id,
            message=ScheduleMessage(
                kind="checkin",
                due_at=now,
                key=f"{message.idempotency_key}:stray",
                payload={},
            ),
            now=now,
        )
        raise RuntimeError("a bug in compose")
    if payload.get("explode"):
        raise RuntimeError("a bug in compose")
    if payload.get("nothing"):
        return None
    if "postpone" in payload and now < datetime.fromisoformat(payload["postpone"]):
        # A postponed message decides its follow-ups when it comes again (`Due` holds none).
        return Due(postpone_until=datetime.fromisoformat(payload["postpone"]))
    follow_ups = tuple(
        ScheduleMessage(
            kind=spec.get("kind", "checkin"),
            due_at=datetime.fromisoformat(spec["due_at"]),
            key=spec["key"],
            payload=spec.get("payload", {}),
        )
        for spec in payload.get("next", [])
    )
    if "drop" in payload:
        return Due(drop_reason=payload["drop"], follow_ups=follow_ups)
    replies = tuple(
        reply(f"{message.idempotency_key}#{n}" if n else message.idempotency_key)
        for n in range(payload.get("replies", 1))
    )
    if payload.get("urgent"):
        replies = tuple(Reply(r.template, r.context, urgent=True) for r in replies)
    return Due(replies=replies, follow_ups=follow_ups)


def after(delta: timedelta, key: str, **payload: Any) -> dict[str, Any]:
    """A follow-up spec for the payload's "next" list."""
    return {"due_at": (START + delta).isoformat(), "key": key, "payload": payload}


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | float) -> None:
        self.now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)


@dataclass
class World:
    db: Database
    time: FakeTime
    api: FakeBotApi
    bot: Any
    woken: list[int] = field(default_factory=list)
    senders: list[OutboxSender] = field(default_factory=list)

    def runner(self, chat_id: int) -> int:
        return self.db.run_sync(
            make_runner, chat_id=chat_id, user_id=None, first_name=None, now=START
        ).id

    def add(
        self, chat_id: int, key: str, *, due_at: datetime | None = None, **payload: Any
    ) -> bool:
        return self.db.run_sync(
            schedule_store.schedule,
            runner_id=self.runner(chat_id),
            message=ScheduleMessage(
                kind=payload.pop("kind", "checkin"),
                due_at=due_at or self.time.now,
                key=key,
                payload=payload,
            ),
            now=self.time.now,
        )

    def row(self, key: str) -> ScheduledMessage | None:
        return self.db.run_sync(
            lambda session: session.scalars(
                select(ScheduledMessage).where(ScheduledMessage.idempotency_key == key)
            ).one_or_none()
        )

    def states(self) -> dict[str, str]:
        rows = self.db.run_sync(lambda session: session.scalars(select(ScheduledMessage)).all())
        return {row.idempotency_key: row.state for row in rows}

    def outbox(self, chat_id: int | None = None) -> list[OutboxMessage]:
        def query(session: Session) -> list[OutboxMessage]:
            statement = select(OutboxMessage).order_by(OutboxMessage.id)
            if chat_id is not None:
                statement = statement.where(OutboxMessage.chat_id == chat_id)
            return list(session.scalars(statement))

        return self.db.run_sync(query)

    def scheduler(self, **options: Any) -> Scheduler:
        settings: dict[str, Any] = {
            "db": self.db,
            "compose": compose,
            "clock": self.time,
            "on_queued": lambda: self.woken.append(1),
            "interval": 0.01,
        }
        settings.update(options)
        return Scheduler(**settings)

    def sender(self) -> OutboxSender:
        sender = OutboxSender(
            db=self.db, bot=self.bot, clock=self.time, worker=f"sender-{len(self.senders) + 1}"
        )
        self.senders.append(sender)
        return sender

    def received(self, chat_id: int) -> list[str]:
        """The scheduled messages whose replies this chat saw, in order."""
        return [
            m["text"].removeprefix("Saved. Your time zone is ").split(".\n")[0]
            for m in self.api.sent_to(chat_id)
        ]

    def api_attempts(self, key: str) -> int:
        return sum(1 for p in self.api.calls_to("sendMessage") if p.get("text") == text_of(key))


@asynccontextmanager
async def open_world(url: str) -> AsyncIterator[World]:
    time = FakeTime()
    api = FakeBotApi(clock=time)
    bot = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api),
        pace=False,
    )
    db = Database.for_url(url)
    upgrade_to_head(db.engine)
    world = World(db=db, time=time, api=api, bot=bot)
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


async def deliver(world: World, sender: OutboxSender) -> None:
    """Let the sender send everything due now, then return."""
    async with asyncio.timeout(10):
        while await sender.run_once():
            while sender.busy_chats:  # noqa: ASYNC110 (the sender's chats have no event)
                await asyncio.sleep(0.001)


class TestQueueing:
    async def test_a_due_message_becomes_outbox_messages_and_is_queued_with_its_follow_ups(
        self, world: World
    ):
        world.add(
            1, "k1", replies=2, next=[after(timedelta(days=1), "k2", phase=2)], kind="reminder"
        )
        scheduler = world.scheduler()
        assert await scheduler.run_once() == 1
        queued = world.row("k1")
        assert (queued.state, queued.last_error, queued.updated_at) == ("queued", None, START)
        messages = world.outbox(1)
        assert [m.payload["text"] for m in messages] == [text_of("k1"), text_of("k1#1")]
        for message in messages:
            assert (message.method, message.source, message.scheduled_id) == (
                "sendMessage",
                "followup",
                queued.id,
            )
            assert (message.at_most_once, message.urgent, message.state) == (True, False, "pending")
            assert message.not_before == START
        follow_up = world.row("k2")
        assert (follow_up.state, follow_up.due_at, follow_up.payload) == (
            "pending",
            START + timedelta(days=1),
            {"phase": 2},
        )
        assert follow_up.runner_id == queued.runner_id
        assert world.woken == [1]
        # Queued once: the next pass finds nothing and wakes no one.
        assert await scheduler.run_once() == 0
        assert len(world.outbox()) == 2
        assert world.woken == [1]

    async def test_an_urgent_reply_is_queued_as_urgent(self, world: World):
        world.add(1, "k1", urgent=True)
        await world.scheduler().run_once()
        assert [m.urgent for m in world.outbox(1)] == [True]

    async def test_a_message_not_yet_due_waits_for_its_time(self, world: World):
        world.add(1, "later", due_at=START + timedelta(minutes=10))
        scheduler = world.scheduler()
        assert await scheduler.run_once() == 0
        world.time.advance(timedelta(minutes=9, seconds=59))
        assert await scheduler.run_once() == 0
        assert (world.row("later").state, world.outbox()) == ("pending", [])
        world.time.advance(timedelta(seconds=1))
        assert await scheduler.run_once() == 1
        assert world.row("later").state == "queued"

    async def test_a_pass_takes_at_most_a_batch_oldest_first(self, world: World):
        for minutes in (1, 5, 3, 2, 4):
            world.add(minutes, f"m{minutes}", due_at=START - timedelta(minutes=minutes))
        scheduler = world.scheduler(batch=2)
        assert await scheduler.run_once() == 2
        assert {k for k, s in world.states().items() if s == "queued"} == {"m5", "m4"}
        assert [await scheduler.run_once() for _ in range(3)] == [2, 1, 0]
        assert set(world.states().values()) == {"queued"}

    async def test_each_runners_replies_go_to_their_own_chat(self, world: World):
        world.add(11, "ada")
        world.add(-1_001_234_567_890, "group")
        await world.scheduler().run_once()
        assert [m.payload["text"] for m in world.outbox(11)] == [text_of("ada")]
        assert [m.payload["text"] for m in world.outbox(-1_001_234_567_890)] == [text_of("group")]


class TestDecisions:
    async def test_a_postponed_message_stays_pending_at_its_new_time_without_follow_ups(
        self, world: World
    ):
        morning = START + timedelta(hours=8)
        world.add(
            1,
            "checkin",
            postpone=morning.isoformat(),
            next=[after(timedelta(days=1), "next-checkin")],
        )
        scheduler = world.scheduler()
        assert await scheduler.run_once() == 1
        waiting = world.row("checkin")
        assert (waiting.state, waiting.due_at) == ("pending", morning)
        assert world.row("next-checkin") is None
        assert (world.outbox(), world.woken) == ([], [])
        world.time.advance(timedelta(hours=7, minutes=59))
        assert await scheduler.run_once() == 0
        world.time.now = morning
        assert await scheduler.run_once() == 1
        assert world.row("checkin").state == "queued"
        assert world.row("next-checkin").state == "pending"
        assert len(world.outbox(1)) == 1

    async def test_a_dropped_message_sends_nothing_but_keeps_its_follow_ups(self, world: World):
        world.add(
            1,
            "reminder",
            drop="too late for today's reminder",
            next=[after(timedelta(days=1), "tomorrow")],
        )
        assert await world.scheduler().run_once() == 1
        dropped = world.row("reminder")
        assert (dropped.state, dropped.last_error) == ("dropped", "too late for today's reminder")
        assert world.row("tomorrow").state == "pending"
        assert (world.outbox(), world.woken) == ([], [])

    async def test_compose_can_decline_with_nothing(self, world: World):
        world.add(1, "nothing", nothing=True)
        await world.scheduler().run_once()
        assert (world.row("nothing").state, world.row("nothing").last_error) == (
            "dropped",
            "nothing to send",
        )
        assert world.outbox() == []

    async def test_a_compose_that_raises_fails_its_message_only(self, world: World):
        world.add(1, "a", due_at=START - timedelta(minutes=3))
        world.add(2, "b", due_at=START - timedelta(minutes=2), write_then_explode=True)
        world.add(3, "c", due_at=START - timedelta(minutes=1))
        assert await world.scheduler().run_once() == 3
        assert world.states() == {"a": "queued", "b": "failed", "c": "queued"}
        failed = world.row("b")
        assert failed.last_error.startswith("compose failed: ")
        assert "RuntimeError: a bug in compose" in failed.last_error
        # What compose wrote before it raised was rolled back with it.
        assert world.row("b:stray") is None
        assert [m.chat_id for m in world.outbox()] == [1, 3]
        assert world.woken == [1]

    async def test_a_follow_up_already_scheduled_is_not_doubled(self, world: World):
        # A follow-up another path scheduled already (same key) is left as it was.
        world.add(1, "tomorrow", due_at=START + timedelta(days=1, hours=1))
        world.add(1, "today", next=[after(timedelta(days=1), "tomorrow")])
        await world.scheduler().run_once()
        assert world.row("tomorrow").due_at == START + timedelta(days=1, hours=1)
        assert world.states() == {"tomorrow": "pending", "today": "queued"}


class TestAtomicity:
    async def test_a_transaction_that_fails_after_compose_writes_nothing(self, world: World):
        world.add(1, "k1", next=[after(timedelta(days=1), "k2")])
        composed: list[str] = []

        def spying_compose(session: Session, **kwargs: Any) -> Due | None:
            composed.append(kwargs["message"].idempotency_key)
            return compose(session, **kwargs)

        def commit_fails(connection: Any) -> None:
            raise RuntimeError("the database went away at commit")

        scheduler = world.scheduler(compose=spying_compose)
        world.add(2, "k3", next=[after(timedelta(days=1), "k4")])
        event.listen(world.db.engine, "commit", commit_fails)
        try:
            with pytest.raises(RuntimeError, match="went away at commit"):
                await scheduler.run_once()
        finally:
            event.remove(world.db.engine, "commit", commit_fails)
        # Both were composed in one transaction, and nothing of either was kept.
        assert composed == ["k1", "k3"]
        assert world.states() == {"k1": "pending", "k3": "pending"}
        assert world.outbox() == []
        assert world.woken == []
        # The next pass does it all, once.
        assert await scheduler.run_once() == 2
        assert world.states() == {"k1": "queued", "k2": "pending", "k3": "queued", "k4": "pending"}
        assert [m.chat_id for m in world.outbox()] == [1, 2]

    async def test_a_scheduler_killed_mid_batch_leaves_everything_as_it_was(self, world: World):
        world.add(
            1, "a", due_at=START - timedelta(minutes=3), next=[after(timedelta(days=1), "a2")]
        )
        world.add(2, "b", due_at=START - timedelta(minutes=2), kill=True)
        world.add(
            3, "c", due_at=START - timedelta(minutes=1), next=[after(timedelta(days=1), "c2")]
        )
        with pytest.raises(Killed):
            await world.scheduler().run_once()
        assert world.states() == {"a": "pending", "b": "pending", "c": "pending"}
        assert world.outbox() == []
        assert world.woken == []
        # The restarted scheduler (whose compose no longer dies) queues each message once.

        def healed(session: Session, *, message: ScheduledMessage, now: datetime) -> Any:
            if message.payload.get("kill"):
                return Due(replies=(reply(message.idempotency_key),))
            return compose(session, message=message, now=now)

        assert await world.scheduler(compose=healed).run_once() == 3
        assert world.states() == {
            "a": "queued",
            "b": "queued",
            "c": "queued",
            "a2": "pending",
            "c2": "pending",
        }
        assert sorted(m.chat_id for m in world.outbox()) == [1, 2, 3]


# --- several schedulers --------------------------------------------------------------------------


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("sqlite")]
)
def shared_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


async def test_three_schedulers_queue_each_of_a_thousand_due_messages_exactly_once(
    shared_url: str,
):
    runners, per_runner = 100, 10
    setup = Database.for_url(shared_url)
    upgrade_to_head(setup.engine)

    def fill(session: Session) -> None:
        for number in range(runners):
            runner = make_runner(
                session, chat_id=1000 + number, user_id=None, first_name=None, now=START
            )
            for index in range(per_runner):
                key = f"r{number}:m{index}"
                schedule_store.schedule(
                    session,
                    runner_id=runner.id,
                    message=ScheduleMessage(
                        kind="checkin",
                        due_at=START - timedelta(seconds=(number * per_runner + index) % 97),
                        key=key,
                        payload={"next": [after(timedelta(days=1), f"{key}:next")]},
                    ),
                    now=START,
                )

    setup.run_sync(fill)
    databases = [Database.for_url(shared_url) for _ in range(3)]
    schedulers = [
        Scheduler(db=db, compose=compose, clock=lambda: START, batch=25) for db in databases
    ]

    async def drain(scheduler: Scheduler) -> int:
        taken = 0
        while batch := await scheduler.run_once():
            taken += batch
        return taken

    try:
        taken = await asyncio.gather(*(drain(s) for s in schedulers))
    finally:
        for db in databases:
            await db.dispose()

    def summary(session: Session) -> tuple[dict[str, int], int, int]:
        states = dict(
            session.execute(
                select(ScheduledMessage.state, func.count()).group_by(ScheduledMessage.state)
            ).all()
        )
        outbox_rows = session.scalar(select(func.count()).select_from(OutboxMessage))
        linked = session.scalar(select(func.count(func.distinct(OutboxMessage.scheduled_id))))
        return states, outbox_rows, linked

    try:
        states, outbox_rows, linked = setup.run_sync(summary)
    finally:
        setup.dispose_sync()
    total = runners * per_runner
    assert sum(taken) == total
    if shared_url.startswith("postgresql"):
        # SKIP LOCKED lets them work side by side (SQLite's one writer may leave one idle).
        assert sum(1 for count in taken if count) >= 2
    # Each message queued once, with exactly one outbox message, and its follow-up saved once.
    assert states == {"queued": total, "pending": total}
    assert outbox_rows == linked == total


# --- end to end with the outbox ------------------------------------------------------------------


class TestEndToEnd:
    async def test_a_follow_up_is_sent_once_and_marked_sent(self, world: World):
        world.add(1, "k1", next=[after(timedelta(days=1), "k2")])
        scheduler, sender = world.scheduler(), world.sender()
        await scheduler.run_once()
        await deliver(world, sender)
        assert world.received(1) == ["k1"]
        sent = world.row("k1")
        assert (sent.state, sent.sent_at) == ("sent", START)
        (message,) = world.outbox(1)
        assert (message.state, message.payload) == ("sent", {})
        # Nothing more to do, however often both run.
        await scheduler.run_once()
        await deliver(world, sender)
        assert world.api_attempts("k1") == 1
        assert world.states() == {"k1": "sent", "k2": "pending"}

    async def test_a_follow_up_failing_three_times_with_500_is_sent_once(self, world: World):
        world.api.fail_next("sendMessage", 500, "Internal Server Error", count=3)
        world.add(1, "k1")
        scheduler, sender = world.scheduler(), world.sender()
        await scheduler.run_once()
        for delay in FOLLOW_UP_RETRY_DELAYS[:3]:
            await deliver(world, sender)
            assert world.row("k1").state == "queued"  # the outbox still has it
            assert world.received(1) == []
            world.time.advance(delay)
            await scheduler.run_once()  # the scheduler has nothing to add meanwhile
        await deliver(world, sender)
        assert world.received(1) == ["k1"]
        assert world.api_attempts("k1") == 4
        assert world.row("k1").state == "sent"
        assert world.outbox(1)[0].attempts == 3

    async def test_a_chat_that_refuses_stops_its_runners_schedule_and_fails_its_queue(
        self, world: World
    ):
        world.api.user_blocks_bot(1)
        world.add(
            1, "k1", due_at=START - timedelta(minutes=2), next=[after(timedelta(days=1), "k1b")]
        )
        world.add(1, "k2", due_at=START - timedelta(minutes=1))
        world.add(1, "k3", due_at=START + timedelta(days=2))
        world.add(2, "other")
        scheduler, sender = world.scheduler(), world.sender()
        await scheduler.run_once()
        await deliver(world, sender)
        runner_id = world.row("k1").runner_id
        assert world.states() == {
            "k1": "failed",
            "k2": "failed",
            "k1b": "cancelled",
            "k3": "cancelled",
            "other": "sent",
        }
        assert [m.state for m in world.outbox(1)] == ["failed", "failed"]
        assert world.api_attempts("k1") == 1 and world.api_attempts("k2") == 0
        record = world.db.run_sync(lambda session: session.get(RunnerSchedule, runner_id))
        assert record.active is False and "blocked" in record.reason.lower()
        # Nothing new is scheduled for them until they write to the bot again.
        assert world.add(1, "k4") is False
        world.time.advance(timedelta(days=3))
        await scheduler.run_once()
        await deliver(world, sender)
        assert world.received(1) == []

    async def test_a_follow_up_whose_outcome_is_unknown_is_not_resent_and_the_chain_goes_on(
        self, world: World
    ):
        world.api.reset_next("sendMessage", after_delivery=True, text_contains="zone is k1.")
        world.add(1, "k1", next=[after(timedelta(days=1), "k2", step=2)])
        scheduler, sender = world.scheduler(), world.sender()
        await scheduler.run_once()
        await deliver(world, sender)
        failed = world.row("k1")
        assert failed.state == "failed"
        assert failed.last_error.startswith("outcome unknown, not resent")
        # The next follow-up was saved when k1 was queued, whatever became of k1's send.
        assert (world.row("k2").state, world.row("k2").payload) == ("pending", {"step": 2})
        for _ in range(3):
            world.time.advance(timedelta(hours=1))
            await scheduler.run_once()
            await deliver(world, sender)
        assert world.api_attempts("k1") == 1
        assert world.received(1) == ["k1"]  # it did arrive, once
        world.time.now = START + timedelta(days=1)
        await scheduler.run_once()
        await deliver(world, sender)
        assert world.received(1) == ["k1", "k2"]
        assert world.row("k2").state == "sent"
        assert world.api.duplicates(1) == {}


class TestRunning:
    async def test_start_runs_passes_in_the_background_until_stop(self, world: World):
        sender = world.sender()
        scheduler = world.scheduler(on_queued=sender.wake, interval=0.01)
        sender.start()
        scheduler.start()
        assert scheduler.running
        with pytest.raises(RuntimeError, match="already running"):
            scheduler.start()
        world.add(1, "k1")
        await world.api.wait_for_sent(1, within=5.0)
        await scheduler.stop()
        assert not scheduler.running
        passes = scheduler.passes
        assert passes >= 1
        await asyncio.sleep(0.05)
        assert scheduler.passes == passes
        assert world.received(1) == ["k1"]

    def test_a_batch_below_one_is_refused(self, world: World):
        with pytest.raises(ValueError, match="batch"):
            world.scheduler(batch=0)
