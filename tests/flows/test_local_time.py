"""Tests for flows/local_time.py: local due times across DST, parsing, check-ins, daytime."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import local_time
from flows.local_time import (
    MIN_CHECKIN_GAP,
    FollowUpKind,
    checkin_due_times,
    local_date_of,
    next_daily_checkin,
    next_local_occurrence,
    parse_local_time,
)
from flows.types import Disposition

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"
BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in `zone` (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def wall(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock reading of `instant` in `zone`."""
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# 2026 changes: London 29 Mar 01:00 UTC (01:00 -> 02:00) and 25 Oct 01:00 UTC (02:00 -> 01:00);
# New York 8 Mar 07:00 UTC (02:00 -> 03:00) and 1 Nov 06:00 UTC (02:00 -> 01:00);
# Sydney 4 Apr 16:00 UTC (03:00 -> 02:00, autumn) and 3 Oct 16:00 UTC (02:00 -> 03:00, spring).


class TestNextLocalOccurrence:
    @pytest.mark.parametrize(
        ("zone", "after", "expected"),
        [
            # spring forward: 07:30 local is one hour earlier in UTC the day after the change
            (LONDON, utc(2026, 3, 28, 8), utc(2026, 3, 29, 6, 30)),
            (NEW_YORK, utc(2026, 3, 7, 13), utc(2026, 3, 8, 11, 30)),
            (SYDNEY, utc(2026, 10, 2, 22), utc(2026, 10, 3, 20, 30)),
            # fall back: one hour later in UTC
            (LONDON, utc(2026, 10, 24, 7), utc(2026, 10, 25, 7, 30)),
            (NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12, 30)),
            (SYDNEY, utc(2026, 4, 3, 21), utc(2026, 4, 4, 21, 30)),
        ],
    )
    def test_a_daily_reminder_keeps_its_local_time_across_a_dst_change(
        self, zone: str, after: datetime, expected: datetime
    ) -> None:
        due = next_local_occurrence(after=after, local_time=time(7, 30), zone=zone)
        assert due == expected
        assert wall(due, zone).time() == time(7, 30)
        assert due.tzinfo is UTC

    def test_the_next_occurrence_is_today_when_the_local_time_is_still_ahead(self) -> None:
        due = next_local_occurrence(
            after=local(NEW_YORK, 2026, 6, 1, 6), local_time=time(7, 30), zone=NEW_YORK
        )
        assert due == utc(2026, 6, 1, 11, 30)

    def test_an_occurrence_equal_to_after_is_not_returned_again(self) -> None:
        first = utc(2026, 6, 1, 6, 30)  # 07:30 BST
        due = next_local_occurrence(after=first, local_time=time(7, 30), zone=LONDON)
        assert due == utc(2026, 6, 2, 6, 30)

    def test_after_may_be_given_in_any_zone(self) -> None:
        after_in_tokyo = datetime(2026, 6, 1, 15, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 06:00 UTC
        due = next_local_occurrence(after=after_in_tokyo, local_time=time(7, 30), zone=LONDON)
        assert due == utc(2026, 6, 1, 6, 30)

    @pytest.mark.parametrize(
        ("zone", "after", "local_time", "expected"),
        [
            # London jumps 01:00 -> 02:00: 01:30 does not exist and becomes 02:00 BST
            (LONDON, utc(2026, 3, 28, 12), time(1, 30), utc(2026, 3, 29, 1)),
            # New York jumps 02:00 -> 03:00: 02:30 becomes 03:00 EDT
            (NEW_YORK, utc(2026, 3, 7, 12), time(2, 30), utc(2026, 3, 8, 7)),
            # Sydney jumps 02:00 -> 03:00 in October: 02:30 becomes 03:00 AEDT
            (SYDNEY, utc(2026, 10, 3, 12), time(2, 30), utc(2026, 10, 3, 16)),
        ],
    )
    def test_a_time_skipped_by_spring_forward_moves_to_the_end_of_the_gap(
        self, zone: str, after: datetime, local_time: time, expected: datetime
    ) -> None:
        due = next_local_occurrence(after=after, local_time=local_time, zone=zone)
        assert due == expected
        assert wall(due, zone).minute == 0
        # and the day after, the usual wall time is back
        following = next_local_occurrence(after=due, local_time=local_time, zone=zone)
        assert wall(following, zone).time() == local_time
        assert following - due == timedelta(hours=23, minutes=30)

    @pytest.mark.parametrize(
        ("zone", "after", "local_time", "first", "next_day"),
        [
            (NEW_YORK, utc(2026, 10, 31, 12), time(1, 30), utc(2026, 11, 1, 5, 30),
             utc(2026, 11, 2, 6, 30)),
            (LONDON, utc(2026, 10, 24, 12), time(1, 30), utc(2026, 10, 25, 0, 30),
             utc(2026, 10, 26, 1, 30)),
            (SYDNEY, utc(2026, 4, 4, 12), time(2, 30), utc(2026, 4, 4, 15, 30),
             utc(2026, 4, 5, 16, 30)),
        ],
    )  # fmt: skip
    def test_a_repeated_time_fires_once_at_its_first_occurrence(
        self,
        zone: str,
        after: datetime,
        local_time: time,
        first: datetime,
        next_day: datetime,
    ) -> None:
        due = next_local_occurrence(after=after, local_time=local_time, zone=zone)
        assert due == first
        # the second reading of the same wall time (one hour later) is skipped
        assert next_local_occurrence(after=due, local_time=local_time, zone=zone) == next_day

    def test_after_between_the_two_readings_of_a_repeated_time_goes_to_the_next_day(
        self,
    ) -> None:
        # 06:15 UTC on 1 Nov is 01:15 EST, after the first 01:30 (EDT) and before the second.
        due = next_local_occurrence(
            after=utc(2026, 11, 1, 6, 15), local_time=time(1, 30), zone=NEW_YORK
        )
        assert due == utc(2026, 11, 2, 6, 30)

    def test_a_date_missing_from_the_calendar_is_skipped(self) -> None:
        # Samoa skipped 30 December 2011 when it crossed the date line.
        due = next_local_occurrence(
            after=utc(2011, 12, 29, 20), local_time=time(9, 0), zone="Pacific/Apia"
        )
        assert wall(due, "Pacific/Apia") == datetime(2011, 12, 31, 9, 0)  # noqa: DTZ001

    @pytest.mark.parametrize(
        ("zone", "start", "local_time"),
        [
            (LONDON, utc(2026, 3, 22, 12), time(7, 30)),
            (LONDON, utc(2026, 10, 18, 12), time(1, 30)),
            (NEW_YORK, utc(2026, 3, 1, 12), time(18, 0)),
            (NEW_YORK, utc(2026, 10, 25, 12), time(1, 30)),
            (SYDNEY, utc(2026, 3, 29, 12), time(2, 30)),
            (SYDNEY, utc(2026, 9, 27, 12), time(7, 30)),
        ],
    )
    def test_fourteen_consecutive_occurrences_across_a_change_keep_the_wall_time(
        self, zone: str, start: datetime, local_time: time
    ) -> None:
        occurrences = []
        after = start
        for _ in range(14):
            after = next_local_occurrence(after=after, local_time=local_time, zone=zone)
            occurrences.append(after)
        days = [local_date_of(instant, zone) for instant in occurrences]
        assert days == [days[0] + timedelta(days=n) for n in range(14)]
        assert all(wall(instant, zone).time() == local_time for instant in occurrences)
        utc_gaps = {b - a for a, b in itertools.pairwise(occurrences)}
        assert timedelta(hours=23) in utc_gaps or timedelta(hours=25) in utc_gaps

    def test_a_naive_after_is_rejected(self) -> None:
        naive = datetime(2026, 1, 1, 12)  # noqa: DTZ001
        with pytest.raises(ValueError, match="aware"):
            next_local_occurrence(after=naive, local_time=time(7), zone=LONDON)

    def test_an_unknown_zone_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="unknown time zone"):
            next_local_occurrence(after=utc(2026, 1, 1), local_time=time(7), zone="Mars/Base")

    def test_a_local_time_carrying_a_zone_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            next_local_occurrence(
                after=utc(2026, 1, 1), local_time=time(7, tzinfo=UTC), zone=LONDON
            )

    @settings(max_examples=300, deadline=None)
    @given(
        zone=st.sampled_from(
            [LONDON, NEW_YORK, SYDNEY, "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"]
        ),
        after=st.datetimes(
            min_value=datetime(2020, 1, 1),  # noqa: DTZ001
            max_value=datetime(2030, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        local_time=st.times(),
    )
    def test_the_occurrence_is_the_first_one_after_and_one_per_local_day(
        self, zone: str, after: datetime, local_time: time
    ) -> None:
        due = next_local_occurrence(after=after, local_time=local_time, zone=zone)
        following = next_local_occurrence(after=due, local_time=local_time, zone=zone)
        assert after < due <= after + timedelta(hours=25)
        assert local_date_of(following, zone) == local_date_of(due, zone) + timedelta(days=1)
        shown = wall(due, zone)
        if shown.time() != local_time:
            # only when the wall time was skipped: the reminder comes at the end of the gap,
            # and the wall time just before it is still before the wanted time
            just_before = wall(due - timedelta(minutes=1), zone)
            assert just_before.time() < local_time < shown.time()
            assert shown.second == 0


class TestLocalDate:
    @pytest.mark.parametrize(
        ("instant", "zone", "expected"),
        [
            (utc(2026, 1, 1, 23, 30), SYDNEY, date(2026, 1, 2)),
            (utc(2026, 1, 1, 23, 30), NEW_YORK, date(2026, 1, 1)),
            (utc(2026, 1, 2, 3, 0), NEW_YORK, date(2026, 1, 1)),
            (utc(2026, 7, 1, 23, 30), LONDON, date(2026, 7, 2)),
        ],
    )
    def test_the_date_is_read_on_the_runners_calendar(
        self, instant: datetime, zone: str, expected: date
    ) -> None:
        assert local_date_of(instant, zone) == expected

    def test_a_naive_instant_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            local_date_of(datetime(2026, 1, 1), LONDON)  # noqa: DTZ001


class TestParseLocalTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("7", time(7, 0)),
            ("07", time(7, 0)),
            ("19", time(19, 0)),
            ("0", time(0, 0)),
            ("7:30", time(7, 30)),
            ("07:30", time(7, 30)),
            ("7.30", time(7, 30)),
            ("19:30", time(19, 30)),
            ("23:59", time(23, 59)),
            ("00:00", time(0, 0)),
            ("19h30", time(19, 30)),
            ("19h", time(19, 0)),
            ("730", time(7, 30)),
            ("0730", time(7, 30)),
            ("1930", time(19, 30)),
            ("7am", time(7, 0)),
            ("7 AM", time(7, 0)),
            ("7pm", time(19, 0)),
            ("7 p.m.", time(19, 0)),
            ("7:30 pm", time(19, 30)),
            ("7:30PM", time(19, 30)),
            ("12am", time(0, 0)),
            ("12:15 am", time(0, 15)),
            ("12pm", time(12, 0)),
            ("12:45 pm", time(12, 45)),
            ("noon", time(12, 0)),
            ("Midnight", time(0, 0)),
            ("  8:05  ", time(8, 5)),
        ],
    )
    def test_accepted_forms(self, text: str, expected: time) -> None:
        assert parse_local_time(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "25:00",
            "24:00",
            "24",
            "7:75",
            "7:5",
            "775",
            "2400",
            "0am",
            "13pm",
            "19:30 pm",
            "",
            "   ",
            "seven",
            "7:30:15",
            "-7",
            "7 :: 30",
            "12345",
        ],
    )
    def test_rejected_forms(self, text: str) -> None:
        assert parse_local_time(text) is None


