"""Time-zone lookup: which IANA zone a runner means, and which zones a picker offers.

A runner names a zone by typing a city or a zone name (`resolve_zone`: "new york", "São Paulo")
or by tapping a UTC offset and then a city (`zones_for_offset`). The offsets the picker offers
and the familiar zones it shows first are data, read once from content/zones.toml and checked
(`zone_lists`: every zone known to zoneinfo, every offset within UTC-12..UTC+14). Everything else
comes from the IANA zone rules through `zoneinfo`; nothing here reads the clock.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flows.content import (
    CONTENT_DIR,
    ContentError,
    check_keys,
    parse_toml,
    read_content,
)

ZONES_FILE = CONTENT_DIR / "zones.toml"

# The offsets in use anywhere on Earth run from UTC-12 (Baker Island) to UTC+14 (Kiritimati).
OFFSET_MIN_MINUTES = -12 * 60
OFFSET_MAX_MINUTES = 14 * 60

# The top-level areas whose last component is a place name ("Europe/London" -> "London").
_GEOGRAPHIC_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
# Names the zone database lists that are not real zones for a person to live in.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


# --- zones -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


def is_valid_zone(name: str) -> bool:
    """True when `name` is exactly (case included) an IANA zone name, such as "Europe/London"."""
    return name in _zone_names()


@lru_cache(maxsize=512)
def zone_info(name: str) -> ZoneInfo:
    """The zone rules for an IANA zone name; ValueError for anything `is_valid_zone` refuses."""
    if not is_valid_zone(name):
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


def _lookup_key(text: str) -> str:
    """Fold case, accents and separators so that "são  paulo" and "Sao_Paulo" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    without_marks = re.sub(r"[.'’]", "", without_accents.casefold())
    return re.sub(r"[\s_\-]+", " ", without_marks).strip()


def _same_rules(first: str, second: str) -> bool:
    """True when two zone names behave alike (a backward-compatible link and its target)."""
    zone_a, zone_b = zone_info(first), zone_info(second)
    for year in range(1970, 2038):
        for month in range(1, 13):
            sample = datetime(year, month, 1, 12, tzinfo=UTC)
            if sample.astimezone(zone_a).utcoffset() != sample.astimezone(zone_b).utcoffset():
                return False
    return True


def _preferred(names: Iterable[str]) -> str:
    """Among names for the same zone, the familiar one, else the most specific one."""
    return min(
        names,
        key=lambda name: (name not in popular_zones(), -name.count("/"), name),
    )


@lru_cache(maxsize=1)
def _zone_index() -> tuple[dict[str, str], dict[str, str | None]]:
    """Lookup tables: folded full name -> zone, and folded city -> zone (None if ambiguous)."""
    by_full_name = {_lookup_key(name): name for name in _zone_names()}
    candidates: dict[str, list[str]] = {}
    for name in _zone_names():
        area, _, rest = name.partition("/")
        if area in _GEOGRAPHIC_AREAS and rest:
            candidates.setdefault(_lookup_key(name.rsplit("/", 1)[-1]), []).append(name)
    by_city: dict[str, str | None] = {}
    for city, names in candidates.items():
        # Old spellings such as America/Buenos_Aires are links to the same rules as
        # America/Argentina/Buenos_Aires: one place, not an ambiguity.
        if all(_same_rules(names[0], other) for other in names[1:]):
            by_city[city] = _preferred(names)
        else:
            by_city[city] = None
    return by_full_name, by_city


def resolve_zone(text: str) -> str | None:
    """The IANA zone a runner means by `text`, or None when unknown or ambiguous.

    Accepts a zone name in any case ("europe/london") or the city in its last component
    ("London", "new york", "São Paulo"); accents, underscores and hyphens are ignored.
    """
    key = _lookup_key(text)
    if not key:
        return None
    by_full_name, by_city = _zone_index()
    if "/" not in key and key in by_city:
        # A city wins over an old top-level alias ("Singapore" -> Asia/Singapore).
        return by_city[key]
    return by_full_name.get(key)


def zones_for_offset(offset_minutes: int, *, at: datetime, limit: int = 6) -> list[str]:
    """Up to `limit` zones that are `offset_minutes` east of UTC at the instant `at`.

    Familiar cities come first (`popular_zones()`); when none of them has the offset at that
    moment, other place-named zones with it are offered in alphabetical order.
    """
    at = as_utc(at, "at")
    wanted = timedelta(minutes=offset_minutes)

    def has_offset(name: str) -> bool:
        return at.astimezone(zone_info(name)).utcoffset() == wanted

    matches = [name for name in popular_zones() if has_offset(name)][:limit]
    if matches:
        return matches
    others = sorted(
        name
        for name in _zone_names()
        if name.partition("/")[0] in _GEOGRAPHIC_AREAS and has_offset(name)
    )
    return others[:limit]


def as_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; refuses naive datetimes.

    Converting first matters: Python adds and subtracts datetimes that share a tzinfo on the
    wall clock, so 24 h after 10:00 the day before spring forward would read 10:00, not 11:00.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


# --- the picker's lists (content/zones.toml) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneLists:
    """What the zone picker offers.

    `offsets`: minutes east of UTC, in the order shown. `popular`: zones in rough order of how
    many people live in them, so a picker shows familiar cities before obscure ones.
    """

    popular: tuple[str, ...]
    offsets: tuple[int, ...]


def parse_zone_lists(text: str, *, source: str = "content/zones.toml") -> ZoneLists:
    """The picker's lists described by the TOML `text`; ContentError when they are wrong."""
    document = parse_toml(text, source=source)
    check_keys(document, {"popular", "offsets"}, where=source)
    return ZoneLists(
        popular=_popular(document.get("popular"), f"{source}: popular"),
        offsets=_offsets(document.get("offsets"), f"{source}: offsets"),
    )


def _popular(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ContentError(f"{where}: must be a non-empty list of zone names")
    for name in value:
        if not isinstance(name, str) or not is_valid_zone(name):
            raise ContentError(f"{where}: {name!r} is not an IANA time zone known to zoneinfo")
    if len(set(value)) != len(value):
        twice = next(name for name in value if value.count(name) > 1)
        raise ContentError(f"{where}: {twice!r} is listed twice")
    return tuple(value)


def _offsets(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ContentError(f"{where}: must be a non-empty list of minutes east of UTC")
    for minutes in value:
        # bool is an int in Python, and `true` is never meant as one minute.
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ContentError(f"{where}: {minutes!r} is not a whole number of minutes")
        if not OFFSET_MIN_MINUTES <= minutes <= OFFSET_MAX_MINUTES:
            raise ContentError(
                f"{where}: {minutes} is outside {OFFSET_MIN_MINUTES}..{OFFSET_MAX_MINUTES}"
            )
    # The picker shows them in file order, so keep that order predictable for the runner.
    if any(later <= earlier for earlier, later in itertools.pairwise(value)):
        raise ContentError(f"{where}: must be in ascending order without repeats")
    return tuple(value)


@cache
def zone_lists() -> ZoneLists:
    """The shipped lists (content/zones.toml), read and checked once, on first use."""
    text, source = read_content(ZONES_FILE)
    return parse_zone_lists(text, source=source)


def popular_zones() -> tuple[str, ...]:
    """Familiar zones, most populous first (`zones_for_offset` offers them first)."""
    return zone_lists().popular


def common_offsets() -> tuple[int, ...]:
    """The offsets (minutes east of UTC) a zone picker offers; anyone else types a city."""
    return zone_lists().offsets


# Constant-like names for importers; the file is read on first use, not at import.
