"""Issue 11's end-to-end check: a webhook and three workers on PostgreSQL through a scripted
week, SIGKILLed at random moments while handling updates and while sending.

One `python -m bot serve` (the webhook; it also applies, sends and schedules) and three
`python -m bot worker` processes share a fresh PostgreSQL schema and read the fake clock file
(`BOT_CLOCK_FILE`) the test moves through a week, from one due follow-up to the next. The fake
Bot API posts updates to the webhook with its secret, as Telegram does, posting again what was
not confirmed with 200. Six runners in six time zones (New York and Los Angeles cross their
change to summer time) finish a home-care triage, set a daily reminder at a local time, answer
some check-ins and leave others, and send bursts of `/sore N` and commands.

Kills, from `random.Random(seed)` (`WEEK_WORKERS_SEED` replays a seed; every failure names
it): during each burst a random worker (once the webhook process) is killed while updates are
posted and applied; and some follow-ups are held by the fake after delivery (a `Pause`), the
process that made the call (read from the outbox row it marked `sending`) is killed, so the
runner has the message and the bot never recorded it. A killed process is replaced at once.

Asserted: every accepted update applied once and in order per chat; every runner's check-in and
reminder chain pending after every crash and at the end; nothing reached a runner twice (a
message whose sender died mid-call is failed as "outcome unknown", never resent: the outbox's
at-most-once promise); check-ins only in the runner's daytime, each reminder at its local time;
at most 30 sends in any real second and none closer than CHAT_SEND_INTERVAL in one chat.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import signal
import subprocess
import threading
import time as real_time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.database import Database
from bot.db.models import (
    InboxUpdate,
    OutboxMessage,
    Runner,
    ScheduledMessage,
    SorenessReport,
)
from bot.db.outbox_store import OUTCOME_UNKNOWN
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, FakeBotApiServer
from fakebotapi.webhook import deliver
from tests.bot.test_workers import answered, is_subsequence
from tests.e2e.test_webhook_workers import free_port
from tests.e2e.test_webhook_workers import start as start_process
from tests.e2e.test_week import (
    DAYTIME,
    IN_FLIGHT,
    OUTBOX_UNFINISHED,
    PENDING,
    START,
    ClockFile,
    Week,
    answer_check_in,
    check_in_number,
    home_care,
    kind_of,
    local,
    reminder_slots,
    set_reminder,
)
from tests.e2e.test_week import Runner as WeekRunner

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

END = START + timedelta(days=7)
WORKERS = 3
# Telegram's second per chat would make the runners' taps take most of the run (a check-in
# answered is seven messages); a tenth of a second keeps the pacing checked and the run short.
CHAT_SEND_INTERVAL = 0.1
SCHEDULER_INTERVAL = 0.1
SETTLE_WITHIN = 40.0
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
SEND_LIMIT = 30
# Every runner answers every other check-in, so none goes quiet for two in a row (which would
# end their check-ins with the safety net): each chain runs the whole week.
ODD, EVEN = frozenset({1, 3, 5, 7}), frozenset({2, 4, 6})
RUNNERS = (
    WeekRunner("L", 8201, ODD, "London", "Europe/London", time(7, 30)),
    WeekRunner("N", 8202, EVEN, "New York", "America/New_York", time(18, 0)),
    WeekRunner("A", 8203, ODD, "Los Angeles", "America/Los_Angeles", time(12, 15)),
    WeekRunner("T", 8204, EVEN, "Tokyo", "Asia/Tokyo", time(6, 45)),
    WeekRunner("B", 8205, ODD, "Berlin", "Europe/Berlin", time(21, 0)),
    WeekRunner("K", 8206, EVEN, "Kolkata", "Asia/Kolkata", time(8, 0)),
)
CHATS = tuple(runner.chat for runner in RUNNERS)
# Bursts of commands (real time while the clock stands still), at the last follow-up before
# these fake instants; the second one kills the webhook process as well.
BURSTS = (START + timedelta(days=1, hours=3), START + timedelta(days=3, hours=5))
BURST_LENGTH = 5
# How many follow-ups are held after delivery and their sender killed.
HELD_SENDS = 3


def burst_script(chat: int, rng: random.Random) -> list[str]:
    """Commands whose replies say which update they answer (`answered`), soreness kept low so
    that no escalation rule changes the runner's follow-ups."""
    return [
        rng.choice(["/help", "/about", f"/sore {rng.randint(1, 3)}"]) for _ in range(BURST_LENGTH)
    ]


