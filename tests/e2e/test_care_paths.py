"""Three weeks of three care paths through the real bot process: advice, exercises and step-ups.

Issue 9's end-to-end check. The bot runs as `python -m bot` against the fake Bot API HTTP
server with its clock read from a file (the helpers of `tests.e2e.test_week` and
`tests.e2e.test_recovery`); the clock jumps from one due follow-up to the next, so three weeks
take well under a minute. Three runners are assessed at the same instant:

* S: a sudden outside sprain 1-2 days ago, a little swollen, limping, 4/10, every sign "No":
  home care on the sprain path.
* A: a gradual mid-portion Achilles problem (in the cord, 11 days to 6 weeks, getting better,
  no swelling, walking normally, 3/10): home care on the mid-portion Achilles path.
* B: a gradual sore spot of bone on the lower shin (front of the ankle, energy questions "No"):
  See a clinician (S2) on the bone stress path; at the "were you seen?" check B says yes and
  taps "Cleared: start my plan".

Each answers every check-in (soreness falling, better, no new sign, exercises done at 2/10,
settled by the morning) and takes `/test` after it, sends `/plan` once a day, and the module
fixture writes a day-by-day table (advice, today's exercise ids, plan phase, step-ups and holds)
to its tmp dir and prints it (`pytest -s` shows it). The tests check the table against the
flows' own rules (`flows.checks`, `flows.path_plans`, `flows.rules`), not hand numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.checks import CHECK_SPACING, LOADING_BEFORE_HOPS, hop_checks
from flows.exercise_library import exercises
from flows.path_plans import plan_for
from flows.rules import see_within
from flows.types import CarePath, Check, Phase, SeeWithin
from tests.e2e.test_recovery import (
    BACK,
    FORWARD,
    LIMPING,
    WALKING_NORMALLY,
    CheckInReply,
    ScriptedRunner,
    next_due,
    skip_replies,
)
from tests.e2e.test_week import (
    DAYTIME,
    START,
    TOKEN,
    Received,
    Week,
    check_in_number,
    kind_of,
    running_week,
)

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)
DAYS = 21
# /plan is asked each day a few hours after the day's check-in (due at START's time of day).
PLAN_AT = timedelta(hours=4)
CHAT_S, CHAT_A, CHAT_B = 8301, 8302, 8303

# The triage, by button label: a question whose buttons include one of `labels` gets it; a
# question whose text holds a key of `by_question` gets that answer; any other gets its "no".
NO_LABELS = ("No", "No / not for me", "Yes, I can", "None of these")
SPRAIN_LABELS = (
    "Outside of the ankle",
    "Suddenly: twist or fall",
    "1-2 days ago",
    "A little swollen",
    LIMPING,
    "4",
)
ACHILLES_LABELS = (
    "Back of ankle, Achilles",
    "Gradually, over runs",
    "In the cord, above heel",
    "11 days to 6 weeks ago",
    "Getting better",
    "No swelling",
    WALKING_NORMALLY,
    "3",
)
BONE_LABELS = (
    "Front of the ankle",
    "Gradually, over runs",
    "11 days to 6 weeks ago",
    "Getting better",
    "No swelling",
    LIMPING,
    "3",
    "Lower shin",
)
BONE_SPOT_QUESTION = "Is there one spot of bone that hurts"
OUTCOMES = ("Home care", "See a clinician", "Emergency")

SEEN_YES = "Yes, I've been seen"
CLEARED = "Cleared: start my plan"

PHASE_OF_SESSION = re.compile(r"Today's exercises \(phase (\d) of 4")
HELD = "stays where it is"


def check_ins(soreness: tuple[int, ...], *, limp_until: int = 0) -> dict[int, CheckInReply]:
    """One reply per check-in: the given soreness, "Better", limping up to check-in
    `limp_until`, exercises at 2/10."""
    return {
        n: CheckInReply(sore, "Better", LIMPING if n <= limp_until else WALKING_NORMALLY, 2)
        for n, sore in enumerate(soreness, start=1)
    }


# Soreness falls from the assessment's; 0-1/10 three times in a row resolves the episode (the
# check-ins end, the plan goes on), so each plan ends at 1/10 late enough to see the steps.
S_PLAN = check_ins((3, 3, 2, 2, 2, 2, 2, 1, 1, 1), limp_until=2)
A_PLAN = check_ins((3, 2, 2, 2, 2, 2, 2, 1, 1, 1))
B_PLAN = check_ins((2, 2, 2, 2, 2, 2, 2, 1, 1, 1), limp_until=2)


@dataclass
class PathRunner(ScriptedRunner):
    """A scripted runner who also answers the "were you seen?" check: seen, and cleared."""

    name: str = ""
    path: CarePath = CarePath.SPRAIN
    labels: tuple[str, ...] = ()
    bone_spot: bool = False  # the "one spot of bone" question answered "Yes"
    assessment: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    cleared_at: datetime | None = None

    def on_message(self, week: Week, message: Received) -> None:
        if message.text.startswith("Checking in: have you been seen"):
            week.tap(self.chat, SEEN_YES, message_id=message.message_id)
            self.cleared = [m.get("text", "") for m in week.tap(self.chat, CLEARED, expect=4)]
            self.cleared_at = week.clock.now
            return
        super().on_message(week, message)


@dataclass
class Row:
    """One runner's day: the advice of the first days, today's /plan, and the plan's news."""

    day: int
    advice: str = ""
    exercises: tuple[str, ...] = ()
    phase: int | None = None
    news: list[str] = field(default_factory=list)
    ups: list[int] = field(default_factory=list)  # the phases the plan stepped forward to
    tests: list[str] = field(default_factory=list)

    def line(self) -> str:
        ids = ",".join(self.exercises) or "-"
        news = "; ".join(self.news + self.tests)
        line = f"{self.day:>3} | {self.phase or '-'} | {ids:<58} | {self.advice[:48]:<48} | {news}"
        return line.replace("\n", " ")


