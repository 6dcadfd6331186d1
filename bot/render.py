"""Every reply the bot sends is a named Jinja2 template rendered here, in the runner's language.

The environment is strict (an undefined name is an error, not an empty string) and escapes every
value for Telegram's HTML parse mode, so an answer a runner typed can never inject markup.
Blocks are trimmed so templates can be laid out readably without stray blank lines.
Every word in a template is a gettext message (`jinja2.ext.i18n`, newstyle: `_("...")` and
`{% trans %}`), rendered in the runner's locale from `bot.i18n`; there is one environment per
locale, built on first use and never changed after, so threads can render at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup, escape

from bot import i18n

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class ConstantMessages(Extension):
    """Translates each `_("a constant message")` once, when a template is compiled.

    Every locale has its own environment, so a message without variables has one translation
    there for good; calling newstyle gettext for it at every render cost about a third of the
    rendering time. The folded text is exactly what the call returns (the translation, as
    markup, formatted with no variables); messages with variables are left to gettext.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        gettext = self.environment.constant_gettext  # type: ignore[attr-defined]
        tokens = list(stream)
        at = 0
        while at < len(tokens):
            window = tokens[at : at + 4]
            if [t.type for t in window] == ["name", "lparen", "string", "rparen"] and (
                window[0].value == "_"
            ):
                text = str(Markup(gettext(window[2].value)) % {})
                line = window[0].lineno
                yield Token(line, "string", text)
                yield Token(line, "pipe", "|")
                yield Token(line, "name", "safe")
                at += 4
                continue
            yield tokens[at]
            at += 1


@lru_cache
def environment(locale: str = i18n.SOURCE_LOCALE) -> Environment:
    """The template environment of a shipped locale (built on first use: nothing is read at
    import time). Its gettext callables and filters are bound to the locale once, here, rather
    than installed per render, which would race between threads."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n", ConstantMessages],
    )
    translations = i18n.translations(locale)
    env.extend(constant_gettext=translations.gettext)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = partial(localtime, locale=locale)
    env.filters["ago"] = partial(ago, locale=locale)
    env.filters["day"] = partial(day, locale=locale)
    env.filters["translate"] = partial(translate, translations.gettext)
    return env


def translate(gettext: Callable[[str], str], text: str) -> Markup:
    """Words that arrive as data (exercise text the flows pick), in the runner's language.

    A filter rather than `_()`: newstyle `_()` trusts its result as markup and %-formats it,
    which is right for a template's own msgids but would leave a data string unescaped and fail
    on a "%" in it."""
    return escape(gettext(text))


def localtime(instant: datetime, zone: str | None, *, locale: str = i18n.SOURCE_LOCALE) -> str:
    """An instant as the runner's wall clock shows it, e.g. "Sun 22 Nov, 09:00"."""
    local = instant.astimezone(ZoneInfo(zone or "UTC"))
    if locale == i18n.SOURCE_LOCALE:
        text = f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
    else:
        text = format_datetime(local, "EEE d MMM, HH:mm", locale=locale)
    return text if zone else f"{text} UTC"


def day(value: date, *, locale: str = i18n.SOURCE_LOCALE) -> str:
    """A calendar day of the runner's own, e.g. "Wed 9 Dec"."""
    if locale == i18n.SOURCE_LOCALE:
        return f"{value:%a} {value.day} {value:%b}"
    return format_date(value, "EEE d MMM", locale=locale)


def ago(then: datetime, now: datetime, *, locale: str = i18n.SOURCE_LOCALE) -> str:
    """How long ago, in words a runner would use."""
    if locale != i18n.SOURCE_LOCALE:
        return format_timedelta(then - now, add_direction=True, locale=locale)
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return "just now" if minutes < 2 else f"{minutes} minutes ago"
    hours = minutes // 60
    if hours < 36:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return f"{round(hours / 24)} days ago"


def render(name: str, /, *, locale: str = i18n.SOURCE_LOCALE, **context: Any) -> str:
    """Render the template `name` with `context` into Telegram HTML, in `locale` (a shipped
    locale or a Telegram language code: anything else falls back to English). `locale` is
    therefore not available as a context name."""
    text = environment(i18n.locale_for(locale)).get_template(name).render(**context)
    # Collapse runs of blank lines that conditional blocks leave behind.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def template_names() -> list[str]:
    """Every renderable template (partials start with an underscore and are left out)."""
    return sorted(
        str(p.relative_to(TEMPLATES_DIR))
        for p in TEMPLATES_DIR.rglob("*.j2")
        if not p.name.startswith("_")
    )
