"""A running bot for tests: the real runtime, a real SQLite database, a fake Bot API.

Only the edges are fake: Telegram's HTTP layer is a `FakeBotApi` answered in process, and the
clock is a settable function. Updates arrive by real long polling, so the inbox, the applier,
the database transaction and the outbox sender all run as in production. The rate limiter is
off unless a test asks for it (`pace=True`), so that a three-message outcome does not take two
seconds of every test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.app import BotRuntime, build_bot
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from fakebotapi import DEFAULT_TOKEN, FakeBotApi, LocalBotApiRequest
from tests.scripts import SPRAIN_NOS

CHAT = 1001
# No sign on the checklist, then a sudden outside sprain 1-2 days ago, walking with a limp,
# pain 4: with every warning sign after it answered "No" it ends in home care.
SPRAIN_TAPS = [
    "None of these",
    "Yes, with pain or a limp",
    "Outside of the ankle",
    "Suddenly: twist or fall",
    "1-2 days ago",
    "A little swollen",
    "4",
]
WARNING_SIGNS_ON_THE_SPRAIN_PATH = SPRAIN_NOS


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    api: FakeBotApi
    runtime: BotRuntime
    db: Database
    clock: FakeClock

    def texts(self, chat_id: int = CHAT) -> list[str]:
        return [m.get("text", "") for m in self.api.sent_to(chat_id)]

    async def say(self, text: str, chat_id: int = CHAT, *, expect: int = 1) -> list[dict]:
        """The runner types `text`; wait for `expect` new bot messages and return them."""
        before = len(self.api.sent_to(chat_id))
        self.api.user_sends_text(chat_id, text)
        sent = await self.api.wait_for_sent(chat_id, before + expect)
        return sent[before:]

    async def tap(self, label: str, chat_id: int = CHAT, *, expect: int = 1) -> list[dict]:
        """The runner taps the newest button labelled `label`."""
        before = len(self.api.sent_to(chat_id))
        self.api.user_taps(chat_id, label)
        sent = await self.api.wait_for_sent(chat_id, before + expect)
        return sent[before:]

    async def settle(self) -> None:
        """Wait until every queued update has been fetched and processed."""
        await self.api.wait_for(lambda: not self.api.pending_updates or None)
        await self.runtime.settle()

    async def run_due(self, at: datetime | None = None) -> int:
        """Move the clock to `at`, let one scheduler pass queue what is due, and wait until the
        outbox has sent it; how many due messages the pass dealt with."""
        if at is not None:
            self.clock.now = at
        taken = await self.runtime.scheduler.run_once()
        await self.settle()
        return taken


async def home_care(h: Harness, chat: int = CHAT) -> None:
    """Play the sprain to its home-care outcome (one message, its details behind buttons)."""
    await h.say("/new", chat)
    for label in SPRAIN_TAPS:
        await h.tap(label, chat)
    for _ in range(WARNING_SIGNS_ON_THE_SPRAIN_PATH - 1):
        await h.tap("No", chat)
    await h.tap("No", chat)


def button_labels(message: dict[str, Any]) -> list[list[str]]:
    return [[text for text, _ in row] for row in FakeBotApi.buttons(message)]


@asynccontextmanager
async def running_bot(
    database_url: str,
    *,
    api: FakeBotApi | None = None,
    scheduler_interval: float | None = None,
    clock: FakeClock | None = None,
    pace: bool = False,
) -> AsyncIterator[Harness]:
    """The bot running in process. Its scheduler is driven by `Harness.run_due`; with
    `scheduler_interval` it also runs by itself."""
    api = api or FakeBotApi()
    db = Database.for_url(database_url)
    upgrade_to_head(db.engine)
    clock = clock or FakeClock()
    bot = build_bot(
        token=DEFAULT_TOKEN,
        request=LocalBotApiRequest(api),
        get_updates_request=LocalBotApiRequest(api, read_timeout=30),
        pace=pace,
    )
    runtime = BotRuntime(
        bot=bot,
        db=db,
        clock=clock,
        scheduler_interval=scheduler_interval,
        poll_timeout=1,
    )
    await runtime.start()
    try:
        yield Harness(api=api, runtime=runtime, db=db, clock=clock)
    finally:
        api.release_pollers()
        await runtime.stop()
        await db.dispose()