@dataclass
class CarePaths:
    """What the three weeks produced, gathered once for the tests below."""

    runners: dict[str, PathRunner]
    table: dict[str, list[Row]]
    day_zero: dict[str, list[str]]
    whenrun_b: str
    hop_a: str
    unprompted: dict[int, list[Received]]
    table_file: Path
    output: str


def run_clock_together(week: Week, runners: tuple[PathRunner, ...], *, until: datetime) -> None:
    """`test_recovery.run_clock`, with the runners answering what arrived at the same time
    side by side (one thread each, each in their own chat): three weeks of three runners
    would otherwise take well over a minute."""
    while True:
        week.settle()
        arrived = {runner.chat: week.collect(runner.chat) for runner in runners}
        for runner in runners:
            week.unprompted[runner.chat].extend(arrived[runner.chat])

        def answer(runner: PathRunner, messages: list[Received]) -> None:
            for message in messages:
                runner.on_message(week, message)

        with ThreadPoolExecutor(len(runners)) as pool:
            # list(): a runner's failure is raised here.
            list(pool.map(answer, runners, [arrived[runner.chat] for runner in runners]))
        for runner in runners:
            week.collect(runner.chat)  # the replies to those answers
        if week.clock.now >= until:
            return
        # settle() leaves nothing due by now, so `due` is later; the minute is a safety margin.
        due = next_due(week) or until
        week.clock.set(min(max(due, week.clock.now + timedelta(minutes=1)), until))


def assess(week: Week, runner: PathRunner) -> list[str]:
    """/new, answered by `runner.labels` (else "no"), up to the outcome; the texts from the
    outcome on, then those its What to do button sends (how to be seen, when a clinician
    should see the runner; the first days' care; pain relief)."""
    (message,) = week.say(runner.chat, "/new")
    pending = list(runner.labels)
    for _ in range(60):
        labels = {label for row in week.api.buttons(message) for label, _data in row}
        if BONE_SPOT_QUESTION in message.get("text", ""):
            choice = "Yes" if runner.bone_spot else "No"
        else:
            choice = next((label for label in pending if label in labels), None)
            if choice is not None:
                pending.remove(choice)
            else:
                choice = next((label for label in NO_LABELS if label in labels), None)
                assert choice is not None, (runner.name, message.get("text", "")[:200], labels)
        sent = week.tap(runner.chat, choice)
        texts = [m.get("text", "") for m in sent]
        outcome = next((i for i, t in enumerate(texts) if t.startswith(OUTCOMES)), None)
        if outcome is not None:
            assert not pending, (runner.name, pending)
            waiting = texts[outcome].startswith("See a clinician")
            details = week.tap(runner.chat, "What to do", expect=3 if waiting else 2)
            return texts[outcome:] + [m.get("text", "") for m in details]
        message = sent[-1]
    pytest.fail(f"{runner.name}'s triage did not end")


# Library names, longest first, so "Resistance band: turning the foot in" wins over a shorter
# name that the same line starts with.
_NAMES = sorted(((e.name, e.id) for e in exercises()), key=lambda pair: -len(pair[0]))


