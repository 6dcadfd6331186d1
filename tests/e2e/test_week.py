"""A week of follow-ups through the real bot process, on a fake clock, with two restarts.

The bot runs as `python -m bot` against a local fake Bot API server, its clock read from a file
(`BOT_CLOCK_FILE`) that the test moves forward in `STEP`s through seven days, waiting after each
step until the bot has dealt with what is due (its database then holds no due message still
unsent, so no fixed sleep is needed). Three runners finish a home-care
assessment: A (Europe/London, reminder 07:30) and B (America/New_York, reminder 18:00; New York
springs forward on 8 March) answer some check-ins and leave others; C has no reminder and stops
answering after two check-ins. The bot is killed with SIGKILL on day 2 and stopped with SIGTERM
on day 5, each time just before something is due, and started again once the clock has reached
that moment. Every message the bot sends unprompted is stamped by the fake server with the fake
clock, so "arrived at 07:30 London time" is checked on what the runner would have seen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as real_time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, and_, create_engine, func, or_, select

from bot.db.models import OUTBOX_UNFINISHED as OUTBOX_UNFINISHED_STATES
from bot.db.models import MessageState, OutboxMessage, ScheduledMessage
from fakebotapi import FakeBotApi, FakeBotApiServer
from tests.scripts import SPRAIN_NOS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654322:AAWeekLongRunTokenThatMustNeverBeLogged"

# Thursday 5 March 2026, 14:00 UTC: 14:00 in London, 09:00 in New York (EST until Sunday).
START = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
END = START + timedelta(days=7)
STEP = timedelta(minutes=30)
SCHEDULER_INTERVAL = 0.2
# Real seconds the bot gets to send what one step made due (a reminder is two messages, a
# second apart: Telegram's spacing per chat).
SETTLE_WITHIN = 30.0
# Day 2 just before A's 07:30 reminder, day 5 just before A's 18:00 check-in: each is due while
# the bot is down and must arrive once, right after the restart.
STOPS = {
    datetime(2026, 3, 6, 7, 0, tzinfo=UTC): signal.SIGKILL,
    datetime(2026, 3, 9, 17, 30, tzinfo=UTC): signal.SIGTERM,
}

SPRAIN = [
    "None of these",
    "Yes, with pain or a limp",
    "Outside of the ankle",
    "Suddenly: twist or fall",
    "1-2 days ago",
    "A little swollen",
    "4",
]
# Soreness 3 (below the 4 at the assessment, so not S5), about the same (so not S6), no new
# warning sign, exercises done with 2/10, settled by the morning: the plan simply carries on.
CHECK_IN_ANSWERS = [
    "About the same",
    "None of these",
    "Yes, with pain or a limp",
    "Yes, all of them",
    "2",
    "Settled by morning",
]
CHECK_IN_DELAYS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
DAYTIME = (time(9, 0), time(20, 0))
PENDING = MessageState.PENDING.value
# Taken by the scheduler and handed to the outbox, not yet sent.
IN_FLIGHT = (MessageState.CLAIMED.value, MessageState.SENDING.value, MessageState.QUEUED.value)
OUTBOX_UNFINISHED = tuple(state.value for state in OUTBOX_UNFINISHED_STATES)


@dataclass(frozen=True)
class Runner:
    name: str
    chat: int
    answers: frozenset[int]  # which check-ins (by number) the runner answers
    city: str | None = None
    zone: str | None = None
    reminder: time | None = None


# A and B never leave two check-ins in a row unanswered, so their daily check-ins carry on.
RUNNER_A = Runner("A", 8101, frozenset({1, 3, 4, 6}), "London", "Europe/London", time(7, 30))
RUNNER_B = Runner("B", 8102, frozenset({2, 3, 5}), "New York", "America/New_York", time(18, 0))
RUNNER_C = Runner("C", 8103, frozenset({1, 2}))
RUNNERS = (RUNNER_A, RUNNER_B, RUNNER_C)


class ClockFile:
    """The fake clock: what the test server stamps messages with, and the bot's BOT_CLOCK_FILE."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self.now = start
        self.set(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, instant: datetime) -> None:
        self.now = instant
        # Replaced in one step: the bot reads the file at any moment and must never see it empty.
        partial = self.path.with_suffix(".partial")
        partial.write_text(instant.isoformat())
        os.replace(partial, self.path)


