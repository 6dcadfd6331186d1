"""Due-time arithmetic for follow-ups: local wall-clock times and the daytime window.

Check-ins and daily exercise reminders are stored as UTC instants but meant at a time of day in
the runner's own zone, so every due time is computed from the local calendar (a daily reminder is
the next local occurrence, never "the last one plus 24 h"), with explicit rules for daylight
saving gaps and folds. This module is pure: every "now" is a parameter (an aware datetime), and
the only data it reads are the IANA zone rules (through `flows.zones`). It also turns what a
runner types ("7:30 pm") into a local time. Whether a message that is due late is still sent,
waits for daytime or is dropped is decided by `flows.care.compose_due`, with the limits defined
here.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.types import Disposition
from flows.zones import as_utc, zone_info


class FollowUpKind(StrEnum):
    """What a scheduled follow-up message is; the values are stored, so never change them."""

    CHECKIN = "checkin"
    SEEN_CHECK = "seen_check"
    REMINDER = "reminder"
    # The message after too many unanswered check-ins. Today it goes out as a check-in message
    # (`flows.due_messages`); the kind stays so that cancelling follow-ups still covers any
    # message scheduled under it.
    SAFETY_NET = "safety_net"
    # A session day of the balance programme after recovery, or its closing message.
    PROGRAMME = "programme"


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

# About 24, 48 and 72 h after a home-care assessment; a seen-check 24 h after an Emergency
# outcome and 48 h after a See-a-clinician one (docs/clinical-basis.md, "Follow-ups").
HOME_CARE_CHECKIN_DELAYS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
SEEN_CHECK_DELAYS = {
    Disposition.EMERGENCY: timedelta(hours=24),
    Disposition.SEE_CLINICIAN: timedelta(hours=48),
}


# After those, check-ins are daily while the ankle is sore (docs/clinical-basis.md); without a
# known zone, one is due this long after the one before.
DAILY_CHECKIN_INTERVAL = timedelta(hours=24)
# With a known zone, the daily check-in falls at this local time (inside the daytime window).
DAILY_CHECKIN_TIME = time(18, 0)


# --- local wall-clock arithmetic --------------------------------------------------------------


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
    after = as_utc(after, "after")
    _check_local_time(local_time)
    tz = zone_info(zone)
    start_day = after.astimezone(tz).date()
    # Earlier days are all before `after`; two days on is enough even past a skipped date.
    for days_ahead in range(4):
        instant = _local_instant(start_day + timedelta(days=days_ahead), local_time, tz)
        if instant is not None and instant > after:
            return instant
    raise RuntimeError(f"no occurrence of {local_time} in {zone} after {after}")


def next_local_occurrence_on(
    *, after: datetime, local_time: time, zone: str, days: Collection[date]
) -> datetime | None:
    """The first instant strictly after `after` at which the clock in `zone` shows
    `local_time` on one of `days` (local dates), in UTC; None when no day of them is left.

    Each day is computed from the local calendar, so a session day keeps its wall-clock time
    across a change of the clocks (never "the last one plus 24 h")."""
    after = as_utc(after, "after")
    _check_local_time(local_time)
    tz = zone_info(zone)
    first = after.astimezone(tz).date()
    for day in sorted(d for d in days if d >= first):
        instant = _local_instant(day, local_time, tz)
        if instant is not None and instant > after:
            return instant
    return None


def _previous_local_occurrence(*, before: datetime, local_time: time, zone: str) -> datetime:
    """The last instant strictly before `before` at which `zone` shows `local_time` (UTC)."""
    tz = zone_info(zone)
    start_day = before.astimezone(tz).date()
    for days_back in range(4):
        instant = _local_instant(start_day - timedelta(days=days_back), local_time, tz)
        if instant is not None and instant < before:
            return instant
    raise RuntimeError(f"no occurrence of {local_time} in {zone} before {before}")


def local_date_of(instant: datetime, zone: str) -> date:
    """The calendar date in `zone` at `instant` (for keys such as runner + kind + local date)."""
    instant = as_utc(instant, "instant")
    return instant.astimezone(zone_info(zone)).date()


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
    wall = due.astimezone(zone_info(zone)).time()
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
    assessed_at = as_utc(assessed_at, "assessed_at")
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
    wall = as_utc(instant, "instant").astimezone(zone_info(zone)).time()
    return DAY_START <= wall <= DAY_END


def daytime_from(instant: datetime, *, zone: str) -> datetime:
    """`instant` when it is daytime in `zone`, else the start of the next daytime window (UTC)."""
    instant = as_utc(instant, "instant")
    if is_daytime(instant, zone=zone):
        return instant
    return next_local_occurrence(after=instant, local_time=DAY_START, zone=zone)


def next_daily_checkin(
    *,
    after: datetime,
    zone: str,
    at: time = DAILY_CHECKIN_TIME,
) -> datetime:
    """The daily check-in that follows the one due at `after`: the next local `at` that is at
    least MIN_CHECKIN_GAP later (a 09:00 check-in is followed by 18:00 the next day, not the
    same evening). Returned in UTC.
    """
    after = as_utc(after, "after")
    earliest = after + MIN_CHECKIN_GAP - timedelta(microseconds=1)
    return next_local_occurrence(after=earliest, local_time=at, zone=zone)
