"""The shipped languages, checked as a runner meets them: every message translated (no
missing, empty or fuzzy entry, placeholders and tags intact), no English left in any reply a
flow can produce, typed answers understood in each language, the /summary PDF written in each,
and /language switching a runner's language through the real bot.

The languages are the real catalogues under `locales/`; adding one makes every test here cover
it (a new language also says, in HINT_GRAMMAR, how its "or type ..." hints list their words).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from pypdf import PdfReader
from sqlalchemy import select

from bench.summary_page import NOW, played, summary_of
from bot import i18n, render, summary_pdf
from bot.db.chat_store import locale_of
from bot.db.database import Database
from bot.db.followup_store import update_runner_settings
from bot.db.migrate import upgrade_to_head
from bot.db.models import Runner
from bot.db.schedule_store import recipients_for
from bot.keyboards import inline_keyboard
from bot.service import Sender, apply_event, words_of
from fakebotapi import FakeBotApi
from flows import language
from flows.delete import DeleteStep
from flows.dialog import TypedText
from flows.registry import QUESTIONS
from flows.triage import TriageStep
from flows.types import Reply
from tests.bot.harness import Harness, button_labels, running_bot
from tests.bot.test_pseudo_locale import reply_corpus
from tests.bot.test_render import one_off_replies, random_walk
from tests.bot.test_summary_pdf import LONGEST

TRANSLATED = [locale for locale in i18n.shipped_locales() if locale != i18n.SOURCE_LOCALE]
# What must come through a translation unchanged: placeholders, tags, entities, /commands and
# {{ }} expressions.
MARKUP = re.compile(r"%\(\w+\)s|%%|<[^>]+>|&#?\w+;|\{\{.*?\}\}|(?<![\w/])/[a-z_]+\b")

# Messages a language may leave as the English text, each for a reason: numbers, doses and
# signs; study citations; anatomy and Latin terms the language uses as they are; words spelled
# the same. Anything else translated as itself is English left behind.
# Kept as the English in every language: numbers, signs, doses, study citations.
SAME_EVERYWHERE = frozenset(
    {
        "0",  # a number
        "?",  # "not sure", as a sign
        "2 x 15",  # doses: numbers and a sign
        "3 x 15",
        "n",  # "no", as its initial (nein, no)
        "normal",  # spelled the same in German and Spanish
        "lateral",  # anatomy terms patients hear in both languages too
        "medial",
        "anterior",
        "tibia",
        "✓ %(name)s",  # a tick and a language name
        # Study citations: author names and years.
        "Alfredson et al. 1998",
        "Beyer et al. 2015",
        "DiGiovanni et al. 2003",
        "Hupperets et al. 2009 (2BFit)",
        "Jonsson et al. 2008; Alfredson et al. 1998",
        "Kulig et al. 2009",
        "Rathleff et al. 2015",
        "Rio et al. 2015; O'Neill et al. 2019",
    }
)
SAME_AS_ENGLISH: dict[str, frozenset[str]] = {
    "de": SAME_EVERYWHERE
    | {
        "ok",  # said the same in German
        "so",  # a softener spelled the same in German ("nicht so geschwollen")
    },
    "es": SAME_EVERYWHERE
    | {
        "n/a",  # written the same in Spanish
        "No",  # spelled the same in Spanish
        "no",
        "gradual",
        "navicular",
    },
}
# How each language's "or type a, b or c" hint lists its words: the opening to drop, and what
# separates the words.
HINT_GRAMMAR = {
    "de": (
        r"^oder tippe (?:z\. B\. )?(?:eine (?:Zahl|Uhrzeit), zum Beispiel )?",
        r", | oder ",
    ),
    "es": (
        r"^o escribe,? (?:por ejemplo,? )?(?:(?:un número|una hora), por ejemplo )?",
        r", | o ",
    ),
}
# Runners' own words in each language, per question: what they type -> the English label of
# the answer it must give.
TYPED = {
    "de": [
        (TriageStep.LOCATION, "außen", "Outside of the ankle"),
        (TriageStep.LOCATION, "an der außenseite", "Outside of the ankle"),
        (TriageStep.LOCATION, "innen", "Inside of the ankle"),
        (TriageStep.LOCATION, "die ferse", "Heel or sole"),
        (TriageStep.ONSET, "bin umgeknickt", "Suddenly: twist or fall"),
        (TriageStep.ONSET, "nach und nach", "Gradually, over runs"),
        (TriageStep.STARTED, "gestern", "1-2 days ago"),
        (TriageStep.STARTED, "vor 3 Tagen", "3-4 days ago"),
        (TriageStep.STARTED, "vor einer Woche", "5-10 days ago"),
        (TriageStep.STARTED, "vor drei Wochen", "11 days to 6 weeks ago"),
        (TriageStep.STARTED, "vor mehr als 6 Wochen", "More than 6 weeks ago"),
        (TriageStep.SWELLING, "ein bisschen geschwollen", "A little swollen"),
        (TriageStep.SWELLING, "gar nicht", None),
        (TriageStep.WEIGHT_BEARING, "ich hinke", "Yes, with pain or a limp"),
        (TriageStep.WEIGHT_BEARING, "ich kann nicht gehen", "No, I can't take 4 steps"),
        (TriageStep.WEIGHT_BEARING, "ganz normal", "Yes, without pain"),
        (TriageStep.PAIN, "sieben", "7"),
        (TriageStep.PAIN, "7/10", "7"),
        (TriageStep.PAIN, "7 von 10", "7"),
        (TriageStep.OTTAWA, "nein", "No"),
        (TriageStep.OTTAWA, "keine ahnung", "Not sure"),
        (TriageStep.OTTAWA, "vielleicht", "Not sure"),
        (TriageStep.TIPTOE, "ich kann nicht", "No, I can't"),
        (TriageStep.TIPTOE, "ich kann", "Yes, I can"),
        (TriageStep.SIGNS, "brustschmerzen", "Chest pain, breathless"),
        (TriageStep.SIGNS, "fuß ist taub", None),
        (TriageStep.SIGNS, "taub", "Numb, cold or blue foot"),
        (TriageStep.SIGNS, "nichts davon", "None of these"),
        (TriageStep.TREND, "etwas besser", "Getting better"),
        (DeleteStep.CONFIRM, "ja löschen", "Yes, delete everything"),
    ],
    "es": [
        (TriageStep.LOCATION, "por fuera", "Outside of the ankle"),
        (TriageStep.LOCATION, "dentro", "Inside of the ankle"),
        (TriageStep.LOCATION, "el talón", "Heel or sole"),
        (TriageStep.ONSET, "me torcí el tobillo", "Suddenly: twist or fall"),
        (TriageStep.ONSET, "poco a poco", "Gradually, over runs"),
        (TriageStep.STARTED, "ayer", "1-2 days ago"),
        (TriageStep.STARTED, "hace 3 días", "3-4 days ago"),
        (TriageStep.STARTED, "hace una semana", "5-10 days ago"),
        (TriageStep.STARTED, "hace tres semanas", "11 days to 6 weeks ago"),
        (TriageStep.STARTED, "hace más de 6 semanas", "More than 6 weeks ago"),
        (TriageStep.SWELLING, "un poco hinchado", "A little swollen"),
        (TriageStep.SWELLING, "nada", "No swelling"),
        (TriageStep.WEIGHT_BEARING, "cojeo", "Yes, with pain or a limp"),
        (TriageStep.WEIGHT_BEARING, "no puedo andar", "No, I can't take 4 steps"),
        (TriageStep.WEIGHT_BEARING, "camino normal", "Yes, without pain"),
        (TriageStep.PAIN, "siete", "7"),
        (TriageStep.PAIN, "7/10", "7"),
        (TriageStep.PAIN, "4 de 10", "4"),
        (TriageStep.SIGNS, "ninguna", "None of these"),
        (TriageStep.SIGNS, "dolor de pecho", "Chest pain, breathless"),
        (TriageStep.SIGNS, "dormido", "Numb, cold or blue foot"),
        (TriageStep.TIPTOE, "no puedo", "No, I can't"),
        (TriageStep.TIPTOE, "sí puedo", "Yes, I can"),
        (TriageStep.TREND, "algo mejor", "Getting better"),
        (DeleteStep.CONFIRM, "sí, borrar todo", "Yes, delete everything"),
    ],
}
NOW_E2E = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def catalogue(locale: str) -> Catalog:
    with i18n.catalogue_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


def template() -> Catalog:
    with i18n.TEMPLATE_FILE.open("rb") as pot:
        return read_po(pot)


def text_of(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def lacks(pot: Catalog, catalog: Catalog) -> dict[str, list[str]]:
    """The msgids of the template a catalogue lacks: missing, empty or fuzzy."""
    found: dict[str, list[str]] = {}
    for message in pot:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        if translated is None:
            kind = "missing"
        elif not i18n.is_translated(translated.string):
            kind = "empty"
        elif translated.fuzzy:
            kind = "fuzzy"
        else:
            continue
        found.setdefault(kind, []).append(text_of(message.id))
    return found


def markup_mismatches(catalog: Catalog) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs whose placeholders, tags or commands differ."""
    found = []
    for message in catalog:
        if not message.id or not i18n.is_translated(message.string):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, msgstr in zip(ids, strings, strict=False):
            if Counter(MARKUP.findall(msgid)) != Counter(MARKUP.findall(msgstr)):
                found.append((msgid, msgstr))
    return found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(locale: str) -> None:
    assert lacks(template(), catalogue(locale)) == {}, f"{locale} lacks these"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_tags_and_commands_survive_translation(locale: str) -> None:
    assert markup_mismatches(catalogue(locale)) == [], locale