def exercise_ids(session: str) -> tuple[str, ...]:
    """The ids of the exercises a session lists ("1. Ankle alphabet: 1-2 alphabets ...")."""
    found = []
    for line in session.splitlines():
        match = re.match(r"(\d+)\. (.*)", line)
        if match is None:
            continue
        ids = [i for name, i in _NAMES if match.group(2).startswith(f"{name}: ")]
        assert ids, f"an exercise the library does not name: {line!r}"
        found.append(ids[0])
    return tuple(found)


def read_plan(week: Week, chat: int, row: Row) -> None:
    """/plan: today's exercise ids and phase into the row ("no plan" leaves them empty)."""
    texts = [m.get("text", "") for m in week.say(chat, "/plan")]
    session = next((t for t in texts if t.startswith("Today's exercises")), None)
    if session is None:
        row.news.append(f"/plan: {texts[0].splitlines()[0][:50]}")
        return
    row.exercises = exercise_ids(session)
    row.phase = int(PHASE_OF_SESSION.search(session).group(1))  # type: ignore[union-attr]


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def advice_of(texts: list[str]) -> str:
    """The first line of the first-days advice among an outcome's messages (the message
    before pain relief)."""
    relief = next((i for i, t in enumerate(texts) if t.startswith("Pain relief")), None)
    assert relief, texts
    lines = [line for line in texts[relief - 1].splitlines() if line.strip()]
    if lines[0].startswith("Until you are seen"):
        return f"{lines[0]} / {lines[1]}"
    return lines[0]


def news_of(runner: PathRunner, numbers: list[int]) -> list[str]:
    """Step-ups, step-backs and holds the check-ins `numbers` announced."""
    news = []
    for number in numbers:
        result = runner.results[number]
        news += [f"c{number}: up to {p}" for p in result.announced(FORWARD)]
        news += [f"c{number}: back to {p}" for p in result.announced(BACK)]
        for text in result.replies:
            if HELD in text:
                news.append(f"c{number}: held ({' '.join(text.splitlines()[1:3])[:90]})")
    return news


def self_tests_of(runner: PathRunner, numbers: list[int]) -> list[str]:
    taken = []
    for number in numbers:
        texts = runner.tests_taken.get(number, [])
        # A /test that only confirmed the last test's morning ("No new self-test yet") or
        # found none due is not a test taken.
        if (
            texts
            and not texts[0].startswith("No self-test is due")
            and not (texts[-1].startswith("No new self-test"))
        ):
            taken.append(f"c{number} test: {first_line(texts[-1])[:60]}")
    return taken


@pytest.fixture(scope="module")
def care_paths(tmp_path_factory: pytest.TempPathFactory) -> CarePaths:
    """Play the three weeks once and keep the table and what the tests need."""
    s = PathRunner(CHAT_S, S_PLAN, tests=True, name="S", path=CarePath.SPRAIN, labels=SPRAIN_LABELS)
    a = PathRunner(
        CHAT_A, A_PLAN, tests=True, name="A", path=CarePath.ACHILLES_MID, labels=ACHILLES_LABELS
    )
    b = PathRunner(
        CHAT_B,
        B_PLAN,
        tests=True,
        name="B",
        path=CarePath.BONE_STRESS,
        labels=BONE_LABELS,
        bone_spot=True,
    )
    runners = (s, a, b)
    table: dict[str, list[Row]] = {r.name: [] for r in runners}
    day_zero: dict[str, list[str]] = {}
    tmp = tmp_path_factory.mktemp("care_paths")
    with running_week(tmp) as week:
        for runner in runners:
            runner.assessment = assess(week, runner)
            day_zero[runner.name] = runner.assessment
        skip_replies(week, *(r.chat for r in runners))
        seen: dict[str, int] = {r.name: 0 for r in runners}
        whenrun_b = hop_a = ""
        for day in range(DAYS + 1):
            run_clock_together(
                week, runners, until=START + day * DAY + (PLAN_AT if day else timedelta())
            )
            for runner in runners:
                row = Row(day)
                if day == 0:
                    row.advice = advice_of(runner.assessment)
                if (
                    runner.cleared
                    and runner.cleared_at is not None
                    and not any("cleared" in n for r in table[runner.name] for n in r.news)
                ):
                    row.advice = advice_of(runner.cleared)
                    row.news.append("cleared: home plan starts")
                read_plan(week, runner.chat, row)
                numbers = sorted(runner.results)[seen[runner.name] :]
                seen[runner.name] = len(runner.results)
                row.news += news_of(runner, numbers)
                row.ups = [p for n in numbers for p in runner.results[n].announced(FORWARD)]
                row.tests = self_tests_of(runner, numbers)
                table[runner.name].append(row)
            if b.cleared and not whenrun_b:
                (reply,) = week.say(CHAT_B, "/whenrun")
                whenrun_b = reply.get("text", "")
            if day == DAYS:
                (reply,) = week.say(CHAT_A, "/hop")
                hop_a = reply.get("text", "")
            skip_replies(week, *(r.chat for r in runners))
        output = week.log.read_text(errors="replace")

    lines = []
    for runner in runners:
        lines.append(
            f"\n{runner.name} ({runner.path.value}): day | phase | exercises | advice | news"
        )
        lines += [row.line() for row in table[runner.name]]
    table_file = tmp / "care_paths_table.txt"
    table_file.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return CarePaths(
        runners={r.name: r for r in runners},
        table=table,
        day_zero=day_zero,
        whenrun_b=whenrun_b,
        hop_a=hop_a,
        unprompted=dict(week.unprompted),
        table_file=table_file,
        output=output,
    )