@dataclass
class Processes:
    """The webhook process and the workers: started, killed (SIGKILL) and replaced."""

    server: FakeBotApiServer
    url: str
    port: int
    logs: Path
    env: dict[str, str]
    webhook: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0
    kills: list[str] = field(default_factory=list)

    def start(self, command: str) -> subprocess.Popen[bytes]:
        self.started += 1
        log = self.logs / f"{self.started:02d}-{command}.log"
        return start_process(command, self.server, self.url, self.port, log, **self.env)

    def start_all(self) -> None:
        self.webhook = self.start("serve")
        self.workers = [self.start("worker") for _ in range(WORKERS)]

    def by_pid(self, pid: int) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.all() if p.pid == pid), None)

    def all(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in (self.webhook, *self.workers) if p is not None]

    def kill_and_replace(self, process: subprocess.Popen[bytes], why: str) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process is self.webhook:
            self.kills.append(f"webhook {process.pid} {why}")
            self.webhook = self.start("serve")
        else:
            self.kills.append(f"worker {process.pid} {why}")
            self.workers[self.workers.index(process)] = self.start("worker")

    def dead(self) -> list[int]:
        return [p.pid for p in self.all() if p.poll() is not None]

    def log_tail(self) -> str:
        tails = []
        for log in sorted(self.logs.glob("*.log")):
            tails.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(tails[-5:])

    def stop_all(self) -> None:
        for process in self.all():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.all():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


class Postman(threading.Thread):
    """Telegram's side of the webhook: posts queued updates as they come, again and again
    while the webhook does not confirm them (killed, restarting)."""

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.api.webhook is None or not self.api.pending_updates:
                real_time.sleep(0.02)
                continue
            if not asyncio.run(deliver(self.api, request_timeout=10)).confirmed:
                real_time.sleep(0.1)


@dataclass
class WorkersWeek(Week):
    """test_week's `Week` (say, tap, collect, drained) over the webhook and the workers."""

    processes: Processes | None = None
    seed: int = 0

    def wait(self, predicate: Callable[[], object], *, within: float = 30.0) -> None:
        try:
            self.api.wait_until(predicate, within=within)
        except TimeoutError:
            self.fail("the bot did not answer in time")

    def fail(self, what: str) -> None:
        assert self.processes is not None
        pytest.fail(
            f"[WEEK_WORKERS_SEED={self.seed}] {what}; dead: {self.processes.dead()}; "
            f"kills: {self.processes.kills}\n{self.processes.log_tail()}"
        )

    def settle(self) -> float:
        """Wait until nothing due is pending, in flight or unsent, and every update posted is
        applied; how long it took (real seconds)."""
        now = self.clock.now
        unfinished = (
            select(func.count())
            .select_from(ScheduledMessage)
            .where(
                ((ScheduledMessage.state == PENDING) & (ScheduledMessage.due_at <= now))
                | ScheduledMessage.state.in_(IN_FLIGHT)
            )
        )
        unsent = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(OUTBOX_UNFINISHED))
        )
        unapplied = select(func.count()).select_from(InboxUpdate).where(InboxUpdate.state != "done")
        began = real_time.monotonic()
        while True:
            if not self.api.pending_updates:
                with self.database.connect() as connection:
                    if not any(connection.scalar(q) for q in (unfinished, unsent, unapplied)):
                        return real_time.monotonic() - began
            if real_time.monotonic() - began > SETTLE_WITHIN:
                self.fail(f"what was due by {now} was not all dealt with")
            real_time.sleep(0.02)

    def next_due(self) -> datetime:
        query = select(func.min(ScheduledMessage.due_at)).where(ScheduledMessage.state == PENDING)
        with self.database.connect() as connection:
            due = connection.scalar(query)
        return END if due is None or due > END else max(due, self.clock.now)


def sender_pid(week: WorkersWeek, chat: int) -> int:
    """The process that marked the chat's message `sending` (its worker id is host:pid:...)."""
    query = select(OutboxMessage.claimed_by).where(
        OutboxMessage.chat_id == chat, OutboxMessage.state == "sending"
    )
    with week.database.connect() as connection:
        (worker,) = connection.scalars(query).all()
    return int(worker.split(":")[1])


