"""The durable inbox, through the real runtime: an update is committed to `inbox_updates` before
the getUpdates that confirms it is made, a redelivered update is applied once, an update the
library cannot parse or that fails every try is set aside (logged once, never stalling its chat,
any other chat or the poller), what a crash left pending is applied at start-up in order, and
updates are applied in order within a chat while chats go side by side.

Only the edges are fake: the Bot API (`FakeBotApi`) and the clock. The databases are real.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import bot.inbox
import bot.outbox
import bot.workers
from bot import service
from bot.app import BotRuntime, build_bot
from bot.db import inbox_store
from bot.db.database import Database
from bot.db.engine import make_engine
from bot.db.migrate import upgrade_to_head
from bot.db.models import Conversation, InboxUpdate
from bot.inbox import chat_key, received, update_key
from bot.service import RunnerEvent
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from flows.dialog import TypedText
from tests.bot.harness import FakeClock, Harness, running_bot

# Commands answered with one message each, told apart by its first line.
FIRST_LINE = {
    "/help": "How I work",
    "/about": "About this bot",
    "/status": "Your status",
    "/plan": "You have no exercise plan",
    "/progress": "Your progress",
}
ERROR_REPLY = "your last message was not saved"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def sqlite_only(sqlite_url: str) -> str:
    return sqlite_url


def kinds(h: Harness, chat: int) -> list[str]:
    """Which command each message the chat got answers (or the message's first line)."""
    out = []
    for message in h.api.sent_to(chat):
        text = message.get("text", message.get("caption", ""))
        command = next((c for c, first in FIRST_LINE.items() if text.startswith(first)), None)
        out.append(command or ("error" if ERROR_REPLY in text else text.splitlines()[0]))
    return out


def inbox_rows(db: Database) -> list[InboxUpdate]:
    return db.run_sync(lambda s: list(s.scalars(select(InboxUpdate).order_by(InboxUpdate.id))))


def conversation_versions(db: Database) -> list[int]:
    return db.run_sync(lambda s: list(s.scalars(select(Conversation.version))))


def poison(chat: int, query_id: str) -> dict[str, Any]:
    """A button press the bot cannot read: its sender (`from`) is not an object, so nobody
    can be said to have pressed it. `enqueue_raw` gives it the next update id."""
    return {
        "callback_query": {
            "id": query_id,
            "from": "Pat",
            "message": {
                "message_id": 1,
                "date": 1_795_000_000,
                "chat": {"id": chat, "type": "private", "first_name": "Pat"},
                "text": "1. Where does your ankle hurt most?",
            },
            "data": "a1:1:location:outside",
        },
    }


@asynccontextmanager
async def crashing_bot(
    url: str, api: FakeBotApi, clock: FakeClock, *, after_death: Callable[[], None] = lambda: None
) -> AsyncIterator[Harness]:
    """The bot as `running_bot` starts it, but at the end the process "dies": every task it
    started is cancelled where it stands, with no `stop()` (nothing confirmed, nothing handed
    back). `after_death` then runs, before the database pool is closed (which waits for the
    transactions still in its threads: the test decides how they end)."""
    db = Database.for_url(url)
    upgrade_to_head(db.engine)
    bot_client = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api, read_timeout=30),
        pace=False,
    )
    runtime = BotRuntime(
        bot=bot_client, db=db, clock=clock, scheduler_interval=None, poll_timeout=1
    )
    before = asyncio.all_tasks()
    await runtime.start()
    try:
        yield Harness(api=api, runtime=runtime, db=db, clock=clock)
    finally:
        me = asyncio.current_task()
        for _ in range(20):
            started = [t for t in asyncio.all_tasks() if t not in before and t is not me]
            if not started:
                break
            for task in started:
                task.cancel()
            await asyncio.gather(*started, return_exceptions=True)
        after_death()
        await db.dispose()


# --- update_key and chat_key ---------------------------------------------------------------------