def hops_in(row: Row) -> list[str]:
    plyometric = {e.id for e in exercises() if e.plyometric}
    return [i for i in row.exercises if i in plyometric]


def test_the_table_is_written_and_lists_every_day_of_every_runner(care_paths: CarePaths) -> None:
    text = care_paths.table_file.read_text()
    for name, rows in care_paths.table.items():
        assert [row.day for row in rows] == list(range(DAYS + 1)), name
        assert f"\n{name} (" in text
    days = [line for line in text.splitlines() if re.match(r" *\d+ \|", line)]
    assert len(days) == 3 * (DAYS + 1), text


def test_s_sprain_starts_at_mobility_with_peace_and_love_and_hops_only_after_the_checks(
    care_paths: CarePaths,
) -> None:
    """Day 0: phase 1, no hops, the PEACE/LOVE first days. Self-tests and step-ups come one a
    day (check-ins come a day apart, so at least 24 h apart); the balance phase only after
    the heel-raise test, the hopping phase only after the checks flows.checks asks for
    hopping; so hops come no earlier than one day per check and per step after the first
    step, never before the hopping phase, nor in the first 72 h after a sudden injury."""
    rows = care_paths.table["S"]
    assert rows[0].phase == Phase.MOBILITY and not hops_in(rows[0]), rows[0]
    assert rows[0].advice == "The first 2-3 days: protect it, then load it", rows[0].advice
    assert "Avoid anti-inflammatory tablets" in care_paths.day_zero["S"][1]

    ups = up_days(rows)
    assert [phase for _day, phase in ups] == [2, 3, 4], ups
    test_days = [row.day for row in rows if row.tests]
    assert not {day for day, _phase in ups} & set(test_days), (ups, test_days)
    assert CHECK_SPACING <= DAY  # so one a day, a check-in apart, keeps the 24 h
    to_balance = next(day for day, phase in ups if phase == Phase.BALANCE)
    to_hops = next(day for day, phase in ups if phase == Phase.PLYOMETRIC)
    assert "Heel raises" in results_before(rows, to_balance)
    passed = results_before(rows, to_hops)
    assert set(hop_checks(CarePath.SPRAIN)) == {Check.HEEL_RAISES, Check.STANCE, Check.HOPS}
    assert "(100 %)" in passed and "Passed: standing on the sore leg for 30 seconds" in passed
    assert "Passed: 10 single-leg hops" in passed
    least = len(hop_checks(CarePath.SPRAIN)) + Phase.PLYOMETRIC - Phase.STRENGTH
    assert to_hops - ups[0][0] >= least, ups

    hop_days = [row.day for row in rows if hops_in(row)]
    assert hop_days, "S never reached the hops in three weeks"
    assert hop_days[0] >= 3  # the gate stays shut for 72 h after a sudden injury
    assert hop_days[0] == to_hops, (hop_days, ups)
    assert all(rows[day].phase == Phase.PLYOMETRIC for day in hop_days)


def up_days(rows: list[Row]) -> list[tuple[int, int]]:
    """(day, phase) of every step forward the check-ins announced."""
    return [(row.day, phase) for row in rows for phase in row.ups]


def results_before(rows: list[Row], day: int) -> str:
    """The results of the self-tests taken before `day`, as one text."""
    return " ".join(test for row in rows[:day] for test in row.tests)


