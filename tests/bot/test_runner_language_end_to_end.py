"""A runner who uses Telegram in another language, through the real bot (`running_bot`): the
command menu, questions and their buttons come in their language, and typing a choice's words in
it answers the question, while an English runner in the same run sees and types what they
always did.

The language is the pseudo-locale of `tests.bot.test_pseudo_locale` (every word of the
catalogue swapped for accented look-alikes inside ⟦ ⟧), shipped for "el" in a temporary
`locales/` directory before the bot starts, as a real translation would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakebotapi import FakeBotApi
from flows.commands import MENU
from tests.bot.harness import Harness, button_labels, running_bot
from tests.bot.test_pseudo_locale import PSEUDO, leftovers, pseudo, pseudo_locale, template_msgids

GREEK = 2001
ENGLISH = 2002


@pytest.fixture
def shipped_pseudo(tmp_path: Path) -> Iterator[None]:
    with pseudo_locale(tmp_path, template_msgids()):
        yield


def user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "language_code": PSEUDO if chat_id == GREEK else "en"}


def counter(number: int) -> str:
    """The counter of a question as the pseudo language writes it."""
    return pseudo("%(number)s of about %(about)s") % {"number": number, "about": 10}


async def says(h: Harness, chat_id: int, text: str) -> dict[str, Any]:
    """The runner types `text`; the one message the bot answers with."""
    before = len(h.api.sent_to(chat_id))
    h.api.user_sends_text(chat_id, text, user=user(chat_id))
    return (await h.api.wait_for_sent(chat_id, before + 1))[-1]


async def taps(h: Harness, chat_id: int, label: str) -> dict[str, Any]:
    before = len(h.api.sent_to(chat_id))
    h.api.user_taps(chat_id, label, user=user(chat_id))
    return (await h.api.wait_for_sent(chat_id, before + 1))[-1]


def labels(message: dict[str, Any]) -> list[str]:
    return [label for row in button_labels(message) for label in row]


async def test_a_runner_reads_and_answers_in_their_language_and_english_is_unchanged(
    sqlite_url: str, shipped_pseudo: None
) -> None:
    api = FakeBotApi()
    async with running_bot(sqlite_url, api=api) as h:
        greek_menu = await h.runtime.bot.get_my_commands(language_code=PSEUDO)
        assert [c.description for c in greek_menu] == [pseudo(c.description) for c in MENU]
        default_menu = await h.runtime.bot.get_my_commands()
        assert [c.description for c in default_menu] == [c.description for c in MENU]

        # The English runner first: what they see is what every runner saw before.
        english = await says(h, ENGLISH, "/new")
        assert english["text"].startswith("1 of about 10\nFirst, do any")
        where = labels(english)
        assert "None of these" in where
        question = await says(h, GREEK, "/new")
        assert question["text"].startswith(
            pseudo("%(number)s of about %(about)s") % {"number": 1, "about": 10}
        )
        assert leftovers(question["text"]) == []
        assert labels(question) == [pseudo(label) for label in where]

        # Typing the words of a choice, as the runner's language writes them, answers it.
        question = await says(h, GREEK, pseudo("None of these"))
        assert question["text"].startswith(
            pseudo("%(number)s of about %(about)s") % {"number": 2, "about": 10}
        )
        assert leftovers(question["text"]) == []
        greek_how = labels(question)

        # The English runner's words are read as before; the pseudo words mean nothing to them.
        confused = await says(h, ENGLISH, pseudo("None of these"))
        assert not confused["text"].startswith("2 of about")
        english = await says(h, ENGLISH, "None of these")
        assert english["text"].startswith("2 of about 10\nCan you walk")
        how = labels(english)
        assert "Yes, with pain or a limp" in how and "⬅ Back" in how
        assert greek_how == [pseudo(label) for label in how]

        # Their buttons work as every button does: by their data, not their words.
        question = await taps(h, GREEK, pseudo("Yes, with pain or a limp"))
        assert question["text"].startswith(
            pseudo("%(number)s of about %(about)s") % {"number": 3, "about": 10}
        )
        assert leftovers(question["text"]) == []