def chains_alive(week: WorkersWeek) -> list[str]:
    """The runners missing a pending check-in or reminder (both run the whole week)."""
    query = (
        select(Runner.chat_id, ScheduledMessage.kind)
        .join(ScheduledMessage, ScheduledMessage.runner_id == Runner.id)
        .where(ScheduledMessage.state == PENDING)
    )
    with week.database.connect() as connection:
        pending = {(chat, kind) for chat, kind in connection.execute(query)}
    return [
        f"chat {chat} has no pending {kind}"
        for chat in CHATS
        for kind in ("checkin", "reminder")
        if (chat, kind) not in pending
    ]


def in_parallel(jobs: list[Callable[[], Any]]) -> None:
    """Each runner acts in a thread of its own, as people do at once; errors are raised."""
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


@pytest.fixture
def seed() -> int:
    given = os.environ.get("WEEK_WORKERS_SEED")
    value = int(given) if given else random.SystemRandom().randrange(1_000_000)
    print(f"WEEK_WORKERS_SEED={value}")
    return value


@pytest.fixture
def week(postgres_url: str, tmp_path: Path, seed: int) -> Iterator[WorkersWeek]:
    clock = ClockFile(tmp_path / "clock.txt", START)
    api = FakeBotApi(token=DEFAULT_TOKEN, clock=clock)
    with FakeBotApiServer(api) as server:
        env = {
            "BOT_CLOCK_FILE": str(clock.path),
            "SCHEDULER_INTERVAL": str(SCHEDULER_INTERVAL),
            "CHAT_SEND_INTERVAL": str(CHAT_SEND_INTERVAL),
            "LOG_LEVEL": "INFO",
        }
        logs = tmp_path / "logs"
        logs.mkdir()
        processes = Processes(server, postgres_url, free_port(), logs, env)
        db = Database.for_url(postgres_url)
        week = WorkersWeek(
            api, clock, env, logs / "week.log", db.engine, processes=processes, seed=seed
        )
        postman = Postman(api)
        try:
            processes.start_all()
            week.wait(lambda: api.webhook is not None, within=60)
            postman.start()
            yield week
        finally:
            postman.stopping.set()
            postman.join(timeout=30)
            processes.stop_all()
            db.dispose_sync()


def test_a_week_behind_the_webhook_with_three_workers_killed_at_random(
    week: WorkersWeek, seed: int
) -> None:
    try:
        run_the_week(week, random.Random(seed))
    except AssertionError as failure:
        raise AssertionError(f"[WEEK_WORKERS_SEED={seed}] {failure}") from failure


@dataclass
class Record:
    """What the test saw happen, to assert on at the end."""

    sends: list[tuple[float, int]] = field(default_factory=list)  # (real time, chat)
    soreness: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    # (chat, fake time stamp, text) of the follow-ups whose sender was killed in the call
    held: list[tuple[int, int, str]] = field(default_factory=list)
    recoveries: list[float] = field(default_factory=list)


def run_the_week(week: WorkersWeek, rng: random.Random) -> None:
    api, processes = week.api, week.processes
    assert processes is not None
    record = Record()
    for method in SEND_METHODS:
        api.on_call(
            method,
            lambda call: record.sends.append((real_time.time(), int(call.params["chat_id"]))),
            after_delivery=True,
        )

    # Day 0: every runner finishes the triage (soreness 4) and sets a reminder, all at once.
    in_parallel([lambda r=r: home_care(week, r.chat) for r in RUNNERS])
    in_parallel([lambda r=r: set_reminder(week, r) for r in RUNNERS])
    for runner in RUNNERS:
        record.soreness[runner.chat].append(("assessment", 4))
    week.settle()
    assert not chains_alive(week), chains_alive(week)

    bursts = list(BURSTS)
    # Which follow-up instants get a held send and a kill: a random few of the week's first
    # days (every day has several).
    hold_at = sorted(rng.sample(range(4, 40), HELD_SENDS))
    for runner in RUNNERS:
        week.collect(runner.chat)  # what came so far were replies
    jump = 0
    while week.clock.now < END:
        target = week.next_due()
        if bursts and bursts[0] <= target:
            # At the clock's present instant, all dealt with: the replies are the burst's own.
            bursts.pop(0)
            burst(week, rng, record, kill_webhook=not bursts)
            continue
        jump += 1
        pause = None
        if hold_at and jump >= hold_at[0]:
            pause = api.pause_next("sendMessage", after_delivery=True, when=is_follow_up)
        week.clock.set(target)
        if pause is not None and kill_while_sending(week, pause, record):
            hold_at.pop(0)
        week.settle()
        answering = []
        for runner in RUNNERS:
            received = week.collect(runner.chat)
            week.unprompted[runner.chat].extend(received)
            for message in received:
                if kind_of(message.text) == "checkin":
                    number = check_in_number(message.text)
                    if number in runner.answers:
                        record.soreness[runner.chat].append(("checkin", 3))
                        answering.append(
                            lambda c=runner.chat, m=message.message_id: answer_check_in(week, c, m)
                        )
        in_parallel(answering)
        for runner in RUNNERS:
            week.collect(runner.chat)  # the replies to those answers
        week.settle()
    assert not chains_alive(week), chains_alive(week)
    check_the_week(week, record)