@dataclass
class Received:
    """A message the bot sent, with the fake time it arrived (the fake server stamps it)."""

    at: datetime
    text: str
    message_id: int


@dataclass
class Week:
    """The running scenario: server, clock, the bot process, and what each runner received."""

    api: FakeBotApi
    clock: ClockFile
    env: dict[str, str]
    log: Path
    database: Engine
    bot: subprocess.Popen | None = None
    seen: dict[int, int] = field(default_factory=dict)
    unprompted: dict[int, list[Received]] = field(default_factory=lambda: defaultdict(list))

    def start(self) -> None:
        polls = len(self.api.calls_to("getUpdates"))
        with self.log.open("ab") as output:
            self.bot = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        # The scheduler starts in post_init, before polling: once it polls, both run.
        self.wait(lambda: len(self.api.calls_to("getUpdates")) > polls, within=60)

    def stop(self, how: signal.Signals) -> None:
        assert self.bot is not None
        self.bot.send_signal(how)
        code = self.bot.wait(timeout=30)
        self.bot = None
        assert code == (0 if how == signal.SIGTERM else -how), self.log_tail()

    def wait(self, predicate: Callable[[], object], *, within: float = 30.0) -> None:
        try:
            self.api.wait_until(predicate, within=within)
        except TimeoutError:
            alive = self.bot is not None and self.bot.poll() is None
            pytest.fail(f"the bot did not answer in time (alive: {alive})\n{self.log_tail()}")

    def settle(self) -> None:
        """Wait until the bot has dealt with everything due by the clock: no message due by now
        is still pending, claimed or being sent. A message is recorded as sent only after the
        Bot API answered, so by then the runner has it."""
        now = self.clock.now
        unfinished = (
            select(func.count())
            .select_from(ScheduledMessage)
            .where(
                or_(
                    and_(ScheduledMessage.state == PENDING, ScheduledMessage.due_at <= now),
                    ScheduledMessage.state.in_(IN_FLIGHT),
                )
            )
        )
        unsent = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(OUTBOX_UNFINISHED))
        )
        deadline = real_time.monotonic() + SETTLE_WITHIN
        while True:
            with self.database.connect() as connection:
                if connection.scalar(unfinished) == 0 and connection.scalar(unsent) == 0:
                    return
            if self.bot is None or self.bot.poll() is not None:
                pytest.fail(f"the bot process ended\n{self.log_tail()}")
            if real_time.monotonic() > deadline:
                pytest.fail(f"messages due by {now} still unsent\n{self.log_tail()}")
            real_time.sleep(0.02)

    def final_states(self) -> Counter[tuple[str, str]]:
        """How many scheduled messages of each (kind, state) the bot's database holds."""
        query = select(ScheduledMessage.kind, ScheduledMessage.state)
        with self.database.connect() as connection:
            return Counter((kind, state) for kind, state in connection.execute(query))

    def advance(
        self,
        runners: tuple[Runner, ...],
        *,
        until: datetime,
        stops: dict[datetime, signal.Signals] | None = None,
    ) -> None:
        """Move the clock to `until` in STEPs. After each step the bot sends what is due, each
        runner answers the check-ins they mean to answer, and the bot is stopped when `stops`
        says so (and started again at the next step, the clock having moved meanwhile)."""
        stops = stops or {}
        for runner in runners:
            self.collect(runner.chat)  # what came before were replies, not follow-ups
        while self.clock.now < until:
            self.clock.set(self.clock.now + STEP)
            if self.bot is None:
                self.start()
            self.settle()
            for runner in runners:
                received = self.collect(runner.chat)
                self.unprompted[runner.chat].extend(received)
                for message in received:
                    if kind_of(message.text) == "checkin" and (
                        check_in_number(message.text) in runner.answers
                    ):
                        answer_check_in(self, runner.chat, message.message_id)
                self.collect(runner.chat)  # the replies to those answers
            if self.clock.now in stops:
                self.stop(stops[self.clock.now])

    def collect(self, chat: int) -> list[Received]:
        """What the chat received since the last collect, stamped with the fake clock (a photo
        or a file counts with its caption as its text)."""
        messages = self.api.sent_to(chat, start=self.seen.get(chat, 0))
        self.seen[chat] = self.seen.get(chat, 0) + len(messages)
        return [
            Received(
                datetime.fromtimestamp(m["date"], UTC),
                m.get("text", m.get("caption", "")),
                m["message_id"],
            )
            for m in messages
        ]

    def shut_down(self) -> None:
        """End the bot process, gently if it still runs (called in `finally`)."""
        if self.bot is None:
            return
        bot, self.bot = self.bot, None
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=20)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(timeout=10)

    def say(self, chat: int, text: str, *, expect: int = 1) -> list[dict]:
        before = self.api.sent_count(chat)
        self.api.user_sends_text(chat, text)
        self.wait(lambda: self.api.sent_count(chat) >= before + expect)
        self.drained(chat)
        return self.api.sent_to(chat, start=before)

    def drained(self, chat: int) -> None:
        """Wait until the chat's outbox is empty: a reply of several messages arrives one a
        second (Telegram's pace per chat), and the runner reads it all before tapping on."""
        unsent = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.chat_id == chat, OutboxMessage.state.in_(OUTBOX_UNFINISHED))
        )
        deadline = real_time.monotonic() + SETTLE_WITHIN
        while real_time.monotonic() < deadline:
            with self.database.connect() as connection:
                if connection.scalar(unsent) == 0:
                    return
            real_time.sleep(0.02)
        pytest.fail(f"chat {chat}'s messages were not all sent\n{self.log_tail()}")

    def tap(
        self, chat: int, label: str, *, message_id: int | None = None, expect: int = 1
    ) -> list[dict]:
        before = self.api.sent_count(chat)
        self.api.user_taps(chat, label, message_id=message_id)
        self.wait(lambda: self.api.sent_count(chat) >= before + expect)
        self.drained(chat)
        return self.api.sent_to(chat, start=before)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def home_care(week: Week, chat: int) -> None:
    (question,) = week.say(chat, "/new")
    assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
    for label in SPRAIN:
        week.tap(chat, label)
    # Sudden path: every warning-sign question, all "No".
    for _ in range(SPRAIN_NOS - 1):
        week.tap(chat, "No")
    (outcome,) = week.tap(chat, "No")
    assert outcome["text"].startswith("Home care")


