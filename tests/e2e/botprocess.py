"""The bot as a real process for end-to-end tests: start it, kill it, read its log and database.

Each test owns a `FakeBotApiServer` (the fake Bot API over real HTTP, in a thread of the test
process, so the test can pause, fail or inspect calls in process) and a SQLite file. The bot is
`python -m bot` with the environment a deployment would give it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakebotapi import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


def start_bot(
    api_url: str,
    database: Path,
    log: Path,
    *,
    token: str,
    clock_file: Path | None = None,
    **env: str,
) -> subprocess.Popen[bytes]:
    """Start `python -m bot` against `api_url`, appending its output to `log`."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "DEBUG",
        "SCHEDULER_INTERVAL": "0.2",
        # A scripted runner taps at once; a person reads for longer than Telegram's second per
        # chat. Tests of pacing itself set it back to 1.
        "CHAT_SEND_INTERVAL": "0.05",
        **env,
    }
    if clock_file is not None:
        environment["BOT_CLOCK_FILE"] = str(clock_file)
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no chance to clean up, as in a crash or an OOM kill."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a service manager stops it; the exit code."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def tap(
    api: FakeBotApi, chat: int, label: str, *, expect: int = 1, within: float = 30.0
) -> list[dict[str, Any]]:
    """The runner taps the newest button `label`; the `expect` messages it gets back."""
    before = api.sent_count(chat)
    api.user_taps(chat, label)
    api.wait_until(lambda: api.sent_count(chat) >= before + expect, within=within)
    return api.sent_to(chat, start=before)


def say(
    api: FakeBotApi, chat: int, text: str, *, expect: int = 1, within: float = 30.0
) -> list[dict[str, Any]]:
    before = api.sent_count(chat)
    api.user_sends_text(chat, text)
    api.wait_until(lambda: api.sent_count(chat) >= before + expect, within=within)
    return api.sent_to(chat, start=before)


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the bot's database as an operator would (a separate connection)."""
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, params).fetchall()


def texts(api: FakeBotApi, chat: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in api.sent_to(chat)]
