"""Telegram updates -> routes, and what routed input does to the whole bot.

`route_update` is checked on the updates the fake Bot API builds (the JSON Telegram sends, as
the inbox stores it): a private chat's commands, text, buttons and unreadable messages
become flow events for that runner; messages in groups and channels become `GroupMessage`;
buttons in groups and on inline messages, edits in groups and member changes are `Ignored`;
names and texts are cleaned and bounded. Then, through the real runtime: a first name with a NUL
and 300 characters is stored cleaned on SQLite and PostgreSQL and the runner keeps getting
answers, and forged button data (any runner can send any callback data) changes nothing it
should not.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import FIRST_NAME_LENGTH, CheckInRecord, Episode, Runner, ScheduledMessage
from bot.keyboards import CALLBACK_DATA_LIMIT, decode_callback
from bot.routing import TEXT_LIMIT, UnreadableUpdate, route_update
from bot.service import GroupMessage, Ignored, RunnerEvent, Sender, load_state
from fakebotapi import FakeBotApi
from flows.commands import COMMANDS
from flows.dialog import TypedText, Unreadable, event_for_command
from tests.bot.harness import FakeClock, Harness, home_care, running_bot

RUNNER = 7
GROUP = -4001
SUPERGROUP = -1001234567890
START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
EMERGENCY_TAPS = [
    "None of these",
    "No, I can't take 4 steps",
]
ALREADY_ANSWERED = "already been answered"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


def route(raw: dict[str, Any]) -> Any:
    return route_update(raw)


def runner_event(raw: dict[str, Any]) -> Any:
    routed = route(raw)
    assert isinstance(routed, RunnerEvent), routed
    return routed.event


def a_message(api: FakeBotApi, chat: int) -> int:
    """A message in `chat` to press forged button data under (routing looks only at the chat
    and the data, not at whose message it is)."""
    return api.user_sends_text(chat, "a message")["message"]["message_id"]


# --- private chats -------------------------------------------------------------------------------


def test_typed_text_is_the_runners_event_with_who_sent_it(api: FakeBotApi) -> None:
    routed = route(api.user_sends_text(RUNNER, "outside, a bit", enqueue=False))
    assert routed == RunnerEvent(
        Sender(chat_id=RUNNER, user_id=RUNNER, first_name=f"Runner {RUNNER}", language_code="en"),
        TypedText("outside, a bit"),
    )


@pytest.mark.parametrize(
    ("text", "name", "argument"),
    [
        ("/new", "new", ""),
        ("/NEW", "new", ""),
        ("/start@ankle_test_bot", "start", ""),
        ("/sore 4", "sore", "4"),
        ("/reminders@ankle_test_bot 07:30 Europe/Berlin", "reminders", "07:30 Europe/Berlin"),
        ("/he\x00lp", "help", ""),
    ],
)
def test_commands_become_their_events(api: FakeBotApi, text: str, name: str, argument: str) -> None:
    assert runner_event(api.user_sends_text(RUNNER, text, enqueue=False)) == event_for_command(
        name, argument
    )


def test_every_command_in_the_menu_is_known(api: FakeBotApi) -> None:
    for command in COMMANDS:
        event = runner_event(api.user_sends_text(RUNNER, f"/{command.name}", enqueue=False))
        assert event != Unreadable(kind="unknown_command"), command.name


@pytest.mark.parametrize("text", ["/bogus", "/new_thing", "/ x"])
def test_an_unknown_command_is_unreadable(api: FakeBotApi, text: str) -> None:
    event = runner_event(api.user_sends_text(RUNNER, text, enqueue=False))
    assert event == Unreadable(kind="unknown_command")


def test_what_cannot_be_read_says_what_it_was(api: FakeBotApi) -> None:
    assert runner_event(api.user_sends_sticker(RUNNER, enqueue=False)) == Unreadable("sticker")
    photo = api.user_sends_photo(RUNNER, caption="my ankle", enqueue=False)
    assert runner_event(photo) == Unreadable("photo")
    assert runner_event(api.user_sends_voice(RUNNER, enqueue=False)) == Unreadable("voice")
    sent = api.user_sends_text(RUNNER, "4")
    edited = api.user_edits(RUNNER, sent["message"]["message_id"], "5", enqueue=False)
    assert runner_event(edited) == Unreadable("edited")
    location = api.user_sends_text(RUNNER, "x", enqueue=False)
    del location["message"]["text"]
    location["message"]["location"] = {"latitude": 52.5, "longitude": 13.4}
    assert runner_event(location) == Unreadable("other")


def test_text_is_cleaned_and_bounded(api: FakeBotApi) -> None:
    event = runner_event(api.user_sends_text(RUNNER, " 3\x00/10\x07\tsore\n ", enqueue=False))
    assert event == TypedText("3/10\tsore")
    long = runner_event(api.user_sends_text(RUNNER, "a" * 4000 + "b" * 500, enqueue=False))
    assert isinstance(long, TypedText)
    assert len(long.text) == TEXT_LIMIT
    assert long.text.endswith("b" * (TEXT_LIMIT - 4000))


@pytest.mark.parametrize(
    "data",
    [
        "a1:1:location:outside",
        "n1:3:back",
        "n1:3:restart",
        "k1:12:3",
        "s1:12:y",
        "x1:20261121:d",
        "h1:alphabet",
    ],
)
def test_a_button_is_the_event_its_data_stands_for(api: FakeBotApi, data: str) -> None:
    pressed = api.user_presses(RUNNER, a_message(api, RUNNER), data, require_button=False)
    routed = route(pressed)
    sender = Sender(RUNNER, RUNNER, f"Runner {RUNNER}", language_code="en")
    assert routed == RunnerEvent(sender, decode_callback(data))
    assert routed.event is not None


@pytest.mark.parametrize(
    "data", ["", "zz", "a1:x:location:outside", "a1:1::", "k1:1", "q" * (CALLBACK_DATA_LIMIT + 1)]
)
def test_a_button_that_does_not_parse_is_unreadable(api: FakeBotApi, data: str) -> None:
    pressed = api.user_presses(RUNNER, a_message(api, RUNNER), data, require_button=False)
    assert runner_event(pressed) == Unreadable(kind="button")


def test_a_name_is_cleaned_and_bounded(api: FakeBotApi) -> None:
    name = "\x00Ana\x1b" + "x" * 300
    routed = route(api.user_sends_text(RUNNER, "hi", user={"id": RUNNER, "first_name": name}))
    assert routed.sender.first_name == ("Ana" + "x" * 300)[:FIRST_NAME_LENGTH]
    control_only = api.user_sends_text(RUNNER, "hi", user={"id": RUNNER, "first_name": "\x00\x01"})
    assert route(control_only).sender.first_name == ""


def test_a_private_chat_change_without_a_message_is_ignored(api: FakeBotApi) -> None:
    blocked = {
        "update_id": 9,
        "my_chat_member": {
            "chat": {"id": RUNNER, "type": "private", "first_name": "Ana"},
            "from": {"id": RUNNER, "is_bot": False, "first_name": "Ana"},
            "date": 1,
            "old_chat_member": {"status": "member", "user": api.bot_user},
            "new_chat_member": {"status": "kicked", "user": api.bot_user, "until_date": 0},
        },
    }
    assert route(blocked) == Ignored("a change to the chat")


def test_an_update_without_a_chat_is_ignored() -> None:
    query = {"id": "1", "from": {"id": 5, "is_bot": False, "first_name": "A"}, "query": "x"}
    assert route({"update_id": 3, "inline_query": {**query, "offset": ""}}) == Ignored(
        "an update without a chat"
    )


# --- groups, channels and inline messages ------------------------------------------------------


@pytest.mark.parametrize("chat", [GROUP, SUPERGROUP])
def test_a_message_in_a_group_is_a_group_message(api: FakeBotApi, chat: int) -> None:
    # The fake's group member writes in English.
    from_member = GroupMessage(chat, language_code="en")
    assert route(api.group_message(chat, "/new", enqueue=False)) == from_member
    assert route(api.group_message(chat, "my ankle hurts", enqueue=False)) == from_member
    sticker = api.user_sends_sticker(chat, enqueue=False)
    assert route(sticker) == from_member


def test_a_group_message_carries_its_writers_language_cleaned(api: FakeBotApi) -> None:
    member = {"id": 77, "language_code": "pt-BR\x00"}
    update = api.group_message(GROUP, "alguém?", user=member, enqueue=False)
    assert route(update) == GroupMessage(GROUP, language_code="pt-br")
    no_language = api.group_message(GROUP, "hi", user={"id": 78}, enqueue=False)
    assert route(no_language) == GroupMessage(GROUP, language_code=None)


def test_a_channel_post_is_a_group_message_and_its_edit_is_ignored() -> None:
    post = {
        "message_id": 3,
        "date": 1_795_000_000,
        "chat": {"id": SUPERGROUP, "type": "channel", "title": "Club news"},
        "text": "Long run on Sunday",
    }
    # A channel post has no writer, so no language: the notice will be in English.
    assert route({"update_id": 1, "channel_post": post}) == GroupMessage(SUPERGROUP, None)
    edited = {**post, "edit_date": 1_795_000_100}
    assert route({"update_id": 2, "edited_channel_post": edited}) == Ignored(
        "an edit or a change in a group"
    )


def test_an_edit_in_a_group_is_ignored(api: FakeBotApi) -> None:
    sent = api.group_message(GROUP, "4/10")
    edited = api.user_edits(GROUP, sent["message"]["message_id"], "5/10", enqueue=False)
    assert route(edited) == Ignored("an edit or a change in a group")


def test_buttons_in_groups_and_on_inline_messages_are_ignored(api: FakeBotApi) -> None:
    for data in ("a1:1:location:outside", "n1:1:restart", "k1:1:3", "zz"):
        assert route(api.group_taps(GROUP, RUNNER, data, enqueue=False)) == Ignored(
            "a button in a group"
        )
        assert route(api.inline_taps(RUNNER, data, enqueue=False)) == Ignored(
            "a button on an inline message"
        )


def button_press(message: Any, **changes: Any) -> dict[str, Any]:
    """A runner's press of the button `a1:1:location:outside` under `message`, changed."""
    query = {
        "id": "q1",
        "from": {"id": RUNNER, "is_bot": False, "first_name": "Pat"},
        "message": message,
        "chat_instance": "c1",
        "data": "a1:1:location:outside",
    }
    return {"update_id": 9, "callback_query": {**query, **changes}}