def set_reminder(week: Week, runner: Runner) -> None:
    assert runner.city is not None and runner.reminder is not None
    week.say(runner.chat, "/reminders", expect=2)
    week.say(runner.chat, runner.city)
    (saved,) = week.say(runner.chat, runner.reminder.strftime("%H:%M"))
    assert f"Your time zone is {runner.zone}" in saved["text"]
    assert f"every day at {runner.reminder:%H:%M}" in saved["text"]


def answer_check_in(week: Week, chat: int, message_id: int) -> None:
    week.tap(chat, "3", message_id=message_id)
    for label in CHECK_IN_ANSWERS[:-1]:
        week.tap(chat, label)
    # The thanks may come with the plan's progress ("Your plan steps forward ...").
    thanks, *_progress = week.tap(chat, CHECK_IN_ANSWERS[-1])
    assert thanks["text"].startswith("Noted: 3/10"), thanks["text"]


def kind_of(text: str) -> str:
    if text.startswith("Check-in "):
        return "checkin"
    if text.startswith("Time for today's ankle exercises"):
        return "reminder"
    if text.startswith("Today's exercises"):
        return "session"
    if text.startswith("I haven't heard from you for a couple of check-ins"):
        return "safety_net"
    if text.startswith("Your plan steps"):
        return "plan_change"  # follows a check-in's thanks when the plan moves
    return "other"


