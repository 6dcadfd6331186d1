"""Two weeks of recovery through the real bot process: the exercise plan moving, the chart, the
export and the deletion.

The bot runs as `python -m bot` against the fake Bot API HTTP server with its clock read from a
file (the helpers of `tests.e2e.test_week`). The clock jumps from one due follow-up to the next
(and to the moments the runners write), so two weeks of fake time take about half a minute;
the module-scoped `fortnight` fixture plays them once and each test checks one part of what
happened. Three runners finish a home-care assessment for an outside sprain (pain 4, walking
hurts) at the same instant:

* P answers every check-in with soreness falling day by day, "Better", no new warning sign,
  walking that turns normal on day 3, exercises done at 2/10 and settled by the next morning,
  and takes `/test` after each check-in, passing whatever self-test is offered. The plan steps
  forward with the reason after two safe days once the self-tests it needs have counted, one
  check or step-up a day, on until phase 4 once the plyometric gate is open; `/run` says what
  is still missing until the checks for running have counted (days 8-13), then the walk-run
  starts at step 1, which is logged twice before step 2. Soreness of 0-1/10 at three check-ins
  in a row resolves the episode and ends the check-ins, not the plan. `/progress` sends a PNG chart
  whose caption sums up P's soreness, and `/export` holds the same soreness values in order.
* Q answers four check-ins; exercise pain 7/10 at the first (phase 1: nothing lower to step
  back to) and at the fourth (after a step forward to phase 2: back to phase 1, announced).
  Then Q exports and deletes everything: no row of Q is left in any table, P's rows are
  unchanged, and nothing reaches Q for the rest of the fortnight.
* R walks normally at check-ins 1-5, takes the self-tests as P does, and limps again at
  check-in 6: the gate, closed by that answer, keeps the plan out of the hopping phase.

The bot is stopped with SIGTERM on day 6 just before P's check-in is due, and started again an
hour after it: the check-in arrives once, late.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from bot.db.models import Base, MessageState, Runner, ScheduledMessage
from bot.db.privacy_store import runner_tables
from tests.e2e.test_week import (
    START,
    TOKEN,
    Received,
    Week,
    check_in_number,
    home_care,
    kind_of,
    running_week,
)

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)
END = START + 14 * DAY
CHAT_P = 8201
CHAT_Q = 8202
CHAT_R = 8203

LIMPING = "Yes, with pain or a limp"
WALKING_NORMALLY = "Yes, without pain"
SETTLED = "Settled by morning"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAIN_AT_ASSESSMENT = 4  # the "4" of `test_week.SPRAIN`

FORWARD = re.compile(r"Your plan steps forward to phase (\d)")
BACK = re.compile(r"Your plan steps back to phase (\d)")
PHASE_NOW = re.compile(r"Exercise plan: phase (\d) of 4")
RUN_STEP = re.compile(r"Your walk-run step (\d+):")
TWO_SAFE_DAYS = "two days running in the safe zone (pain 3/10 or less) with no morning flare"
PAIN_ABOVE_5 = "pain during the exercises went above 5/10"


@dataclass(frozen=True)
class CheckInReply:
    """What a runner answers at one check-in (no new warning sign, exercises all done, settled
    by the next morning)."""

    soreness: int
    change: str
    walking: str
    exercise_pain: int


@dataclass
class CheckInResult:
    """What the bot answered to one check-in, and the plan phase /status showed afterwards
    (None: no plan shown, as once the episode is over)."""

    replies: list[str]
    phase: int | None

    def announced(self, pattern: re.Pattern[str]) -> list[int]:
        return [int(m.group(1)) for text in self.replies if (m := pattern.search(text))]


# Soreness falls from the 4/10 of the assessment; walking is normal from check-in 3, so the
# gate is open at check-in 4 on the evidence of check-ins 3 and 4 alike. Check-ins 7-9 are
# 0-1/10: check-in 9 resolves the episode.
P_CHECK_INS = {
    1: CheckInReply(3, "Better", LIMPING, 2),
    2: CheckInReply(3, "Better", LIMPING, 2),
    3: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    4: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    5: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    6: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    7: CheckInReply(1, "Better", WALKING_NORMALLY, 2),
    8: CheckInReply(1, "Better", WALKING_NORMALLY, 2),
    9: CheckInReply(0, "Better", WALKING_NORMALLY, 2),
}
P_RESOLVES_AT = 9
# Q flares at check-ins 1 and 4; Q's data is deleted before check-in 5 is due.
Q_CHECK_INS = {
    1: CheckInReply(3, "About the same", LIMPING, 7),
    2: CheckInReply(3, "About the same", LIMPING, 2),
    3: CheckInReply(3, "About the same", LIMPING, 2),
    4: CheckInReply(3, "About the same", LIMPING, 7),
}
# R walks normally at check-ins 1-3 and limps again from check-in 4 on.
R_CHECK_INS = {
    1: CheckInReply(3, "Better", WALKING_NORMALLY, 2),
    2: CheckInReply(3, "Better", WALKING_NORMALLY, 2),
    3: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    4: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    5: CheckInReply(2, "Better", WALKING_NORMALLY, 2),
    6: CheckInReply(2, "About the same", LIMPING, 2),
}
R_LATER = CheckInReply(2, "About the same", LIMPING, 2)


@dataclass
class ScriptedRunner:
    """One runner of the scenario: their planned answers and what came of each check-in."""

    chat: int
    plan: dict[int, CheckInReply]
    later: CheckInReply | None = None  # the answer to check-ins beyond the plan, if any
    # Whether the runner sends /test after each check-in, passing whatever test is offered.
    tests: bool = False
    results: dict[int, CheckInResult] = field(default_factory=dict)
    tests_taken: dict[int, list[str]] = field(default_factory=dict)
    unexpected: list[Received] = field(default_factory=list)

    def on_message(self, week: Week, message: Received) -> None:
        """Answer a check-in as planned; keep anything else for the test to look at."""
        if kind_of(message.text) != "checkin":
            self.unexpected.append(message)
            return
        number = check_in_number(message.text)
        reply = self.plan.get(number, self.later)
        if reply is None:
            self.unexpected.append(message)
            return
        self.results[number] = answer_check_in_as(week, self.chat, message.message_id, reply)
        if self.tests:
            self.tests_taken[number] = take_self_test(week, self.chat)

    def phases(self) -> list[int | None]:
        return [self.results[n].phase for n in sorted(self.results)]


# --- driving the bot -----------------------------------------------------------------------------


def next_due(week: Week) -> datetime | None:
    """When the earliest message still waiting to be sent is due (None: nothing waits)."""
    query = (
        select(ScheduledMessage.due_at)
        .where(ScheduledMessage.state == MessageState.PENDING.value)
        .order_by(ScheduledMessage.due_at)
        .limit(1)
    )
    with week.database.connect() as connection:
        return connection.scalar(query)


def run_clock(week: Week, runners: tuple[ScriptedRunner, ...], *, until: datetime) -> None:
    """Move the clock from one due message to the next up to `until`; after each move the bot
    sends what is due and each runner answers it (see `ScriptedRunner.on_message`). Whatever
    the runners received since the last `skip_replies` counts as sent unprompted."""
    while True:
        week.settle()
        for runner in runners:
            for message in week.collect(runner.chat):
                week.unprompted[runner.chat].append(message)
                runner.on_message(week, message)
            week.collect(runner.chat)  # the replies to those answers
        if week.clock.now >= until:
            return
        # settle() leaves nothing due by now, so `due` is later; the minute is a safety margin.
        due = next_due(week) or until
        week.clock.set(min(max(due, week.clock.now + timedelta(minutes=1)), until))


def skip_replies(week: Week, *chats: int) -> None:
    """Mark what the chats received so far as seen: replies to what the runners did, not
    follow-ups. (Not at a restart: the bot may send an overdue follow-up before it polls.)"""
    for chat in chats:
        week.collect(chat)


def answer_check_in_as(
    week: Week, chat: int, message_id: int, reply: CheckInReply
) -> CheckInResult:
    """Answer the check-in question by question (whatever the bot asks, by its buttons), then
    ask /status: the chat's updates are handled in order, so every reply to the check-in has
    arrived once the status has."""
    week.tap(chat, str(reply.soreness), message_id=message_id)
    for _ in range(12):
        question = week.api.last_message(chat)
        labels = {label for row in week.api.buttons(question) for label, _data in row}
        if SETTLED in labels:
            break
        week.tap(chat, check_in_label(question["text"], labels, reply))
    else:
        pytest.fail(f"the check-in never asked about the morning after\n{week.log_tail()}")
    first_reply = week.api.sent_count(chat)
    week.api.user_taps(chat, SETTLED)
    week.api.user_sends_text(chat, "/status")
    week.wait(lambda: any(is_status(m) for m in week.api.sent_to(chat, start=first_reply)))
    texts = [m.get("text", "") for m in week.api.sent_to(chat, start=first_reply)]
    status = next(i for i, text in enumerate(texts) if text.startswith("Your status"))
    phase = PHASE_NOW.search(texts[status])
    return CheckInResult(texts[:status], int(phase.group(1)) if phase else None)


# What a runner who passes every self-test taps: the morning after the last one, a yes/no
# test, 20 heel raises on each leg (the count buttons), pain 1/10 on the hop test.
TEST_ANSWERS = (SETTLED, "Yes, within that limit", "20", "1")


def take_self_test(week: Week, chat: int) -> list[str]:
    """/test, answered as far as the bot leads; the texts the bot sent."""
    (message,) = week.say(chat, "/test")
    texts = [message.get("text", "")]
    for _ in range(5):
        labels = {label for row in week.api.buttons(message) for label, _data in row}
        choice = next((answer for answer in TEST_ANSWERS if answer in labels), None)
        if choice is None:
            break
        (message,) = week.tap(chat, choice)
        texts.append(message.get("text", ""))
    return texts


def check_in_label(text: str, labels: set[str], reply: CheckInReply) -> str:
    if {"Better", "Worse"} <= labels:
        return reply.change
    if "None of these" in labels:
        return "None of these"
    if WALKING_NORMALLY in labels:
        return reply.walking
    if "Yes, all of them" in labels:
        return "Yes, all of them"
    if "during the exercises" in text:
        return str(reply.exercise_pain)
    pytest.fail(f"unexpected check-in question: {text[:120]!r} {sorted(labels)}")


def is_status(message: dict[str, Any]) -> bool:
    return message.get("text", "").startswith("Your status")


@dataclass(frozen=True)
class RunAttempt:
    """What came of one /run: "refused" (not yet, or no plan) or "run" (a walk-run day logged:
    pain 1, settled, no more swelling); `text` is the bot's verdict, `step` the walk-run step
    /run named."""

    kind: str
    text: str
    step: int | None = None


def attempt_run(week: Week, chat: int) -> RunAttempt:
    """/run, answered as far as the bot leads: a clean run."""
    before = week.api.sent_count(chat)
    week.api.user_sends_text(chat, "/run")

    def answered() -> bool:
        new = week.api.sent_to(chat, start=before)
        # A run day comes as an introduction and a question.
        leads_on = ("Your walk-run step",)
        return bool(new) and (len(new) >= 2 or not new[0].get("text", "").startswith(leads_on))

    week.wait(answered)
    intro = week.api.sent_to(chat)[before]["text"]
    step = RUN_STEP.search(intro)
    if step is None:
        return RunAttempt("refused", intro)
    week.tap(chat, "1")
    week.tap(chat, SETTLED)
    (verdict,) = week.tap(chat, "No")
    return RunAttempt("run", verdict["text"], int(step.group(1)))


def last_upload(week: Week, chat: int, method: str) -> bytes:
    uploads = [u for u in week.api.uploads if u.chat_id == chat and u.method == method]
    assert uploads, f"no {method} to chat {chat}"
    return uploads[-1].data


# --- reading the database ------------------------------------------------------------------------


@contextmanager
def read_only(week: Week) -> Iterator[Engine]:
    """The bot's SQLite file opened read-only: the test looks, it never writes."""
    path = week.env["DATABASE_URL"].removeprefix("sqlite:///")
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        yield engine
    finally:
        engine.dispose()


