"""The runner's language on the way out and back in: what the bot sends is in it (text, buttons,
the chart's words, error replies, group notices, Telegram's command menu), and what a runner types
in it is understood.

Catalogues are installed as a language is shipped, one `messages.po` in a temporary `locales/`
directory (see `tests.bot.test_i18n`), with a few German words; English runners are checked to
get exactly what they got before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import i18n, outgoing, render
from flows.due_messages import seen_check_reply
from flows.types import Disposition
from tests.bot.test_i18n import install_catalogue

GERMAN = {
    "Not yet": "Noch nicht",
    "Yes, I've been seen": "Ja, ich war dort",
}


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
