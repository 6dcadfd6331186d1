"""Column types shared by the models.

`UTCDateTime` stores every timestamp in UTC and hands back timezone-aware UTC datetimes on every
backend. A naive datetime is refused at the boundary rather than guessed at, because a guess
(local time? UTC?) silently shifts reminders by hours. SQLite keeps no offset at all, so the
value is converted to UTC on the way in and labelled UTC on the way out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` that accepts only aware datetimes and returns them in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Only SQLite gets here: it stored the UTC wall time and forgot the offset.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