def test_a_achilles_starts_at_strength_with_heel_drops_may_keep_running_hops_come_late(
    care_paths: CarePaths,
) -> None:
    """Day 0: the strength phase led by eccentric heel drops, no hops; the first days say
    running may go on within the pain limits. Tendon plyometrics come late: not before 6 weeks
    of loading (flows.checks.LOADING_BEFORE_HOPS), so never in these three weeks, and /hop
    says from when."""
    rows = care_paths.table["A"]
    assert rows[0].phase == Phase.STRENGTH, rows[0]
    assert rows[0].exercises[0] == "heel_drops", rows[0].exercises
    assert plan_for(CarePath.ACHILLES_MID).leads[0] == "heel_drops"
    assert not hops_in(rows[0])
    assert rows[0].advice == "An overloaded tendon: keep loading it, within limits", rows[0]
    assert "Running can go on if the pain stays at 5/10 or less" in care_paths.day_zero["A"][1]
    assert timedelta(days=len(rows)) < LOADING_BEFORE_HOPS
    assert not [row.day for row in rows if hops_in(row)]
    assert all(row.phase <= Phase.BALANCE for row in rows if row.phase is not None)
    assert "Not yet" in care_paths.hop_a, care_paths.hop_a
    assert "6 weeks" in care_paths.hop_a, care_paths.hop_a


def test_b_bone_sees_a_clinician_then_a_gentle_plan_and_runs_only_at_0_of_10(
    care_paths: CarePaths,
) -> None:
    """Day 0: See a clinician as soon as S2 says, the bone advice (no running, protect and
    offload) and no exercise session. After the clearance: phase 1 with no impact and none of
    the bone-loading exercises; /whenrun says running waits for 0/10 at the bone."""
    b = care_paths.runners["B"]
    rows = care_paths.table["B"]
    outcome = care_paths.day_zero["B"][0]
    # A low-risk site (S2 without S2H): within a few days, as flows.rules says.
    assert see_within(("S2",)) is SeeWithin.FEW_DAYS
    assert first_line(outcome) == (
        "See a clinician in the next 1-3 days: a doctor or physiotherapist."
    ), outcome
    assert rows[0].advice.startswith("Until you are seen: no running."), rows[0].advice
    assert "A possible bone stress injury: protect the bone" in rows[0].advice
    bone = next(t for t in care_paths.day_zero["B"] if "protect the bone" in t)
    assert "Stop running and jumping" in bone and "No impact" in bone, bone
    assert not any(t.startswith("Today's exercises") for t in care_paths.day_zero["B"])
    assert rows[0].exercises == () and rows[0].phase is None, rows[0]

    assert b.cleared_at is not None and b.cleared[0].startswith("Your home plan starts today")
    cleared_day = (b.cleared_at - START) // DAY
    assert all(row.exercises == () for row in rows[:cleared_day]), rows[:cleared_day]
    after = rows[cleared_day:]
    assert after[0].phase == Phase.MOBILITY and after[0].exercises, after[0]
    assert after[0].advice.startswith("A possible bone stress injury"), after[0].advice
    excluded = plan_for(CarePath.BONE_STRESS).excluded
    for row in after:
        assert row.exercises, row
        assert not hops_in(row), row
        assert not set(row.exercises) & excluded, row
    assert "Not yet: running waits for your self-tests." in care_paths.whenrun_b
    assert "running starts only when the bone is pain-free (0/10)" in care_paths.whenrun_b


def test_no_message_twice_every_follow_up_in_daytime_and_no_traceback(
    care_paths: CarePaths,
) -> None:
    for runner in care_paths.runners.values():
        received = care_paths.unprompted[runner.chat]
        assert received, runner.name
        repeats = Counter((m.at, m.text) for m in received)
        assert max(repeats.values()) == 1, runner.name
        texts = Counter(m.text for m in received)
        assert max(texts.values()) == 1, [t[:60] for t, n in texts.items() if n > 1]
        numbers = [check_in_number(m.text) for m in received if kind_of(m.text) == "checkin"]
        assert numbers == list(range(1, len(numbers) + 1)), (runner.name, numbers)
        assert numbers, runner.name
        for message in received:
            # No time zone was set: the runner's day is UTC's.
            local = message.at.astimezone(UTC).time()
            assert DAYTIME[0] <= local <= DAYTIME[1], (runner.name, message.at, message.text[:40])
        assert runner.unexpected == [], [m.text[:60] for m in runner.unexpected]
    assert TOKEN.split(":")[1] not in care_paths.output
    assert "Traceback" not in care_paths.output