def test_only_the_fields_the_bot_reads_must_be_there(api: FakeBotApi) -> None:
    question = api.user_sends_text(RUNNER, "/new", enqueue=False)["message"]
    # What python-telegram-bot also requires but the bot never reads does not matter.
    without_instance = button_press(question)
    del without_instance["callback_query"]["chat_instance"]
    assert isinstance(route(without_instance), RunnerEvent)
    # What it reads must be there, of the right kind: such an update is set aside.
    unreadable = [
        button_press(question, **{"from": None}),
        button_press(question, **{"from": "Pat"}),
        button_press(question, **{"from": {"id": "7", "first_name": "Pat"}}),
        button_press({**question, "chat": {"id": RUNNER}}),
        button_press({**question, "chat": {"id": str(RUNNER), "type": "private"}}),
        button_press("a message"),
        {"update_id": 10, "message": {**question, "chat": None}},
        {"update_id": 11, "message": "/new"},
    ]
    for raw in unreadable:
        with pytest.raises(UnreadableUpdate):
            route(raw)


# --- names through the whole bot ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_name_with_a_nul_and_300_characters_is_stored_cleaned(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    name = "Zoë\x00" + "y" * 296
    renamed = "\x00\x00" + "R" * 400 + "\x00"
    async with running_bot(url) as h:
        who = {"id": RUNNER, "first_name": name, "last_name": "\x00" * 3}
        h.api.user_sends_text(RUNNER, "/new", user=who)
        (question,) = await h.api.wait_for_sent(RUNNER, 1)
        assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
        assert stored_runner(h) == (RUNNER, ("Zoë" + "y" * 296)[:FIRST_NAME_LENGTH])
        # The runner keeps getting answers, also after changing to another such name.
        h.api.user_taps(RUNNER, "None of these", user={"id": RUNNER, "first_name": name})
        await h.api.wait_for_sent(RUNNER, 2)
        h.api.user_sends_text(RUNNER, "/status", user={"id": RUNNER, "first_name": renamed})
        await h.api.wait_for_sent(RUNNER, 3)
        await h.settle()
        assert h.api.sent_to(RUNNER)[2]["text"].startswith("Your status")
        assert stored_runner(h) == (RUNNER, "R" * FIRST_NAME_LENGTH)
        assert h.db.run_sync(load_state, chat_id=RUNNER).version == 2
        assert h.runtime.applier.set_aside == 0