@pytest.mark.parametrize("locale", TRANSLATED)
def test_only_the_allowed_messages_are_translated_as_themselves(locale: str) -> None:
    same = {text_of(m.id) for m in catalogue(locale) if m.id and m.string == m.id}
    assert same == SAME_AS_ENGLISH.get(locale, frozenset()), locale


def test_the_checkers_find_missing_empty_fuzzy_and_broken_messages() -> None:
    pot = Catalog()
    for msgid in ("Yes", "No", "Not yet", "Hi %(name)s", "<b>Why:</b> see /plan"):
        pot.add(msgid)
    catalog = Catalog(locale="de")
    catalog.add("No", "")
    catalog.add("Not yet", "Noch nicht", flags=("fuzzy",))
    catalog.add("Hi %(name)s", "Hallo")
    catalog.add("<b>Why:</b> see /plan", "Warum: siehe /plan")
    assert lacks(pot, catalog) == {"missing": ["Yes"], "empty": ["No"], "fuzzy": ["Not yet"]}
    assert [msgid for msgid, _ in markup_mismatches(catalog)] == [
        "Hi %(name)s",
        "<b>Why:</b> see /plan",
    ]


def test_update_adds_new_drops_removed_and_marks_changed_messages_fuzzy(tmp_path: Path) -> None:
    pot = Catalog()
    for msgid in ("Yes", "How sore is your ankle right now?", "Brand new"):
        pot.add(msgid)
    pot_file = tmp_path / "messages.pot"
    i18n.write_template(pot, pot_file)
    old = Catalog(locale="de")
    old.add("Yes", "Ja")
    old.add("How sore is your ankle right now, from 0 to 10?", "Wie stark schmerzt es?")
    old.add("Gone", "Weg")
    po = tmp_path / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    i18n.write_catalogue(old, po)

    progress = i18n.update(pot_file, tmp_path)

    assert progress == {
        "de": i18n.Progress(missing=("Brand new",), fuzzy=("How sore is your ankle right now?",))
    }
    with po.open("rb") as f:
        updated = read_po(f)
    assert updated.get("Gone") is None
    assert updated.get("Yes").string == "Ja"


