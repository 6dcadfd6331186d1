"""The terminal chat plays the same flows, templates, database and scheduler as the bot.

Scripted conversations are piped in, as `python -m bot chat < script` would read them, and must
reach each disposition; the state is kept in the database between runs. `/later` moves the
terminal's clock, and the check-ins and reminders due meanwhile arrive through the scheduler and
the outbox, at their time.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import OffsetClock
from bot.console import parse_span, plain_text, run_console
from bot.db import schedule_store, store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import MessageState, ScheduledMessage
from flows.effects import ScheduleMessage
from flows.local_time import FollowUpKind
from tests.bot.runners import make_runner
from tests.scripts import GRADUAL_NOS, SPRAIN_NOS

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

# Numbers pick the listed choice (for the pain score, the number itself); words are typed.
# "11" is the checklist's "None of these".
HOME_CARE = ["11", "2", "1", "1", "2", "2", "4", *["no"] * SPRAIN_NOS]
SEE_CLINICIAN = [
    "11",
    "1",
    "3",
    "gradual",
    "cord",
    "more than 6 weeks ago",
    "same",
    "none",
    "3",
    *["no"] * GRADUAL_NOS,
]
EMERGENCY = ["none", "3"]


@pytest.fixture
def db(tmp_path: Path):
    database = Database.for_url(f"sqlite:///{tmp_path / 'chat.db'}")
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()


def chat(db: Database, lines: list[str], chat_id: int = 0) -> str:
    out = io.StringIO()
    asyncio.run(
        run_console(
            db,
            clock=OffsetClock(lambda: NOW),
            chat_id=chat_id,
            stdin=io.StringIO("\n".join(lines) + "\n"),
            stdout=out,
        )
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("script", "headline"),
    [(HOME_CARE, "Home care:"), (SEE_CLINICIAN, "See a clinician"), (EMERGENCY, "Emergency:")],
    ids=["home care", "see a clinician", "emergency"],
)
def test_a_scripted_chat_reaches_each_disposition(
    db: Database, script: list[str], headline: str
) -> None:
    transcript = chat(db, script)
    assert headline in transcript
    assert "not a diagnosis" in transcript.split(headline, 1)[1]
    assert "<b>" not in transcript


def test_choices_are_numbered_and_inputs_echoed(db: Database) -> None:
    transcript = chat(db, ["11"])
    assert "  1) Chest pain, breathless" in transcript
    assert "> 11\n2 of about 10\nCan you walk on it right now?" in transcript


def test_a_conversation_left_in_the_terminal_carries_on_next_time(db: Database) -> None:
    chat(db, ["none", "limp", "outside", "sudden"])
    transcript = chat(db, ["today"])
    assert "Welcome back" in transcript and "5 of about 10\nWhen did it start?" in transcript
    assert "6 of about 10\nIs the ankle swollen?" in transcript


def test_plain_text_drops_tags_and_decodes_entities() -> None:
    assert plain_text("<b>A&amp;E</b> &lt;now&gt;") == "A&E <now>"


def test_python_m_bot_chat_reads_a_script_from_standard_input(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env.pop("TELEGRAM_BOT_TOKEN", None)  # the terminal chat needs no token
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="\n".join(EMERGENCY) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Emergency: go to A&E (an emergency department) now." in done.stdout


def test_summary_in_the_terminal_writes_the_pdf_and_says_where(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert "no finished assessment" in chat(db, ["/summary"])
    assert not list(tmp_path.glob("*.pdf"))
    transcript = chat(db, [*SEE_CLINICIAN, "/summary"])
    assert "4) PDF for the clinic" in transcript
    assert f"(saved {tmp_path / 'ankle-bot-summary-0.pdf'})" in transcript
    assert (tmp_path / "ankle-bot-summary-0.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("command", "name", "magic"),
    [
        ("/export", "ankle-bot-export-0.json", b"{"),
        ("/progress", "ankle-bot-progress-0.png", b"\x89PNG"),
    ],
)
def test_export_and_progress_say_the_full_path_of_their_file_which_git_ignores(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    name: str,
    magic: bytes,
) -> None:
    monkeypatch.chdir(tmp_path)
    transcript = chat(db, [*HOME_CARE, command])
    assert f"(saved {tmp_path / name})" in transcript
    assert (tmp_path / name).read_bytes().startswith(magic)
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{name} is not in .gitignore"


def test_later_brings_the_first_check_in_a_day_after_home_care(db: Database) -> None:
    transcript = chat(db, [*HOME_CARE, "/later 1d"])
    after = transcript.split("> /later 1d\n", 1)[1]
    # It arrives at its own time (24 h after the assessment), then the clock reads a day on.
    assert after.startswith("[Sun 22 Nov 2026, 09:00 (UTC)]\nCheck-in 1: how is your ankle")
    assert "  11) 10\n" in after
    assert "(the clock now reads Sun 22 Nov 2026, 09:00 (UTC))" in after


def test_a_check_in_that_arrived_is_answered_by_its_numbers(db: Database) -> None:
    transcript = chat(db, [*HOME_CARE, "/later 1d", "4"])
    answer = transcript.rsplit("> 4\n", 1)[1]
    # The check-in's button (callback data through the outbox) started the check-in dialog.
    assert answer.startswith("1. Compared with last time, is your ankle better"), answer

    def pending(session: Session) -> list[str]:
        runner = store.find_runner(session, chat_id=0)
        assert runner is not None
        return [m.kind for m in schedule_store.pending_for(session, runner_id=runner.id)]

    assert FollowUpKind.CHECKIN in db.run_sync(pending), "the check-in chain goes on"


def test_the_daily_reminder_arrives_at_the_runners_local_time(db: Database) -> None:
    # Berlin is UTC+1 in November: 07:30 there is 06:30 UTC.
    transcript = chat(db, [*HOME_CARE, "/reminders", "12", "Berlin", "7:30", "/later 2d"])
    after = transcript.split("> /later 2d\n", 1)[1]
    assert "[Sun 22 Nov 2026, 07:30 (Europe/Berlin)]\nTime for today's ankle exercises" in after
    assert "[Mon 23 Nov 2026, 07:30 (Europe/Berlin)]\nTime for today's ankle exercises" in after
    # Everything arrives in time order: the check-in (09:00 UTC is 10:00 in Berlin) after
    # that morning's reminder, the next day's reminder after it.
    first_check_in = after.index("[Sun 22 Nov 2026, 10:00 (Europe/Berlin)]\nCheck-in 1")
    assert after.index("[Sun 22 Nov 2026, 07:30") < first_check_in
    assert first_check_in < after.index("[Mon 23 Nov 2026, 07:30")


def test_the_clock_carries_on_in_the_next_session(db: Database) -> None:
    chat(db, [*HOME_CARE, "/later 1d"])
    transcript = chat(db, ["/later 3h"])
    assert "(the clock now reads Sun 22 Nov 2026, 12:00 (UTC))" in transcript


def test_later_refuses_what_it_cannot_read(db: Database) -> None:
    transcript = chat(db, ["/later soon"])
    assert "Type /later with a span such as 3h, 1d, 2d or 1w" in transcript
    assert "clock now reads" not in transcript


@pytest.mark.parametrize(
    ("text", "hours"),
    [("", 24), ("3h", 3), ("1d", 24), ("2d", 48), ("1w", 168), (" 2 D ", 48), ("12w", 2016)],
)
def test_later_reads_hours_days_and_weeks(text: str, hours: int) -> None:
    assert parse_span(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["0d", "13w", "1y", "soon", "-1d", "1.5d"])
def test_later_refuses_nothing_too_much_and_nonsense(text: str) -> None:
    assert parse_span(text) is None


def test_the_terminal_leaves_a_telegram_runners_follow_ups_to_the_bot(db: Database) -> None:
    """A database shared with the bot: the terminal's scheduler and outbox take only its own
    chat's messages, even when its clock jumps past another runner's."""

    def telegram_runner_due_in_an_hour(session: Session) -> None:
        other = make_runner(
            session, chat_id=4242, user_id=4242, first_name="T", locale="en", now=NOW
        )
        session.flush()
        due = NOW + timedelta(hours=1)
        follow_up = ScheduleMessage(kind=FollowUpKind.CHECKIN, due_at=due, key="telegram-1")
        schedule_store.schedule(session, runner_id=other.id, message=follow_up, now=NOW)

    db.run_sync(telegram_runner_due_in_an_hour)
    transcript = chat(db, ["/later 1d"])
    assert "Check-in" not in transcript
    states = db.run_sync(lambda session: session.scalars(select(ScheduledMessage.state)).all())
    assert states == [MessageState.PENDING.value]
