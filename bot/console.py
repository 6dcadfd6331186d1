"""The terminal chat: the same flows, templates, database and scheduler as the Telegram bot.

For trying the bot without Telegram. Buttons become numbered choices (type the number), typed
answers and commands work as in Telegram, and a scripted conversation can be piped in on
standard input (each line is echoed so the transcript reads like a chat). State is stored in the
same database, so a conversation left in the terminal carries on where it stopped.

Replies to what is typed are printed at once, as `apply_event` returns them. Check-ins and
reminders come the bot's way: the real `bot.scheduler.Scheduler` queues them into the outbox
and a real `bot.outbox.OutboxSender` delivers them, to a `TerminalBot` that prints them instead
of calling Telegram (both only for the terminal's chat, so a database shared with the bot loses
none of a Telegram runner's messages). The clock is an `OffsetClock`: `/later 1d` (the terminal's
own row of the command table) moves it forward from one due message to the next, so a day or a
week of follow-ups arrives in a moment. Files (/progress, /summary, /export) are written to the
working directory and their full path is printed.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot import i18n
from bot.clock import OffsetClock
from bot.db import schedule_store, store
from bot.db.database import Database
from bot.keyboards import decode_callback
from bot.outbox import OutboxSender
from bot.progress_chart import render_png
from bot.render import render
from bot.scheduler import Scheduler, compose
from bot.service import Attachment, Sender, apply_event
from bot.summary_pdf import render_pdf
from flows.commands import BY_NAME, COMMANDS, Where
from flows.dialog import Event, Resume, TypedText, event_for_command
from flows.events import event_for_button
from flows.types import Reply

# Console runners live apart from Telegram chats (whose private chat ids are positive).
CONSOLE_CHAT_ID = 0
LATER = "later"
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_SPAN = re.compile(r"^\s*(\d{1,3})\s*([hdw])\s*$", re.I)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
# Far enough for a whole recovery plan, near enough that a typo cannot jump years.
LONGEST_LATER = timedelta(weeks=12)
# A walk through time stops after this many due instants (a runaway chain cannot hang it).
MOST_STEPS = 10_000
# The files the terminal writes, one per chat (listed in .gitignore).
EXPORT_FILE = "ankle-bot-export-{chat_id}.json"
SUMMARY_FILE = "ankle-bot-summary-{chat_id}.pdf"
PROGRESS_FILE = "ankle-bot-progress-{chat_id}.png"
BANNER = (
    "Terminal chat: type the number of a choice, or an answer; /help for the commands, "
    "/later 1d to jump a day ahead (also 3h, 2d, 1w), /quit to leave.\n\n"
)


def plain_text(telegram_html: str) -> str:
    """Telegram HTML as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", telegram_html))


def parse_span(text: str) -> timedelta | None:
    """`/later`'s argument ("3h", "1d", "2d", "1w"; none is a day) as a span, None if unreadable
    or beyond `LONGEST_LATER`."""
    if not text.strip():
        return _UNITS["d"]
    match = _SPAN.match(text)
    if match is None:
        return None
    span = int(match.group(1)) * _UNITS[match.group(2).lower()]
    return span if timedelta(0) < span <= LONGEST_LATER else None


@dataclass(frozen=True, slots=True)
class Choice:
    """One numbered choice on screen: its label and the event typing its number sends."""

    label: str
    event: Event | None