# --- no English left in what a runner reads -----------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> list[Reply]:
    """Every template reached with the contexts the flows produce (as the pseudo-locale test
    does), and every question's keyboard."""
    return reply_corpus()


def english_pieces(locale: str) -> dict[str, str]:
    """English stretches of every message the language does not keep as it is (4+ words,
    between markup) -> their msgid: any of them in a reply is English left behind."""
    kept = SAME_AS_ENGLISH.get(locale, frozenset())
    pieces = {}
    for message in template():
        msgid = text_of(message.id)
        if not msgid or msgid in kept:
            continue
        for piece in MARKUP.split(msgid):
            piece = piece.strip(" .,:;()•")
            if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 4:
                pieces[piece] = msgid
    return pieces


def rendered(reply: Reply, locale: str) -> Iterable[str]:
    context = dict(reply.context)
    if reply.attachment == "summary":
        context.setdefault("has_assessment", True)
    if reply.attachment == "progress":
        context |= {"has_data": False, "summary": None}
    yield render.render(reply.template, locale=locale, **context)
    keyboard = inline_keyboard(reply, locale=locale)
    for row in keyboard["inline_keyboard"] if keyboard else []:
        for button in row:
            yield button["text"]


def english_in(replies: list[Reply], locale: str) -> dict[str, set[str]]:
    """Template -> the English messages found in its renderings in `locale`."""
    pieces = english_pieces(locale)
    found: dict[str, set[str]] = {}
    for reply in replies:
        for text in rendered(reply, locale):
            for piece, msgid in pieces.items():
                if piece in text:
                    found.setdefault(reply.template, set()).add(msgid)
    return found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_reply_of_any_flow_shows_english(corpus: list[Reply], locale: str) -> None:
    assert {r.template for r in corpus} >= set(render.template_names())
    assert english_in(corpus, locale) == {}


