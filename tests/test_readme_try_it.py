"""The README's "Try it" section works as written: its terminal-chat script reaches home care
and, after `/later 3d`, the check-ins and the reminder at the runner's local time; the fake Bot
API expects the token the README names, and its callback example (a real Telegram update) is
answered by the bot; a refused token and a Bot API that does not answer each give one line,
never a traceback."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fakebotapi import DEFAULT_TOKEN, FakeBotApiServer
from tests.bot.harness import running_bot

ROOT = Path(__file__).resolve().parents[1]
TRY_IT = ROOT.joinpath("README.md").read_text().split("## Try it\n", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```sh\n(.*?)```", TRY_IT, re.S)
PYTHON = ".venv/bin/python"


def block_with(text: str) -> str:
    (block,) = [b for b in BLOCKS if text in b]
    return block


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **extra}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return {**env, **extra}


def test_the_readme_script_shows_home_care_then_three_days_of_follow_ups(tmp_path: Path) -> None:
    (script,) = [line for line in block_with("/later 3d").splitlines() if line.strip()]
    done = subprocess.run(
        ["bash", "-c", script.replace(PYTHON, shlex.quote(sys.executable))],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the terminal chat's default database is ./ankle-bot.db
        env=bot_env(tmp_path),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "Home care:" in out
    later = out.split("> /later 3d\n", 1)[1]
    assert re.search(r"\[\w{3} \d\d \w{3} \d{4}, 07:30 \(Europe/Berlin\)\]\nTime for today", later)
    assert "Check-in 1: how is your ankle today?" in later
    assert "Check-in 2: how is your ankle today?" in later
    assert "(the clock now reads" in later


def test_the_fake_expects_the_token_the_readme_names() -> None:
    block = block_with("-m fakebotapi")
    assert f"TELEGRAM_BOT_TOKEN={DEFAULT_TOKEN}" in block
    assert f"`{DEFAULT_TOKEN}`" in TRY_IT


async def test_the_readme_callback_is_a_real_update_the_bot_answers(sqlite_url: str) -> None:
    curl = block_with("_fake/raw")
    update = json.loads(re.search(r"-d '(\{.*\})'", curl).group(1))["update"]
    query = update["callback_query"]
    async with running_bot(sqlite_url) as h:
        chat = query["message"]["chat"]["id"]
        first = await h.say("/start", chat_id=chat, expect=2)
        # The README names the first question's message and its button's data as they are.
        assert first[-1]["message_id"] == query["message"]["message_id"]
        buttons = [b for row in first[-1]["reply_markup"]["inline_keyboard"] for b in row]
        assert {"text": "None of these", "callback_data": query["data"]} in buttons
        before = len(h.api.sent_to(chat))
        h.api.enqueue_raw(update)
        sent = await h.api.wait_for_sent(chat, before + 1)
    assert sent[before]["text"].startswith("2 of about 10\nCan you walk on it right now?")


def test_a_token_the_fake_refuses_is_one_line(tmp_path: Path) -> None:
    with FakeBotApiServer() as server:
        url = server.url
        done = subprocess.run(
            [sys.executable, "-m", "bot"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=bot_env(tmp_path, TELEGRAM_API_URL=server.url, TELEGRAM_BOT_TOKEN="123:abc"),
            timeout=120,
        )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "alembic" not in line]
    assert errors == [
        f"error: TELEGRAM_BOT_TOKEN was rejected by the Bot API at {url}: get a new "
        "token from @BotFather, or check TELEGRAM_API_URL"
    ]


def test_a_bot_api_that_does_not_answer_is_one_line_an_attempt(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=bot_env(
                tmp_path,
                TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
                TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            ),
        )
        try:
            time.sleep(6)  # migrations, then attempts after 1 s and 2 s
        finally:
            bot.send_signal(signal.SIGINT)
            _, stderr = bot.communicate(timeout=30)
    assert "Traceback" not in stderr
    attempts = [line for line in stderr.splitlines() if "Bot API not answering" in line]
    assert len(attempts) >= 2, stderr
    assert all(line.endswith(tuple(f"retrying in {n} s" for n in (1, 2, 4))) for line in attempts)
