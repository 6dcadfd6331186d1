"""The runner's own words through Telegram (the fake Bot API): a first message telling what
happened gets one line of what was understood, and "Yes" leaves only the rest to ask."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import load_state
from flows.triage import TriageStep
from flows.types import DONE, FlowName
from tests.bot.harness import button_labels, running_bot

ISSUE = "Rolled my ankle on a trail yesterday, outside is swollen, I can walk but limp, about 4/10"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


async def test_a_story_is_confirmed_in_one_line_and_only_the_rest_is_asked(url: str) -> None:
    async with running_bot(url) as h:
        welcome, line = await h.say(ISSUE, expect=2)
        assert "not a diagnosis" in welcome["text"]
        assert line["text"].startswith(
            "I understood: outside of the ankle, sudden, 1-2 days ago, limping or walking "
            "hurts, 4/10."
        )
        assert button_labels(line) == [["Yes, that's right", "Change something"]]
        (checklist,) = await h.tap("Yes, that's right")
        # A story never settles a warning sign: the checklist comes first.
        assert "First, do any of these apply to you now?" in checklist["text"]
        (question,) = await h.tap("None of these")
        # Where, how, when, walking and pain were settled: swelling is the one asked.
        assert "Is the ankle swollen?" in question["text"]
        assert question["text"].startswith("5 of about 9")
        (question,) = await h.tap("A little swollen")
        stored = h.db.run_sync(load_state, chat_id=1001)
        assert stored.flow is FlowName.TRIAGE
        assert stored.answers[TriageStep.WEIGHT_BEARING] == "painful"
        # The warning signs left, all "No", end in home care.
        while question["text"][0].isdigit():
            (question,) = await h.tap("No")
        assert question["text"].startswith("Home care")
        assert h.db.run_sync(load_state, chat_id=1001).step == DONE


async def test_a_long_story_is_read_and_change_asks_everything(url: str) -> None:
    story = (
        "Hi, so last Sunday I was doing my long run on the canal path, about 18 km, and "
        "near the end I stepped off the kerb badly and twisted my ankle. That was 3 days ago "
        "now. It is very swollen on the outside and I have been limping around the office "
        "since, pain about 5 most of the day, more at night."
    )
    assert len(story) > 200
    async with running_bot(url) as h:
        await h.say("/start", expect=2)
        (line,) = await h.say(story)
        assert line["text"].startswith("I understood: outside of the ankle, sudden, 3-4 days")
        assert "very swollen" in line["text"] and "5/10" in line["text"]
        note, question = await h.tap("Change something", expect=2)
        assert "ask about each" in note["text"]
        assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