async def test_the_runners_language_is_stored_and_follows_a_change(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as h:
        german = {"id": RUNNER, "first_name": "Ana", "language_code": "de"}
        h.api.user_sends_text(RUNNER, "/new", user=german)
        await h.api.wait_for_sent(RUNNER, 1)
        await h.settle()
        assert stored_locale(h) == "de"
        # An update without a language erases nothing; a new one replaces the old.
        h.api.user_sends_text(RUNNER, "/help", user={"id": RUNNER, "first_name": "Ana"})
        await h.api.wait_for_sent(RUNNER, 2)
        await h.settle()
        assert stored_locale(h) == "de"
        brazilian = {"id": RUNNER, "first_name": "Ana", "language_code": "pt-BR"}
        h.api.user_sends_text(RUNNER, "/help", user=brazilian)
        await h.api.wait_for_sent(RUNNER, 3)
        await h.settle()
        assert stored_locale(h) == "pt-br"


def test_the_language_code_is_routed_lower_cased_and_bounded(api: FakeBotApi) -> None:
    user = {"id": RUNNER, "first_name": "Ana", "language_code": "PT-BR\x00" + "x" * 40}
    routed = route(api.user_sends_text(RUNNER, "hi", user=user))
    assert routed.sender.language_code == "pt-br" + "x" * 11
    without = api.user_sends_text(RUNNER, "hi", user={"id": RUNNER, "first_name": "Ana"})
    assert route(without).sender.language_code is None


def stored_locale(h: Harness) -> str | None:
    return h.db.run_sync(lambda s: s.scalar(select(Runner.locale)))


def stored_runner(h: Harness) -> tuple[int, str]:
    (row,) = h.db.run_sync(lambda s: list(s.execute(select(Runner.user_id, Runner.first_name))))
    return tuple(row)


# --- forged buttons through the whole bot ------------------------------------------------------


async def press(h: Harness, chat: int, data: str) -> str:
    """The runner sends `data` as if pressed under the bot's latest message; the one reply."""
    before = len(h.api.sent_to(chat))
    answered = len(h.api.callback_answers)
    latest = h.api.sent_to(chat)[-1]
    h.api.user_presses(chat, latest["message_id"], data, require_button=False)
    (reply,) = (await h.api.wait_for_sent(chat, before + 1))[before:]
    await h.settle()
    assert len(h.api.callback_answers) == answered + 1
    return reply["text"]


def episodes(h: Harness) -> list[tuple[str, str]]:
    return h.db.run_sync(
        lambda s: [tuple(r) for r in s.execute(select(Episode.disposition, Episode.status))]
    )


def check_ins(h: Harness) -> int:
    return h.db.run_sync(lambda s: s.scalar(select(func.count()).select_from(CheckInRecord)))


def some_ids(h: Harness, seed: int) -> list[int]:
    """Message ids a forger might try: random ones, and those of real scheduled messages."""
    real = h.db.run_sync(lambda s: list(s.scalars(select(ScheduledMessage.id))))
    rng = random.Random(seed)
    return [*real, 0, 1, *(rng.randrange(2, 2**31) for _ in range(4)), 2**62]


async def test_a_forged_exercise_day_is_refused_and_progress_still_works(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, clock=FakeClock(START)) as h:
        await home_care(h, RUNNER)
        assert ALREADY_ANSWERED in await press(h, RUNNER, "x1:99991231:d")
        (chart,) = await h.say("/progress", RUNNER)
        assert chart["caption"].startswith("Your progress")
        assert "photo" in chart
        assert h.runtime.applier.set_aside == 0


async def test_a_forged_seen_answer_does_not_close_the_active_episode(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, clock=FakeClock(START)) as h:
        await home_care(h, RUNNER)
        await h.say("/new", RUNNER + 1)
        for label in EMERGENCY_TAPS:
            await h.tap(label, RUNNER + 1)
        before = episodes(h)
        assert before == [("HOME_CARE", "active"), ("EMERGENCY", "active")]
        for chat in (RUNNER, RUNNER + 1):
            for message_id in some_ids(h, seed=chat):
                for value in ("y", "n"):
                    reply = await press(h, chat, f"s1:{message_id}:{value}")
                    assert ALREADY_ANSWERED in reply, (chat, message_id, value)
        assert episodes(h) == before
        assert check_ins(h) == 0


async def test_a_forged_check_in_starts_nothing_on_an_emergency(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, clock=FakeClock(START)) as h:
        await h.say("/new", RUNNER)
        for label in EMERGENCY_TAPS:
            await h.tap(label, RUNNER)
        state = h.db.run_sync(load_state, chat_id=RUNNER)
        for message_id in some_ids(h, seed=3):
            for value in ("0", "3", "10"):
                reply = await press(h, RUNNER, f"k1:{message_id}:{value}")
                assert ALREADY_ANSWERED in reply, (message_id, value)
                assert not reply.startswith("Compared with last time")
        assert check_ins(h) == 0
        assert episodes(h) == [("EMERGENCY", "active")]
        assert h.db.run_sync(load_state, chat_id=RUNNER) == state
        # The runner's real commands still work.
        (status,) = await h.say("/status", RUNNER)
        assert status["text"].startswith("Your status")
