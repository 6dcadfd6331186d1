"""Forged button data through the real bot: a runner can send any callback data, so check-ins,
seen-checks and exercise logs are taken only for messages the bot really sent them for their
current episode, and days a reminder could have been for. Anything else is answered with the
"already answered" note and leaves the database as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.models import CheckInRecord, Episode, ExerciseLog, ScheduledMessage
from tests.bot.harness import FakeClock, Harness, home_care, running_bot

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
EMERGENCY_TAPS = [
    "None of these",
]
ALREADY_ANSWERED = "already been answered"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


async def run_due(h: Harness, at: datetime) -> int:
    return await h.run_due(at)


async def press(h: Harness, chat: int, data: str) -> str:
    """Send `data` as if pressed under the bot's latest message; the one reply's text."""
    before = len(h.api.sent_to(chat))
    latest = h.api.sent_to(chat)[-1]
    h.api.user_presses(chat, latest["message_id"], data, require_button=False)
    (reply,) = (await h.api.wait_for_sent(chat, before + 1))[before:]
    await h.settle()
    return reply["text"]


def message_id(h: Harness, kind: str) -> int:
    return h.db.run_sync(
        lambda s: s.scalar(
            select(func.max(ScheduledMessage.id)).where(ScheduledMessage.kind == kind)
        )
    )


def counts(h: Harness) -> tuple[list[str], int, int]:
    """The episodes' statuses, and how many check-ins and exercise days are stored."""

    def query(session):
        statuses = list(session.scalars(select(Episode.status).order_by(Episode.id)))
        check_ins = session.scalar(select(func.count()).select_from(CheckInRecord))
        days = session.scalar(select(func.count()).select_from(ExerciseLog))
        return statuses, check_ins, days

    return h.db.run_sync(query)


async def test_forged_seen_checks_and_check_ins_leave_an_emergency_open(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await h.say("/new", 1)
        for label in EMERGENCY_TAPS:
            await h.tap(label, 1)
        await h.tap("No, I can't take 4 steps", 1)
        pending = message_id(h, "seen_check")  # scheduled, not sent yet
        for data in (f"s1:{pending}:y", "s1:999:y", "s1:1:n", f"k1:{pending}:3", "k1:999:0"):
            assert ALREADY_ANSWERED in await press(h, 1, data), data
        assert counts(h) == (["active"], 0, 0)
        # The seen-check the bot really sends is answered, once.
        assert await run_due(h, START + timedelta(hours=24, minutes=1)) == 1
        (reply,) = await h.tap("Yes, I've been seen", 1)
        assert "Follow the advice" in reply["text"]
        # Open for a clearance (/cleared) until a new assessment; the answer is recorded once.
        assert counts(h) == (["active"], 1, 0)
        (again,) = await h.tap("Yes, I've been seen", 1)
        assert ALREADY_ANSWERED in again["text"]
        assert counts(h) == (["active"], 1, 0)


async def test_an_earlier_episodes_check_in_cannot_start_on_an_emergency(url: str) -> None:
    """The probe: a home-care check-in still on screen, then a new assessment ends in an
    emergency; the old check-in's buttons start nothing."""
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 2)
        assert await run_due(h, START + timedelta(hours=24, minutes=1)) == 1
        await h.say("/new", 2)
        for label in EMERGENCY_TAPS:
            await h.tap(label, 2)
        await h.tap("No, I can't take 4 steps", 2)
        (stale,) = await h.tap("3", 2)  # the real button of the earlier check-in
        assert ALREADY_ANSWERED in stale["text"]
        assert counts(h) == (["closed", "active"], 0, 0)


async def test_a_forged_exercise_date_is_not_stored_and_progress_still_works(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 3)
        # Far off, before the episode, and beyond tomorrow: stale.
        for data in ("x1:99991231:d", "x1:20261101:s", "x1:20261201:t"):
            assert ALREADY_ANSWERED in await press(h, 3, data), data
        # Not a date as buttons write one, or no date at all: unreadable.
        for data in ("x1:2026-11-21:d", "x1:00000101:d"):
            assert "couldn't read that button" in await press(h, 3, data), data
        assert counts(h)[2] == 0
        assert "logged" in (await press(h, 3, "x1:20261121:d")).lower()
        assert counts(h)[2] == 1
        (chart,) = await h.say("/progress", 3)
        assert "photo" in chart


async def test_the_check_in_really_sent_still_starts_after_forged_ones(url: str) -> None:
    async with running_bot(url, clock=FakeClock(START)) as h:
        await home_care(h, 4)
        assert await run_due(h, START + timedelta(hours=24, minutes=1)) == 1
        sent = message_id(h, "checkin")
        for data in (f"k1:{sent + 1}:3", f"s1:{sent}:y"):
            assert ALREADY_ANSWERED in await press(h, 4, data), data
        (trend,) = await h.tap("3", 4)
        assert "Compared with last time" in trend["text"]
