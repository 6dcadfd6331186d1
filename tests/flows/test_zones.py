"""Tests for flows/zones.py: zone names, city lookup, the offset picker and content/zones.toml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows import zones
from flows.content import ContentError
from flows.zones import (
    common_offsets,
    is_valid_zone,
    parse_zone_lists,
    popular_zones,
    resolve_zone,
    zones_for_offset,
)

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestZones:
    @pytest.mark.parametrize(
        ("name", "valid"),
        [
            ("Europe/London", True),
            ("America/Argentina/Buenos_Aires", True),
            ("UTC", True),
            ("europe/london", False),
            ("Mars/Olympus_Mons", False),
            ("", False),
            ("localtime", False),
            ("../../etc/passwd", False),
        ],
    )
    def test_only_exact_iana_names_are_valid(self, name: str, valid: bool) -> None:
        assert is_valid_zone(name) is valid

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Europe/London", LONDON),
            ("europe/london", LONDON),
            ("  EUROPE/LONDON ", LONDON),
            ("London", LONDON),
            ("new york", NEW_YORK),
            ("New_York", NEW_YORK),
            ("Sao Paulo", "America/Sao_Paulo"),
            ("São Paulo", "America/Sao_Paulo"),
            ("zürich", "Europe/Zurich"),
            ("port au prince", "America/Port-au-Prince"),
            ("St. John's", "America/St_Johns"),
            ("buenos aires", "America/Argentina/Buenos_Aires"),
            ("Indianapolis", "America/Indiana/Indianapolis"),
            ("Istanbul", "Europe/Istanbul"),
            ("Singapore", "Asia/Singapore"),
            ("utc", "UTC"),
            ("us/eastern", "US/Eastern"),
            ("Springfield", None),
            ("Mars/Olympus_Mons", None),
            ("", None),
            ("   ", None),
            ("Europe", None),
        ],
    )
    def test_resolve_zone_accepts_names_and_cities_in_any_case(
        self, text: str, expected: str | None
    ) -> None:
        assert resolve_zone(text) == expected

    def test_a_city_shared_by_zones_with_different_rules_is_ambiguous(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Real data has no such city today, so pretend the Indianapolis aliases differ.
        zones._zone_index.cache_clear()
        monkeypatch.setattr(zones, "_same_rules", lambda first, second: False)
        try:
            assert resolve_zone("Indianapolis") is None
            indianapolis = "America/Indiana/Indianapolis"
            assert resolve_zone(indianapolis) == indianapolis
        finally:
            monkeypatch.undo()
            zones._zone_index.cache_clear()
        assert resolve_zone("Indianapolis") == "America/Indiana/Indianapolis"

    def test_every_popular_zone_exists(self) -> None:
        assert [name for name in popular_zones() if not is_valid_zone(name)] == []
        assert len(set(popular_zones())) == len(popular_zones())

    def test_common_offsets_cover_the_picker_range_in_order(self) -> None:
        assert list(common_offsets()) == sorted(set(common_offsets()))
        assert {hours * 60 for hours in range(-8, 11)} | {330} <= set(common_offsets())

    @pytest.mark.parametrize("at", [utc(2026, 1, 15, 12), utc(2026, 7, 15, 12)])
    def test_every_common_offset_offers_a_few_zones_that_have_it(self, at: datetime) -> None:
        for offset in common_offsets():
            zones = zones_for_offset(offset, at=at)
            assert 1 <= len(zones) <= 6, offset
            for name in zones:
                assert at.astimezone(ZoneInfo(name)).utcoffset() == timedelta(minutes=offset)

    @pytest.mark.parametrize(
        ("offset", "at", "first"),
        [
            (0, utc(2026, 1, 15), LONDON),
            (60, utc(2026, 7, 15), LONDON),
            (60, utc(2026, 1, 15), "Europe/Paris"),
            (-300, utc(2026, 1, 15), NEW_YORK),
            (-240, utc(2026, 7, 15), NEW_YORK),
            (330, utc(2026, 1, 15), "Asia/Kolkata"),
            (660, utc(2026, 1, 15), SYDNEY),
            (600, utc(2026, 7, 15), SYDNEY),
            (780, utc(2026, 1, 15), "Pacific/Auckland"),
        ],
    )
    def test_familiar_cities_come_first_for_the_offset_at_that_moment(
        self, offset: int, at: datetime, first: str
    ) -> None:
        assert zones_for_offset(offset, at=at)[0] == first

    def test_an_offset_only_rare_zones_have_falls_back_to_them(self) -> None:
        assert zones_for_offset(-570, at=utc(2026, 1, 15)) == ["Pacific/Marquesas"]

    def test_an_offset_no_zone_has_gives_nothing(self) -> None:
        assert zones_for_offset(7, at=utc(2026, 1, 15)) == []


# Reference copies of the lists as they were literals in flows/schedule.py, so that moving them
# to content/zones.toml provably changed nothing the picker offers.
PREVIOUS_OFFSETS = tuple(sorted([*(hours * 60 for hours in range(-10, 13)), 5 * 60 + 30]))
PREVIOUS_POPULAR_HEAD = (LONDON, NEW_YORK, "America/Los_Angeles", "America/Chicago")

VALID = """
offsets = [-60, 0, 60]
popular = ["Europe/London", "America/New_York"]
"""


class TestZoneFile:
    def test_the_shipped_file_gives_the_previous_lists(self) -> None:
        assert common_offsets() == PREVIOUS_OFFSETS
        assert popular_zones()[:4] == PREVIOUS_POPULAR_HEAD
        assert len(popular_zones()) == 88
        assert popular_zones()[-1] == "Pacific/Chatham"

    def test_the_lists_are_read_once(self) -> None:
        assert popular_zones() is popular_zones() and common_offsets() is common_offsets()
        assert LONDON in popular_zones() and len(common_offsets()) == len(PREVIOUS_OFFSETS)

    def test_a_valid_file_parses(self) -> None:
        lists = parse_zone_lists(VALID)
        assert lists.offsets == (-60, 0, 60)
        assert lists.popular == (LONDON, NEW_YORK)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(
                VALID.replace("America/New_York", "Mars/Olympus_Mons"),
                "popular: 'Mars/Olympus_Mons' is not an IANA time zone",
                id="unknown_zone",
            ),
            pytest.param(
                VALID.replace("America/New_York", "europe/london"),
                "popular: 'europe/london' is not an IANA time zone",
                id="zone_in_the_wrong_case",
            ),
            pytest.param(
                VALID.replace("America/New_York", "Europe/London"),
                "popular: 'Europe/London' is listed twice",
                id="duplicate_zone",
            ),
            pytest.param(
                VALID.replace("60]", "900]"), "offsets: 900 is outside", id="too_far_east"
            ),
            pytest.param(
                VALID.replace("[-60", "[-780"), "offsets: -780 is outside", id="too_far_west"
            ),
            pytest.param(VALID.replace("0, 60", "60, 0"), "ascending", id="out_of_order"),
            pytest.param(VALID.replace("0, 60", "0, 0"), "ascending", id="repeated_offset"),
            pytest.param(VALID.replace("0, 60", "0, 1.5"), "1.5 is not a whole", id="not_minutes"),
            pytest.param(VALID.replace("0, 60", "0, true"), "True is not a whole", id="a_bool"),
            pytest.param(VALID.replace("offsets", "ofsets"), "unknown key 'ofsets'", id="typo"),
            pytest.param('popular = ["Europe/London"]', "offsets: must be", id="no_offsets"),
            pytest.param("offsets = [0]\npopular = []", "popular: must be", id="no_zones"),
            pytest.param("offsets = [0", "not valid TOML", id="broken_toml"),
        ],
    )
    def test_a_malformed_file_is_refused_naming_the_field(self, text: str, message: str) -> None:
        with pytest.raises(ContentError, match=message.replace("(", r"\(")) as error:
            parse_zone_lists(text, source="zones.toml")
        assert str(error.value).startswith("zones.toml")
        assert "\n" not in str(error.value)

    def test_offsets_at_the_ends_of_the_range_are_allowed(self) -> None:
        lists = parse_zone_lists(VALID.replace("[-60, 0, 60]", "[-720, 840]"))
        assert lists.offsets == (-720, 840)
