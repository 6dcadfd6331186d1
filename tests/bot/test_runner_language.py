"""The runner's language on the way out and back in: what the bot sends is in it (text, buttons,
the chart's words, error replies, group notices, Telegram's command menu), and what a runner types
in it is understood.

Catalogues are installed as a language is shipped, one `messages.po` in a temporary `locales/`
directory (see `tests.bot.test_i18n`), with a few German words; English runners are checked to
get exactly what they got before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import BotCommand

from bot import i18n, outgoing, progress_chart, render
from bot.app import register_commands
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage
from bot.db.progress_store import AssessmentMark, ProgressData, SorenessPoint
from bot.service import Sender, apply_event, load_state, queue_error_reply
from fakebotapi import FakeBotApi
from flows.commands import MENU
from flows.dialog import TypedText, event_for_command
from flows.due_messages import seen_check_reply
from flows.types import Disposition, Reply
from tests.bot.harness import running_bot
from tests.bot.test_i18n import install_catalogue
from tests.fakebotapi.test_botapi import make_bot

ERROR = (
    "Sorry, something went wrong on my side and your last message was not saved. Please send it"
    " or tap it again in a moment. If it might be an emergency, don't wait for me: call your"
    " local emergency number."
)
NOTICE = (
    "Hi! Questions about your health belong in a private chat, not a group. Please message me"
    " directly to check your ankle."
)
GERMAN = {
    "Not yet": "Noch nicht",
    "Yes, I've been seen": "Ja, ich war dort",
    "Outside of the ankle": "Außen am Knöchel",
    progress_chart.TITLE: "Dein Knöchel: Schmerz und Übungsplan",
    ERROR: "Entschuldigung, deine letzte Nachricht wurde nicht gespeichert.",
    NOTICE: "Hallo! Fragen zur Gesundheit gehören in einen privaten Chat.",
    "Start a new ankle assessment": "Eine neue Knöchel-Einschätzung beginnen",
}
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
GROUP = -4001


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `locales/` directory shipping German with the words above."""
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    install_catalogue(tmp_path, "de", GERMAN)
    i18n.reset()
    render.environment.cache_clear()
    yield tmp_path
    i18n.reset()
    render.environment.cache_clear()


# A follow-up the scheduler sends: its buttons were left in English while its text was not.
SEEN_CHECK = seen_check_reply(5, Disposition.SEE_CLINICIAN)


def labels(message: outgoing.Outgoing) -> list[str]:
    return [b["text"] for row in message.payload["reply_markup"]["inline_keyboard"] for b in row]


def test_a_messages_buttons_are_in_the_messages_locale(locales: Path) -> None:
    assert labels(outgoing.message(SEEN_CHECK, locale="de-at")) == [
        "Ja, ich war dort",
        "Noch nicht",
    ]
    english = ["Yes, I've been seen", "Not yet"]
    assert labels(outgoing.message(SEEN_CHECK)) == english
    assert labels(outgoing.message(SEEN_CHECK, locale="en")) == english


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()


def say(db: Database, sender: Sender, text: str) -> None:
    event = event_for_command(text[1:], "") if text.startswith("/") else TypedText(text)
    db.run_sync(lambda s: apply_event(s, sender=sender, event=event, now=NOW))


def test_an_answer_typed_in_the_runners_language_is_understood(locales: Path, db: Database) -> None:
    german, english = Sender(chat_id=1, language_code="de"), Sender(chat_id=2, language_code="en")
    # No sign on the checklist, walking with a limp: then where it hurts.
    before = {"signs": "none", "walk": "painful"}
    for runner in (german, english):
        say(db, runner, "/new")
        say(db, runner, "none")
        say(db, runner, "limp")
        say(db, runner, "außen am knöchel")
    assert db.run_sync(lambda s: load_state(s, chat_id=1)).answers == {**before, "loc": "outside"}
    # The German words mean nothing to an English runner: they are asked again.
    assert db.run_sync(lambda s: load_state(s, chat_id=2)).answers == before
    say(db, english, "Outside of the ankle")
    assert db.run_sync(lambda s: load_state(s, chat_id=2)).answers == {**before, "loc": "outside"}


class PhotoBot:
    """Just enough of a Bot to receive one photo."""

    def __init__(self) -> None:
        self.photos: list[dict[str, Any]] = []

    async def send_photo(self, **params: Any) -> None:
        self.photos.append(params)


