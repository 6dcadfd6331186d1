"""The runner's language: locale choice, in-memory catalogues, extraction and rendering in a locale.

A catalogue installed for a test lives in a temporary `locales/` directory (the module-level
LOCALES_DIR is patched, the caches are cleared before and after), which is also how a shipped
language works: one `messages.po` file and nothing else.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from bot import i18n, render
from bot.keyboards import inline_keyboard
from flows.types import Button, Reply

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def install_catalogue(locales: Path, locale: str, messages: dict[str, str]) -> None:
    """Write `locales/<locale>/LC_MESSAGES/messages.po`: what a translator ships."""
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    po = locales / locale / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as out:
        write_po(out, catalog)


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.reset()
    render.environment.cache_clear()
    yield tmp_path
    i18n.reset()
    render.environment.cache_clear()


def test_english_is_always_shipped_and_needs_no_catalogue(locales: Path) -> None:
    assert i18n.shipped_locales() == ("en",)
    assert i18n.gettext("en")("Nothing scheduled.") == "Nothing scheduled."


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("pt-br", "pt_BR"),
        ("PT_BR", "pt_BR"),
        ("pt", "en"),
        ("fr", "en"),
    ],
)
def test_locale_for_picks_the_exact_tag_then_the_language_then_english(
    locales: Path, language_code: str | None, expected: str
) -> None:
    install_catalogue(locales, "de", {})
    install_catalogue(locales, "pt_BR", {})
    i18n.reset()
    assert i18n.locale_for(language_code) == expected


def test_a_catalogue_is_compiled_from_its_po_file_in_memory(locales: Path) -> None:
    install_catalogue(locales, "de", {"Nothing scheduled.": "Nichts geplant."})
    assert i18n.gettext("de")("Nothing scheduled.") == "Nichts geplant."
    assert i18n.gettext("de")("not in the catalogue") == "not in the catalogue"
    assert not list(locales.rglob("*.mo"))


def test_render_and_keyboards_speak_the_runners_language(locales: Path) -> None:
    install_catalogue(
        locales,
        "de",
        {
            "<b>Saved.</b> Your time zone is %(zone)s.": "<b>Gespeichert.</b> Zeitzone: %(zone)s.",
            "Not yet": "Noch nicht",
        },
    )
    text = render.render("care/reminders_set.j2", locale="de-AT", **REMINDERS_SET)
    assert "<b>Gespeichert.</b> Zeitzone: Europe/Berlin." in text
    assert "Sa. 21 Nov., 10:00" in text  # Babel's German date words, not English ones
    assert "Your time zone" in render.render("care/reminders_set.j2", **REMINDERS_SET)
    reply = Reply("x.j2", buttons=((Button("Not yet", "seen", "5", "n"), Button("7", "seen")),))
    labels = [b["text"] for b in inline_keyboard(reply, locale="de")["inline_keyboard"][0]]
    assert labels == ["Noch nicht", "7"]
    assert inline_keyboard(reply)["inline_keyboard"][0][0]["text"] == "Not yet"


REMINDERS_SET = {
    "zone": "Europe/Berlin",
    "reminder_time": "10:00",
    "next_at": NOW,
    "has_plan": True,
}


def test_dates_and_durations_keep_todays_english_and_use_babel_elsewhere() -> None:
    assert render.localtime(NOW, "Europe/London") == "Sat 21 Nov, 09:00"
    assert render.localtime(NOW, None) == "Sat 21 Nov, 09:00 UTC"
    assert render.localtime(NOW, "Europe/Berlin", locale="de") == "Sa. 21 Nov., 10:00"
    assert render.ago(NOW - timedelta(hours=3), NOW) == "3 hours ago"
    assert render.ago(NOW - timedelta(hours=3), NOW, locale="de") == "vor 3 Stunden"


def test_threads_render_in_their_own_locale_at_once(locales: Path) -> None:
    install_catalogue(locales, "de", {"Nothing scheduled.": "Nichts geplant."})
    source = "{{ _('Nothing scheduled.') }}"
    expected = {"en": "Nothing scheduled.", "de": "Nichts geplant."}
    wrong: list[str] = []

    def work(locale: str) -> None:
        for _ in range(200):
            if render.environment(locale).from_string(source).render() != expected[locale]:
                wrong.append(locale)

    threads = [threading.Thread(target=work, args=(loc,)) for loc in ("en", "de") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


SAMPLE_TOML = """
[[exercise]]
id = "calf_raise"
phase = 2
kind = "strength"
leads_for = ["back", "heel"]
only_for = []
replaces = "wall_bridge"
name = "Calf raises, both legs then one"
dose = "12 reps, 2-3 sets"
how_to = ["Stand tall.", "Rise onto your toes."]
empty = ""

[[exercise.notes]]
where = "outside"
text = "Start with pushing out (eversion)."

[cities]
title = "Places"
"""


def test_the_toml_extractor_takes_every_string_but_identifiers() -> None:
    found = list(i18n.extract_toml(io.BytesIO(SAMPLE_TOML.encode()), {}, (), {}))
    assert [(text, comments) for _, _, text, comments in found] == [
        ("Calf raises, both legs then one", ["exercise.name"]),
        ("12 reps, 2-3 sets", ["exercise.dose"]),
        ("Stand tall.", ["exercise.how_to"]),
        ("Rise onto your toes.", ["exercise.how_to"]),
        ("Start with pushing out (eversion).", ["exercise.notes.text"]),
        ("Places", ["cities.title"]),
    ]
    assert (
        found[0][0]
        == SAMPLE_TOML.splitlines().index('name = "Calf raises, both legs then one"') + 1
    )


def test_extraction_reads_content_files_with_the_toml_extractor(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "exercises.toml").write_text(SAMPLE_TOML)
    catalog = i18n.extract(tmp_path)
    assert "Rise onto your toes." in catalog
    assert "calf_raise" not in catalog


def msgids(pot: Path) -> set[str | tuple[str, ...]]:
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_the_committed_catalogue_template_holds_every_message(tmp_path: Path) -> None:
    """Fails when a word was added or changed without `python -m bot.i18n extract`."""
    fresh = tmp_path / "messages.pot"
    i18n.write_template(i18n.extract(), fresh)
    missing = msgids(fresh) - msgids(i18n.TEMPLATE_FILE)
    assert not missing, f"run `python -m bot.i18n extract`; missing: {sorted(map(str, missing))}"


def test_pybabel_extract_finds_the_same_messages(tmp_path: Path, monkeypatch) -> None:
    """The README's pybabel command and the wrapper agree."""
    monkeypatch.chdir(i18n.ROOT)
    out = tmp_path / "cli.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-o", str(out), "."]
    )
    assert msgids(out) == msgids(i18n.TEMPLATE_FILE)
