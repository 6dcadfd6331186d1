"""One command table (flows.commands) is what Telegram's menu, /help, the terminal chat and the
routing of updates all read: no command can be listed in one place and missing in another."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import OffsetClock
from bot.console import ConsoleChat
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from flows.commands import COMMANDS, MENU, Where
from flows.events import Command, Unreadable
from tests.bot.harness import running_bot

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# A command as /help writes it: at the start of a line.
LISTED = re.compile(r"^/([a-z_]+)", re.M)


async def test_the_menu_and_help_list_exactly_the_command_table(sqlite_url: str) -> None:
    table = [(c.name, c.description) for c in COMMANDS if c.where is not Where.TERMINAL]
    assert table == [(c.name, c.description) for c in MENU]
    async with running_bot(sqlite_url) as h:
        menu = [(c["command"], c["description"]) for c in h.api.commands]
        (help_text,) = [m["text"] for m in await h.say("/help")]
    assert menu == table
    assert LISTED.findall(help_text) == [name for name, _ in table]
    for name, description in table:
        assert f"/{name}: {description}" in help_text


def test_the_terminal_chat_knows_every_command_in_the_table(tmp_path: Path) -> None:
    db = Database.for_url(f"sqlite:///{tmp_path / 'chat.db'}")
    upgrade_to_head(db.engine)
    try:
        chat = ConsoleChat(db, clock=OffsetClock(lambda: NOW), chat_id=1, out=io.StringIO())
        for command in COMMANDS:
            event = chat.event_for(f"/{command.name} 3")
            assert event == Command(command.name, "3"), command.name
        assert chat.event_for("/frobnicate") == Unreadable("unknown_command")
    finally:
        db.dispose_sync()


async def test_later_is_the_terminals_own_kept_out_of_telegram(sqlite_url: str) -> None:
    """/later moves the terminal chat's clock: Telegram's menu and /help never show it, and a
    runner who types it in Telegram is told where it works, with their question repeated."""
    assert [c.name for c in COMMANDS if c.where is Where.TERMINAL] == ["later"]
    async with running_bot(sqlite_url) as h:
        assert "later" not in [c["command"] for c in h.api.commands]
        (help_text,) = [m["text"] for m in await h.say("/help")]
        await h.say("/new")
        refused, question = [m["text"] for m in await h.say("/later 1d", expect=2)]
    assert "/later" not in help_text
    assert "works only in the terminal chat" in refused
    assert question.startswith("1 of about 10\nFirst, do any of these apply to you now?")
