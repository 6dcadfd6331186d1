"""The scripted clock of end-to-end runs (`BOT_CLOCK_FILE`) reads the file at every reading."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import file_clock


def test_the_file_clock_follows_the_file_and_reads_naive_text_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("2026-11-23T09:00:00+00:00")
    now = file_clock(path)
    assert now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    path.write_text("2026-11-24T09:05:00")
    assert now() == datetime(2026, 11, 24, 9, 5, tzinfo=UTC)


def test_a_reading_while_the_file_is_rewritten_is_the_last_instant(tmp_path: Path) -> None:
    """A script moving the clock truncates the file before writing the new instant; a reading
    in between must not fail the bot's work (it once held a runner's outbox queue for two
    minutes)."""
    path = tmp_path / "clock"
    path.write_text("2026-11-23T09:00:00+00:00")
    now = file_clock(path)
    assert now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    path.write_text("")  # the moment between truncation and the new text
    assert now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    path.write_text("2026-11-2")  # or a part of it
    assert now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    path.write_text("2026-11-24T09:05:00+00:00")
    assert now() == datetime(2026, 11, 24, 9, 5, tzinfo=UTC)


def test_a_first_reading_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("")
    with pytest.raises(ValueError):
        file_clock(path)()
