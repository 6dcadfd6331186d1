"""Due-time arithmetic for follow-ups: local wall-clock times, time zones, the daytime window.

Check-ins and daily exercise reminders are stored as UTC instants but meant at a time of day in
the runner's own zone, so every due time is computed from the local calendar (a daily reminder is
the next local occurrence, never "the last one plus 24 h"), with explicit rules for daylight
saving gaps and folds. This module is pure: every "now" is a parameter (an aware datetime), and
the only data it reads are the IANA zone rules through `zoneinfo`. It also turns what a runner
types ("7:30 pm", "new york") into a local time or a zone name. Whether a message that is due
late is still sent, waits for daytime or is dropped is decided by `flows.care.compose_due`, with
the limits defined here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flows.types import Disposition


class FollowUpKind(StrEnum):
    """What a scheduled follow-up message is; the values are stored, so never change them."""

    CHECKIN = "checkin"
    SEEN_CHECK = "seen_check"
    REMINDER = "reminder"


# A check-in asks how the ankle is compared with last time; closer than this to the previous
# one there has been too little time for anything to change, so daytime shifting and the daily
# check-ins never bring two check-ins nearer than this.
MIN_CHECKIN_GAP = timedelta(hours=20)

# A check-in overdue by more than this would land within a few hours of its successor (they are
# about 24 h apart), asking the same questions twice; the newer one covers it.
CHECKIN_MAX_LATENESS = timedelta(hours=20)

# Check-ins are promised within this daytime window of the runner's own clock (both ends
# included): the schedule puts them there, and an overdue one waits for the next window.
DAY_START = time(9, 0)
DAY_END = time(20, 0)

# A check-in due inside the window still goes out when it is at most this late, even if the
# window has just closed: a 20:00 check-in picked up a second later, after a flood pause or a
# couple of retries, is not worth a night's wait.
DAYTIME_GRACE = timedelta(minutes=15)

HOME_CARE_CHECKIN_DELAYS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
SEEN_CHECK_DELAYS = {
    Disposition.EMERGENCY: timedelta(hours=24),
    Disposition.SEE_CLINICIAN: timedelta(hours=48),
}

# Offsets (minutes east of UTC) offered by a zone picker: whole hours where most runners live,
# plus India; anyone else can type a city name (`resolve_zone`).
COMMON_OFFSETS: tuple[int, ...] = tuple(
    sorted([*(hours * 60 for hours in range(-10, 13)), 5 * 60 + 30])
)

# Zones in rough order of how many people live in them; `zones_for_offset` offers the first
# matches, so a picker shows familiar cities before obscure ones.
POPULAR_ZONES: tuple[str, ...] = (
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "Europe/Paris",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "America/Toronto",
    "America/Denver",
    "America/Phoenix",
    "America/Vancouver",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Kyiv",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Asia/Jerusalem",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Ho_Chi_Minh",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Manila",
    "Asia/Seoul",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Perth",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "America/Bogota",
    "America/Lima",
    "America/Argentina/Buenos_Aires",
    "America/Santiago",
    "America/Caracas",
    "America/Halifax",
    "America/St_Johns",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Atlantic/Reykjavik",
    "Africa/Accra",
    "Atlantic/Azores",
    "Atlantic/Cape_Verde",
    "America/Noronha",
    "Atlantic/South_Georgia",
    "Asia/Tashkent",
    "Asia/Yekaterinburg",
    "Asia/Colombo",
    "Asia/Almaty",
    "Asia/Novosibirsk",
    "Asia/Taipei",
    "Asia/Vladivostok",
    "Pacific/Guam",
    "Pacific/Port_Moresby",
    "Pacific/Noumea",
    "Asia/Magadan",
    "Pacific/Fiji",
    "Asia/Kamchatka",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Adak",
    "Pacific/Tahiti",
    "Asia/Tehran",
    "Asia/Kabul",
    "Asia/Kathmandu",
    "Asia/Yangon",
    "Australia/Darwin",
    "Pacific/Chatham",
)

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
def _zone(name: str) -> ZoneInfo:
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
    zone_a, zone_b = _zone(first), _zone(second)
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
        key=lambda name: (name not in POPULAR_ZONES, -name.count("/"), name),
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

    Familiar cities come first (`POPULAR_ZONES`); when none of them has the offset at that
    moment, other place-named zones with it are offered in alphabetical order.
    """
    at = _as_utc(at, "at")
    wanted = timedelta(minutes=offset_minutes)

    def has_offset(name: str) -> bool:
        return at.astimezone(_zone(name)).utcoffset() == wanted

    matches = [name for name in POPULAR_ZONES if has_offset(name)][:limit]
    if matches:
        return matches
    others = sorted(
        name
        for name in _zone_names()
        if name.partition("/")[0] in _GEOGRAPHIC_AREAS and has_offset(name)
    )
    return others[:limit]