def rows_of(engine: Engine, runner_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the runner, table by table, in primary key order."""
    found = {}
    with engine.connect() as connection:
        for table, column in runner_tables(Base.metadata):
            query = select(table).where(column == runner_id).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in connection.execute(query)]
    return found


def runner_id_of(engine: Engine, chat: int) -> int | None:
    with engine.connect() as connection:
        return connection.scalar(select(Runner.id).where(Runner.chat_id == chat))


def count_runners(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Runner)) or 0


# --- the scenario --------------------------------------------------------------------------------

Rows = dict[str, list[tuple[Any, ...]]]


@dataclass
class Fortnight:
    """What the two weeks produced, gathered once for the tests below to look at."""

    p: ScriptedRunner
    q: ScriptedRunner
    r: ScriptedRunner
    runs: list[RunAttempt]
    late_tests: list[list[str]]
    status_after_resolution: str
    run_after_resolution: RunAttempt
    unprompted: dict[int, list[Received]]
    p_id: int
    q_id: int
    p_rows_before: Rows
    p_rows_after: Rows
    q_rows_before: Rows
    q_rows_after: Rows
    q_rows_at_end: Rows
    q_runner_after: int | None
    runners_at_end: int
    q_export: dict[str, Any]
    q_exported: dict[str, Any]
    q_confirm: str
    q_deleted: str
    q_messages_at_deletion: int
    q_messages_at_end: int
    chart: dict[str, Any]
    png: bytes
    p_exported: dict[str, Any]
    output: str


# Two safe days in a row step the plan forward, counted afresh in each phase, once the tests
# for the next phase have counted and a day has passed since the last test or step-up: P
# reaches phase 2 at check-in 2, 3 at check-in 4 (heel raises tried on day 3) and 4 at
# check-in 7 (the stance test of day 5, taken an hour late after the restart, is not 24 h old
# at check-in 6). P tries /run on day 8, while the checks for running are still to come; check-in
# 9 resolves the episode; P takes the remaining tests on days 10-12 (day 13 confirms the last
# one's morning), then logs three runs on day 13 and one more after them.
REFUSED_RUN_AT = START + 8 * DAY + timedelta(hours=3)
AFTER_RESOLUTION = START + 10 * DAY + timedelta(hours=1)
TEST_TIMES = tuple(START + n * DAY + timedelta(hours=2) for n in (10, 11, 12, 13))
RUN_TIMES = tuple(START + 13 * DAY + timedelta(hours=h) for h in (3, 5, 7, 9))
# Q exports and deletes on day 4, after check-in 4; the bot is stopped half an hour before P's
# check-in 5 is due and started again an hour after it.
Q_LEAVES = START + 4 * DAY + timedelta(hours=3)
STOPPED_AT = START + 5 * DAY - timedelta(minutes=30)
RESTARTED_AT = START + 5 * DAY + timedelta(hours=1)


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory: pytest.TempPathFactory) -> Fortnight:
    """Run the two weeks once (about half a minute) and keep what the tests need."""
    p = ScriptedRunner(CHAT_P, P_CHECK_INS, tests=True)
    q = ScriptedRunner(CHAT_Q, Q_CHECK_INS)
    r = ScriptedRunner(CHAT_R, R_CHECK_INS, later=R_LATER, tests=True)
    runners = (p, q, r)
    runs: list[RunAttempt] = []
    with running_week(tmp_path_factory.mktemp("fortnight")) as week:
        for runner in runners:
            home_care(week, runner.chat)
        skip_replies(week, CHAT_P, CHAT_Q, CHAT_R)

        # Q takes a copy and deletes everything; P's rows must not change meanwhile.
        run_clock(week, runners, until=Q_LEAVES)
        with read_only(week) as database:
            p_id, q_id = runner_id_of(database, CHAT_P), runner_id_of(database, CHAT_Q)
            assert p_id is not None and q_id is not None
            p_rows_before, q_rows_before = rows_of(database, p_id), rows_of(database, q_id)
        (q_export,) = week.say(CHAT_Q, "/export")
        q_exported = json.loads(last_upload(week, CHAT_Q, "sendDocument"))
        (q_confirm,) = week.say(CHAT_Q, "/delete")
        (q_deleted,) = week.tap(CHAT_Q, "Yes, delete everything")
        skip_replies(week, CHAT_Q)
        q_messages_at_deletion = week.api.sent_count(CHAT_Q)
        with read_only(week) as database:
            q_rows_after, q_runner_after = rows_of(database, q_id), runner_id_of(database, CHAT_Q)
            p_rows_after = rows_of(database, p_id)

        run_clock(week, runners, until=STOPPED_AT)
        week.stop(signal.SIGTERM)
        week.clock.set(RESTARTED_AT)
        week.start()

        run_clock(week, runners, until=REFUSED_RUN_AT)
        runs.append(attempt_run(week, CHAT_P))
        skip_replies(week, CHAT_P)

        run_clock(week, runners, until=AFTER_RESOLUTION)
        (status_after_resolution,) = week.say(CHAT_P, "/status")
        skip_replies(week, CHAT_P)
        late_tests = []
        for test_time in TEST_TIMES:
            run_clock(week, runners, until=test_time)
            late_tests.append(take_self_test(week, CHAT_P))
            skip_replies(week, CHAT_P)
        for run_time in RUN_TIMES[:-1]:
            run_clock(week, runners, until=run_time)
            runs.append(attempt_run(week, CHAT_P))
            skip_replies(week, CHAT_P)
        run_clock(week, runners, until=RUN_TIMES[-1])
        run_after_resolution = attempt_run(week, CHAT_P)
        skip_replies(week, CHAT_P)

        # The rest of the fortnight, then P's chart and export.
        run_clock(week, runners, until=END)
        (chart,) = week.say(CHAT_P, "/progress")
        png = last_upload(week, CHAT_P, "sendPhoto")
        week.say(CHAT_P, "/export")
        p_exported = json.loads(last_upload(week, CHAT_P, "sendDocument"))
        with read_only(week) as database:
            runners_at_end = count_runners(database)
            q_rows_at_end = rows_of(database, q_id)
        q_messages_at_end = week.api.sent_count(CHAT_Q)
        output = week.log.read_text(errors="replace")

    return Fortnight(
        p=p,
        q=q,
        r=r,
        runs=runs,
        late_tests=late_tests,
        status_after_resolution=status_after_resolution["text"],
        run_after_resolution=run_after_resolution,
        unprompted=dict(week.unprompted),
        p_id=p_id,
        q_id=q_id,
        p_rows_before=p_rows_before,
        p_rows_after=p_rows_after,
        q_rows_before=q_rows_before,
        q_rows_after=q_rows_after,
        q_rows_at_end=q_rows_at_end,
        q_runner_after=q_runner_after,
        runners_at_end=runners_at_end,
        q_export=q_export,
        q_exported=q_exported,
        q_confirm=q_confirm["text"],
        q_deleted=q_deleted["text"],
        q_messages_at_deletion=q_messages_at_deletion,
        q_messages_at_end=q_messages_at_end,
        chart=chart,
        png=png,
        p_exported=p_exported,
        output=output,
    )


def test_p_plan_steps_forward_with_the_reason_up_to_phase_4_once_the_gate_is_open(
    fortnight: Fortnight,
) -> None:
    """Two safe days step P's plan forward, announced with the reason, and two more are needed
    in each new phase, with the self-tests each step needs and a day between tests and steps:
    phase 2 at check-in 2, phase 3 at check-in 4 (heel raises tried on day 3), phase 4 at
    check-in 8, after the hop test of day 7; at check-in 6 the stance test of day 5 is not yet
    24 h old, and the hold says so. The top phase then holds until check-in 9 resolves the
    episode."""
    p = fortnight.p
    assert sorted(p.results) == list(range(1, P_RESOLVES_AT + 1)), sorted(p.results)
    forward = [p.results[n].announced(FORWARD) for n in sorted(p.results)]
    assert forward == [[], [2], [], [3], [], [], [], [4], []], forward
    assert not any(result.announced(BACK) for result in p.results.values())
    for number in (2, 4, 8):
        (announcement,) = [t for t in p.results[number].replies if FORWARD.search(t)]
        assert f"Why: {TWO_SAFE_DAYS}" in announcement, announcement
    (held,) = [t for t in p.results[6].replies if "stays where it is" in t]
    assert "One self-test or step up a day" in held, held
    assert "Heel raises: 20 on the sore leg, 20 on the other (100 %)" in p.tests_taken[3][-1]
    assert "10 single-leg hops" in p.tests_taken[7][-1]
    assert any("/whenrun" in t for t in p.results[8].replies), p.results[8].replies
    assert p.phases()[: P_RESOLVES_AT - 1] == [1, 2, 2, 3, 3, 3, 3, 4], p.phases()


def test_p_check_ins_are_thanked_with_the_soreness_until_the_episode_resolves(
    fortnight: Fortnight,
) -> None:
    p = fortnight.p
    for number in range(1, P_RESOLVES_AT):
        first = p.results[number].replies[0]
        assert first.startswith(f"Noted: {P_CHECK_INS[number].soreness}/10"), first
    (resolved, *_) = p.results[P_RESOLVES_AT].replies
    assert resolved.startswith("Great news"), resolved


def test_p_returns_to_running_with_walk_run_step_1_twice_before_step_2(
    fortnight: Fortnight,
) -> None:
    """/run in phase 4 says what is missing until the checks for running have counted (one a
    day, the last confirmed on day 13); then step 1: a clean run (1/10, settled, no more
    swelling) holds step 1, the second moves on to step 2."""
    kinds = [(run.kind, run.step) for run in fortnight.runs]
    assert kinds == [("refused", None), ("run", 1), ("run", 1), ("run", 2)], [
        (run.kind, run.text[:80]) for run in fortnight.runs
    ]
    refused, first, second, third = fortnight.runs
    assert "Not yet: running waits for your self-tests" in refused.text, refused.text
    passed = [texts[-1] for texts in fortnight.late_tests[:3]]
    assert all(text.startswith("Settled:") for text in passed), passed
    assert "stay at step 1" in first.text, first.text
    assert "Next run: step 2" in second.text, second.text
    assert "stay at step 2" in third.text, third.text


def test_the_plan_and_the_walk_run_outlive_the_resolved_episode(fortnight: Fortnight) -> None:
    """Resolving ends the check-ins, not the plan (reference section 5: "move to the prevention
    plan"): /status still shows the assessment, resolved, in phase 4, the self-tests go on, and
    /run carries on with walk-run step 2."""
    status = fortnight.status_after_resolution
    assert "Last assessment: Home care" in status and "(resolved)" in status, status
    assert "Exercise plan: phase 4 of 4" in status, status
    run = fortnight.run_after_resolution
    assert (run.kind, run.step) == ("run", 2), run.text


def test_q_plan_steps_back_after_a_flare_and_holds_at_phase_1(fortnight: Fortnight) -> None:
    """Pain 7/10 at phase 1 leaves the plan at phase 1 with no message of a lower phase; two
    safe days step it forward to 2; pain 7/10 again steps it back to 1, with the reason."""
    q = fortnight.q
    assert sorted(q.results) == [1, 2, 3, 4], sorted(q.results)
    assert q.results[1].announced(BACK) == [] and q.results[1].announced(FORWARD) == []
    assert "Pain above 5/10 during the exercises is too much" in q.results[1].replies[0]
    assert [q.results[n].announced(FORWARD) for n in (2, 3, 4)] == [[], [2], []]
    assert q.results[4].announced(BACK) == [1], q.results[4].replies
    (step_back,) = [t for t in q.results[4].replies if BACK.search(t)]
    assert f"Why: {PAIN_ABOVE_5}" in step_back, step_back
    assert q.phases() == [1, 1, 2, 1], q.phases()


def test_p_check_ins_arrive_once_each_across_a_sigterm_restart(fortnight: Fortnight) -> None:
    """Check-ins 1-9 at 14:00 on days 1-9, each once: the one due while the bot was stopped
    arrives as soon as it is back; none after the episode resolved."""
    received = fortnight.unprompted[CHAT_P]
    check_ins = [m for m in received if kind_of(m.text) == "checkin"]
    assert [check_in_number(m.text) for m in check_ins] == list(range(1, P_RESOLVES_AT + 1))
    expected = [START + n * DAY for n in range(1, P_RESOLVES_AT + 1)]
    expected[4] = RESTARTED_AT
    assert [m.at for m in check_ins] == expected
    assert fortnight.p.unexpected == [], [m.text[:60] for m in fortnight.p.unexpected]


def test_progress_chart_and_export_match_what_p_reported(fortnight: Fortnight) -> None:
    """/progress sends a PNG whose caption gives P's first and latest soreness and the number
    of reports; /export holds the same reports, in order: the assessment's, then each
    check-in's."""
    reported = [PAIN_AT_ASSESSMENT] + [P_CHECK_INS[n].soreness for n in sorted(P_CHECK_INS)]
    assert "photo" in fortnight.chart
    assert fortnight.png.startswith(PNG_SIGNATURE)
    caption = fortnight.chart["caption"]
    summary = f"Soreness: {reported[0]}/10 at first, {reported[-1]}/10 now ({len(reported)} reports"
    assert summary in caption, caption
    exported = [row["value"] for row in fortnight.p_exported["tables"]["soreness_reports"]]
    assert exported == reported
    assert fortnight.p_exported["runner_id"] == fortnight.p_id


def test_q_delete_leaves_no_row_of_q_and_nothing_more_reaches_q(fortnight: Fortnight) -> None:
    """Q's export holds Q's data; after the confirmed /delete no table has a row of Q, P's rows
    are unchanged, and for the ten days left nothing is sent to Q."""
    assert fortnight.q_export["document"]["file_name"].endswith(".json")
    assert fortnight.q_exported["runner_id"] == fortnight.q_id
    q_soreness = [row["value"] for row in fortnight.q_exported["tables"]["soreness_reports"]]
    assert q_soreness == [PAIN_AT_ASSESSMENT] + [Q_CHECK_INS[n].soreness for n in range(1, 5)]
    assert fortnight.q_rows_before["scheduled_messages"], "Q had follow-ups to delete"
    assert "Delete everything I know about you?" in fortnight.q_confirm
    assert "everything I stored about you has been deleted" in fortnight.q_deleted

    assert {name: rows for name, rows in fortnight.q_rows_after.items() if rows} == {}
    assert fortnight.q_runner_after is None
    assert fortnight.p_rows_after == fortnight.p_rows_before
    assert fortnight.q_messages_at_end == fortnight.q_messages_at_deletion
    assert [m.text[:40] for m in fortnight.q.unexpected] == []
    assert {name: rows for name, rows in fortnight.q_rows_at_end.items() if rows} == {}
    assert fortnight.runners_at_end == 2  # P and R


def test_the_bot_logged_no_traceback_and_never_the_token(fortnight: Fortnight) -> None:
    assert TOKEN.split(":")[1] not in fortnight.output
    assert "Traceback" not in fortnight.output


def test_the_hopping_phase_waits_for_the_walking_reported_at_that_check_in(
    fortnight: Fortnight,
) -> None:
    """R walked normally at check-ins 1-5 (phase 3 at check-in 4) and says at check-in 6, the
    second safe day in phase 3, that walking hurts again: the plyometric gate is closed by that
    answer (reference section 4: anything but walking normally closes it, re-checked before
    every session), so check-in 6 must not move the plan into the hopping phase."""
    r = fortnight.r
    assert r.phases()[:5] == [1, 2, 2, 3, 3], r.phases()
    assert r.results[6].announced(FORWARD) == [], r.results[6].replies
    assert r.results[6].phase == 3
