"""The runner's language: which shipped locale a Telegram user gets, and its gettext catalogue.

The shipped locales are English, the source language (its msgids are the text, so it needs no
catalogue), plus every directory under `locales/` that holds `LC_MESSAGES/messages.po`: adding a
language is adding that one file. Catalogues are compiled in memory with Babel the first time a
locale is used, so there is no build step and no `.mo` file in git. `python -m bot.i18n extract`
regenerates the catalogue template `locales/messages.pot` from the templates, the Python in
`flows/` and `bot/`, and the content data files (see `babel.cfg`); `extract_toml` is the Babel
extractor for those TOML data files.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
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
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
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


def main(argv: list[str]) -> int:
    if argv != ["extract"]:
        print("usage: python -m bot.i18n extract", file=sys.stderr)
        return 2
    catalog = extract()
    write_template(catalog, TEMPLATE_FILE)
    print(f"{len(catalog)} messages -> {TEMPLATE_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
