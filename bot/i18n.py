"""The runner's language: which shipped locale a Telegram user gets, and its gettext catalogue.

The shipped locales are English, the source language (its msgids are the text, so it needs no
catalogue), plus every directory under `locales/` that holds `LC_MESSAGES/messages.po`: adding a
language is adding that one file. Catalogues are compiled in memory with Babel the first time a
locale is used, so there is no build step and no `.mo` file in git. `python -m bot.i18n extract`
regenerates the catalogue template `locales/messages.pot` from the templates, the Python in
`flows/` and `bot/`, and the content data files (see `babel.cfg`); `extract_toml` is the Babel
extractor for those TOML data files. `python -m bot.i18n update` then brings every shipped
catalogue up to date with the template and prints what each still lacks.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
MAPPING_FILE = ROOT / "babel.cfg"
TEMPLATE_FILE = LOCALES_DIR / "messages.pot"
SOURCE_LOCALE = "en"
# Keys of the content data files whose values are identifiers or structure, not words.
NOT_TEXT_KEYS = frozenset({"id", "phase", "leads_for", "only_for", "replaces", "where", "kind"})


@lru_cache(maxsize=1)
def shipped_locales() -> tuple[str, ...]:
    """English first, then every locale with a catalogue under `locales/`, by name."""
    found = sorted(
        p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po") if p.is_file()
    )
    return (SOURCE_LOCALE, *(name for name in found if name != SOURCE_LOCALE))


def locale_for(language_code: str | None) -> str:
    """The shipped locale for Telegram's `language_code` (an IETF tag such as "pt-br"): the exact
    tag, else its primary subtag ("pt"), else English."""
    if not language_code:
        return SOURCE_LOCALE
    # Telegram writes "pt-br", gettext directories "pt_BR": compare them case- and dash-blind.
    by_key = {_key(name): name for name in shipped_locales()}
    wanted = _key(language_code)
    return by_key.get(wanted) or by_key.get(wanted.split("_")[0]) or SOURCE_LOCALE


def _key(tag: str) -> str:
    return tag.strip().replace("-", "_").lower()


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The translations of a shipped locale, compiled from its `.po` file on first use."""
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    with catalogue_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as gettext's msgfmt does
    compiled.seek(0)
    return Translations(compiled)


def gettext(locale: str) -> Callable[[str], str]:
    """The `gettext` function of a shipped locale (a msgid missing from it comes back as is)."""
    return translations(locale).gettext


def reset() -> None:
    """Forget the shipped locales and compiled catalogues, e.g. after a test installs a
    catalogue of its own (the render environments are cached too: see `bot.render`)."""
    shipped_locales.cache_clear()
    translations.cache_clear()


def extract_toml(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for content data files: every string value, except those of the keys in
    NOT_TEXT_KEYS, is a message. Each comes with its key path, so a translator sees what it is."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    lines = source.splitlines()
    for path, text in _strings(tomllib.loads(source), ()):
        yield _line_of(text, lines), None, text, [".".join(path)]


def _strings(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        if value.strip():
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_TEXT_KEYS:
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path)


def _line_of(text: str, lines: list[str]) -> int:
    # tomllib keeps no positions; the first line holding the value's first line is close enough
    # for a translator's "#:" reference.
    first = text.splitlines()[0] if text else text
    return next((n for n, line in enumerate(lines, 1) if first in line), 1)


def extract(root: Path = ROOT, mapping_file: Path = MAPPING_FILE) -> Catalog:
    """Every message of the project, as `pybabel extract -F babel.cfg -k N_ .` finds them: Babel's
    default keywords already include `_`, `gettext`, `ngettext` and `N_`."""
    with mapping_file.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(mapping_file))
    catalog = Catalog(project="ankle-bot")
    for filename, lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def write_template(catalog: Catalog, out: Path) -> None:
    """Write the catalogue template, sorted and without line numbers so diffs show only the
    messages that changed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as pot:
        write_po(pot, catalog, sort_output=True, include_lineno=False, omit_header=False)


def catalogue_path(locale: str, locales_dir: Path | None = None) -> Path:
    return (locales_dir or LOCALES_DIR) / locale / "LC_MESSAGES" / "messages.po"


def is_translated(string: str | tuple[str, ...]) -> bool:
    """Whether a msgstr (or every plural form of one) has text."""
    forms = string if isinstance(string, tuple) else (string,)
    return all(form.strip() for form in forms)


@dataclass(frozen=True, slots=True)
class Progress:
    """What a catalogue still lacks against the template: msgids without a translation, and
    msgids whose translation was carried over from a changed English text (fuzzy: unused until
    a translator checks it)."""

    missing: tuple[str, ...]
    fuzzy: tuple[str, ...]


def progress(catalog: Catalog) -> Progress:
    def text(message: Message) -> str:
        return message.id[0] if isinstance(message.id, tuple) else message.id

    return Progress(
        missing=tuple(text(m) for m in catalog if m.id and not is_translated(m.string)),
        fuzzy=tuple(text(m) for m in catalog if m.id and m.fuzzy and is_translated(m.string)),
    )


def write_catalogue(catalog: Catalog, out: Path) -> None:
    """Write a language's catalogue the way `update` does, so reruns change nothing."""
    with out.open("wb") as po:
        write_po(po, catalog, sort_output=True, include_lineno=False, ignore_obsolete=True)


def update(
    template_file: Path | None = None, locales_dir: Path | None = None
) -> dict[str, Progress]:
    """Bring every shipped catalogue up to date with the template, as `pybabel update` does:
    a new msgid comes in untranslated, a removed one is dropped, and one whose English changed
    keeps its old translation marked fuzzy for a translator to check. Locale -> what it lacks."""
    with (template_file or TEMPLATE_FILE).open("rb") as pot:
        template = read_po(pot)
    found: dict[str, Progress] = {}
    for path in sorted((locales_dir or LOCALES_DIR).glob("*/LC_MESSAGES/messages.po")):
        locale = path.parent.parent.name
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale)
        catalog.update(template, update_header_comment=False)
        write_catalogue(catalog, path)
        found[locale] = progress(catalog)
    return found


def main(argv: list[str]) -> int:
    if argv == ["extract"]:
        catalog = extract()
        write_template(catalog, TEMPLATE_FILE)
        print(f"{len(catalog)} messages -> {TEMPLATE_FILE.relative_to(ROOT)}")
        return 0
    if argv == ["update"]:
        for locale, lacks in update().items():
            print(f"{locale}: {len(lacks.missing)} missing, {len(lacks.fuzzy)} fuzzy")
        return 0
    print("usage: python -m bot.i18n extract | update", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
