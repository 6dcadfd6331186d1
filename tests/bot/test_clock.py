"""The bot's clocks: the scripted clock of end-to-end runs (`BOT_CLOCK_FILE`) reads the file at
every reading; the terminal chat's offset clock only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import OffsetClock, file_clock


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


def test_an_offset_clock_moves_forward_with_real_time_and_never_back() -> None:
    real = [datetime(2026, 11, 21, 9, 0, tzinfo=UTC)]
    clock = OffsetClock(lambda: real[0])
    assert clock() == real[0]
    clock.move_to(real[0] + timedelta(days=1))
    real[0] += timedelta(minutes=5)  # real time goes on under the offset
    assert clock() == datetime(2026, 11, 22, 9, 5, tzinfo=UTC)
    clock.move_to(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))  # earlier: ignored
    assert clock() == datetime(2026, 11, 22, 9, 5, tzinfo=UTC)
