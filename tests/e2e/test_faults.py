"""What the bot owes a runner survives kills, Bot API faults and bad input: the real process.

Each test starts `python -m bot` against the fake Bot API over HTTP and breaks something at an
exact moment, found with the fake's pauses (a call held at the server while the test SIGKILLs
the bot): between Telegram confirming an update and the bot applying it, between a message
reaching the runner and the bot recording it; or it makes the Bot API fail (500, a reset
connection, a flood wait) on the one message that matters, feeds an update the library cannot
parse among healthy chats, or starts the bot with a rejected token or no Bot API at all.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from fakebotapi import FakeBotApi, FakeBotApiServer
from tests.bot.harness import SPRAIN_TAPS, WARNING_SIGNS_ON_THE_SPRAIN_PATH
from tests.e2e.botprocess import kill, query, say, start_bot, stop, tap, texts

pytestmark = pytest.mark.e2e

TOKEN = "987654323:AAFaultsTokenThatMustNeverBeLoggedXyz"
SECRET = TOKEN.split(":")[1]
CHAT = 7101
EMERGENCY_TAPS = ["None of these", "No, I can't take 4 steps"]
# The second question, after "None of these" on the checklist.
WALK_QUESTION = "2 of about 10\nCan you walk on it right now"


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi(token=TOKEN)) as running:
        yield running


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "bot.db", tmp_path / "bot.log"


def started(server: FakeBotApiServer, files: tuple[Path, Path], **env: str):
    database, log = files
    return start_bot(server.url, database, log, token=TOKEN, **env)


def begin(api: FakeBotApi, chat: int = CHAT) -> None:
    say(api, chat, "/start", expect=2)


def count(api: FakeBotApi, chat: int, prefix: str) -> int:
    return sum(text.startswith(prefix) for text in texts(api, chat))


def assert_clean_log(log: Path) -> None:
    output = log.read_text()
    assert SECRET not in output


def test_an_update_confirmed_just_before_a_kill_is_applied_and_answered_after_restart(
    server: FakeBotApiServer, postgres_url: str, tmp_path: Path
) -> None:
    """Between Telegram confirming a tap and the bot applying it. PostgreSQL, so the test can
    hold the runner's conversation row locked: the bot stores and confirms the tap, and its
    apply waits for the lock while the test kills it."""
    api = server.api
    log = tmp_path / "bot.log"
    env = {"DATABASE_URL": postgres_url}
    bot = start_bot(server.url, tmp_path / "unused.db", log, token=TOKEN, **env)
    try:
        begin(api)
        with psycopg.connect(postgres_url) as holder:
            holder.execute(
                "SELECT c.id FROM conversations c JOIN runners r ON r.id = c.runner_id "
                "WHERE r.chat_id = %s FOR UPDATE",
                (CHAT,),
            )
            update = api.user_taps(CHAT, "None of these", enqueue=False)
            confirmed = api.pause_next(
                "getUpdates", confirms=update["update_id"], after_delivery=True
            )
            api.enqueue_update(update)
            # The confirming long poll returns (and is held) once it has something to return.
            time.sleep(1)
            api.user_sends_text(CHAT + 1, "/help")
            confirmed.wait(within=30)
            stored = holder.execute(
                "SELECT state FROM inbox_updates WHERE update_id = %s", (update["update_id"],)
            ).fetchall()
            kill(bot)
            confirmed.release(drop=True)
        assert stored == [("pending",)]  # stored, confirmed, not applied
    finally:
        if bot.poll() is None:
            kill(bot)
    # Confirmed: Telegram will not send the tap again (only the other chat's /help, unconfirmed).
    assert [u["update_id"] for u in api.pending_updates] == [update["update_id"] + 1]
    assert count(api, CHAT, WALK_QUESTION) == 0
    bot = start_bot(server.url, tmp_path / "unused.db", log, token=TOKEN, **env)
    try:
        api.wait_until(lambda: count(api, CHAT, WALK_QUESTION) == 1, within=30)
        (question,) = tap(api, CHAT, "Yes, without pain")
        assert question["text"].startswith("3 of about 10\nWhere does your ankle hurt most?")
    finally:
        stop(bot)
    assert count(api, CHAT, WALK_QUESTION) == 1
    assert_clean_log(log)


def test_a_reply_that_reached_the_runner_just_before_a_kill_is_not_lost(
    server: FakeBotApiServer, files: tuple[Path, Path]
) -> None:
    api = server.api
    bot = started(server, files)
    try:
        begin(api)
        held = api.pause_next(
            "sendMessage", text_contains="Can you walk on it right now", after_delivery=True
        )
        api.user_taps(CHAT, "None of these")
        held.wait(within=30)
        kill(bot)
        held.release(drop=True)
    finally:
        if bot.poll() is None:
            kill(bot)
    bot = started(server, files)
    try:
        # Its outcome is unknown to the restarted bot, which does not send it again.
        time.sleep(2)
        assert count(api, CHAT, WALK_QUESTION) == 1
        (question,) = tap(api, CHAT, "Yes, without pain")
        assert question["text"].startswith("3 of about 10\nWhere does your ankle hurt most?")
    finally:
        stop(bot)


def test_a_follow_up_cut_off_by_a_kill_is_not_repeated_and_the_chain_goes_on(
    server: FakeBotApiServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    api = server.api
    clock = tmp_path / "clock"
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    clock.write_text(start.isoformat())
    bot = started(server, files, BOT_CLOCK_FILE=str(clock))
    try:
        begin(api)
        for label in SPRAIN_TAPS:
            tap(api, CHAT, label)
        for _ in range(WARNING_SIGNS_ON_THE_SPRAIN_PATH - 1):
            tap(api, CHAT, "No")
        tap(api, CHAT, "No")
        held = api.pause_next("sendMessage", text_contains="Check-in", after_delivery=True)
        clock.write_text((start + timedelta(hours=24, minutes=5)).isoformat())
        held.wait(within=30)
        kill(bot)
        held.release(drop=True)
    finally:
        if bot.poll() is None:
            kill(bot)
    database = files[0]
    bot = started(server, files, BOT_CLOCK_FILE=str(clock))
    try:
        # The check-in reached the runner; its outcome is unknown to the bot, which does not
        # send it again, and the next check-in was saved when this one was taken.
        api.wait_until(
            lambda: (
                query(database, "SELECT count(*) FROM outbox_messages WHERE state = 'failed'")[0][0]
                == 1
            ),
            within=30,
        )
        assert count(api, CHAT, "Check-in") == 1
        pending = query(
            database,
            "SELECT count(*) FROM scheduled_messages WHERE kind = 'checkin' AND state = 'pending'",
        )
        assert pending[0][0] == 1
        clock.write_text((start + timedelta(hours=48, minutes=5)).isoformat())
        api.wait_until(lambda: count(api, CHAT, "Check-in") == 2, within=30)
    finally:
        stop(bot)
    assert api.duplicates(CHAT) == {}


def test_the_emergency_outcome_survives_server_errors_and_a_reset(
    server: FakeBotApiServer, files: tuple[Path, Path]
) -> None:
    api = server.api
    api.fail_next("sendMessage", 500, "Internal Server Error", text_contains="Emergency", count=2)
    api.reset_next("sendMessage", text_contains="Emergency", after_delivery=False)
    bot = started(server, files)
    try:
        begin(api)
        for label in EMERGENCY_TAPS[:-1]:
            tap(api, CHAT, label)
        api.user_taps(CHAT, EMERGENCY_TAPS[-1])
        # Tried again after 1, 2 and 4 s: delivered once, with no "sorry" in between.
        api.wait_until(lambda: count(api, CHAT, "Emergency") == 1, within=30)
        assert not any("went wrong" in text for text in texts(api, CHAT))
        # Tapping again on the finished assessment repeats the advice.
        tap(api, CHAT, EMERGENCY_TAPS[-1], expect=2)
        assert count(api, CHAT, "Emergency") == 2
    finally:
        stop(bot)
    assert_clean_log(files[1])


def test_a_flood_wait_holds_everyone_and_then_every_runner_gets_their_next_question(
    server: FakeBotApiServer, files: tuple[Path, Path]
) -> None:
    api = server.api
    runners = [CHAT + n for n in range(20)]
    bot = started(server, files, CHAT_SEND_INTERVAL="1")
    try:
        for chat in runners:
            api.user_sends_text(chat, "/start")
        api.wait_until(lambda: all(api.sent_count(chat) >= 2 for chat in runners), within=30)
        api.fail_next(
            "sendMessage",
            429,
            "Too Many Requests: retry after 2",
            {"retry_after": 2},
            text_contains="Can you walk on it right now",
        )
        tapped = time.monotonic()
        for chat in runners:
            api.user_taps(chat, "None of these")
        api.wait_until(
            lambda: all(count(api, chat, WALK_QUESTION) == 1 for chat in runners),
            within=30,
        )
        assert time.monotonic() - tapped >= 2.0  # everyone waited out the flood
        assert not any("went wrong" in text for chat in runners for text in texts(api, chat))
    finally:
        stop(bot)


def test_an_update_the_bot_cannot_read_stalls_no_one(
    server: FakeBotApiServer, files: tuple[Path, Path]
) -> None:
    api = server.api
    # A button press whose message's chat has no type: the bot cannot tell whose it is.
    poison = {
        "callback_query": {
            "id": "poison-1",
            "from": {"id": 666, "is_bot": False, "first_name": "P"},
            "message": {"message_id": 1, "date": 1_795_000_000, "chat": {"id": 666}},
            "chat_instance": "poison",
            "data": "a1:1:loc:outside",
        }
    }
    runners = [CHAT + 100 + n for n in range(10)]
    bot = started(server, files)
    try:
        api.enqueue_raw(poison)
        for chat in runners:
            api.user_sends_text(chat, "/start")
        api.wait_until(lambda: all(api.sent_count(chat) >= 2 for chat in runners), within=30)
        polls = len(api.calls_to("getUpdates"))
        time.sleep(1.5)
        assert len(api.calls_to("getUpdates")) - polls < 5  # no hammering
    finally:
        stop(bot)
    bot = started(server, files)
    try:
        say(api, runners[0], "/help")
    finally:
        stop(bot)
    database, log = files
    assert query(database, "SELECT state FROM inbox_updates WHERE chat_key = 666") == [("failed",)]
    assert log.read_text().count("cannot be read") == 1
    assert "poison-1" in {a["callback_query_id"] for a in api.callback_answers}


def test_a_rejected_token_is_one_line_naming_the_setting_and_never_the_token(
    files: tuple[Path, Path],
) -> None:
    database, log = files
    with FakeBotApiServer(FakeBotApi(token="111111111:AAOtherTokenTheServerExpects")) as other:
        bot = start_bot(other.url, database, log, token=TOKEN)
        assert bot.wait(timeout=60) == 2
    output = log.read_text()
    assert SECRET not in output and TOKEN.split(":")[0] + ":" not in output
    assert "TELEGRAM_BOT_TOKEN" in output
    assert "Traceback" not in output


def test_a_bot_api_that_does_not_answer_at_start_is_waited_for(files: tuple[Path, Path]) -> None:
    database, log = files
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = start_bot(f"http://127.0.0.1:{port}", database, log, token=TOKEN)
    try:
        # Two failed attempts logged (1 s apart, after however long start-up took), and the
        # bot still waiting rather than gone.
        deadline = time.monotonic() + 60
        while log.read_text().count("retrying in") < 2 and bot.poll() is None:
            assert time.monotonic() < deadline, "the bot did not retry twice within 60 s"
            time.sleep(0.1)
        assert bot.poll() is None, "the bot gave up instead of waiting"
        with FakeBotApiServer(FakeBotApi(token=TOKEN), port=port) as server:
            say(server.api, CHAT, "/start", expect=2, within=60)
            stop(bot)
    finally:
        if bot.poll() is None:
            kill(bot)
    output = log.read_text()
    assert "Traceback" not in output
    assert SECRET not in output
    assert output.count("retrying in") >= 2


def test_slow_sends_to_some_chats_do_not_starve_another_chat(
    server: FakeBotApiServer, files: tuple[Path, Path]
) -> None:
    api = server.api
    slow = [CHAT + 1000 + n for n in range(60)]
    for chat in slow:
        api.hang_next("sendMessage", 8, chat_id=chat, after_delivery=False)
    bot = started(server, files, CHAT_SEND_INTERVAL="1")
    try:
        for chat in slow:
            api.user_sends_text(chat, "/start")
        api.wait_until(
            lambda: len(api.dropped_calls) + len(api.calls_to("sendMessage")) >= 30, within=30
        )
        asked = time.monotonic()
        say(api, CHAT, "/help", within=15)
        assert time.monotonic() - asked < 8
    finally:
        stop(bot)
