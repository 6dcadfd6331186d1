"""The exercise plan and the runner's data through the real bot: /plan with how-to buttons,
/exercises, /run, /progress as a chart, /export as a file, /delete after a confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.models import Base
from bot.db.privacy_store import runner_tables
from flows.exercise_library import exercises
from tests.bot.harness import button_labels, home_care, running_bot


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


async def test_plan_shows_todays_session_with_a_how_to_button_per_exercise(url: str) -> None:
    async with running_bot(url) as h:
        (none_yet,) = await h.say("/plan", 1)
        assert "no exercise plan yet" in none_yet["text"]
        await home_care(h, 1)
        plan, questions = await h.say("/plan", 1, expect=2)
        assert plan["text"].startswith("Today's exercises")
        labels = [label for row in button_labels(plan) for label in row]
        assert labels and all(label.startswith("How to do ") for label in labels)
        (howto,) = await h.tap(labels[0], 1)
        assert "How to" in howto["text"] and "Stop if" in howto["text"]
        # The stop rule is its own sentence: no "Stop if: Stop if ..." (issue 9).
        assert "Stop if: " not in howto["text"]
        # The runner's questions, each a button under the plan.
        assert button_labels(questions) == [
            ["Can I hop?", "When can I run?"],
            ["Cross-training", "Painkillers"],
            ["Brace or tape", "Back to racing"],
        ]
        (painkillers,) = await h.tap("Painkillers", 1)
        assert "paracetamol" in painkillers["text"] and "pharmacist" in painkillers["text"]
        (hop,) = await h.tap("Can I hop?", 1)
        assert hop["text"].startswith("Not yet: hops are held back"), hop["text"]
        assert "the injury is under 72 hours old" in hop["text"]


async def test_exercises_lists_the_whole_library(url: str) -> None:
    async with running_bot(url) as h:
        (library,) = await h.say("/exercises", 1)
        assert "1. Ankle alphabet" in library["text"]
        library_labels = [label for row in button_labels(library) for label in row]
        assert library_labels == [f"How to do {n}" for n in range(1, len(exercises()) + 1)]


async def test_run_waits_until_the_plan_reaches_the_hopping_phase(url: str) -> None:
    async with running_bot(url) as h:
        await home_care(h, 1)
        (reply,) = await h.say("/run", 1)
        assert reply["text"].startswith("Not yet")


async def test_progress_says_so_in_words_when_there_is_nothing_to_plot(url: str) -> None:
    async with running_bot(url) as h:
        (reply,) = await h.say("/progress", 1)
        assert "Nothing to plot yet" in reply["text"]


async def test_progress_sends_a_chart_with_a_summary(url: str) -> None:
    async with running_bot(url) as h:
        await home_care(h, 1)
        await h.say("2/10", 1)
        before = len(h.api.uploads)
        (chart,) = await h.say("/progress", 1)
        assert "photo" in chart
        assert "Soreness: 4/10 at first, 2/10 now" in chart["caption"]
        upload = h.api.uploads[before]
        assert upload.data.startswith(b"\x89PNG\r\n\x1a\n")


async def test_export_then_delete_leaves_no_row_of_the_runner(url: str) -> None:
    async with running_bot(url) as h:
        await home_care(h, 1)
        await home_care(h, 2)
        await h.say("/reminders", 1, expect=2)
        await h.say("London", 1)
        await h.say("07:00", 1)
        before = len(h.api.uploads)
        (_document,) = await h.say("/export", 1)
        exported = json.loads(h.api.uploads[before].data)
        assert exported["format"] == "ankle-bot-export/1"
        assert exported["tables"]["assessments"] and exported["tables"]["scheduled_messages"]
        (confirm,) = await h.say("/delete", 1)
        assert button_labels(confirm)[0] == ["Yes, delete everything"]
        (done,) = await h.tap("Yes, delete everything", 1)
        assert "deleted" in done["text"]

        def rows_left(session, runner_id):
            return {
                t.name: session.scalar(select(func.count()).select_from(t).where(c == runner_id))
                for t, c in runner_tables(Base.metadata)
            }

        left = h.db.run_sync(rows_left, runner_id=exported["runner_id"])
        assert set(left.values()) == {0}, left
        (again,) = await h.say("/status", 2)
        assert "Last assessment: Home care" in again["text"]


async def test_delete_can_be_declined(url: str) -> None:
    async with running_bot(url) as h:
        await home_care(h, 1)
        await h.say("/delete", 1)
        (kept,) = await h.tap("No, keep my data", 1)
        assert "Nothing was deleted" in kept["text"]
        (status,) = await h.say("/status", 1)
        assert "Home care" in status["text"]
