"""Groups, channels and inline messages through the real runtime: the bot tells a group at most
once a day that health questions belong in a private chat and is otherwise silent there; buttons
pressed in groups or under inline messages are answered (no spinning button) and change nothing;
every callback query the bot receives is answered, whatever it is.

Only the edges are fake: the Bot API (`FakeBotApi`) and the clock. The databases are real.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import Conversation, GroupNotice, InboxUpdate, OutboxMessage, Runner
from bot.service import load_state
from tests.bot.harness import FakeClock, Harness, running_bot

GROUP = -4001
OTHER_GROUP = -4002
SUPERGROUP = -1001234567890
NOTICE = "Questions about your health belong in a private chat"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def count(h: Harness, model: type[Any]) -> int:
    return h.db.run_sync(lambda s: s.scalar(select(func.count()).select_from(model)))


def inbox_states(h: Harness) -> dict[str, int]:
    rows = h.db.run_sync(
        lambda s: list(s.execute(select(InboxUpdate.state, func.count()).group_by("state")))
    )
    return dict(rows)


def notices(h: Harness, chat: int) -> list[str]:
    return [m["text"] for m in h.api.sent_to(chat)]


async def test_300_group_messages_get_one_notice_a_day(url: str) -> None:
    clock = FakeClock()
    async with running_bot(url, clock=clock) as h:
        for i in range(300):
            h.api.group_message(GROUP, f"message {i}: my ankle hurts, anyone?")
        await h.settle()
        (notice,) = notices(h, GROUP)
        assert NOTICE in notice
        assert inbox_states(h) == {"done": 300}
        assert count(h, Runner) == 0  # nobody in a group became a runner

        # Almost a day later: still silent.
        clock.now += timedelta(hours=23, minutes=59)
        h.api.group_message(GROUP, "still sore")
        await h.settle()
        assert len(notices(h, GROUP)) == 1

        # A day after the notice: one more, however much is written.
        clock.now += timedelta(minutes=1)
        for i in range(30):
            h.api.group_message(GROUP, f"day two, message {i}")
        await h.settle()
        assert len(notices(h, GROUP)) == 2
        assert NOTICE in notices(h, GROUP)[1]
        noticed = h.db.run_sync(lambda s: s.scalar(select(GroupNotice.noticed_at)))
        assert noticed == clock.now
        assert h.api.duplicates(GROUP) == {notices(h, GROUP)[0]: 2}


async def test_each_group_and_channel_has_its_own_notice(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as h:
        for _ in range(5):
            h.api.group_message(GROUP, "hi")
            h.api.group_message(OTHER_GROUP, "hi")
            h.api.enqueue_raw(
                {
                    "channel_post": {
                        "message_id": 1,
                        "date": 1_795_000_000,
                        "chat": {"id": SUPERGROUP, "type": "channel", "title": "Club news"},
                        "text": "Long run on Sunday",
                    }
                }
            )
        await h.settle()
        for chat in (GROUP, OTHER_GROUP, SUPERGROUP):
            assert len(notices(h, chat)) == 1, chat
            assert NOTICE in notices(h, chat)[0]
        assert count(h, GroupNotice) == 3


async def test_a_group_whose_notice_cannot_be_sent_is_still_noticed_once(
    sqlite_url: str,
) -> None:
    """The bot may not write in a group (403): it is not asked again for every message."""
    async with running_bot(sqlite_url) as h:
        h.api.user_blocks_bot(GROUP)
        for _ in range(20):
            h.api.group_message(GROUP, "hi")
        await h.settle()
        sends = [c for c in h.api.calls_to("sendMessage") if c.get("chat_id") == GROUP]
        assert len(sends) == 1
        assert count(h, OutboxMessage) == 1


async def test_buttons_in_a_group_are_answered_and_change_nothing(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(sqlite_url) as h:
        # A runner who is in the middle of an assessment privately.
        await h.say("/new", 7)
        state = h.db.run_sync(load_state, chat_id=7)
        sent_before = {chat: len(h.api.sent_to(chat)) for chat in (7, GROUP)}
        presses = [
            h.api.group_taps(GROUP, user, data)
            for user in (7, 8)
            for data in (
                "a1:1:location:outside",
                "n1:1:restart",
                "n1:1:back",
                "k1:1:3",
                "s1:1:y",
                "x1:20261121:d",
                "h1:alphabet",
                "nonsense",
            )
        ]
        await h.settle()
        answered = {a["callback_query_id"] for a in h.api.callback_answers}
        assert {p["callback_query"]["id"] for p in presses} <= answered
        assert {chat: len(h.api.sent_to(chat)) for chat in (7, GROUP)} == sent_before
        assert h.db.run_sync(load_state, chat_id=7) == state
        assert count(h, Runner) == 1
        assert count(h, GroupNotice) == 0  # a button is not a message: no notice either
        assert inbox_states(h) == {"done": 1 + len(presses)}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_buttons_on_inline_messages_are_answered_and_ignored(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(sqlite_url) as h:
        await h.say("/new", 7)
        state = h.db.run_sync(load_state, chat_id=7)
        presses = [
            h.api.inline_taps(user, data)
            for user in (7, 9)
            for data in ("a1:1:location:outside", "n1:1:restart", "k1:1:3", "s1:1:y", "zz")
        ]
        # The runner's own next message is still applied after them (same queue).
        (status,) = await h.say("/status", 7)
        await h.settle()
        assert status["text"].startswith("Your status")
        answered = {a["callback_query_id"] for a in h.api.callback_answers}
        assert {p["callback_query"]["id"] for p in presses} <= answered
        assert len(h.api.sent_to(7)) == 2
        assert h.api.sent_to(9) == []
        assert h.db.run_sync(load_state, chat_id=7) == state
        assert count(h, Runner) == 1
        assert inbox_states(h) == {"done": 2 + len(presses)}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_every_callback_query_is_answered_once(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as h:
        (question,) = await h.say("/new", 7)
        queries = [
            h.api.user_taps(7, "None of these"),
            h.api.user_presses(7, question["message_id"], "zz", require_button=False),
            h.api.group_taps(GROUP, 7, "a1:1:location:outside"),
            h.api.inline_taps(7, "a1:1:location:outside"),
            # A query the bot cannot read (no sender): set aside, and still answered.
            h.api.enqueue_raw(
                {
                    "callback_query": {
                        "id": "poison-1",
                        "message": question,
                        "chat_instance": "poison",
                        "data": "a1:1:location:outside",
                    }
                }
            ),
        ]
        await h.settle()
        ids = [a["callback_query_id"] for a in h.api.callback_answers]
        assert sorted(ids) == sorted(q["callback_query"]["id"] for q in queries)
        assert inbox_states(h) == {"done": 5, "failed": 1}
        assert count(h, Conversation) == 1
