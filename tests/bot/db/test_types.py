"""UTCDateTime: naive datetimes are refused, and every backend hands back aware UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from bot.db.engine import make_engine
from bot.db.types import UTCDateTime

PLUS_TWO = timezone(timedelta(hours=2))

moments = Table(
    "moments",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    moments.metadata.create_all(engine)
    yield engine
    engine.dispose()


def store_and_read(engine: Engine, value: datetime) -> datetime:
    with engine.begin() as connection:
        row_id = connection.execute(insert(moments).values(at=value)).inserted_primary_key[0]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A session zone other than UTC: PostgreSQL then returns local times with an offset.
            connection.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        return connection.execute(select(moments.c.at).where(moments.c.id == row_id)).scalar_one()


def test_a_naive_datetime_is_refused_when_bound():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 1, 10, 30), None)  # noqa: DTZ001


def test_storing_a_naive_datetime_fails_and_stores_nothing(engine: Engine):
    with pytest.raises(StatementError) as raised, engine.begin() as connection:
        connection.execute(insert(moments).values(at=datetime(2026, 3, 1, 10, 30)))  # noqa: DTZ001
    assert isinstance(raised.value.orig, ValueError)
    with engine.connect() as connection:
        assert connection.execute(select(moments)).all() == []


def test_an_aware_utc_datetime_comes_back_aware_and_in_utc(engine: Engine):
    stored = datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=UTC)
    loaded = store_and_read(engine, stored)
    assert loaded == stored
    assert loaded.utcoffset() == timedelta(0)
    assert loaded.tzinfo is UTC


def test_an_offset_datetime_is_converted_to_utc(engine: Engine):
    loaded = store_and_read(engine, datetime(2026, 3, 1, 10, 30, tzinfo=PLUS_TWO))
    assert loaded.tzinfo is UTC
    assert (loaded.hour, loaded.minute) == (8, 30)


def test_null_stays_null(engine: Engine):
    assert store_and_read(engine, None) is None  # type: ignore[arg-type]


def test_sqlite_keeps_the_utc_wall_time_on_disk(sqlite_url: str):
    engine = make_engine(sqlite_url)
    moments.metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(moments).values(at=datetime(2026, 3, 1, 10, 30, tzinfo=PLUS_TWO))
            )
        with engine.connect() as connection:
            raw = connection.execute(text("SELECT CAST(at AS TEXT) FROM moments")).scalar_one()
    finally:
        engine.dispose()
    assert raw.startswith("2026-03-01 08:30:00")