RUNNER = {"id": 42, "is_bot": False, "first_name": "Ana"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ana"}
GROUP = {"id": -500, "type": "group", "title": "Club"}
CHANNEL = {"id": -1001234567890123, "type": "channel", "title": "News"}


def msg(chat: dict, message_id: int = 5, date: int = 1700, **extra: Any) -> dict[str, Any]:
    return {"message_id": message_id, "date": date, "chat": chat, "from": RUNNER, **extra}


SHAPES = [
    pytest.param({"update_id": 10, "message": msg(PRIVATE)}, "10:m5:1700:", 42, id="message"),
    pytest.param(
        {"update_id": 11, "edited_message": msg(PRIVATE, edit_date=1800)},
        "11:m5:1700:1800",
        42,
        id="edited message",
    ),
    pytest.param({"update_id": 12, "message": msg(GROUP)}, "12:m5:1700:", -500, id="group message"),
    pytest.param(
        {"update_id": 13, "callback_query": {"id": "q9", "from": RUNNER, "message": msg(GROUP)}},
        "13:qq9",
        -500,
        id="callback with message",
    ),
    pytest.param(
        {
            "update_id": 14,
            "callback_query": {"id": "q8", "from": RUNNER, "inline_message_id": "AAA"},
        },
        "14:qq8",
        42,
        id="inline callback",
    ),
    pytest.param(
        {"update_id": 15, "channel_post": {"message_id": 2, "date": 3, "chat": CHANNEL}},
        "15:m2:3:",
        CHANNEL["id"],
        id="channel post",
    ),
    pytest.param(
        {
            "update_id": 16,
            "edited_channel_post": {"message_id": 2, "date": 3, "edit_date": 4, "chat": CHANNEL},
        },
        "16:m2:3:4",
        CHANNEL["id"],
        id="edited channel post",
    ),
    pytest.param(
        {"update_id": 17, "my_chat_member": {"chat": GROUP, "from": RUNNER, "date": 1}},
        "17",
        -500,
        id="member change",
    ),
    pytest.param(
        {"update_id": 18, "inline_query": {"id": "i1", "from": RUNNER, "query": "ankle"}},
        "18",
        42,
        id="unknown kind with a user",
    ),
    pytest.param({"update_id": 19, "poll": {"id": "p1", "question": "?"}}, "19", 0, id="poll"),
    pytest.param({"update_id": 20}, "20", 0, id="nothing but an id"),
    pytest.param({}, "None", 0, id="empty"),
    pytest.param(
        {"update_id": 21, "message": {"message_id": 1, "date": 2, "from": RUNNER}},
        "21:m1:2:",
        42,
        id="message without a chat",
    ),
    pytest.param(
        {"update_id": 22, "message": {"message_id": 1, "date": 2, "chat": {"id": "42"}}},
        "22:m1:2:",
        0,
        id="chat id not a number",
    ),
    pytest.param(
        {"update_id": 23, "callback_query": {"id": "q1", "from": RUNNER, "message": {"x": 1}}},
        "23:qq1",
        42,
        id="callback whose message has no chat",
    ),
]


@pytest.mark.parametrize(("raw", "key", "queue"), SHAPES)
def test_every_update_shape_has_a_key_and_a_queue(raw: dict, key: str, queue: int) -> None:
    assert update_key(raw) == key
    assert chat_key(raw) == queue


def test_a_redelivery_has_the_same_key() -> None:
    for shape in SHAPES:
        raw = shape.values[0]
        again = copy.deepcopy(raw)
        assert update_key(again) == update_key(raw)
        assert chat_key(again) == chat_key(raw)


def test_a_reused_update_id_with_another_message_has_another_key() -> None:
    first = {"update_id": 10, "message": msg(PRIVATE, message_id=5, date=1700)}
    keys = {
        update_key(first),
        update_key({"update_id": 10, "message": msg(PRIVATE, message_id=6, date=1700)}),
        update_key({"update_id": 10, "message": msg(PRIVATE, message_id=5, date=1701)}),
        update_key({"update_id": 10, "edited_message": msg(PRIVATE, edit_date=1800)}),
        update_key({"update_id": 10, "edited_message": msg(PRIVATE, edit_date=1801)}),
        update_key({"update_id": 10, "callback_query": {"id": "1", "from": RUNNER}}),
        update_key({"update_id": 10, "callback_query": {"id": "2", "from": RUNNER}}),
    }
    assert len(keys) == 7


def test_a_runners_messages_and_buttons_share_a_queue() -> None:
    text = {"update_id": 1, "message": msg(PRIVATE)}
    button = {
        "update_id": 2,
        "callback_query": {"id": "7", "from": RUNNER, "message": msg(PRIVATE)},
    }
    assert chat_key(text) == chat_key(button) == 42


def test_a_key_is_bounded() -> None:
    raw = {"update_id": 1, "callback_query": {"id": "q" * 500, "from": RUNNER}}
    assert len(update_key(raw)) == 120
    assert len(update_key({"update_id": "9" * 500})) == 120


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "chat", "from", "message", "message_id", "date", "edit_date"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)
UPDATE_KINDS = st.sampled_from(
    [
        "update_id",
        "message",
        "edited_message",
        "callback_query",
        "channel_post",
        "edited_channel_post",
        "my_chat_member",
        "chat",
        "from",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(UPDATE_KINDS | st.text(max_size=10), JSONISH, max_size=6))
def test_no_json_object_makes_the_keys_raise(raw: dict[str, Any]) -> None:
    key = update_key(raw)
    queue = chat_key(raw)
    assert isinstance(key, str)
    assert len(key) <= 120
    assert isinstance(queue, int)
    # The same object again (a redelivery) has the same key.
    assert update_key(copy.deepcopy(raw)) == key
    if isinstance(raw.get("update_id"), int):
        # What Telegram sends always has an integer id: then the poller can store anything.
        got = received(raw)
        assert (got.update_key, got.chat_key, got.payload) == (key, queue, raw)


# --- store before confirm ----------------------------------------------------------------------


async def test_an_update_is_committed_before_the_getupdates_that_confirms_it(url: str) -> None:
    api = FakeBotApi()
    reader = make_engine(url)  # a connection of its own: it sees only what was committed
    seen: list[list[tuple[int, str, str]]] = []

    def at_confirmation(call: Any) -> None:
        with reader.connect() as connection:
            seen.append(
                list(
                    connection.execute(
                        select(InboxUpdate.update_id, InboxUpdate.update_key, InboxUpdate.state)
                    )
                )
            )

    try:
        async with running_bot(url, api=api) as h:
            update = api.user_sends_text(1, "/help", enqueue=False)
            uid = update["update_id"]
            api.on_call("getUpdates", at_confirmation, confirms=uid, once=True)
            api.enqueue_update(update)
            (reply,) = await h.say("/about", 2)  # a second chat, then both are settled
            await h.settle()
            assert reply["text"].startswith("About this bot")
            assert kinds(h, 1) == ["/help"]
            # When the confirming getUpdates arrived, the update was already stored.
            assert len(seen) == 1
            stored = [(u, k) for u, k, _ in seen[0]]
            assert (uid, update_key(update)) in stored
            assert api.confirmed_at(uid) is not None
            assert api.hook_errors == []
    finally:
        reader.dispose()


async def test_a_batch_that_could_not_be_stored_is_not_confirmed(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    real = bot.inbox._store_batch
    tries: list[bool] = []
    confirmed_after: list[int] = []

    def flaky_store(session: Any, **kwargs: Any) -> Any:
        tries.append(True)
        if len(tries) == 1:
            raise OSError("disk full")
        return real(session, **kwargs)

    monkeypatch.setattr(bot.inbox, "_store_batch", flaky_store)
    async with running_bot(sqlite_url, api=api) as h:
        update = api.user_sends_text(1, "/help", enqueue=False)
        api.on_call(
            "getUpdates",
            lambda call: confirmed_after.append(len(tries)),
            confirms=update["update_id"],
            once=True,
        )
        api.enqueue_update(update)
        await api.wait_for_sent(1, 1, within=10)
        await h.settle()
        assert kinds(h, 1) == ["/help"]
        # The first store failed; the update was confirmed only after the second one worked.
        assert confirmed_after == [2]
        assert len(api.delivered_at(update["update_id"])) == 1
        assert len(api.confirmations) == 1
    assert [r.getMessage() for r in caplog.records if "could not store" in r.getMessage()] == [
        "could not store updates (OSError: disk full); retrying in 1 s"
    ]


# --- redelivery ------------------------------------------------------------------------------


async def test_an_update_delivered_twice_in_a_batch_is_applied_once(sqlite_only: str) -> None:
    api = FakeBotApi()
    async with running_bot(sqlite_only, api=api) as h:
        update = api.user_sends_text(1, "/new", enqueue=False)
        api.enqueue_raw(update)
        api.enqueue_raw(update)
        await api.wait_for_sent(1, 1)
        await h.say("/help", 2)
        await h.settle()
        sent = api.sent_to(1)
        assert len(sent) == 1
        assert sent[0]["text"].startswith("1 of about 10\nFirst, do any of these apply")
        # One getUpdates answer carried it twice.
        first, second = api.delivered_at(update["update_id"])
        assert first == second
        assert conversation_versions(h.db) == [1]
        assert [(r.update_id, r.state) for r in inbox_rows(h.db)] == [
            (update["update_id"], "done"),
            (update["update_id"] + 1, "done"),
        ]


async def test_an_update_redelivered_after_a_crash_is_applied_once(sqlite_only: str) -> None:
    api, clock = FakeBotApi(), FakeClock()
    async with crashing_bot(sqlite_only, api, clock) as h:
        update = api.user_sends_text(1, "/new", enqueue=False)
        # The process dies before the getUpdates confirming the update takes effect.
        held = api.pause_next("getUpdates", confirms=update["update_id"])
        api.enqueue_update(update)
        await api.wait_for_sent(1, 1)
        await h.runtime.settle()
        await held.wait_async()
    assert api.confirmed_at(update["update_id"]) is None
    assert [u["update_id"] for u in api.pending_updates] == [update["update_id"]]
    async with running_bot(sqlite_only, api=api, clock=clock) as h:
        await h.say("/help", 2)
        await h.settle()
        assert len(api.delivered_at(update["update_id"])) == 2
        assert api.confirmed_at(update["update_id"]) is not None
        (question,) = api.sent_to(1)
        assert question["text"].startswith("1 of about 10\nFirst, do any of these apply")
        assert conversation_versions(h.db) == [1]
        assert len(inbox_rows(h.db)) == 2


# --- updates that cannot be applied --------------------------------------------------------------


async def test_an_update_that_cannot_be_parsed_is_set_aside_without_stalling_anything(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    api, clock = FakeBotApi(), FakeClock()
    healthy = [11, 12, 13]
    async with running_bot(url, api=api, clock=clock) as h:
        # One batch: healthy chats around the poison, which a runner of its own sent.
        api.user_sends_text(11, "/help")
        api.user_sends_text(12, "/help")
        api.user_sends_text(14, "/help")
        bad = api.enqueue_raw(poison(14, "p-1"))
        api.user_sends_text(13, "/help")
        api.user_sends_text(14, "/about")
        api.user_sends_text(11, "/about")
        for chat in healthy:
            await api.wait_for_sent(chat, 1)
        await api.wait_for_sent(11, 2)
        await api.wait_for_sent(14, 2)
        await h.settle()
        assert kinds(h, 11) == ["/help", "/about"]
        assert kinds(h, 12) == kinds(h, 13) == ["/help"]
        # The poison's own chat carries on with its next update.
        # The poison was chat 14's own button press: they are told it was not saved.
        assert kinds(h, 14) == ["/help", "error", "/about"]
        # The poller keeps long-polling at its usual pace: not a retry storm.
        before = len(api.calls_to("getUpdates"))
        await asyncio.sleep(1.0)
        assert len(api.calls_to("getUpdates")) - before <= 4
        (row,) = [r for r in inbox_rows(h.db) if r.update_id == bad["update_id"]]
        assert (row.state, row.attempts, row.chat_key) == ("failed", 1, 14)
        assert "cannot be parsed" in row.last_error and "callback_query.from" in row.last_error
        assert row.payload == bad
        assert {r.state for r in inbox_rows(h.db) if r.update_id != bad["update_id"]} == {"done"}
        assert "p-1" in [a["callback_query_id"] for a in api.callback_answers]
        assert api.confirmed_at(bad["update_id"]) is not None
    mentions = f"update {bad['update_id']} "
    about_poison = [r for r in caplog.records if mentions in r.getMessage()]
    assert len(about_poison) == 1, [r.getMessage() for r in about_poison]
    assert about_poison[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    # Restarted on the same database (and Telegram sends the poison again): nothing stalls.
    caplog.clear()
    async with running_bot(url, api=api, clock=clock) as h:
        api.enqueue_raw(bad)
        for chat in [*healthy, 14]:
            await h.say("/status", chat)
        await h.settle()
        assert kinds(h, 14)[-1] == "/status"
        states = {r.update_id: r.state for r in inbox_rows(h.db)}
        assert states.pop(bad["update_id"]) == "failed"
        assert set(states.values()) == {"done"}
    assert not [r for r in caplog.records if mentions in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_runner_whose_update_cannot_be_parsed_is_told_it_was_not_saved(
    sqlite_only: str,
) -> None:
    api = FakeBotApi()
    async with running_bot(sqlite_only, api=api) as h:
        api.enqueue_raw(poison(14, "p-1"))
        await h.say("/help", 15)
        await h.settle()
        assert kinds(h, 14) == ["error"]


async def test_an_update_failing_every_try_is_set_aside_and_the_runner_told(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    real = service.apply_event
    tries: list[int] = []

    def apply_event(session: Any, *, sender: Any, event: Any, now: Any) -> Any:
        if sender.chat_id == 21 and event == TypedText("my ankle, again"):
            tries.append(1)
            raise RuntimeError("the conversation row is corrupt")
        return real(session, sender=sender, event=event, now=now)

    monkeypatch.setattr(service, "apply_event", apply_event)
    api = FakeBotApi()
    async with running_bot(url, api=api) as h:
        await h.say("/new", 21)
        bad = api.user_sends_text(21, "my ankle, again")
        api.user_sends_text(21, "/status")  # queued behind the failing update
        api.user_sends_text(22, "/help")  # another chat, not held up
        await api.wait_for_sent(22, 1, within=2)
        assert len(api.sent_to(21)) == 1  # still trying
        await api.wait_for_sent(21, 3, within=10)
        await h.settle()
        assert kinds(h, 21)[1:] == ["error", "/status"]
        assert "Your status" in api.sent_to(21)[2]["text"]
        assert len(tries) == 3
        (row,) = [r for r in inbox_rows(h.db) if r.update_id == bad["update_id"]]
        assert (row.state, row.attempts) == ("failed", 3)
        assert "RuntimeError: the conversation row is corrupt" in row.last_error
        # The failed tries changed nothing: the conversation is still at the first question.
        assert conversation_versions(h.db) == [1]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"update {bad['update_id']} failed every try; set aside"
    ]
    retries = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert len(retries) == 2


# --- after a crash ---------------------------------------------------------------------------


async def test_updates_stored_before_a_crash_are_applied_at_start_up_in_order(
    url: str,
) -> None:
    api, clock = FakeBotApi(), FakeClock()
    sequence = {31: ["/help", "/about", "/status"], 32: ["/plan", "/help"], 33: ["/progress"]}
    raws = []
    for round_ in range(3):
        for chat, texts in sequence.items():
            if round_ < len(texts):
                raws.append(api.user_sends_text(chat, texts[round_], enqueue=False))
    db = Database.for_url(url)
    upgrade_to_head(db.engine)
    db.run_sync(inbox_store.store_updates, updates=[received(r) for r in raws], now=clock())
    db.dispose_sync()
    async with running_bot(url, api=api, clock=clock) as h:
        await h.settle()
        for chat, texts in sequence.items():
            assert kinds(h, chat) == texts
        assert {r.state for r in inbox_rows(h.db)} == {"done"}
        assert h.runtime.applier.applied == len(raws)


async def test_a_crash_while_applying_leaves_the_rest_for_the_restart(
    sqlite_only: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, clock = FakeBotApi(), FakeClock()
    real = bot.inbox.apply_inbox_update
    applying, dies = threading.Event(), threading.Event()
    holding = [True]

    def apply(session: Any, *, inbox_id: int, route: Any, now: Any) -> int:
        if holding and isinstance(route, RunnerEvent) and route.sender.chat_id == 41:
            holding.clear()  # only the first: the restarted bot applies for real
            applying.set()
            # On SQLite the transaction runs on the event loop's thread, so nothing sets `dies`
            # while it waits: it is held a moment, then fails as the process's death would.
            dies.wait(0.5)
            raise SystemError("the process died here")  # nothing of this transaction commits
        return real(session, inbox_id=inbox_id, route=route, now=now)

    monkeypatch.setattr(bot.inbox, "apply_inbox_update", apply)
    async with crashing_bot(sqlite_only, api, clock, after_death=dies.set):
        for text in ["/help", "/about", "/status"]:
            api.user_sends_text(41, text)
        assert await asyncio.to_thread(applying.wait, 10)
    assert api.sent_to(41) == []
    async with running_bot(sqlite_only, api=api, clock=clock) as h:
        await h.settle()
        assert kinds(h, 41) == ["/help", "/about", "/status"]
        assert [r.state for r in inbox_rows(h.db)] == ["done"] * 3


# --- order and concurrency -------------------------------------------------------------------


async def test_each_chat_is_answered_in_order_while_chats_go_side_by_side(
    sqlite_only: str,
) -> None:
    api = FakeBotApi()
    async with running_bot(sqlite_only, api=api) as h:
        # Chat 51's first reply is slow to send; chat 52 is not held up by it.
        slow = api.pause_next("sendMessage", chat_id=51)
        api.user_sends_text(51, "/help")
        api.user_sends_text(51, "/about")
        await slow.wait_async()
        (reply,) = await h.say("/status", 52)
        assert reply["text"].startswith("Your status")
        assert api.sent_to(51) == []
        slow.release()
        await api.wait_for_sent(51, 2)
        assert kinds(h, 51) == ["/help", "/about"]

        # Many chats, many updates each, all in flight at once.
        script = list(FIRST_LINE)
        chats = range(60, 70)
        for round_ in range(6):
            for chat in chats:
                api.user_sends_text(chat, script[(chat + round_) % len(script)])
        await h.settle()
        for chat in chats:
            assert kinds(h, chat) == [script[(chat + r) % len(script)] for r in range(6)]


async def test_each_reply_is_claimed_where_its_update_was_applied(
    sqlite_only: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction that applies an update claims its first reply for the sender, which
    sends it without a pass of its own; the chat's later messages follow from each record,
    also while an earlier reply of the chat is still being sent."""
    passes: list[int] = []

    def no_pass(session: Any, **kwargs: Any) -> list[Any]:
        passes.append(1)
        return []

    monkeypatch.setattr(bot.outbox.outbox_store, "claim_heads", no_pass)
    api = FakeBotApi()
    async with running_bot(sqlite_only, api=api) as h:
        (reply,) = await h.say("/help", 81)
        assert reply["text"].startswith("How I work")
        slow = api.pause_next("sendMessage", chat_id=81)
        api.user_sends_text(81, "/about")
        await slow.wait_async()
        api.user_sends_text(81, "/status")
        await h.runtime.applier.idle()
        slow.release()
        await api.wait_for_sent(81, 3)
        assert kinds(h, 81) == ["/help", "/about", "/status"]
    assert passes, "the sender still looks for work when woken (the claim_heads pass)"


async def test_a_slow_update_of_one_chat_does_not_hold_up_another(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With worker threads to spare (PostgreSQL), chats are applied side by side."""
    real = bot.workers.apply_inbox_update
    release = threading.Event()

    def apply(session: Any, *, inbox_id: int, route: Any, now: Any) -> int:
        if isinstance(route, RunnerEvent) and route.sender.chat_id == 71:
            release.wait(10)
        return real(session, inbox_id=inbox_id, route=route, now=now)

    monkeypatch.setattr(bot.workers, "apply_inbox_update", apply)
    api = FakeBotApi()
    try:
        async with running_bot(postgres_url, api=api) as h:
            api.user_sends_text(71, "/help")
            api.user_sends_text(71, "/about")
            for chat in (72, 73):
                (reply,) = await h.say("/status", chat)
                assert reply["text"].startswith("Your status")
            assert api.sent_to(71) == []
            release.set()
            await api.wait_for_sent(71, 2)
            assert kinds(h, 71) == ["/help", "/about"]
    finally:
        release.set()


def test_received_carries_the_keys() -> None:
    raw = {"update_id": 3, "message": msg(GROUP)}
    got = received(raw)
    assert (got.update_id, got.update_key, got.chat_key, got.payload) == (
        3,
        "3:m5:1700:",
        -500,
        raw,
    )
