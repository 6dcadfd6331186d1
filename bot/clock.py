"""The bot's clock: real UTC time, or a clock read from a file for scripted end-to-end runs.

Flows never read the clock; the adapters call one of these. `BOT_CLOCK_FILE` (read once by the
entry point) names a file holding an ISO 8601 instant such as `2026-11-23T09:00:00+00:00`:
every reading of the clock reads the file, so a test script can move the bot through a week
while it runs, restarts included. It is for testing only and logged loudly when used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def utc_now() -> datetime:
    """The real clock, aware UTC."""
    return datetime.now(UTC)


def file_clock(path: Path) -> Callable[[], datetime]:
    """A clock that reads the instant written in `path` (aware; naive text counts as UTC)."""

    def now() -> datetime:
        instant = datetime.fromisoformat(path.read_text().strip())
        return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)

    return now