class ConsoleChat:
    """One terminal conversation: shows replies, reads lines, turns them into flow events, and
    runs the scheduler and outbox sender that bring its follow-ups."""

    def __init__(
        self,
        db: Database,
        *,
        clock: OffsetClock,
        chat_id: int,
        out: TextIO,
        scheduler_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.chat_id = chat_id
        self.out = out
        self.choices: list[Choice] = []
        # The language of the last reply (Telegram's is unknown here: English, until /language).
        self.locale = i18n.SOURCE_LOCALE
        # No rate limiter: nothing is sent to Telegram (the replies above are not paced either).
        self.outbox = OutboxSender(
            db=db,
            bot=TerminalBot(self),  # type: ignore[arg-type]
            clock=clock,
            interval=scheduler_interval,
            only_chats=(chat_id,),
        )
        self.scheduler = Scheduler(
            db=db,
            compose=compose,
            on_queued=self.outbox.wake,
            clock=clock,
            interval=scheduler_interval,
            only_chats=(chat_id,),
        )

    # --- showing -------------------------------------------------------------------------------

    def show(
        self, replies: tuple[Reply, ...], attachments: dict[str, Attachment] | None = None
    ) -> None:
        for reply in replies:
            attachment = (attachments or {}).get(reply.attachment)
            extra = attachment.summary if attachment is not None else {}
            text = render(reply.template, locale=self.locale, **reply.context, **extra)
            choices = [
                Choice(b.text(i18n.gettext(self.locale)), event_for_button(b, reply.version))
                for row in reply.buttons
                for b in row
            ]
            self.write_message(text, choices if reply.buttons else None)

    def write_message(self, telegram_html: str, choices: list[Choice] | None) -> None:
        """One message on screen; its buttons (if any) become the choices typed numbers pick."""
        self.out.write(plain_text(telegram_html) + "\n")
        if choices is not None:
            self.choices = choices
            for number, choice in enumerate(choices, start=1):
                self.out.write(f"  {number}) {choice.label}\n")
        self.out.write("\n")
        self.out.flush()

    def save(self, name: str, data: bytes) -> None:
        """Write a file the runner would have received, and say where it is."""
        path = Path(name.format(chat_id=self.chat_id)).resolve()
        path.write_bytes(data)
        self.out.write(f"(saved {path})\n\n")
        self.out.flush()

    def save_attachment(self, attachment: Attachment) -> None:
        """Attachments are files in the working directory (a terminal cannot show a chart)."""
        if attachment.kind == "export":
            self.save(EXPORT_FILE, attachment.export)
        elif attachment.page is not None and attachment.summary.get("has_assessment"):
            self.save(SUMMARY_FILE, render_pdf(attachment.page, locale=self.locale))
        elif attachment.progress is not None and attachment.summary.get("has_data"):
            self.save(PROGRESS_FILE, render_png(attachment.progress))

    # --- reading -------------------------------------------------------------------------------

    def event_for(self, line: str) -> Event:
        text = line.strip()
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return event_for_command(name.split("@")[0], argument)
        # A choice whose label is the number typed wins (pain 0-10), else the number is a position.
        by_label = [c for c in self.choices if c.label == text]
        if by_label:
            return by_label[0].event or TypedText(text)
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return self.choices[int(text) - 1].event or TypedText(text)
        return TypedText(text)

    async def send(self, event: Event) -> None:
        applied = await self.db.run(
            apply_event, sender=Sender(chat_id=self.chat_id), event=event, now=self.clock()
        )
        if applied is not None:
            self.locale = applied.locale
            self.show(applied.replies, applied.attachments)
            for attachment in applied.attachments.values():
                self.save_attachment(attachment)

    async def handle(self, line: str) -> None:
        text = line.strip()
        name, _, argument = text[1:].partition(" ") if text.startswith("/") else ("", "", "")
        command = BY_NAME.get(name.split("@")[0].lower())
        if command is not None and command.where is Where.TERMINAL:
            await self.later(argument)
            return
        await self.send(self.event_for(text))
        if command is not None and command.name == "help":
            self.out.write("In this terminal chat also:\n")
            for row in COMMANDS:
                if row.where is Where.TERMINAL:
                    self.out.write(f"/{row.name}: {row.description}\n")
            self.out.write("/quit: leave the terminal chat\n\n")

    # --- time ----------------------------------------------------------------------------------

    async def later(self, argument: str) -> None:
        """Move the clock forward by `argument`, stopping at each due message on the way so that
        everything the scheduler would send in that time arrives, in order, at its time."""
        span = parse_span(argument)
        if span is None:
            self.out.write("Type /later with a span such as 3h, 1d, 2d or 1w (at most 12w).\n\n")
            return
        target = self.clock() + span
        for _ in range(MOST_STEPS):
            due = await self.db.run(schedule_store.next_due_at, only_chats=(self.chat_id,))
            if due is None or due > target:
                break
            self.clock.move_to(due)
            await self.deliver_due()
        self.clock.move_to(target)
        await self.deliver_due()
        self.out.write(f"(the clock now reads {await self.when(self.clock())})\n\n")
        self.out.flush()

    async def deliver_due(self) -> None:
        """Queue whatever is due now and wait until the outbox has printed it."""
        for _ in range(MOST_STEPS):
            if not await self.scheduler.run_once():
                break
        await self.outbox.idle(within=60.0)

    async def when(self, instant: datetime) -> str:
        """An instant as the runner would read it: in their time zone once they chose one."""
        runner = await self.db.run(store.find_runner, chat_id=self.chat_id)
        zone = getattr(runner, "zone", None)
        local = instant.astimezone(ZoneInfo(zone) if zone else ZoneInfo("UTC"))
        return f"{local:%a %d %b %Y, %H:%M} ({zone or 'UTC'})"

    # --- running -------------------------------------------------------------------------------

    async def run(self, lines: TextIO, *, echo: bool) -> None:
        # A `/later` in an earlier session moved this chat's time on: carry on from there.
        latest = await self.db.run(schedule_store.latest_write_at, chat_id=self.chat_id)
        if latest is not None:
            self.clock.move_to(latest)
        self.scheduler.start()
        self.outbox.start()
        try:
            await self.send(Resume())
            while True:
                self.out.write("> ")
                self.out.flush()
                line = await asyncio.to_thread(lines.readline)
                if not line:
                    self.out.write("\n")
                    return
                if echo:
                    self.out.write(line if line.endswith("\n") else line + "\n")
                if line.strip() in {"/quit", "/exit"}:
                    return
                if line.strip():
                    await self.handle(line)
        finally:
            await self.scheduler.stop()
            await self.outbox.stop()


class TerminalBot:
    """The Bot API methods the outbox calls (`bot.outgoing.deliver`), printing to the terminal:
    the scheduled messages take the bot's own outbound path up to the last step."""

    def __init__(self, chat: ConsoleChat) -> None:
        self.chat = chat

    async def _header(self) -> None:
        self.chat.out.write(f"[{await self.chat.when(self.chat.clock())}]\n")

    async def do_api_request(self, endpoint: str, *, api_kwargs: dict[str, Any], **_: Any) -> None:
        """`deliver` sends texts as a raw sendMessage call (no Message object built)."""
        if endpoint != "sendMessage":
            raise ValueError(f"the terminal cannot show {endpoint!r}")
        await self.send_message(**api_kwargs)

    async def send_message(
        self, *, chat_id: int, text: str, reply_markup: Any = None, **_: Any
    ) -> None:
        await self._header()
        rows = (reply_markup or {}).get("inline_keyboard")
        choices = None
        if rows:
            choices = [
                Choice(b["text"], decode_callback(b.get("callback_data")))
                for row in rows
                for b in row
            ]
        self.chat.write_message(text, choices)

    async def send_document(
        self, *, chat_id: int, document: bytes, filename: str, caption: str, **_: Any
    ) -> None:
        await self._header()
        self.chat.write_message(caption, None)
        self.chat.save(SUMMARY_FILE if filename.endswith(".pdf") else EXPORT_FILE, document)

    async def send_photo(self, *, chat_id: int, photo: bytes, caption: str, **_: Any) -> None:
        await self._header()
        self.chat.write_message(caption, None)
        self.chat.save(PROGRESS_FILE, photo)


async def run_console(
    db: Database,
    *,
    clock: OffsetClock,
    chat_id: int = CONSOLE_CHAT_ID,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    scheduler_interval: float = 1.0,
) -> None:
    lines = stdin or sys.stdin
    chat = ConsoleChat(
        db,
        clock=clock,
        chat_id=chat_id,
        out=stdout or sys.stdout,
        scheduler_interval=scheduler_interval,
    )
    chat.out.write(BANNER)
    await chat.run(lines, echo=not lines.isatty())
