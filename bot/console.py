"""The terminal chat: the same flows, templates and database as the Telegram bot, in a terminal.

For trying the bot without Telegram. Buttons become numbered choices (type the number), typed
answers and commands work as in Telegram, and a scripted conversation can be piped in on
standard input (each line is echoed so the transcript reads like a chat). State is stored in the
same database, so a conversation left in the terminal carries on where it stopped.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot import i18n
from bot.db.database import Database
from bot.progress_chart import render_png
from bot.render import render
from bot.service import Attachment, Sender, apply_event
from bot.summary_pdf import render_pdf
from flows.dialog import Event, Resume, TypedText, event_for_command
from flows.events import event_for_button
from flows.questions import untranslated
from flows.types import Button, Reply

# Console runners live apart from Telegram chats (whose private chat ids are positive).
CONSOLE_CHAT_ID = 0
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def plain_text(telegram_html: str) -> str:
    """Telegram HTML as terminal text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", telegram_html))


class ConsoleChat:
    """One terminal conversation: shows replies, reads lines, turns them into flow events."""

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime], chat_id: int, out: TextIO
    ) -> None:
        self.db = db
        self.clock = clock
        self.chat_id = chat_id
        self.out = out
        self.choices: list[Button] = []
        self.version = 0
        # The language of the last reply (Telegram's is unknown here: English, until /language).
        self.locale = i18n.SOURCE_LOCALE

    def show(
        self, replies: tuple[Reply, ...], attachments: dict[str, Attachment] | None = None
    ) -> None:
        for reply in replies:
            attachment = (attachments or {}).get(reply.attachment)
            extra = attachment.summary if attachment is not None else {}
            text = render(reply.template, locale=self.locale, **reply.context, **extra)
            self.out.write(plain_text(text) + "\n")
            if reply.buttons:
                self.choices = [b for row in reply.buttons for b in row]
                self.version = reply.version
                for number, button in enumerate(self.choices, start=1):
                    self.out.write(f"  {number}) {button.text(i18n.gettext(self.locale))}\n")
            self.out.write("\n")

    def event_for(self, line: str) -> Event:
        text = line.strip()
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return event_for_command(name.split("@")[0], argument)
        # A choice whose label is the number typed wins (pain 0-10), else the number is a position.
        by_label = [b for b in self.choices if b.text(untranslated) == text]
        if by_label:
            return event_for_button(by_label[0], self.version) or TypedText(text)
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return event_for_button(self.choices[int(text) - 1], self.version) or TypedText(text)
        return TypedText(text)

    def send(self, event: Event) -> None:
        outcome = self.db.run_sync(
            apply_event, sender=Sender(chat_id=self.chat_id), event=event, now=self.clock()
        )
        if outcome is not None:
            self.locale = outcome.locale
            self.show(outcome.replies, outcome.attachments)
            for attachment in outcome.attachments.values():
                self.save(attachment)

    def save(self, attachment: Attachment) -> None:
        """Attachments are files in the working directory (a terminal cannot show a chart)."""
        if attachment.kind == "export":
            path = Path(f"ankle-bot-export-{self.chat_id}.json")
            path.write_bytes(attachment.export)
        elif attachment.page is not None and attachment.summary.get("has_assessment"):
            path = Path(f"ankle-bot-summary-{self.chat_id}.pdf")
            path.write_bytes(render_pdf(attachment.page, locale=self.locale))
        elif attachment.progress is not None and attachment.summary.get("has_data"):
            path = Path(f"ankle-bot-progress-{self.chat_id}.png")
            path.write_bytes(render_png(attachment.progress))
        else:
            return
        self.out.write(f"(saved {path})\n\n")

    def run(self, lines: TextIO, *, echo: bool) -> None:
        self.send(Resume())
        while True:
            self.out.write("> ")
            self.out.flush()
            line = lines.readline()
            if not line:
                self.out.write("\n")
                return
            if echo:
                self.out.write(line if line.endswith("\n") else line + "\n")
            if line.strip() in {"/quit", "/exit"}:
                return
            if line.strip():
                self.send(self.event_for(line))


def run_console(
    db: Database,
    *,
    clock: Callable[[], datetime],
    chat_id: int = CONSOLE_CHAT_ID,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    lines = stdin or sys.stdin
    chat = ConsoleChat(db, clock=clock, chat_id=chat_id, out=stdout or sys.stdout)
    chat.out.write("Terminal chat: type the number of a choice, or an answer; /quit to leave.\n\n")
    chat.run(lines, echo=not lines.isatty())
