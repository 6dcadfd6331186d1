"""A pseudo-locale proves that every word a runner reads goes through the catalogue.

The pseudo catalogue is built at test time from the extracted template: every msgstr is its
msgid with the letters swapped for accented look-alikes and wrapped in ⟦ ⟧, leaving markup,
%(name)s placeholders and /commands intact. Every template is rendered with the contexts the flows
really produce (test_render's corpus), and every keyboard the flows offer is translated; then
no run of two or more ASCII letters may remain outside ⟦ ⟧, except data: commands, time-zone and
city names (and the offsets built from them), which are the same in every language. Numbers and
clock times have no letters; exercise ids only travel in callback data, which is not text.

The catalogue is installed under `el` (Greek) so that dates and durations, which Babel words from
CLDR rather than from the catalogue, are checked too: any English left in them would show.

The pseudo catalogue holds only what extraction finds (templates, the flows' `N_` marks, the
content data), so a word the flows hand over unmarked is found too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot import i18n, progress_chart, render
from bot.db.progress_store import AssessmentMark, ProgressData, SorenessPoint
from bot.keyboards import inline_keyboard
from fakebotapi.telegram_html import parse_html
from flows import language, registry
from flows.flow import question_reply
from flows.registry import QUESTIONS
from flows.reminders import city_label
from flows.state import DialogState
from flows.types import Button, ButtonAction, Reply
from flows.zones import is_valid_zone
from tests.bot.test_render import one_off_replies, random_walk

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PSEUDO = "el"
PLAIN = "abcdefghijklmnopqrstuvwxyz"
ACCENTED = "áƀçḋéƒĝĥíĵķĺṁñóṕʠŕšţúṽŵẋýž"
LOOK_ALIKES = str.maketrans(PLAIN + PLAIN.upper(), ACCENTED + ACCENTED.upper())
# Left as they are in a translation: markup, entities, placeholders, %% and /commands.
KEEP = re.compile(r"<[^>]*>|&#?\w+;|%\(\w+\)s|%%|/[a-z_]+")
INNERMOST = re.compile(r"⟦[^⟦⟧]*⟧")
COMMAND = re.compile(r"/[a-z_]+")
WORD = re.compile(r"[A-Za-z]{2,}")


def pseudo(msgid: str) -> str:
    out, at = [], 0
    for keep in KEEP.finditer(msgid):
        out += [msgid[at : keep.start()].translate(LOOK_ALIKES), keep.group()]
        at = keep.end()
    out.append(msgid[at:].translate(LOOK_ALIKES))
    return "⟦" + "".join(out) + "⟧"


def template_msgids() -> set[str | tuple[str, ...]]:
    with i18n.TEMPLATE_FILE.open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id}


@contextmanager
def pseudo_locale(directory: Path, msgids: Iterable[str | tuple[str, ...]]) -> Iterator[None]:
    """Ship the pseudo catalogue as a language is shipped: one messages.po under locales/."""
    catalog = Catalog(locale=PSEUDO)
    for msgid in msgids:
        catalog.add(msgid, tuple(map(pseudo, msgid)) if isinstance(msgid, tuple) else pseudo(msgid))
    po = directory / PSEUDO / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as out:
        write_po(out, catalog)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(i18n, "LOCALES_DIR", directory)
        i18n.reset()
        render.environment.cache_clear()
        try:
            yield
        finally:
            i18n.reset()
            render.environment.cache_clear()


def leftovers(text: str, data: Iterable[str] = ()) -> list[str]:
    """The runs of 2+ ASCII letters of a rendered text outside ⟦ ⟧, its data taken out."""
    plain, _ = parse_html(text)  # tags and entities are not words
    while (inner := INNERMOST.sub(" ", plain)) != plain:  # translations nest: ⟦a ⟦b⟧⟧
        plain = inner
    plain = COMMAND.sub(" ", plain)
    for value in sorted(data, key=len, reverse=True):
        plain = plain.replace(value, " ")
    return WORD.findall(plain)


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings_in(item)
    elif is_dataclass(value):
        for f in fields(value):
            yield from strings_in(getattr(value, f.name))


def data_in(reply: Reply) -> set[str]:
    """The values of a reply that are data in every language: time zones and their cities."""
    zones = {s for s in strings_in(reply.context) if is_valid_zone(s)}
    return zones | {city_label(z) for z in zones} | {"UTC"}


def is_data_label(button: Button) -> bool:
    """Choices computed from the time-zone database (offsets and cities) are place names, and
    each language of /language is named in its own words."""
    if button.action == ButtonAction.LANGUAGE:
        return button.value != language.AUTOMATIC
    question = QUESTIONS.get(button.step)
    return question is not None and question.dynamic is not None


@pytest.fixture(scope="module")
def corpus() -> list[Reply]:
    return reply_corpus()


def reply_corpus() -> list[Reply]:
    """The replies test_render reaches every template with, and every question's keyboard."""
    replies = one_off_replies()
    for seed in range(120):
        replies.extend(random_walk(seed))
    for flow in registry.ALL:
        for step in flow.questions:
            after_first = DialogState(step, {}, (flow.first,), flow=flow.name)
            replies.append(question_reply(after_first, now=NOW))
    return replies