def plain(html: str) -> str:
    """What the runner reads of a message sent as Telegram HTML."""
    return re.sub(r"<[^>]+>", "", html)


def is_follow_up(params: dict[str, Any]) -> bool:
    text = plain(str(params.get("text", "")))
    return kind_of(text) in ("checkin", "reminder") and int(params.get("chat_id", 0)) in CHATS


def kill_while_sending(week: WorkersWeek, pause: Any, record: Record) -> bool:
    """The follow-up reached the runner; kill its sender before it hears so, then replace it.
    Whether a follow-up came to be held."""
    assert week.processes is not None
    try:
        params = pause.wait(within=3 * SCHEDULER_INTERVAL + 5)
    except TimeoutError:
        pause.release()  # nothing of the kind was due at this instant: try at the next
        return False
    chat = int(params["chat_id"])
    pid = sender_pid(week, chat)
    process = week.processes.by_pid(pid)
    assert process is not None, f"no process of ours has pid {pid}"
    began = real_time.monotonic()
    text = plain(params["text"])
    week.processes.kill_and_replace(process, f"while sending {kind_of(text)}")
    pause.release(drop=True)
    record.held.append((chat, int(week.clock.now.timestamp()), text))
    week.settle()
    record.recoveries.append(real_time.monotonic() - began)
    assert not chains_alive(week), ("after a kill while sending", chains_alive(week))
    return True


def burst(week: WorkersWeek, rng: random.Random, record: Record, *, kill_webhook: bool) -> None:
    """Every runner sends a few commands at once; workers (and maybe the webhook) are killed
    at random moments while the updates are posted and applied."""
    api, processes = week.api, week.processes
    assert processes is not None
    week.settle()
    for runner in RUNNERS:
        week.collect(runner.chat)
    scripts = {chat: burst_script(chat, rng) for chat in CHATS}
    posted: dict[int, list[int]] = defaultdict(list)
    for i in range(BURST_LENGTH):
        for chat in CHATS:
            update = api.user_sends_text(chat, scripts[chat][i])
            posted[chat].append(update["update_id"])
            if scripts[chat][i].startswith("/sore"):
                record.soreness[chat].append(("report", int(scripts[chat][i].split()[1])))
    victims: list[subprocess.Popen[bytes]] = []
    for _ in range(2):
        real_time.sleep(rng.uniform(0.05, 0.8))
        victim = rng.choice(processes.workers)
        victims.append(victim)
        processes.kill_and_replace(victim, "while handling a burst")
    if kill_webhook:
        real_time.sleep(rng.uniform(0.0, 0.3))
        assert processes.webhook is not None
        processes.kill_and_replace(processes.webhook, "while updates were posted")
    began = real_time.monotonic()
    week.settle()
    record.recoveries.append(real_time.monotonic() - began)
    assert not chains_alive(week), ("after a burst with kills", chains_alive(week))
    with week.database.connect() as connection:
        stored = connection.execute(
            select(InboxUpdate.chat_key, InboxUpdate.update_id, InboxUpdate.state)
            .where(InboxUpdate.update_id.in_([u for ids in posted.values() for u in ids]))
            .order_by(InboxUpdate.id)
        ).all()
    # Each update stored once (posted again after a kill, it is the same row), applied, and
    # each chat's in the order the runner sent them.
    assert {state for _, _, state in stored} == {"done"}, stored
    for chat, ids in posted.items():
        assert [u for c, u, _ in stored if c == chat] == ids, (chat, stored)
    with week.database.connect() as connection:
        unknown = Counter(
            connection.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.last_error == OUTCOME_UNKNOWN)
            )
        )
    for chat, texts in scripts.items():
        got = [answered(message.text) for message in week.collect(chat)]
        # Replies in the order of the updates, none twice; one missing only where its sender
        # died in the call (outcome unknown, not resent).
        assert is_subsequence(got, texts), (chat, got, texts)
        assert len(texts) - len(got) <= unknown[chat], (chat, got, texts)


