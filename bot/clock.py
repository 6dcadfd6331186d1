"""The bot's clock: real UTC time, a clock read from a file for scripted end-to-end runs, or an
offset clock the terminal chat moves forward.

Flows never read the clock; the adapters call one of these. `BOT_CLOCK_FILE` (read once by the
entry point) names a file holding an ISO 8601 instant such as `2026-11-23T09:00:00+00:00`:
every reading of the clock reads the file, so a test script can move the bot through a week
while it runs, restarts included. It is for testing only and logged loudly when used. The
terminal chat's `/later 1d` moves an `OffsetClock` (real time plus an offset) a day ahead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path


def utc_now() -> datetime:
    """The real clock, aware UTC."""
    return datetime.now(UTC)


def file_clock(path: Path) -> Callable[[], datetime]:
    """A clock that reads the instant written in `path` (aware; naive text counts as UTC).

    A script moving the clock rewrites the file, and a reading can fall between the file's
    truncation and the new text: that reading is the last instant read, not an error. (An
    error there once failed the outbox's record of a sent message, which held the runner's
    whole queue until the message's lease ran out.) Only a first reading must succeed.
    """
    last: list[datetime] = []

    def now() -> datetime:
        try:
            instant = datetime.fromisoformat(path.read_text().strip())
        except (OSError, ValueError):
            if last:
                return last[0]
            raise
        instant = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
        last[:] = [instant]
        return instant

    return now


class OffsetClock:
    """A clock running `offset` ahead of `base` (real time by default): `/later` in the terminal
    chat moves it forward, so the scheduler sends what a day or a week would bring."""

    def __init__(self, base: Callable[[], datetime] = utc_now) -> None:
        self._base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._base() + self.offset

    def move_to(self, instant: datetime) -> None:
        """Read `instant` now (never earlier than the clock already reads: time only goes on)."""
        self.offset += max(instant - self(), timedelta(0))