def check_in_number(text: str) -> int:
    return int(text.removeprefix("Check-in ").split(":", 1)[0])


def local(instant: datetime, zone: str | None) -> datetime:
    return instant.astimezone(ZoneInfo(zone or "UTC"))


def reminder_slots(runner: Runner, *, set_at: datetime, until: datetime) -> list[datetime]:
    """Every instant at which the runner's clock shows their reminder time, in (set_at, until]."""
    assert runner.zone is not None and runner.reminder is not None
    zone = ZoneInfo(runner.zone)
    first: date = set_at.astimezone(zone).date()
    slots = []
    for days in range((until - set_at).days + 2):
        slot = datetime.combine(first + timedelta(days=days), runner.reminder, tzinfo=zone)
        if set_at < slot <= until:
            slots.append(slot.astimezone(UTC))
    return slots


def assert_arrived_on_time(arrived: datetime, due: datetime, what: str) -> None:
    # The clock moves in STEPs, so a message due between two steps arrives at the next one.
    assert due <= arrived <= due + STEP, f"{what}: due {due:%a %d %H:%M}, arrived {arrived}"


def bot_env(server: FakeBotApiServer, tmp_path: Path, clock: ClockFile) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "BOT_CLOCK_FILE": str(clock.path),
        "SCHEDULER_INTERVAL": str(SCHEDULER_INTERVAL),
        # A scripted runner taps at once; a person reads for longer than Telegram's second.
        "CHAT_SEND_INTERVAL": "0.05",
        "LOG_LEVEL": "INFO",
    }


@contextmanager
def running_week(tmp_path: Path) -> Iterator[Week]:
    """The fake Bot API serving, the clock at START, the bot started; everything ended after."""
    clock = ClockFile(tmp_path / "clock.txt", START)
    api = FakeBotApi(token=TOKEN, clock=clock)
    with FakeBotApiServer(api) as server:
        env = bot_env(server, tmp_path, clock)
        database = create_engine(env["DATABASE_URL"])
        week = Week(api, clock, env, tmp_path / "bot.log", database)
        try:
            week.start()
            yield week
        finally:
            week.shut_down()
            database.dispose()