CHART = ProgressData(
    zone="UTC",
    soreness=(SorenessPoint(NOW, 4, "assessment"),),
    assessments=(AssessmentMark(NOW, "HOME_CARE"),),
)


async def test_the_chart_is_drawn_in_the_locale_of_its_message(
    locales: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles: list[str] = []

    def drawn(data: ProgressData, *, gettext: progress_chart.Gettext) -> bytes:
        titles.append(gettext(progress_chart.TITLE))
        return progress_chart.render_png(data, gettext=gettext)

    monkeypatch.setattr(outgoing, "render_png", drawn)
    reply = Reply("plan/progress.j2", {}, attachment="progress")
    summary = {"has_data": True, "summary": progress_chart.summary(CHART, now=NOW)}
    chart = progress_chart.progress_to_json(CHART)
    bot: Any = PhotoBot()
    for locale in ("de", "en"):
        photo = outgoing.progress_chart(reply, summary=summary, chart=chart, locale=locale)
        await outgoing.deliver(bot, 1, photo.method, photo.payload)
    # A message queued before charts carried their locale is drawn in English.
    await outgoing.deliver(bot, 1, outgoing.SEND_PHOTO, {"caption": "", "chart": chart})
    assert titles == [
        "Dein Knöchel: Schmerz und Übungsplan",
        progress_chart.TITLE,
        progress_chart.TITLE,
    ]
    assert all(p["photo"].startswith(b"\x89PNG") for p in bot.photos)


def queued_texts(db: Database, chat_id: int) -> list[str]:
    rows = db.run_sync(
        lambda s: s.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.chat_id == chat_id)
            .order_by(OutboxMessage.id)
        ).all()
    )
    return [payload["text"] for payload in rows]


def test_the_error_reply_is_in_the_runners_stored_language(locales: Path, db: Database) -> None:
    say(db, Sender(chat_id=1, language_code="de"), "/new")
    say(db, Sender(chat_id=2, language_code="en"), "/new")
    for chat_id in (1, 2, 3):  # chat 3 was never stored: its first update failed
        db.run_sync(lambda s, chat_id=chat_id: queue_error_reply(s, chat_id=chat_id, now=NOW))
    assert queued_texts(db, 1) == [GERMAN[ERROR]]
    assert queued_texts(db, 2) == queued_texts(db, 3) == [ERROR]


@pytest.mark.parametrize(
    ("writer", "notice"),
    [
        ({"id": 7, "language_code": "de-CH"}, GERMAN[NOTICE]),
        ({"id": 8, "language_code": "en"}, NOTICE),
        ({"id": 9}, NOTICE),
    ],
    ids=["german", "english", "unknown"],
)
async def test_a_group_is_told_in_the_language_of_who_wrote(
    locales: Path, sqlite_url: str, writer: dict[str, Any], notice: str
) -> None:
    async with running_bot(sqlite_url) as h:
        h.api.group_message(GROUP, "mein Knöchel tut weh", user=writer)
        await h.settle()
        assert [m["text"] for m in h.api.sent_to(GROUP)] == [notice]


def menu(commands: Iterable[BotCommand]) -> dict[str, str]:
    return {c.command: c.description for c in commands}


async def test_the_command_menu_is_registered_in_every_shipped_language(
    locales: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_catalogue(locales, "pt_BR", {"Start a new ankle assessment": "Nova avaliação"})
    i18n.reset()
    english = {c.name: c.description for c in MENU}
    api = FakeBotApi()
    # The default list fails; the languages are registered all the same.
    api.fail_next("setMyCommands", 400, "Bad Request: something odd")
    async with make_bot(api) as bot:
        await register_commands(bot)
        assert await bot.get_my_commands() == ()
        german = menu(await bot.get_my_commands(language_code="de"))
        assert german == {**english, "new": "Eine neue Knöchel-Einschätzung beginnen"}
        # Telegram files menus by language; a language shipped only for a region is answered
        # in English (see locale_for), and its menu is the default one.
        assert await bot.get_my_commands(language_code="pt") == ()
        await register_commands(bot)
        assert menu(await bot.get_my_commands()) == english
    languages = [
        params.get("language_code") for method, params in api.calls if method == "setMyCommands"
    ]
    assert languages == [None, "de", None, "de"]
    assert "could not register the command list (default)" in caplog.text