# --- local wall-clock arithmetic --------------------------------------------------------------


def _as_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; refuses naive datetimes.

    Converting first matters: Python adds and subtracts datetimes that share a tzinfo on the
    wall clock, so 24 h after 10:00 the day before spring forward would read 10:00, not 11:00.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _transition_in(earliest: datetime, latest: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (earliest, latest] that already has the offset of `latest`."""
    offset_after = latest.astimezone(zone).utcoffset()
    low, high = int(earliest.timestamp()), int(latest.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _local_instant(day: date, local_time: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant at which the clock in `zone` shows `local_time` on `day`.

    An ambiguous time (the clocks go back) gives its first occurrence (fold=0). A time that
    does not exist (the clocks go forward) moves to the first whole minute after the gap. None
    when the whole day does not exist in the zone (a date-line change such as Samoa's in 2011).
    """
    wall = datetime.combine(day, local_time)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap the two folds read the wall time with the offsets either side of the
    # transition, so the two instants bracket it.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    gap_end = _transition_in(min(first, second), max(first, second), zone)
    if gap_end.second or gap_end.microsecond:
        gap_end = gap_end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if gap_end.astimezone(zone).date() != day:
        return None
    return gap_end


def _check_local_time(local_time: time) -> None:
    if local_time.tzinfo is not None:
        raise ValueError("local_time must be a naive wall-clock time; the zone is separate")


def next_local_occurrence(*, after: datetime, local_time: time, zone: str) -> datetime:
    """The first instant strictly after `after` at which the clock in `zone` shows `local_time`.

    Returned in UTC. Each local day yields exactly one occurrence: the first one when the time
    repeats as the clocks go back, the end of the gap when it is skipped as they go forward.
    """
    after = _as_utc(after, "after")
    _check_local_time(local_time)
    tz = _zone(zone)
    start_day = after.astimezone(tz).date()
    # Earlier days are all before `after`; two days on is enough even past a skipped date.
    for days_ahead in range(4):
        instant = _local_instant(start_day + timedelta(days=days_ahead), local_time, tz)
        if instant is not None and instant > after:
            return instant
    raise RuntimeError(f"no occurrence of {local_time} in {zone} after {after}")


def _previous_local_occurrence(*, before: datetime, local_time: time, zone: str) -> datetime:
    """The last instant strictly before `before` at which `zone` shows `local_time` (UTC)."""
    tz = _zone(zone)
    start_day = before.astimezone(tz).date()
    for days_back in range(4):
        instant = _local_instant(start_day - timedelta(days=days_back), local_time, tz)
        if instant is not None and instant < before:
            return instant
    raise RuntimeError(f"no occurrence of {local_time} in {zone} before {before}")


def local_date_of(instant: datetime, zone: str) -> date:
    """The calendar date in `zone` at `instant` (for keys such as runner + kind + local date)."""
    instant = _as_utc(instant, "instant")
    return instant.astimezone(_zone(zone)).date()


# --- parsing what runners type -----------------------------------------------------------------

_CLOCK_TIME = re.compile(
    r"""
    (?:
        (?P<hour>[0-9]{1,2}) (?: (?:[:.]|\s*h\s*) (?P<minute>[0-9]{2}) | \s*h )?
      | (?P<compact_hour>[0-9]{1,2}) (?P<compact_minute>[0-9]{2})    # "730", "1930"
    )
    \s* (?: (?P<half>[ap]) \.?\s*m\.? )?
    """,
    re.VERBOSE,
)
_NAMED_TIMES = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}