def test_a_week_of_check_ins_and_reminders_arrives_once_each_at_local_time_across_restarts(
    tmp_path: Path,
) -> None:
    """Reminders once per local day at the runner's wall time (DST included), check-ins at
    24/48/72 h then daily, one safety net for the runner who stopped answering, nothing twice,
    with the bot killed on day 2 and stopped on day 5."""
    with running_week(tmp_path) as week:
        for runner in RUNNERS:
            home_care(week, runner.chat)
        for runner in (RUNNER_A, RUNNER_B):
            set_reminder(week, runner)
        week.advance(RUNNERS, until=END, stops=STOPS)
        states = week.final_states()
        output = week.log.read_text(errors="replace")

    received = week.unprompted
    for runner in RUNNERS:
        kinds = Counter(kind_of(m.text) for m in received[runner.chat])
        assert kinds["other"] == 0, [m.text[:60] for m in received[runner.chat]]
        # Nothing twice: no text repeated at one instant, no check-in number twice.
        repeats = Counter((m.at, m.text) for m in received[runner.chat])
        assert max(repeats.values()) == 1, runner.name
        numbers = [
            check_in_number(m.text) for m in received[runner.chat] if kind_of(m.text) == "checkin"
        ]
        assert numbers == list(range(1, len(numbers) + 1)), (runner.name, numbers)

    for runner in (RUNNER_A, RUNNER_B):
        assert runner.zone is not None and runner.reminder is not None
        messages = received[runner.chat]
        reminders = [m.at for m in messages if kind_of(m.text) == "reminder"]
        sessions = [m.at for m in messages if kind_of(m.text) == "session"]
        slots = reminder_slots(runner, set_at=START, until=END)
        assert len(slots) == 7
        assert len(reminders) == len(slots), (runner.name, reminders)
        assert len(sessions) == len(slots), (runner.name, sessions)
        for due, arrived, session in zip(slots, reminders, sessions, strict=True):
            assert_arrived_on_time(arrived, due, f"{runner.name}'s reminder")
            assert arrived <= session <= due + STEP
        if runner is RUNNER_B:
            # The week crosses New York's change to summer time: 23:00 UTC, then 22:00 UTC.
            assert {slot.hour for slot in slots} == {23, 22}
        local_days = [local(at, runner.zone).date() for at in reminders]
        assert len(set(local_days)) == len(local_days), (runner.name, local_days)

        check_ins = [m.at for m in messages if kind_of(m.text) == "checkin"]
        # 24, 48 and 72 h after the assessment, then daily (9, 10 and 11 March) within the week.
        assert len(check_ins) == 6, (runner.name, check_ins)
        for delay, arrived in zip(CHECK_IN_DELAYS, check_ins, strict=False):
            assert_arrived_on_time(arrived, START + delay, f"{runner.name}'s check-in")
        days = [local(at, runner.zone).date() for at in check_ins]
        assert days == [days[0] + timedelta(days=n) for n in range(len(days))], days
        for at in check_ins:
            assert DAYTIME[0] <= local(at, runner.zone).time() <= DAYTIME[1], at
        assert not any(kind_of(m.text) == "safety_net" for m in messages), runner.name

    c_messages = received[RUNNER_C.chat]
    c_check_ins = [m.at for m in c_messages if kind_of(m.text) == "checkin"]
    # C answered check-ins 1 and 2 and then went quiet: 3 and 4 go unanswered, so the fifth
    # slot brings the safety net instead, and then nothing for the rest of the week.
    assert len(c_check_ins) == 4, c_check_ins
    for delay, arrived in zip((*CHECK_IN_DELAYS, timedelta(hours=96)), c_check_ins, strict=True):
        assert_arrived_on_time(arrived, START + delay, "C's check-in")
    (net,) = [m for m in c_messages if kind_of(m.text) == "safety_net"]
    assert_arrived_on_time(net.at, START + timedelta(hours=120), "C's safety net")
    assert c_messages[-1] == net

    # Nothing was lost, dropped as late or left half-sent; what is still pending is each
    # reminder runner's next check-in and next reminder (C's follow-ups ended with the net).
    assert states == Counter(
        {
            ("checkin", "sent"): 6 + 6 + 4 + 1,  # the safety net takes a check-in's slot
            ("reminder", "sent"): 7 + 7,
            ("checkin", PENDING): 2,
            ("reminder", PENDING): 2,
        }
    ), states
    assert TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


def test_a_reminder_chosen_before_the_assessment_starts_with_the_home_care_plan(
    tmp_path: Path,
) -> None:
    """/reminders before any assessment says the reminder comes while a home exercise plan
    runs; once an assessment ends in home care, it arrives every day at the chosen time."""
    runner = Runner("D", 8104, frozenset(), "London", "Europe/London", time(8, 0))
    until = START + timedelta(days=2)
    with running_week(tmp_path) as week:
        set_reminder(week, runner)
        home_care(week, runner.chat)
        week.advance((runner,), until=until)

    reminders = [m.at for m in week.unprompted[runner.chat] if kind_of(m.text) == "reminder"]
    slots = reminder_slots(runner, set_at=START, until=until)
    assert len(reminders) == len(slots) == 2, reminders
    for due, arrived in zip(slots, reminders, strict=True):
        assert_arrived_on_time(arrived, due, "D's reminder")