def checkins(assessed_at: datetime, disposition: Disposition, **window: time) -> list:
    return checkin_due_times(
        assessed_at=assessed_at, disposition=disposition, zone=LONDON, **window
    )


class TestCheckinTimeline:
    # London in January is on UTC, so local and UTC times read alike.

    def test_home_care_checks_in_at_24_48_and_72_hours_in_daytime(self) -> None:
        assert checkins(utc(2026, 1, 10, 10), Disposition.HOME_CARE) == [
            ("checkin", utc(2026, 1, 11, 10)),
            ("checkin", utc(2026, 1, 12, 10)),
            ("checkin", utc(2026, 1, 13, 10)),
        ]

    def test_a_late_evening_assessment_checks_in_at_the_end_of_the_day(self) -> None:
        # 23:00 is 3 h after day_end and 10 h before day_start: back to 20:00, 21 h after
        assert checkins(utc(2026, 1, 10, 23), Disposition.HOME_CARE) == [
            ("checkin", utc(2026, 1, 11, 20)),
            ("checkin", utc(2026, 1, 12, 20)),
            ("checkin", utc(2026, 1, 13, 20)),
        ]

    def test_a_night_assessment_waits_for_the_morning_when_evening_is_too_soon(self) -> None:
        # 02:00: the evening before would be only 18 h after the assessment
        assert checkins(utc(2026, 1, 10, 2), Disposition.HOME_CARE) == [
            ("checkin", utc(2026, 1, 11, 9)),
            ("checkin", utc(2026, 1, 12, 9)),
            ("checkin", utc(2026, 1, 13, 9)),
        ]

    def test_the_nearer_edge_of_the_day_wins(self) -> None:
        # 05:00 is 4 h before day_start and 9 h after day_end
        assert checkins(utc(2026, 1, 10, 5), Disposition.HOME_CARE)[0] == (
            "checkin",
            utc(2026, 1, 11, 9),
        )
        # 21:30 is 1.5 h after day_end
        assert checkins(utc(2026, 1, 10, 21, 30), Disposition.HOME_CARE)[0] == (
            "checkin",
            utc(2026, 1, 11, 20),
        )

    def test_a_tie_goes_to_the_evening_when_it_is_exactly_twenty_hours_on(self) -> None:
        # window 07:00-23:00: 03:00 is 4 h from either edge, and 23:00 is 20 h on
        window = {"day_start": time(7), "day_end": time(23)}
        assert checkins(utc(2026, 1, 10, 3), Disposition.HOME_CARE, **window)[0] == (
            "checkin",
            utc(2026, 1, 10, 23),
        )
        # one minute later the evening would be 19 h 59 min on: morning instead
        assert checkins(utc(2026, 1, 10, 3, 1), Disposition.HOME_CARE, **window)[0] == (
            "checkin",
            utc(2026, 1, 11, 7),
        )

    def test_the_window_edges_themselves_are_daytime(self) -> None:
        assert checkins(utc(2026, 1, 10, 20), Disposition.HOME_CARE)[0][1] == utc(2026, 1, 11, 20)
        assert checkins(utc(2026, 1, 10, 9), Disposition.HOME_CARE)[0][1] == utc(2026, 1, 11, 9)

    def test_see_clinician_asks_once_whether_seen_at_about_48_hours(self) -> None:
        assert checkins(utc(2026, 1, 10, 10), Disposition.SEE_CLINICIAN) == [
            ("seen_check", utc(2026, 1, 12, 10))
        ]
        assert checkins(utc(2026, 1, 10, 23, 30), Disposition.SEE_CLINICIAN) == [
            ("seen_check", utc(2026, 1, 12, 20))
        ]

    def test_emergency_asks_once_whether_seen_at_about_24_hours(self) -> None:
        assert checkins(utc(2026, 1, 10, 14), Disposition.EMERGENCY) == [
            ("seen_check", utc(2026, 1, 11, 14))
        ]
        assert checkins(utc(2026, 1, 10, 3), Disposition.EMERGENCY) == [
            ("seen_check", utc(2026, 1, 11, 9))
        ]

    def test_the_window_is_read_in_the_runners_zone(self) -> None:
        # 10:00 UTC is 21:00 in Sydney (summer): back to 20:00 local, 23 h on
        timeline = checkin_due_times(
            assessed_at=utc(2026, 1, 10, 10), disposition=Disposition.HOME_CARE, zone=SYDNEY
        )
        assert [wall(due, SYDNEY).time() for _, due in timeline] == [time(20)] * 3
        assert timeline[0][1] == utc(2026, 1, 11, 9)

    def test_hours_are_elapsed_time_across_a_dst_change(self) -> None:
        # 10:00 EST the day before spring forward: 24 h later the wall clock shows 11:00 EDT
        timeline = checkin_due_times(
            assessed_at=local(NEW_YORK, 2026, 3, 7, 10),
            disposition=Disposition.HOME_CARE,
            zone=NEW_YORK,
        )
        assert timeline[0][1] - local(NEW_YORK, 2026, 3, 7, 10) == timedelta(hours=24)
        assert wall(timeline[0][1], NEW_YORK) == datetime(2026, 3, 8, 11)  # noqa: DTZ001

    def test_kinds_are_the_stored_strings(self) -> None:
        kinds = {kind for kind, _ in checkins(utc(2026, 1, 10, 10), Disposition.HOME_CARE)}
        assert kinds == {"checkin"}
        assert FollowUpKind.SEEN_CHECK == "seen_check"

    def test_an_empty_or_reversed_window_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="day_start"):
            checkins(utc(2026, 1, 10), Disposition.HOME_CARE, day_start=time(20), day_end=time(9))

    def test_a_naive_assessment_time_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            checkins(datetime(2026, 1, 10, 10), Disposition.HOME_CARE)  # noqa: DTZ001

    @settings(max_examples=300, deadline=None)
    @given(
        assessed_at=st.datetimes(
            min_value=datetime(2024, 1, 1),  # noqa: DTZ001
            max_value=datetime(2030, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        disposition=st.sampled_from(Disposition),
        zone=st.sampled_from([LONDON, NEW_YORK, SYDNEY, "Asia/Kolkata", "Pacific/Chatham"]),
    )
    def test_every_follow_up_is_in_daytime_near_its_nominal_time_and_well_spaced(
        self, assessed_at: datetime, disposition: Disposition, zone: str
    ) -> None:
        timeline = checkin_due_times(assessed_at=assessed_at, disposition=disposition, zone=zone)
        nominal_hours = {
            Disposition.HOME_CARE: [24, 48, 72],
            Disposition.SEE_CLINICIAN: [48],
            Disposition.EMERGENCY: [24],
        }[disposition]
        assert len(timeline) == len(nominal_hours)
        previous = assessed_at
        for (_, due), hours in zip(timeline, nominal_hours, strict=True):
            assert time(9) <= wall(due, zone).time() <= time(20)
            assert due - previous >= MIN_CHECKIN_GAP
            nominal = assessed_at + timedelta(hours=hours)
            # the night is 13 h long (plus one hour on a DST night)
            assert abs(due - nominal) <= timedelta(hours=14)
            previous = due


class TestNextDailyCheckin:
    @pytest.mark.parametrize(
        ("after", "expected"),
        [
            (utc(2026, 1, 13, 20), utc(2026, 1, 14, 18)),  # 22 h on
            (utc(2026, 1, 13, 18), utc(2026, 1, 14, 18)),
            # a morning check-in is not followed by the same evening's
            (utc(2026, 1, 13, 9), utc(2026, 1, 14, 18)),
            # exactly MIN_CHECKIN_GAP later is allowed
            (utc(2026, 1, 13, 22), utc(2026, 1, 14, 18)),
            # across spring forward the local time stays 18:00 (17:00 UTC)
            (utc(2026, 3, 28, 18), utc(2026, 3, 29, 17)),
        ],
    )
    def test_the_next_daily_checkin_is_at_the_local_hour_a_day_on(
        self, after: datetime, expected: datetime
    ) -> None:
        assert next_daily_checkin(after=after, zone=LONDON) == expected

    def test_the_hour_can_be_chosen(self) -> None:
        due = next_daily_checkin(after=utc(2026, 6, 1, 12), zone=NEW_YORK, at=time(7, 15))
        assert wall(due, NEW_YORK) == datetime(2026, 6, 2, 7, 15)  # noqa: DTZ001


class TestDaytime:
    @pytest.mark.parametrize(
        ("instant", "zone", "expected"),
        [
            (local(BERLIN, 2026, 3, 28, 9), BERLIN, True),
            (local(BERLIN, 2026, 3, 28, 20), BERLIN, True),  # both ends count
            (local(BERLIN, 2026, 3, 28, 20, 1), BERLIN, False),
            (local(BERLIN, 2026, 3, 28, 8, 59), BERLIN, False),
            # 19:30 UTC on 28 March: 20:30 in Berlin (still winter time), 15:30 in New York
            (utc(2026, 3, 28, 19, 30), NEW_YORK, True),
            (utc(2026, 3, 28, 19, 30), BERLIN, False),
        ],
    )
    def test_daytime_is_the_window_on_the_runners_own_clock(
        self, instant: datetime, zone: str, expected: bool
    ) -> None:
        assert local_time.is_daytime(instant, zone=zone) is expected

    @pytest.mark.parametrize(
        ("instant", "zone", "expected"),
        [
            # 00:28 on the night Berlin springs forward: 09:00 summer time, 07:00 UTC
            (local(BERLIN, 2026, 3, 29, 0, 28), BERLIN, utc(2026, 3, 29, 7)),
            # 01:30 EST, the second 01:30 of the night New York falls back: 09:00 EST
            (utc(2026, 11, 1, 6, 30), NEW_YORK, utc(2026, 11, 1, 14)),
            # just after the window closes: the next morning
            (local(LONDON, 2026, 1, 14, 20, 1), LONDON, utc(2026, 1, 15, 9)),
            # early morning: the same morning
            (local(SYDNEY, 2026, 4, 5, 6), SYDNEY, local(SYDNEY, 2026, 4, 5, 9)),
        ],
    )
    def test_outside_daytime_the_next_window_starts_at_the_local_morning(
        self, instant: datetime, zone: str, expected: datetime
    ) -> None:
        assert local_time.daytime_from(instant, zone=zone) == expected

    def test_in_daytime_it_is_the_instant_itself(self) -> None:
        noon = local(SYDNEY, 2026, 4, 5, 12)
        assert local_time.daytime_from(noon, zone=SYDNEY) == noon

    @settings(max_examples=300, deadline=None)
    @given(
        assessed_at=st.datetimes(
            min_value=datetime(2024, 1, 1),  # noqa: DTZ001
            max_value=datetime(2030, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        zone=st.sampled_from([LONDON, NEW_YORK, SYDNEY, "Asia/Kolkata", "Pacific/Chatham"]),
    )
    def test_every_check_in_is_scheduled_in_the_daytime_it_is_sent_in(
        self, assessed_at: datetime, zone: str
    ) -> None:
        """So that a check-in sent on time is never held back for the morning."""
        timeline = checkin_due_times(
            assessed_at=assessed_at, disposition=Disposition.HOME_CARE, zone=zone
        )
        daily = next_daily_checkin(after=timeline[-1][1], zone=zone)
        for due in (*(due for _, due in timeline), daily):
            assert local_time.is_daytime(due, zone=zone)
            assert local_time.daytime_from(due, zone=zone) == due