def test_the_english_finder_finds_english() -> None:
    replies = one_off_replies()[:5] + random_walk(1)[:5]
    found = english_in(replies, i18n.SOURCE_LOCALE)
    assert "triage/welcome.j2" in found


# --- typed answers in each language --------------------------------------------------------------


@pytest.mark.parametrize("locale", TRANSLATED)
def test_typing_a_buttons_translated_label_gives_its_answer(locale: str) -> None:
    translate = words_of(locale)
    wrong = [
        (step, choice.label, translate(choice.label))
        for step, question in QUESTIONS.items()
        for choice in question.choices
        if question.parse(translate(choice.label), translate) != choice.value
    ]
    assert wrong == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_word_a_translated_hint_offers_is_understood(locale: str) -> None:
    from tests.flows.test_typed_answers import OPEN_ANSWERS, hint_of

    opening, separator = HINT_GRAMMAR[locale]
    translate = words_of(locale)
    for step, question in QUESTIONS.items():
        if step in OPEN_ANSWERS:
            continue
        hint = translate(hint_of(question.template))
        words = [w for w in re.split(separator, re.sub(opening, "", hint)) if w]
        assert words and hint != hint_of(question.template), (step, hint)
        for word in words:
            assert question.parse(word, translate) is not None, (locale, step, word)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_runners_own_words_in_their_language(locale: str) -> None:
    translate = words_of(locale)
    for step, typed, label in TYPED[locale]:
        question = QUESTIONS[step]
        expected = next((c.value for c in question.choices if c.label == label), None)
        assert question.parse(typed, translate) == expected, (step, typed)
        assert question.parse(typed) is None or typed == "7/10"  # not English


# --- the /summary PDF ----------------------------------------------------------------------------

# Letters outside ASCII that each language's PDF must keep (fpdf2's core fonts would not).
LETTERS = {"de": "äöüß", "es": "ñáéíóú¿"}  # the PDF asks, never exclaims: no "¡"
# A line of each language's PDF, to show it is written in it.
PDF_LINES = {
    "de": ("Ergebnis: Arzt oder Physio", "Das ist keine Diagnose"),
    "es": ("Resultado: Consulta médica", "Esto no es un diagnóstico"),
}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_summary_pdf_is_written_in_each_language(locale: str) -> None:
    data = summary_of(played(LONGEST))
    pdf = summary_pdf.render_pdf(summary_pdf.summary_to_json(data, now=NOW), locale=locale)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    english = re.sub(
        r"\s+",
        " ",
        PdfReader(io.BytesIO(summary_pdf.render_pdf(summary_pdf.summary_to_json(data, now=NOW))))
        .pages[0]
        .extract_text(),
    )
    for line in PDF_LINES[locale]:
        assert line in text
    assert set(LETTERS[locale]) <= set(text)
    assert "Result: See a clinician" in english and "Result:" not in text
    pieces = [p for p in english_pieces(locale) if p in english]
    assert pieces and [p for p in pieces if p in text] == []


