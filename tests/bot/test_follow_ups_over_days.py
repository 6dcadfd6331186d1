"""Follow-ups through the real bot: a fake clock moves through the days, the scheduler sends
what is due, runners answer with buttons, and the database keeps it all across restarts.

Each scheduler pass uses the same compose, store and Bot API path as production; only the
clock and Telegram's HTTP layer are fake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db.models import ScheduledMessage
from fakebotapi import FakeBotApi
from tests.bot.harness import FakeClock, Harness, button_labels, home_care, running_bot
from tests.scripts import GRADUAL_NOS

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


async def run_due(h: Harness, at: datetime) -> int:
    """Move the clock to `at` and let one scheduler pass send what is due."""
    return await h.run_due(at)


def scheduled(h: Harness) -> list[tuple[str, str, datetime]]:
    def query(session):
        rows = session.query(ScheduledMessage).order_by(ScheduledMessage.due_at).all()
        return [(r.kind, r.state, r.due_at) for r in rows]

    return h.db.run_sync(query)


async def test_home_care_gets_check_ins_at_24_48_72_hours_then_daily(url: str) -> None:
    clock = FakeClock(START)
    async with running_bot(url, clock=clock) as h:
        await home_care(h, 1)
        assert [(k, s) for k, s, _ in scheduled(h)] == [("checkin", "pending")]
        assert await run_due(h, START + timedelta(hours=23)) == 0
        sent_at = []
        for hours in (24, 48, 72, 96):
            before = len(h.api.sent_to(1))
            assert await run_due(h, START + timedelta(hours=hours, minutes=1)) == 1
            message = h.api.sent_to(1)[before]
            assert message["text"].startswith("Check-in")
            sent_at.append(hours)
            # The runner answers: soreness 3, same, no new signs, exercises done, pain 2, settled.
            await h.tap("3", 1)
            for label in (
                "About the same",
                "None of these",
                "Yes, without pain",
                "Yes, all of them",
                "2",
            ):
                await h.tap(label, 1)
            before = len(h.api.sent_to(1))
            await h.tap("Settled by morning", 1)
            await h.settle()
            # Thanks first; two good days in a row also step the plan forward (with the self-test
            # it opens) or say what holds it, announced next.
            thanks, *plan_news = h.api.sent_to(1)[before:]
            assert thanks["text"].startswith("Noted: 3/10")
            news = ("Your plan steps forward", "New: a self-test", "Two good days, but")
            assert all(m["text"].startswith(news) for m in plan_news)
        kinds = [(k, s) for k, s, _ in scheduled(h)]
        assert kinds.count(("checkin", "sent")) == 4
        assert kinds.count(("checkin", "pending")) == 1


async def test_two_unanswered_check_ins_bring_one_safety_net_then_silence(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 2)
        for hours in (24, 48):
            assert await run_due(h, START + timedelta(hours=hours, minutes=1)) == 1
        before = len(h.api.sent_to(2))
        assert await run_due(h, START + timedelta(hours=72, minutes=1)) == 1
        (net,) = h.api.sent_to(2)[before:]
        assert "stop nudging" in net["text"]
        for day in range(4, 8):
            assert await run_due(h, START + timedelta(days=day, hours=1)) == 0
        assert len(h.api.sent_to(2)) == before + 1
        # The runner writes again: check-ins come back the next day.
        await h.say("2/10", 2)
        assert await run_due(h, START + timedelta(days=8, hours=2)) == 1
        # Numbered after the three sent before (the third became the safety net).
        assert h.api.sent_to(2)[-1]["text"].startswith("Check-in 4:")


async def test_a_new_warning_sign_at_a_check_in_re_triages_at_once(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 3)
        await run_due(h, START + timedelta(hours=24, minutes=1))
        await h.tap("6", 3)
        await h.tap("Worse", 3)
        await h.tap("Yes, at least one", 3)
        escalated, emergency = await h.tap("No, I can't take 4 steps", 3, expect=2)
        assert "changes my advice" in escalated["text"]
        assert emergency["text"].startswith("Emergency")
        kinds = {(k, s) for k, s, _ in scheduled(h)}
        assert ("seen_check", "pending") in kinds
        assert ("checkin", "pending") not in kinds


async def test_see_clinician_gets_a_seen_check_and_not_yet_repeats_the_advice(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await h.say("/new", 4)
        for label in [
            "None of these",
            "Yes, without pain",
            "Back of ankle, Achilles",
            "Gradually, over runs",
            "In the cord, above heel",
            "More than 6 weeks ago",
            "About the same",
            "No swelling",
            "3",
        ]:
            await h.tap(label, 4)
        for _ in range(GRADUAL_NOS - 1):
            await h.tap("No", 4)
        await h.tap("No", 4)
        assert await run_due(h, START + timedelta(hours=47)) == 0
        assert await run_due(h, START + timedelta(hours=48, minutes=1)) == 1
        assert "have you been seen" in h.api.sent_to(4)[-1]["text"]
        _again, advice = await h.tap("Not yet", 4, expect=2)
        assert advice["text"].startswith("See a clinician")
        before = len(h.api.sent_to(4))
        h.api.user_taps(4, "Not yet")
        await h.settle()
        assert "already been answered" in h.api.sent_to(4)[-1]["text"]
        assert len(h.api.sent_to(4)) == before + 1


async def test_daily_reminder_at_local_time_with_done_skipped_too_sore(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 5)
        (_intro, zone_q) = await h.say("/reminders", 5, expect=2)
        assert any(
            label.startswith("UTC-5 (New York") for row in button_labels(zone_q) for label in row
        )
        await h.tap(
            next(
                label for row in button_labels(zone_q) for label in row if label.startswith("UTC-5")
            ),
            5,
        )
        await h.tap("New York", 5)
        (saved,) = await h.say("7:30", 5)
        assert "every day at 07:30" in saved["text"]
        # 07:30 in New York on 22 Nov is 12:30 UTC (the first check-in is due earlier).
        await run_due(h, datetime(2026, 11, 22, 12, 29, tzinfo=UTC))
        assert not any(m["text"].startswith("Time for") for m in h.api.sent_to(5))
        before = len(h.api.sent_to(5))
        assert await run_due(h, datetime(2026, 11, 22, 12, 31, tzinfo=UTC)) >= 1
        texts = [m["text"] for m in h.api.sent_to(5)[before:]]
        assert any(t.startswith("Time for today's ankle exercises") for t in texts)
        (logged,) = await h.tap("😣 Too sore", 5)
        assert "too sore" in logged["text"]
        reminders = [d for k, s, d in scheduled(h) if k == "reminder" and s == "pending"]
        assert reminders == [datetime(2026, 11, 23, 12, 30, tzinfo=UTC)]


async def test_yesterdays_reminder_is_dropped_after_downtime_not_sent_late(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 6)
        await h.say("/reminders", 6, expect=2)
        await h.say("London", 6)
        await h.say("08:00", 6)
        # The bot was down for two days; the reminder for 22 Nov is a day late.
        before = len(h.api.sent_to(6))
        await run_due(h, datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
        texts = [m["text"] for m in h.api.sent_to(6)[before:]]
        assert not any(t.startswith("Time for today's") for t in texts)
        states = {(k, s) for k, s, _ in scheduled(h) if k == "reminder"}
        assert ("reminder", "dropped") in states and ("reminder", "pending") in states


async def test_pause_resume_and_stop_control_what_is_sent(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 8)
        await h.say("/reminders", 8, expect=2)
        await h.say("London", 8)
        await h.say("08:00", 8)
        await h.say("/pause", 8)
        assert ("reminder", "pending") not in {(k, s) for k, s, _ in scheduled(h)}
        await h.say("/resume", 8)
        assert ("reminder", "pending") in {(k, s) for k, s, _ in scheduled(h)}
        await h.say("/stop", 8)
        assert {s for _, s, _ in scheduled(h)} <= {"cancelled", "sent", "dropped"}
        assert await run_due(h, START + timedelta(days=3)) == 0


async def test_status_shows_the_disposition_and_what_comes_next(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 9)
        (status,) = await h.say("/status", 9)
        assert "Last assessment: Home care" in status["text"]
        assert "check-in" in status["text"]
        assert "4/10" in status["text"]


async def test_a_blocked_runner_stops_being_scheduled(url: str) -> None:
    api = FakeBotApi()
    async with running_bot(url, api=api, clock=FakeClock(START)) as h:
        await home_care(h, 10)
        api.user_blocks_bot(10)
        await run_due(h, START + timedelta(hours=25))
        assert ("checkin", "pending") not in {(k, s) for k, s, _ in scheduled(h)}


async def test_every_due_message_is_sent_once_across_a_restart(url: str) -> None:
    api = FakeBotApi()
    clock = FakeClock(START)
    async with running_bot(url, api=api, clock=clock) as h:
        for chat in (11, 12, 13):
            await home_care(h, chat)
    async with running_bot(url, api=api, clock=clock) as h:
        assert await run_due(h, START + timedelta(hours=25)) == 3
        assert await run_due(h, START + timedelta(hours=25, minutes=5)) == 0
    async with running_bot(url, api=api, clock=clock) as h:
        assert await run_due(h, START + timedelta(hours=26)) == 0
        for chat in (11, 12, 13):
            checkins = [m for m in api.sent_to(chat) if m["text"].startswith("Check-in")]
            assert len(checkins) == 1


async def test_emergency_gets_a_seen_check_after_24_hours_and_yes_closes_it(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await h.say("/new", 14)
        for label in [
            "None of these",
        ]:
            await h.tap(label, 14)
        (emergency,) = await h.tap("No, I can't take 4 steps", 14)
        assert emergency["text"].startswith("Emergency")
        assert await run_due(h, START + timedelta(hours=23)) == 0
        assert await run_due(h, START + timedelta(hours=24, minutes=1)) == 1
        assert "have you been seen" in h.api.sent_to(14)[-1]["text"]
        (reply,) = await h.tap("Yes, I've been seen", 14)
        assert "Follow the advice" in reply["text"]
        assert ("checkin", "pending") not in {(k, s) for k, s, _ in scheduled(h)}


async def test_after_the_safety_net_reminders_wait_until_the_runner_writes_again(url: str) -> None:
    """The safety net is itself a check-in message, so the runner's unanswered count shows it
    went out: the reminders after it are dropped, yet their chain goes on and they come back
    once the runner writes."""

    def reminders_sent(h: Harness, before: int) -> int:
        texts = [m["text"] for m in h.api.sent_to(9)[before:]]
        return sum(t.startswith("Time for today's ankle exercises") for t in texts)

    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 9)
        await h.say("/reminders", 9, expect=2)
        await h.say("London", 9)
        await h.say("08:00", 9)
        # Reminders at 08:00 and check-ins at 10:00 (UTC, which is London in November).
        for day in (22, 23, 24):
            before = len(h.api.sent_to(9))
            await run_due(h, datetime(2026, 11, day, 8, 1, tzinfo=UTC))
            assert reminders_sent(h, before) == 1
            await run_due(h, datetime(2026, 11, day, 10, 1, tzinfo=UTC))
        assert "stop nudging" in h.api.sent_to(9)[-1]["text"]
        before = len(h.api.sent_to(9))
        for day in (25, 26, 27):
            await run_due(h, datetime(2026, 11, day, 8, 1, tzinfo=UTC))
        assert len(h.api.sent_to(9)) == before
        reminders = [(s, d) for k, s, d in scheduled(h) if k == "reminder"]
        assert [s for s, _ in reminders[-4:-1]] == ["dropped"] * 3
        assert reminders[-1] == ("pending", datetime(2026, 11, 28, 8, tzinfo=UTC))
        await h.say("2/10", 9)
        before = len(h.api.sent_to(9))
        await run_due(h, datetime(2026, 11, 28, 8, 1, tzinfo=UTC))
        assert reminders_sent(h, before) == 1
        assert ("checkin", "pending") in {(k, s) for k, s, _ in scheduled(h)}