def check_the_week(week: WorkersWeek, record: Record) -> None:
    # 1. Every accepted update applied once, in order per chat: each soreness row (triage,
    # check-in answers, `/sore N`) written once, in the order the runner gave them.
    query = (
        select(Runner.chat_id, SorenessReport.source, SorenessReport.value)
        .join(SorenessReport, SorenessReport.runner_id == Runner.id)
        .order_by(SorenessReport.id)
    )
    with week.database.connect() as connection:
        written: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for chat, source, value in connection.execute(query):
            written[chat].append((source, value))
        states = Counter(connection.scalars(select(InboxUpdate.state)))
    for chat in CHATS:
        assert written[chat] == record.soreness[chat], f"chat {chat}'s soreness rows"
    assert set(states) <= {"done"}, states

    # 3. Nothing twice: each follow-up once (check-in numbers run 1, 2, 3... with no repeat),
    # and each held follow-up reached its runner once and was failed, not resent.
    for runner in RUNNERS:
        messages = week.unprompted[runner.chat]
        assert Counter(kind_of(m.text) for m in messages)["other"] == 0, [
            m.text[:60] for m in messages
        ]
        repeats = Counter((m.at, m.text) for m in messages)
        assert max(repeats.values()) == 1, (runner.name, repeats.most_common(2))
        numbers = [check_in_number(m.text) for m in messages if kind_of(m.text) == "checkin"]
        assert numbers == list(range(1, len(numbers) + 1)), (runner.name, numbers)
    assert len(record.held) == HELD_SENDS, record.held
    for chat, stamp, text in record.held:
        got = [m for m in week.api.sent_to(chat) if (m["date"], m.get("text")) == (stamp, text)]
        assert len(got) == 1, (chat, text[:60], len(got))
    with week.database.connect() as connection:
        unknown = connection.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.last_error == OUTCOME_UNKNOWN)
        )
    assert unknown >= HELD_SENDS, unknown

    # 4. Check-ins in the runner's daytime, one a day; each reminder at its local time.
    for runner in RUNNERS:
        messages = week.unprompted[runner.chat]
        check_ins = [m.at for m in messages if kind_of(m.text) == "checkin"]
        assert len(check_ins) >= 5, (runner.name, check_ins)
        for at in check_ins:
            assert DAYTIME[0] <= local(at, runner.zone).time() <= DAYTIME[1], (runner.name, at)
        days = [local(at, runner.zone).date() for at in check_ins]
        assert len(set(days)) == len(days), (runner.name, days)
        reminders = [m.at for m in messages if kind_of(m.text) == "reminder"]
        slots = reminder_slots(runner, set_at=START, until=END)
        assert reminders == slots, (runner.name, reminders, slots)

    # 5. At most 30 sends in any real second across the processes; one chat's messages at
    # least CHAT_SEND_INTERVAL apart.
    busiest = max(Counter(int(at) for at, _ in record.sends).values())
    assert busiest <= SEND_LIMIT, busiest
    by_chat: dict[int, list[float]] = defaultdict(list)
    for at, chat in record.sends:
        by_chat[chat].append(at)
    for chat, times in by_chat.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps, default=CHAT_SEND_INTERVAL) >= CHAT_SEND_INTERVAL * 0.95, (
            chat,
            sorted(gaps)[:3],
        )
    print(
        f"kills: {len(week.processes.kills) if week.processes else 0}, held sends: "
        f"{len(record.held)}, sends: {len(record.sends)}, busiest second: {busiest}, "
        f"longest recovery: {max(record.recoveries, default=0):.1f} s"
    )