# --- /language through the real bot --------------------------------------------------------------


def user(chat_id: int, code: str) -> dict[str, Any]:
    return {"id": chat_id, "language_code": code}


async def says(h: Harness, chat_id: int, text: str, code: str, n: int = 1) -> list[dict]:
    before = len(h.api.sent_to(chat_id))
    h.api.user_sends_text(chat_id, text, user=user(chat_id, code))
    return (await h.api.wait_for_sent(chat_id, before + n))[before:]


async def taps(h: Harness, chat_id: int, label: str, code: str, n: int = 1) -> list[dict]:
    before = len(h.api.sent_to(chat_id))
    h.api.user_taps(chat_id, label, user=user(chat_id, code))
    return (await h.api.wait_for_sent(chat_id, before + n))[before:]


def labels(message: dict[str, Any]) -> list[str]:
    return [label for row in button_labels(message) for label in row]


@pytest.mark.skipif("de" not in TRANSLATED, reason="German is not shipped")
async def test_language_switches_every_reply_after_it_and_automatic_goes_back(
    sqlite_url: str,
) -> None:
    api = FakeBotApi()
    async with running_bot(sqlite_url, api=api) as h:
        menu = await h.runtime.bot.get_my_commands()
        assert "language" in [c.command for c in menu]

        (shown,) = await says(h, 7, "/language", "en")
        assert shown["text"].startswith("Which language should I write in?")
        assert labels(shown) == [language.name_of(lang) for lang in TRANSLATED_ALL] + [
            "✓ Automatic"
        ]
        (done,) = await taps(h, 7, "Deutsch", "en")
        assert done["text"].startswith("Erledigt: Ab jetzt schreibe ich in dieser Sprache.")

        # Telegram still says English; the runner's choice wins for everything after it.
        (question,) = await says(h, 7, "/new", "en")
        assert question["text"].startswith("1 von etwa 10\nTrifft jetzt etwas davon zu?")
        assert "Nichts davon" in labels(question)
        (question,) = await says(h, 7, "nichts davon", "en")
        assert question["text"].startswith("2 von etwa 10\nKannst du gerade darauf gehen?")

        (shown,) = await says(h, 7, "/language", "en")
        assert "✓ Deutsch" in labels(shown) and "Automatisch" in labels(shown)
        done, again = await taps(h, 7, "Automatisch", "en", n=2)
        assert done["text"].startswith("Done: I follow the language of your Telegram app again.")
        assert again["text"].startswith("2 of about 10\nCan you walk on it right now?")

        # A German Telegram user is answered in German without choosing, and can choose English.
        (question,) = await says(h, 8, "/new", "de")
        assert question["text"].startswith("1 von etwa 10\nTrifft jetzt")
        await says(h, 8, "/language", "de")
        done, again = await taps(h, 8, "English", "de", n=2)
        assert done["text"].startswith("Done: I write in this language from now on.")
        assert again["text"].startswith("1 of about 10\nFirst, do any of these apply to you now?")


TRANSLATED_ALL = i18n.shipped_locales()


def test_the_chosen_language_is_the_one_scheduled_messages_and_errors_use(tmp_path: Path) -> None:
    database = Database.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade_to_head(database.engine)
    try:
        sender = Sender(chat_id=5, language_code="en")
        database.run_sync(
            lambda s: apply_event(s, sender=sender, event=TypedText("hi"), now=NOW_E2E)
        )
        runner_id = database.run_sync(lambda s: s.scalar(select(Runner.id)))

        def spoken(session: Any) -> tuple[str | None, str | None]:
            return locale_of(session, chat_id=5), recipients_for(session, runner_ids=[runner_id])[
                runner_id
            ].locale

        assert database.run_sync(spoken) == ("en", "en")
        database.run_sync(
            lambda s: update_runner_settings(
                s, runner_id=runner_id, now=NOW_E2E, chosen_locale="de"
            )
        )
        assert database.run_sync(spoken) == ("de", "de")
        database.run_sync(
            lambda s: update_runner_settings(
                s, runner_id=runner_id, now=NOW_E2E, chosen_locale=None
            )
        )
        assert database.run_sync(spoken) == ("en", "en")
    finally:
        database.dispose_sync()
