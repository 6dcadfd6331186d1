"""The bot as a real process in polling mode against a local fake Bot API HTTP server.

A runner plays a conversation button by button; the bot process is killed (SIGKILL, no chance
to clean up) in the middle, started again, and the runner finishes where they left off. The
token must never appear in what the process prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakebotapi import FakeBotApi, FakeBotApiServer
from tests.e2e import botprocess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHAT = 7001
TOKEN = "987654321:AAE2eTestTokenThatMustNeverBeLogged123"


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(FakeBotApi(token=TOKEN)) as running:
        yield running


def start_bot(server: FakeBotApiServer, database: Path, log: Path) -> subprocess.Popen:
    return botprocess.start_bot(server.url, database, log, token=TOKEN)


def tap(api: FakeBotApi, label: str, *, expect: int = 1, within: float = 20.0) -> list[dict]:
    before = api.sent_count(CHAT)
    api.user_taps(CHAT, label)
    api.wait_until(lambda: api.sent_count(CHAT) >= before + expect, within=within)
    return api.sent_to(CHAT, start=before)


def test_a_conversation_survives_the_bot_being_killed_mid_way(
    server: FakeBotApiServer, tmp_path: Path
) -> None:
    api = server.api
    database, log = tmp_path / "bot.db", tmp_path / "bot.log"
    bot = start_bot(server, database, log)
    try:
        api.user_sends_text(CHAT, "/start")
        api.wait_until(lambda: api.sent_count(CHAT) >= 2, within=30)
        assert api.sent_to(CHAT)[1]["text"].startswith(
            "1 of about 10\nFirst, do any of these apply"
        )
        assert [c["command"] for c in api.commands][:2] == ["start", "new"]
        for label in ["None of these", "Yes, without pain", "Inside of the ankle"]:
            tap(api, label)
        (question,) = tap(api, "Gradually, over runs")
        assert question["text"].startswith("5 of about 10\nWhen did it start?")
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)

    bot = start_bot(server, database, log)
    try:
        # The runner taps the button still on their screen: the bot carries on from question 5.
        (question,) = tap(api, "3-4 days ago", within=30)
        assert question["text"].startswith("6 of about 10\nIs the ankle swollen?")
        for label in ["No swelling", "2"]:
            tap(api, label)
        # Gradual path: bone spot, night pain, giving way.
        for _ in range(2):
            tap(api, "No")
        (outcome,) = tap(api, "No")
        assert outcome["text"].startswith("Home care")
        care, _relief = tap(api, "What to do", expect=2)
        (exercises,) = tap(api, "Today's exercises")
        # A gradual problem on the inside is the tibialis posterior tendon's care path.
        assert care["text"].startswith("An overloaded tendon")
        assert exercises["text"].startswith("Today's exercises")
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=20)
    output = log.read_text()
    assert TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


def test_a_missing_token_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in done.stderr and "BotFather" in done.stderr


def test_a_malformed_token_is_a_one_line_error(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "not a token"}
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "does not look like a bot token" in done.stderr
