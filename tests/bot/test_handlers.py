"""The Telegram adapter, end to end in process: real Application, real SQLite, fake Bot API.

Each test plays what a runner does in Telegram and asserts the texts and keyboards they see.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot import service
from bot.service import load_state
from fakebotapi import FakeBotApi
from flows.triage import TriageStep
from flows.types import DONE
from tests.bot.harness import CHAT, SPRAIN_TAPS, Harness, button_labels, running_bot
from tests.scripts import SPRAIN_NOS

# deformity, circulation, crunch, pop, fever, calf, chest, severe pain, bleeding, Ottawa,
# night pain, giving way: all "No" on the sudden path.
ALL_NO = ["No"] * SPRAIN_NOS


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


def state(h: Harness, chat_id: int = CHAT):
    return h.db.run_sync(load_state, chat_id=chat_id)


async def test_start_introduces_the_bot_then_asks_where_it_hurts(url: str) -> None:
    async with running_bot(url) as h:
        welcome, question = await h.say("/start", expect=2)
        assert "not a diagnosis" in welcome["text"]
        assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
        assert button_labels(question)[0] == ["Chest pain, breathless", "Bent, or bone showing"]
        assert button_labels(question)[-1] == ["None of these"]
        assert len(button_labels(question)) == 6
        commands = [c["command"] for c in h.api.commands]
        assert commands[:5] == ["start", "new", "cancel", "help", "about"]
        assert {"sore", "status", "reminders", "pause", "resume", "stop"} <= set(commands)


async def test_buttons_lead_to_home_care_with_reasons_care_and_exercises(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        for label in SPRAIN_TAPS + ALL_NO[:-1]:
            await h.tap(label)
        (outcome,) = await h.tap(ALL_NO[-1])
        assert outcome["text"].startswith("Home care")
        assert "not a diagnosis" in outcome["text"]
        assert button_labels(outcome) == [
            ["Why", "What to do"],
            ["Warning signs", "Today's exercises"],
        ]
        # Each detail comes from the stored episode, the button's query answered first.
        (why,) = await h.tap("Why")
        assert why["text"].startswith("Why: none of the warning signs")
        assert "What would change this" in why["text"]
        care, relief = await h.tap("What to do", expect=2)
        assert "Ice" in care["text"] and "Pain relief" in relief["text"]
        (signs,) = await h.tap("Warning signs")
        assert "Go to urgent care now if" in signs["text"]
        (exercises,) = await h.tap("Today's exercises")
        assert exercises["text"].startswith("Today's exercises")
        assert "No hopping yet" in exercises["text"]
        assert len(h.api.callback_answers) == len(SPRAIN_TAPS) + len(ALL_NO) + 4
        assert state(h).step == DONE


async def test_cannot_take_four_steps_is_an_emergency_at_once(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        await h.tap(SPRAIN_TAPS[0])
        (outcome,) = await h.tap("No, I can't take 4 steps")
        assert outcome["text"].startswith("Emergency")
        assert "Don't drive yourself" in outcome["text"]
        assert "Keep your weight off it" in outcome["text"]
        # No answer buttons: the reasons, and the summary to hand over at the hospital.
        assert button_labels(outcome) == [["Why", "PDF for the clinic"]]
        (why,) = await h.tap("Why")
        assert "you can't take 4 steps: Ottawa ankle rules" in why["text"]


async def test_typed_answers_work_and_unclear_ones_are_re_asked_with_buttons(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        (walking,) = await h.say("none")
        assert walking["text"].startswith("2 of about 10\nCan you walk on it right now?")
        (again,) = await h.say("a bit of both really")
        assert again["text"].startswith("Sorry, I couldn't read that")
        assert button_labels(again)[0] == ["Yes, without pain"]
        assert state(h).step is TriageStep.WEIGHT_BEARING


async def test_back_button_returns_to_the_previous_question(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        await h.tap("None of these")
        (question,) = await h.tap("⬅ Back")
        assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
        assert state(h).answers == {}


async def test_a_button_from_an_old_message_changes_nothing(url: str) -> None:
    async with running_bot(url) as h:
        (question,) = await h.say("/new")
        await h.tap("None of these")
        before = state(h)
        inside = [d for row in FakeBotApi.buttons(question) for t, d in row if t.startswith("Numb")]
        h.api.user_presses(CHAT, question["message_id"], inside[0])
        note, current = await _two_more(h)
        assert "earlier question" in note["text"]
        assert current["text"].startswith("2 of about 10\nCan you walk")
        assert state(h) == before


async def _two_more(h: Harness) -> list[dict]:
    before = len(h.api.sent_to(CHAT))
    sent = await h.api.wait_for_sent(CHAT, before + 2)
    return sent[before:]


async def test_callback_data_that_does_not_parse_gets_a_short_reply(url: str) -> None:
    async with running_bot(url) as h:
        (question,) = await h.say("/new")
        h.api.user_presses(CHAT, question["message_id"], "garbage", require_button=False)
        note, _ = await _two_more(h)
        assert "couldn't read that button" in note["text"]
        assert state(h).step is TriageStep.SIGNS


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda api: api.user_sends_sticker(CHAT), "only read text and buttons"),
        (lambda api: api.user_sends_photo(CHAT), "can't look at photos"),
        (lambda api: api.user_sends_voice(CHAT), "can't listen to voice"),
        (lambda api: api.user_sends_text(CHAT, "/frobnicate"), "don't know that command"),
        (lambda api: api.user_sends_text(CHAT, "x" * 1000), "more than I can read"),
    ],
    ids=["sticker", "photo", "voice", "unknown command", "very long text"],
)
async def test_unreadable_input_gets_a_short_reply_and_changes_nothing(
    url: str, send, expected: str
) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        await h.tap("None of these")
        before = state(h)
        send(h.api)
        note, question = await _two_more(h)
        assert expected in note["text"]
        assert question["text"].startswith("2 of about 10\nCan you walk")
        assert state(h) == before


async def test_an_edited_message_changes_nothing(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        sent = h.api.user_sends_text(CHAT, "none")
        await h.api.wait_for_sent(CHAT, 2)
        before = state(h)
        h.api.user_edits(CHAT, sent["message"]["message_id"], "inside")
        note, _ = await _two_more(h)
        assert "editing a message" in note["text"]
        assert state(h) == before


async def test_group_chats_get_a_polite_note_and_no_questions(url: str) -> None:
    async with running_bot(url) as h:
        h.api.group_message(-500, "/start")
        (note,) = await h.api.wait_for_sent(-500, 1)
        assert "private chat" in note["text"]
        await h.settle()
        assert len(h.api.sent_to(-500)) == 1


async def test_an_unexpected_error_is_logged_the_runner_told_and_state_untouched(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        before = state(h)

        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(service, "advance", broken)
        with caplog.at_level(logging.ERROR):
            (note,) = await h.say("none")
        assert "something went wrong" in note["text"]
        assert "boom" in caplog.text and "Traceback" in caplog.text
        monkeypatch.undo()
        assert state(h) == before
        (question,) = await h.say("none")
        assert question["text"].startswith("2 of about 10\nCan you walk")


async def test_a_redelivered_update_is_applied_once(url: str) -> None:
    """After a crash Telegram sends unconfirmed updates again; the answer must not repeat."""
    async with running_bot(url) as h:
        await h.say("/new")
        update = h.api.user_sends_text(CHAT, "none", enqueue=False)
        h.api.enqueue_update(update)
        await h.api.wait_for_sent(CHAT, 2)
        h.api.enqueue_update(update)
        await h.settle()
        assert len(h.api.sent_to(CHAT)) == 2
        assert state(h).answers == {"signs": "none"}


async def test_a_new_update_reusing_an_old_id_is_still_applied(url: str) -> None:
    """A restarted Bot API server counts update ids from 1 again, and Telegram may restart them
    after a quiet week: only a true redelivery (same id and same content) is skipped."""
    async with running_bot(url) as h:
        await h.say("/new")
        first = h.api.user_sends_text(CHAT, "none", enqueue=False)
        h.api.enqueue_update(first)
        await h.api.wait_for_sent(CHAT, 2)
        reused = h.api.user_sends_text(CHAT, "limp", enqueue=False)
        reused["update_id"] = first["update_id"]
        h.api.enqueue_update(reused)
        await h.api.wait_for_sent(CHAT, 3)
        assert state(h).answers == {"signs": "none", "walk": "painful"}


async def test_command_registration_failure_is_logged_not_fatal(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    api.fail_next("setMyCommands", 400, "Bad Request: something odd")
    with caplog.at_level(logging.WARNING):
        async with running_bot(url, api=api) as h:
            (_, question) = await h.say("/start", expect=2)
            assert question["text"].startswith("1 of about")
    assert "could not register the command list" in caplog.text


async def test_state_survives_a_restart_of_the_application(url: str) -> None:
    api = FakeBotApi()
    async with running_bot(url, api=api) as h:
        await h.say("/new")
        await h.tap("None of these")
    async with running_bot(url, api=api) as h:
        (question,) = await h.tap("Yes, with pain or a limp")
        assert question["text"].startswith("3 of about 10\nWhere does your ankle hurt most?")