def rendered(reply: Reply) -> list[str]:
    if reply.attachment == "summary":
        return [
            render.render(reply.template, locale=PSEUDO, **reply.context, has_assessment=has)
            for has in (False, True)
        ]
    if reply.attachment != "progress":
        return [render.render(reply.template, locale=PSEUDO, **reply.context)]
    with_data = ProgressData(
        zone="UTC",
        soreness=(SorenessPoint(NOW, 4, "assessment"), SorenessPoint(NOW, 2, "report")),
        assessments=(AssessmentMark(NOW, "HOME_CARE"),),
    )
    return [
        render.render(
            reply.template,
            locale=PSEUDO,
            **reply.context,
            has_data=progress_chart.has_anything(data),
            summary=progress_chart.summary(data, now=NOW),
        )
        for data in (ProgressData(zone="UTC"), with_data)
    ]


def english_left(replies: list[Reply]) -> dict[str, set[str]]:
    """Template or button -> the English words left in it."""
    found: dict[str, set[str]] = {}
    for reply in replies:
        for text in rendered(reply):
            if words := leftovers(text, data_in(reply)):
                found.setdefault(reply.template, set()).update(words)
    return found | english_on_buttons(replies)


def english_on_buttons(replies: list[Reply]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for reply in replies:
        keyboard = inline_keyboard(reply, locale=PSEUDO)
        sent_rows = keyboard["inline_keyboard"] if keyboard else []
        for row, sent_row in zip(reply.buttons, sent_rows, strict=True):
            for button, sent in zip(row, sent_row, strict=True):
                if is_data_label(button):
                    continue
                if words := leftovers(sent["text"]):
                    found.setdefault(f"button {button.label!r}", set()).update(words)
    return found


def test_every_template_and_keyboard_translates_every_word(
    corpus: list[Reply], tmp_path: Path
) -> None:
    with pseudo_locale(tmp_path, template_msgids()):
        rendered_templates = {r.template for r in corpus}
        assert set(render.template_names()) <= rendered_templates
        assert english_left(corpus) == {}


def test_the_checker_finds_a_planted_untranslated_word(tmp_path: Path) -> None:
    with pseudo_locale(tmp_path, template_msgids() | {"Not yet"}):
        env = render.environment(PSEUDO)
        translated = env.from_string("{{ _('<b>Your status</b>') }} 7/10, /new").render()
        assert translated == "⟦<b>Ýóúŕ šţáţúš</b>⟧ 7/10, /new"
        assert leftovers(translated) == []
        planted = env.from_string("{{ _('<b>Your status</b>') }} so far").render()
        assert leftovers(planted) == ["so", "far"]
        # Data is not text; a word beside it still is.
        zoned = env.from_string("{{ zone }} time").render(zone="Europe/London")
        assert leftovers(zoned, {"Europe/London"}) == ["time"]

        # A label the catalogue does not know is left in English, and is found.
        def seen(label: str) -> Reply:
            return Reply("care/seen_check.j2", buttons=((Button(label, "seen", "5", "n"),),))

        assert english_on_buttons([seen("Not yet")]) == {}
        assert english_on_buttons([seen("Maybe later")]) == {
            "button 'Maybe later'": {"Maybe", "later"}
        }


def test_no_reply_uses_the_reserved_context_name_locale(corpus: list[Reply]) -> None:
    assert not [r.template for r in corpus if "locale" in r.context]