def parse_local_time(text: str) -> time | None:
    """A wall-clock time from what a runner typed, or None when it is not a valid time.

    Accepts "7", "7am", "7 p.m.", "7:30", "07:30", "7.30", "19h30", "730", "1930", "7:30 pm",
    "noon" and "midnight". Without am/pm the hour is read on the 24-hour clock.
    """
    folded = text.strip().casefold()
    if folded in _NAMED_TIMES:
        return _NAMED_TIMES[folded]
    match = _CLOCK_TIME.fullmatch(folded)
    if match is None:
        return None
    hour = int(match["hour"] or match["compact_hour"])
    minute = int(match["minute"] or match["compact_minute"] or 0)
    if minute > 59:
        return None
    if match["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["half"] == "p" else 0)
    elif hour > 23:
        return None
    return time(hour, minute)


# --- the check-in timeline ---------------------------------------------------------------------


def _into_daytime(
    due: datetime,
    *,
    previous: datetime,
    zone: str,
    day_start: time,
    day_end: time,
) -> datetime:
    """`due` moved into the runner's daytime window [day_start, day_end] when it falls at night.

    A night-time check-in goes back to the evening's day_end when that is no further than the
    next morning's day_start: the runner hears from the bot sooner (the safer side) and the
    rhythm stays near 24 h. It goes back only while it stays MIN_CHECKIN_GAP after the previous
    check-in (or the assessment), so that each check-in still has a day's change to ask about;
    otherwise it waits for the morning.
    """
    wall = due.astimezone(_zone(zone)).time()
    if day_start <= wall <= day_end:
        return due.astimezone(UTC)
    morning = next_local_occurrence(after=due, local_time=day_start, zone=zone)
    evening = _previous_local_occurrence(before=due, local_time=day_end, zone=zone)
    if evening - previous >= MIN_CHECKIN_GAP and due - evening <= morning - due:
        return evening
    return morning


def checkin_due_times(
    *,
    assessed_at: datetime,
    disposition: Disposition,
    zone: str,
    day_start: time = DAY_START,
    day_end: time = DAY_END,
) -> list[tuple[str, datetime]]:
    """The follow-ups an assessment starts, as (kind, due instant in UTC), in order.

    HOME_CARE: check-ins about 24, 48 and 72 h after the assessment (then `next_daily_checkin`
    until resolved). SEE_CLINICIAN: one "were you seen?" check at about 48 h; EMERGENCY: at about
    24 h (reference section 6). Each is moved into the daytime window of the runner's zone.
    """
    assessed_at = _as_utc(assessed_at, "assessed_at")
    _check_local_time(day_start)
    _check_local_time(day_end)
    if not day_start < day_end:
        raise ValueError("day_start must be before day_end")
    if disposition is Disposition.HOME_CARE:
        nominal = [(FollowUpKind.CHECKIN, delay) for delay in HOME_CARE_CHECKIN_DELAYS]
    else:
        nominal = [(FollowUpKind.SEEN_CHECK, SEEN_CHECK_DELAYS[disposition])]
    timeline: list[tuple[str, datetime]] = []
    previous = assessed_at
    for kind, delay in nominal:
        due = _into_daytime(
            assessed_at + delay,
            previous=previous,
            zone=zone,
            day_start=day_start,
            day_end=day_end,
        )
        timeline.append((kind, due))
        previous = due
    return timeline


def is_daytime(instant: datetime, *, zone: str) -> bool:
    """Whether the clock in `zone` reads within [DAY_START, DAY_END] at `instant`."""
    wall = _as_utc(instant, "instant").astimezone(_zone(zone)).time()
    return DAY_START <= wall <= DAY_END


def daytime_from(instant: datetime, *, zone: str) -> datetime:
    """`instant` when it is daytime in `zone`, else the start of the next daytime window (UTC)."""
    instant = _as_utc(instant, "instant")
    if is_daytime(instant, zone=zone):
        return instant
    return next_local_occurrence(after=instant, local_time=DAY_START, zone=zone)


def next_daily_checkin(
    *,
    after: datetime,
    zone: str,
    at: time = time(18, 0),
) -> datetime:
    """The daily check-in that follows the one due at `after`: the next local `at` that is at
    least MIN_CHECKIN_GAP later (a 09:00 check-in is followed by 18:00 the next day, not the
    same evening). Returned in UTC.
    """
    after = _as_utc(after, "after")
    earliest = after + MIN_CHECKIN_GAP - timedelta(microseconds=1)
    return next_local_occurrence(after=earliest, local_time=at, zone=zone)
