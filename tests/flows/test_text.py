"""`clean_text`: what PostgreSQL would refuse (NUL, too long, unencodable) never gets through,
and ordinary text, newlines and tabs included, comes out as it went in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.text import clean_text

CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\n\t"]


def test_none_stays_none() -> None:
    assert clean_text(None, 10) is None


def test_ordinary_names_are_kept_as_they_are() -> None:
    for name in ("Ada", "José María", "Zoë-Ann O'Neil", "山田 太郎", "Ali 🏃"):
        assert clean_text(name, 128) == name


def test_nul_and_other_controls_go_newline_and_tab_stay() -> None:
    assert clean_text("A\x00da\x07\x1b[31m", 128) == "Ada[31m"
    assert clean_text("line one\nline\ttwo", 128) == "line one\nline\ttwo"


def test_surrounding_space_is_stripped_also_after_the_cut() -> None:
    assert clean_text("  \x00 Ada \n", 128) == "Ada"
    assert clean_text("Ada Lovelace", 4) == "Ada"


def test_long_text_is_cut_to_the_limit_in_characters_not_bytes() -> None:
    assert clean_text("é" * 200, 128) == "é" * 128
    assert clean_text("abc", 0) == ""


def test_a_lone_surrogate_is_dropped() -> None:
    cleaned = clean_text("Ada\ud800", 128)
    assert cleaned == "Ada"
    cleaned.encode("utf-8")


def test_a_negative_limit_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="negative"):
        clean_text("Ada", -1)


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_cleaned_text_is_always_storable(text: str, limit: int) -> None:
    cleaned = clean_text(text, limit)
    assert cleaned is not None
    assert len(cleaned) <= limit
    assert not any(c in cleaned for c in CONTROLS)
    assert cleaned == cleaned.strip()
    cleaned.encode("utf-8")  # no surrogates left
    # Nothing is added or reordered: the result is a piece of the text with characters removed.
    remaining = iter(text)
    assert all(c in remaining for c in cleaned)
    # Cleaning again changes nothing.
    assert clean_text(cleaned, limit) == cleaned


@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="\x85"
        ),
        max_size=128,
    )
)
def test_text_without_controls_or_edge_space_that_fits_is_unchanged(text: str) -> None:
    assert clean_text(text, 128) == text
